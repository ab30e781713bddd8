# telereg: the two commands are `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
STAMP_BENCH := $(VENV)/.installed-bench

.PHONY: run test lint format venv dev-venv migrate seed keys clean check-deploy bench messages makemessages test-tools python-check vendor-axe lock lock-check image deploy-check restore-drill

# A fresh machine's Python must be 3.11+ with venv (Debian splits it out as python3-venv):
# said at once with the command to run, not as a traceback halfway through.
python-check:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "telereg needs Python 3.11 or newer as $(PYTHON) (make PYTHON=python3.11 ...)"; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "Python's venv module is missing; install it with: sudo apt-get install -y python3-venv"; exit 1; }

$(BIN)/python: | python-check
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Dependencies come from the lock files (requirements/*.txt, every version pinned
# with its hashes, compiled from pyproject.toml by `make lock`); the project itself
# is installed on top without resolving anything again.
$(STAMP_RUN): requirements/base.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(STAMP_DEV): requirements/dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(STAMP_RUN)

venv: $(STAMP_RUN)
dev-venv: $(STAMP_DEV)

keys: $(STAMP_RUN)
	$(BIN)/python -m config.local_env

migrate: keys
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# The project catalogues (locale/) compiled to .mo files (built, not committed);
# Django reads the app catalogues (reverification/locale, notices/locale) too.
messages: $(STAMP_RUN)
	@command -v msgfmt >/dev/null 2>&1 || { echo "msgfmt (GNU gettext) is missing; install it with: sudo apt-get install gettext"; exit 1; }
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py compilemessages -v0 --ignore=.venv --ignore=var --ignore=bench

# Re-extracts the project catalogues after strings changed (translate new msgids in
# locale/zh_Hans/LC_MESSAGES/django.po). The subscriber apps keep their own.
makemessages: $(STAMP_RUN)
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemessages -l zh_Hans -l en --no-location \
		-i ".venv/*" -i "var/*" -i "bench/*" -i "tests/*" -i "build/*" -i "*.egg-info/*" -i "reverification/*" -i "notices/*"

# Sets up everything on the embedded default (SQLite + filesystem broker) and
# starts web, Celery worker and Celery beat in the foreground. Ctrl-C stops all.
run: seed messages
	$(BIN)/python manage.py collectstatic --noinput -v0
	@$(BIN)/python manage.py demo_banner
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f deploy/Procfile -d . start

# What the tests need beyond Python, checked before anything slow: msgfmt for the
# catalogues and Debian's chromium for the browser tests (tests/browser/conftest.py),
# installed here when it can be (root and apt-get, as .ci/run does), else the one
# command to run, instead of six browser tests failing minutes later.
CHROMIUM ?= $(or $(TELEREG_CHROMIUM),chromium)
test-tools:
	@command -v msgfmt >/dev/null 2>&1 || { echo "msgfmt (GNU gettext) is missing; install it with: sudo apt-get install -y gettext"; exit 1; }
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "chromium is missing: installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && chromium --version || exit 1; \
	  else \
	    echo "chromium (for the browser tests) is missing; install it with: sudo apt-get install -y chromium"; exit 1; \
	  fi; }

# axe-core for the browser tests' accessibility checks is vendored (committed) in
# tests/browser/vendor/, so a fresh machine needs no node; this refreshes it from the
# npm registry at the pinned version (npm pack checks the registry's integrity).
AXE_VERSION := 4.14.1
vendor-axe:
	rm -rf var/node/axe && mkdir -p var/node/axe
	cd var/node/axe && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar xzf axe-core-$(AXE_VERSION).tgz
	cp var/node/axe/package/axe.min.js tests/browser/vendor/axe.min.js
	cp var/node/axe/package/LICENSE tests/browser/vendor/LICENSE-axe-core.txt
	sha256sum tests/browser/vendor/axe.min.js

test: test-tools $(STAMP_DEV) messages
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

$(STAMP_BENCH): requirements/bench.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/bench.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(STAMP_DEV) $(STAMP_RUN)

# Benchmarks (not part of the tests): PostgreSQL and Redis on 127.0.0.1, a
# database of their own each; starts gunicorn, the load generator and a worker.
bench: $(STAMP_BENCH) messages
	BENCH_SCALE=$${BENCH_SCALE:-100000} $(BIN)/python -m bench.run

# The lock files: `make lock` after any change to pyproject.toml's dependencies
# (it keeps every other pin where it was; `make lock UPGRADE=1` moves them all to
# the newest allowed). `make lock-check` (CI) fails when pyproject.toml and the
# locks disagree. The compiler, uv, is pinned here and lives in var/tools/uv.
UV_VERSION := 0.13.8
UV := var/tools/uv/bin/uv
LOCK_COMPILE = $(UV) pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --no-header --quiet $(if $(UPGRADE),--upgrade)
$(UV): | python-check
	$(PYTHON) -m venv var/tools/uv
	var/tools/uv/bin/pip install --quiet uv==$(UV_VERSION)

lock: $(UV)
	$(LOCK_COMPILE) -o requirements/base.txt
	$(LOCK_COMPILE) --extra dev -o requirements/dev.txt
	$(LOCK_COMPILE) --extra dev --extra bench -o requirements/bench.txt

lock-check: $(UV)
	@rm -rf var/lock-check && mkdir -p var/lock-check && cp requirements/*.txt var/lock-check/
	@$(LOCK_COMPILE) -o var/lock-check/base.txt
	@$(LOCK_COMPILE) --extra dev -o var/lock-check/dev.txt
	@$(LOCK_COMPILE) --extra dev --extra bench -o var/lock-check/bench.txt
	@for f in base dev bench; do \
	  diff -u requirements/$$f.txt var/lock-check/$$f.txt || { \
	    echo "requirements/$$f.txt does not match pyproject.toml: run 'make lock' and commit requirements/"; exit 1; }; \
	done
	@echo "lock files match pyproject.toml"

# The container image built and smoke-tested here (deploy/scripts/image: its own
# dockerd under var/docker, a debootstrapped bookworm base cached under
# /var/cache/telereg/, the smoke against the local PostgreSQL and Redis). Root only.
image: $(STAMP_RUN)
	deploy/scripts/image

# deploy/ checked offline: the Dockerfile (hadolint), every YAML file (yamllint),
# deploy/compose.yaml (docker-compose config), every kustomization rendered and
# validated (deploy/scripts/check_manifests.py: kubernetes-validate's bundled
# schemas, our own for the operators' resources, and the deployment's rules).
deploy-check: $(STAMP_DEV)
	$(BIN)/hadolint deploy/docker/Dockerfile
	$(BIN)/yamllint -c deploy/.yamllint.yaml deploy/
	cd deploy && TELEREG_ENV_FILE=compose.env.example TELEREG_APP_DB_PASSWORD=check \
		TELEREG_OWNER_DB_PASSWORD=check docker-compose -f compose.yaml config -q
	$(BIN)/python deploy/scripts/check_manifests.py

# Backups that are restored: a seed_demo database with a shredded person, backed
# up (deploy/scripts/backup) and restored into a fresh database by
# deploy/scripts/restore-drill, which proves the access log, the key ring and the
# shredding. PostgreSQL on 127.0.0.1 with .ci/run's roles.
restore-drill: keys
	deploy/scripts/restore-drill-fixture
