VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
HOST    ?= 127.0.0.1
PORT    ?= 8080

.PHONY: run test lint bench bench-streams bench-analytics bench-plane install dev clean screenshots

$(BIN)/covey: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.dev: $(BIN)/covey
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/covey

dev: $(VENV)/.dev

## Serve the demo organization on http://$(HOST):$(PORT) (SQLite, built-in mock provider).
run: install
	COVEY_HOST=$(HOST) COVEY_PORT=$(PORT) $(BIN)/covey demo
	$(BIN)/covey serve --host $(HOST) --port $(PORT)

## Run the test suite on SQLite, then again on PostgreSQL (skipped, with a note, where none runs).
test: dev
	$(BIN)/python -m pytest -q
	COVEY_TEST_DATABASE=postgresql $(BIN)/python -m pytest -q

lint: dev
	$(BIN)/ruff check covey tests bench
	$(BIN)/ruff format --check covey tests bench
	$(BIN)/mypy
	$(BIN)/python -m covey.docs --check

## Regenerate docs/screenshots/*.png: the admin panel over the demo data, in Chromium.
screenshots: dev
	$(BIN)/python -m tests.admin.screenshots docs/screenshots

bench: dev
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/policies.py

## The control plane at 1k, 10k and 100k people: start-up, one change locally and on a second process,
## gateway latency under 10 changes a second (needs Redis; PEOPLE="1000 10000" for a quick run).
PEOPLE ?= 1000 10000 100000
bench-plane: dev
	$(BIN)/python bench/plane.py --people $(PEOPLE)

## Thousands of long streams at once (mock: 300 ms, 20 chunks), direct and through Covey.
bench-streams: dev
	$(BIN)/python bench/streams.py

## Spend reports against raw usage records, on SQLite and PostgreSQL (RECORDS=200000 for a quick run).
RECORDS ?= 10000000
bench-analytics: dev
	$(BIN)/python bench/analytics.py --records $(RECORDS)

clean:
	rm -rf $(VENV) covey.db covey.db-wal covey.db-shm
