# Kato Console: `make run` starts the console on the embedded defaults, `make test` runs the suite.
# Both set everything up on a fresh machine (virtual environment, packages, database).

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
KATO_ADMIN_USER ?= admin
KATO_HOST ?= 127.0.0.1
KATO_PORT ?= 8000
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/kato_console
SQLITE_TEST_URL ?= sqlite:///$(CURDIR)/var/test.sqlite3
PYTEST_ARGS ?=
# USE_UV=0 sets the environment up with pip only.
USE_UV ?= 1

.PHONY: install run test lint migrate clean

# The environment is made with uv when it can be had (several times faster on a first start): the
# uv on PATH, or one pip installs once into the user's site; pip does it all otherwise. uv does
# not read pip's configuration, so a find-links folder set for pip (PIP_FIND_LINKS) is passed on.
$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Kato Console needs Python 3.11 or newer; none was found on PATH." >&2; exit 1; }
	@uv=""; if [ "$(USE_UV)" != 1 ]; then :; elif command -v uv >/dev/null 2>&1; then uv=uv; \
	elif $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --user uv >/dev/null 2>&1; then \
		uv="$(PYTHON) -m uv"; fi; \
	links=$${PIP_FIND_LINKS:-$$($(PYTHON) -m pip config get global.find-links 2>/dev/null || true)}; \
	if [ -n "$$uv" ] && $$uv venv --quiet --allow-existing --python $(PYTHON) $(VENV) && \
		env $${links:+UV_FIND_LINKS="$$links"} $$uv pip install --quiet --python $(VENV)/bin/python -e '.[dev]'; then \
		echo "Set up $(VENV) with uv."; \
	else \
		echo "Setting up $(VENV) with pip."; \
		$(PYTHON) -m venv $(VENV) && $(VENV)/bin/python -m pip install --quiet --upgrade pip && \
		$(VENV)/bin/python -m pip install --quiet -e '.[dev]'; \
	fi
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	@$(PY) manage.py bootstrap_admin --username "$(KATO_ADMIN_USER)" $${KATO_ADMIN_PASSWORD:+--password "$$KATO_ADMIN_PASSWORD"}
	@echo "Kato Console: http://$(KATO_HOST):$(KATO_PORT)/ (log in as $(KATO_ADMIN_USER); the admin is at /admin/). Ctrl-C stops it."
	@$(PY) -m kato_console.devrun --host "$(KATO_HOST)" --port "$(KATO_PORT)"

# The whole suite runs on PostgreSQL when it answers (SQLite otherwise); the tests marked
# both_databases then run again on the other database, so each invariant is shown on both.
test: install
	@if [ -n "$$DATABASE_URL" ]; then main="$$DATABASE_URL"; \
	elif $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then main="$(PG_TEST_URL)"; \
	else main="$(SQLITE_TEST_URL)"; echo "PostgreSQL does not answer: running on SQLite."; fi; \
	case "$$main" in sqlite*) other="$(PG_TEST_URL)";; *) other="$(SQLITE_TEST_URL)";; esac; \
	echo "== the whole suite on $${main%%://*}"; \
	DATABASE_URL="$$main" $(PY) -m pytest $(PYTEST_ARGS) || exit $$?; \
	if [ "$${other%%://*}" != sqlite ] && ! $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
		if [ "$$KATO_REQUIRE_SERVICES" = 1 ]; then echo "PostgreSQL is required but does not answer." >&2; exit 1; fi; \
		echo "PostgreSQL does not answer: the both_databases tests were not repeated on it."; exit 0; fi; \
	echo "== the both_databases tests again on $${other%%://*}"; \
	DATABASE_URL="$$other" $(PY) -m pytest -m both_databases -p no:cacheprovider $(PYTEST_ARGS)

# ruff for style and imports (PLC0415: no import inside a function but in tasks and ready()); the
# import-linter contracts of pyproject.toml for the floors (docs/architecture.md); mypy (with the Django and DRF plugins, configured in pyproject.toml)
# checks the annotations of components/, instances/ and kato_console/.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var/db.sqlite3 var/broker var/static
