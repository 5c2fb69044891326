# Sibyl — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
MANAGE := $(PY) manage.py
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sibyl_test
# Tests use their own Redis database, so a running `make serve` never takes their tasks.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sibyl_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
DEMO_RUNS := goog-daily-swing@2010-01-15T21:30:00Z goog-daily-swing@2012-05-31T20:30:00Z \
             goog-daily-strict@2012-05-31T20:30:00Z \
             eurusd-hourly-momentum@2017-10-02T12:00:00Z eurusd-hourly-momentum@2017-06-01T09:00:00Z

.PHONY: setup demo test lint typecheck pytest compose-check bench serve services clean

setup: .venv/.synced /usr/bin/chromium

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || pip install --quiet uv
	uv sync --frozen --quiet
	@touch $@

# kaleido renders chart PNGs with a headless Chromium (Debian's package).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

demo: setup
	@mkdir -p var
	@rm -f var/demo.sqlite3
	env -u DATABASE_URL $(MANAGE) migrate --verbosity 0
	env -u DATABASE_URL $(MANAGE) seed_demo
	@for run in $(DEMO_RUNS); do \
	  env -u DATABASE_URL $(MANAGE) run_strategy "$${run%@*}" --as-of "$${run#*@}" || exit 1; \
	  echo; \
	done

services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: setup
	.venv/bin/mypy .

pytest: setup services
	DATABASE_URL=$(TEST_DATABASE_URL) $(MANAGE) makemigrations --check --dry-run --verbosity 0
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) .venv/bin/pytest

# No Docker engine runs here: Debian's docker-compose validates the file without one.
compose-check:
	@command -v docker-compose >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null)
	SECRET_KEY=compose-check docker-compose config -q

test: lint typecheck compose-check pytest

# Web, run and control workers and beat on this machine, on PostgreSQL and Redis from the
# environment (DATABASE_URL defaults to the local sibyl database here).
SERVE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sibyl
serve: setup services
	@psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'sibyl'" | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE sibyl" >/dev/null
	DATABASE_URL=$${DATABASE_URL:-$(SERVE_DATABASE_URL)} $(MANAGE) migrate --verbosity 0
	DATABASE_URL=$${DATABASE_URL:-$(SERVE_DATABASE_URL)} $(MANAGE) collectstatic --noinput --verbosity 0
	DATABASE_URL=$${DATABASE_URL:-$(SERVE_DATABASE_URL)} .venv/bin/honcho start

bench: setup services
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) -m bench

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache
