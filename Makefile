# Two set-up commands: `make demo` and `make test`. Both need only Python 3.11+, pip and apt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench redis-server clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)  ## replay January 2026 through the real engine (no tokens, no Redis server)
	$(BIN)/divbot replay --from 2026-01-01 --to 2026-01-31

redis-server:  ## the tests need a real redis-server; install Debian's when it is missing
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server from Debian's packages"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server >/dev/null; }

lint: $(STAMP)  ## ruff, mypy, and the import contracts ([tool.importlinter] in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) redis-server lint  ## every test (CI), the 15 slowest listed at the end
	$(BIN)/pytest --durations=15

test-fast: $(STAMP) redis-server  ## the tests not marked slow, without the linters
	$(BIN)/pytest -m "not slow" --durations=15

# All benchmarks in one run: 20-25 minutes on 2 shared cores (the scale bench alone fills Redis with 1M rules and loads them twice; about 5 of them). It writes
# BENCHMARKS.md, which opens with each headline figure beside its goal, met or not.
bench: $(STAMP) redis-server  ## benchmarks; results in BENCHMARKS.md
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV)
