# Pact Tracker: `make run` and `make test` are all a newcomer needs (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The embedded set-up: SQLite, Celery over the filesystem transport, DEBUG on (local only).
# `make env` (and every target that installs) also writes it to .env, which the settings read,
# so that the README's `.venv/bin/python manage.py …` commands work outside make too.
export DEBUG ?= 1

.PHONY: help venv install install-dev env migrate demo run test test-all lint format bench clean \
	audit backup-check migration-proof

help:
	@echo "make run     set up everything and serve http://127.0.0.1:$(PORT)/ with a Celery worker"
	@echo "make test    run the test suite on the embedded default (SQLite)"
	@echo "make lint    ruff check and format, lint-imports (layering), makemigrations --check, bandit"
	@echo "make audit   pip-audit of requirements.txt (needs the vulnerability service)"
	@echo "make backup-check  back up and restore the demo data and compare (scripts/backup-roundtrip.sh)"
	@echo "make migration-proof BASE=<ref>  migrate a filled database from <ref> to this code, compare"
	@echo "make bench   benchmarks (needs PostgreSQL; see bench/README.md)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pact Tracker needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)

# Runtime packages (requirements.txt) for run, migrate, demo; the tools (requirements-dev.txt)
# on top for test, lint, audit and format. Each stamp is renewed when its file changes.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Written once; an existing .env (yours, or a copy of .env.example) is left alone.
.env:
	@printf '%s\n' \
	  '# Written by make for the embedded set-up: local development only, never a deployment.' \
	  '# manage.py, celery and gunicorn read it from this folder; the environment wins over it.' \
	  '# Every setting is listed in .env.example.' \
	  'DEBUG=1' >$@
	@echo "Wrote .env (DEBUG=1) for the embedded set-up"

env: .env
venv install: $(VENV)/.installed .env
install-dev: install $(VENV)/.installed-dev

migrate: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py demo_editor --port $(PORT)

# The web server, the Celery worker and beat run side by side; Ctrl-C stops all three.
run: demo
	@mkdir -p var
	@echo "Starting the Celery worker with beat (logs in var/celery.log) and the web server on http://127.0.0.1:$(PORT)/"
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A pacttracker worker --beat --loglevel=INFO --concurrency=1 >var/celery.log 2>&1 & \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The suite runs on every core (pytest-xdist; TEST_WORKERS=0 runs it in one process). --dist
# load: each worker takes its tests in collection order, where pytest-django puts the tests that
# empty the database (transactional) after those that rely on its migrated reference data.
TEST_WORKERS ?= auto
test: install-dev
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist load \
	  -m "not postgres and not services and not browser and not readme"

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/bandit -q -c pyproject.toml -r apikit accounts parties agreements ratification forecasting transfer notify web pacttracker

# Known vulnerabilities in the pinned packages; says NOT AUDITED when the service is unreachable.
audit: install-dev
	$(BIN)/python scripts/dependency_audit.py

# SQLite only by default; with DATABASE_URL=postgres://… set, PostgreSQL too.
backup-check: install
	scripts/backup-roundtrip.sh $(if $(DATABASE_URL),all,sqlite)

# The database a BASE commit made, migrated to this code, must keep every row (README "Upgrading").
migration-proof: install
	$(BIN)/python scripts/migration_proof.py --base $(or $(BASE),$(error set BASE=<git ref>)) --database sqlite

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var staticfiles
