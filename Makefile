# Two commands on a fresh machine (only Python 3.11+ needed): `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8080

.PHONY: help serve test fuzz lint typecheck pytest conform bench clean distclean

help:  ## this list
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## /\1\t/' | expand -t 12

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)  ## every vendor API on http://127.0.0.1:$(PORT), SQLite store with demo data
	$(BIN)/loginaudit serve --port $(PORT)

test: lint typecheck pytest  ## the whole suite (PostgreSQL too when LOGINAUDIT_TEST_DATABASE_URL is set)

lint: $(STAMP)  ## ruff on src, tests and bench
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)  ## mypy --strict
	$(BIN)/mypy

pytest: $(STAMP)  ## the tests alone (SQLite; PostgreSQL too with LOGINAUDIT_TEST_DATABASE_URL)
	$(BIN)/pytest

FUZZ_SEED     ?= 7
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)  ## deeper Schemathesis (another seed, FUZZ_EXAMPLES per operation) and the hostile-input tests
	LOGINAUDIT_FUZZ_SEED=$(FUZZ_SEED) LOGINAUDIT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/test_schemathesis.py tests/test_hostile.py

conform: $(STAMP)  ## every vendor's conformance suite against a freshly served emulator (JUnit in reports/)
	$(BIN)/python -m loginaudit.conform.selfcheck

bench: $(STAMP)  ## req/s, p50/p99, RSS per vendor endpoint on 1M events, vs Prism; LOGINAUDIT_BENCH_PG_URL adds 1 vs 2 workers
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:  ## the venv, the demo store and tool caches
	rm -rf $(VENV) loginaudit.db loginaudit.db-wal loginaudit.db-shm .pytest_cache .mypy_cache .ruff_cache

distclean: clean  ## also the downloaded tools and the bench's 1M-event store (.cache/)
	rm -rf .cache reports
