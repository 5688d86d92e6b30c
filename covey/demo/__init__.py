"""The demo organization that `covey demo` and `make run` serve."""
