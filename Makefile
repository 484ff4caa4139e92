# Two commands on a fresh clone: `make run` and `make test` (see README).
SHELL := /bin/bash

# Django 6.1 needs Python 3.12+. Take the first such interpreter on PATH, then any
# pyenv-installed one; PYTHON=/path/to/python3.x overrides.
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 \
	$$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 \
	  && { command -v "$$p"; break; }; done)

VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test lint format seed benchmark clean check-python worker beat catalogs

check-python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Python 3.12 or newer is needed (Django 6.1); set PYTHON=/path/to/python3.12." >&2; \
	  exit 1; fi

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

# The message catalogs, compiled from the translators' .po files (never committed).
CATALOGS := $(patsubst %.po,%.mo,$(wildcard messaging/locale/*/LC_MESSAGES/messages.po))
$(CATALOGS) &: $(wildcard messaging/locale/*/LC_MESSAGES/messages.po) | $(VENV)/.installed
	$(BIN)/python -m messaging.catalogs compile

# Browser libraries (Chart.js; axe-core for the browser tests) from the committed lockfile.
NODE_MODULES := frontend/node_modules/.installed
$(NODE_MODULES): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A worker (with the scheduler) runs beside the server. With no CELERY_BROKER_URL they
# share a broker made of files under var/celery/, so no Redis is needed; texts and
# emails go to var/outbox/ instead of leaving the machine.
run: $(VENV)/.installed $(NODE_MODULES) $(CATALOGS)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo
	mkdir -p var/celery/queue var/outbox/email
	@echo "Texts sent: var/outbox/sms.jsonl; emails: var/outbox/email/"
	export DEBUG=$${DEBUG:-true} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-filesystem://}; \
	$(BIN)/celery -A crm worker --beat --pool=solo --loglevel=warning \
	  --schedule=var/celery/beat-schedule & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production server: DEBUG off, static files collected (hashed, compressed, served
# by WhiteNoise), gunicorn with crm/gunicorn.conf.py. SECRET_KEY and ALLOWED_HOSTS come
# from the environment (README, "Production server").
serve: $(VENV)/.installed $(NODE_MODULES) $(CATALOGS)
	@if [ -z "$$ALLOWED_HOSTS" ]; then \
	  echo "Set ALLOWED_HOSTS (and SECRET_KEY): with DEBUG off no host is allowed." >&2; \
	  exit 1; fi
	export DEBUG=false; \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py collectstatic --noinput && \
	HOST=$(HOST) PORT=$(PORT) exec $(BIN)/gunicorn --config crm/gunicorn.conf.py

# Background workers and the scheduler, on Redis. The web process uses them when it is
# started with the same CELERY_BROKER_URL; without it, tasks run inside the web process.
BROKER ?= redis://127.0.0.1:6379/0
worker: $(VENV)/.installed $(CATALOGS)
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(BROKER)} DEBUG=$${DEBUG:-true} \
	  $(BIN)/celery -A crm worker --loglevel=info

beat: $(VENV)/.installed
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(BROKER)} DEBUG=$${DEBUG:-true} \
	  $(BIN)/celery -A crm beat --loglevel=info --schedule=/tmp/crm-celerybeat-schedule

seed: $(VENV)/.installed
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo

# Tests run with production-like settings (DEBUG off); DATABASE_URL picks the database.
TEST_ENV := DEBUG=false SECRET_KEY=test-only-not-a-secret SECURE_SSL_REDIRECT=false

test: $(VENV)/.installed-dev $(NODE_MODULES) $(CATALOGS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(TEST_ENV) $(BIN)/mypy
	cd frontend && npx --no-install eslint .
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# After changing messaging/texts.py: refresh every language's .po file from it.
catalogs: $(VENV)/.installed
	$(BIN)/python -m messaging.catalogs update
	$(BIN)/python -m messaging.catalogs compile

benchmark: $(VENV)/.installed $(CATALOGS)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py benchmark

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache frontend/node_modules artifacts var
	rm -f $(CATALOGS)
