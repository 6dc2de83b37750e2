# The two commands of the contract (PRODUCT.md): `make run` and `make test`.
# Everything else here exists to make those two work on a fresh clone.

SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000

# Stamps make `make install` a no-op (well under a second) until the lock files change.
PY_STAMP := $(VENV)/.installed-requirements.txt
NODE_STAMP := node_modules/.installed-package-lock.json

.PHONY: install run test lint

install: $(PY_STAMP) $(NODE_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements.txt
	cp requirements.txt $@

# `npm ci` wipes node_modules first, so the stamp written afterwards survives it.
$(NODE_STAMP): package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error
	cp package-lock.json $@

# Serve the UI with background jobs working. With no broker configured, Celery runs tasks
# in-process (settings); with one, a worker and beat run beside runserver and stop with it.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@eager=$$($(PY) manage.py shell --no-imports -c \
		"from django.conf import settings; print(int(settings.CELERY_TASK_ALWAYS_EAGER))"); \
	if [ "$$eager" = "1" ]; then \
		echo "Background jobs run in-process (no broker configured)."; \
		exec $(PY) manage.py runserver $(HOST):$(PORT); \
	fi; \
	echo "Starting a Celery worker and beat beside the web server."; \
	$(BIN)/celery -A config worker --loglevel=INFO --concurrency=2 & worker=$$!; \
	$(BIN)/celery -A config beat --loglevel=INFO --schedule="$${CLIENTELE_VAR_DIR:-var}/celerybeat-schedule" & beat=$$!; \
	trap 'kill $$worker $$beat 2>/dev/null; wait $$worker $$beat 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# DATABASE_URL is honoured when set (CI: PostgreSQL), else the SQLite default.
# Make exits 2 on any recipe failure; the "Error N" line it prints is pytest's own code.
test: install
	@$(BIN)/pytest -n auto $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure." >&2; fi; \
	exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(PY) manage.py makemigrations --check --dry-run
	@echo "manage.py check --deploy (production settings, throwaway secrets)"
	@DJANGO_SETTINGS_MODULE=config.settings.production ALLOWED_HOSTS=example.com \
		SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))') \
		IDP_OIDC_PRIVATE_KEY="$$($(PY) -c 'from iam.oidc.keys import generate_private_key_pem; print(generate_private_key_pem())')" \
		$(PY) manage.py check --deploy --fail-level WARNING

# bench: see the Benchmarks section of README.md (docs/benchmarks.md); added by its owner.

# The published benchmark (docs/benchmarks.md, README "Benchmarks"): PostgreSQL only, never
# SQLite. Sizes override the seed_scale defaults: `make bench CONTACTS=100000 ACTIVITIES=200000`.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clientele_bench
BENCH_SIZES := $(foreach size,ACCOUNTS CONTACTS LEADS OPPORTUNITIES CONTRACTS ACTIVITIES MEMBERSHIPS,\
	$(if $($(size)),--$(shell echo $(size) | tr A-Z a-z) $($(size))))

.PHONY: bench
bench: install
	DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}" $(PY) -m bench $(BENCH_SIZES) $(BENCH_ARGS)
