"""The compiled control plane: what every gateway process serves from memory (grants, routing
policies, the budget book, rate limits), one journal of what each change touched, one compiler, one
watcher. See `runtime` for how a change comes into force, `state` for what a change recompiles."""
