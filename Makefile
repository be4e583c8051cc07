# Two commands for a newcomer: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run dev serve test test-property lint bench migrate demo-data clean-var check

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	$(PY) manage.py createcachetable

## make run: as a shop runs it: gunicorn, DEBUG off, static files by whitenoise, a secret key made once in var/.
run: export DEBUG = False
run: PROCFILE = Procfile
run: serve

## make dev: the same with runserver (auto-reload) and DEBUG on, for developers.
dev: export DEBUG = True
dev: PROCFILE = Procfile.dev
dev: serve

serve: migrate
	$(PY) manage.py collectstatic --no-input --verbosity 0
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py dashboard_refresh --if-empty --backfill-days 400
	$(PY) manage.py seed_demo_gifts --if-empty
	@echo ""
	@echo "  Rapport is starting on http://127.0.0.1:$(PORT)/"
	@echo "  Demo logins: owner / rapport-demo   and   staff / rapport-demo"
	@echo "  Ctrl-C stops the web app, the worker and beat."
	@echo ""
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f $(PROCFILE)

## make lint: ruff, mypy and the import-linter layers contract, configured in pyproject.toml.
## The format check runs last so the others still report while formatting alone is off.
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m mypy .
	$(VENV)/bin/lint-imports
	$(PY) -m ruff format --check .

## make test: lint, then the whole suite (PostgreSQL/Redis/worker/SMTP tests run when DATABASE_URL/REDIS_URL are set).
test: lint
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

## make test-property: the Hypothesis test with its full 1,000 examples per form (2.5 to 16 minutes, see docs/security.md).
test-property: $(VENV)/.installed
	HYPOTHESIS_EXAMPLES=1000 $(PY) -m pytest tests/security/test_property_forms.py $(PYTEST_ARGS)

check: $(VENV)/.installed
	$(PY) manage.py check

## make bench: benchmarks against PostgreSQL (see bench/README.md).
bench: $(VENV)/.installed
	$(PY) bench/pages.py
