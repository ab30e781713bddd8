# telereg: the two commands are `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
STAMP_BENCH := $(VENV)/.installed-bench

.PHONY: run test lint format venv dev-venv migrate seed keys clean check-deploy bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

venv: $(STAMP_RUN)
dev-venv: $(STAMP_DEV)

keys: $(STAMP_RUN)
	$(BIN)/python -m config.local_env

migrate: keys
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# Sets up everything on the embedded default (SQLite + filesystem broker) and
# starts web, Celery worker and Celery beat in the foreground. Ctrl-C stops all.
run: seed
	$(BIN)/python manage.py collectstatic --noinput -v0
	@$(BIN)/python manage.py demo_banner
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f deploy/Procfile -d . start

test: $(STAMP_DEV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP_DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-deploy: $(STAMP_RUN)
	DJANGO_SETTINGS_MODULE=config.settings.production $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var/broker var/outbox

$(STAMP_BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@ $(STAMP_DEV) $(STAMP_RUN)

# Benchmarks (not part of the tests): PostgreSQL and Redis on 127.0.0.1, a
# database of their own each; starts gunicorn, the load generator and a worker.
bench: $(STAMP_BENCH)
	BENCH_SCALE=$${BENCH_SCALE:-100000} $(BIN)/python -m bench.run
