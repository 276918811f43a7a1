# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV   ?= .venv
PORT   ?= 5000
BIN     = $(VENV)/bin
FLASK   = $(BIN)/flask --app wsgi

.PHONY: run test setup venv venv-dev translations bench clean

# Running needs the runtime requirements only; the test tools come with `make test`.
$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (apt-get install python3.11 python3.11-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

venv-dev: $(VENV)/.installed-dev

setup: venv
	$(FLASK) setup

## Set up and serve on http://127.0.0.1:$(PORT) (SQLite under instance/), with the scheduler process
## (routing, reminders, outbox, mail fetch) beside it; Ctrl-C stops both.
run: setup
	@$(FLASK) scheduler run & SCHEDULER=$$!; trap 'kill $$SCHEDULER 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

## Set up and run the whole suite: the layer contract (lint-imports), then pytest (PostgreSQL and browser
## tests skip, with a notice, where absent; CI requires them all).
## The suite is spread over the machine's cores with pytest-xdist (PYTEST_WORKERS=0 runs it in one process);
## each worker has its own SQLite files, PostgreSQL databases, dovecot and live servers.
PYTEST_WORKERS ?= auto
test: venv-dev
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

## Re-extract translatable strings and merge them into the catalogues.
translations: venv-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs=".venv tests bench" -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

bench: venv-dev
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
