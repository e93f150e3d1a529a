# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What is installed in the venv: running needs refbin and its dependencies only; the tests and
# the tools (pytest, Playwright, moto, schemathesis, ruff…) come with the test stamp. Installing
# for the tests installs everything running needs, so it makes the run stamp too.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# Errors only: pip's progress, and setuptools' notes on every editable install, are not news.
PIP := PIP_ROOT_USER_ACTION=ignore $(BIN)/python -m pip -qq --disable-pip-version-check --no-input
NEW_VENV = test -x $(BIN)/python || { $(PYTHON) -m venv $(VENV) && $(PIP) install --upgrade pip; }

.PHONY: run test lint format bench soak clean

$(RUN_STAMP): pyproject.toml
	@echo "setting up refbin in $(VENV) (first run only)…"
	@$(NEW_VENV)
	@$(PIP) install -e '.[fast]'
	@touch $@

$(TEST_STAMP): pyproject.toml
	@echo "setting up refbin with its test and development tools in $(VENV)…"
	@$(NEW_VENV)
	@$(PIP) install -e '.[test,dev,fast]'
	@touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	@$(BIN)/refbin serve

test: $(TEST_STAMP)
	bash tests/ensure-system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(TEST_STAMP)
	bash bench/run.sh

soak: $(TEST_STAMP)
	$(BIN)/python -m tests.soak

clean:
	rm -rf $(VENV) data .pytest_cache
