# The front door: `make run` starts the service on embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# No database here: `hotline` and the service find it by one rule (HOTLINE_DATABASE_URL, else
# [database] url in $HOTLINE_CONFIG, else var/hotline.sqlite3 in this directory).

.PHONY: run test lint install migrate clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/hotline db upgrade
	$(BIN)/hotline catalogue load

run: migrate
	$(BIN)/twistd --pidfile= -n -y twisted_app.tac

test: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var build *.egg-info
