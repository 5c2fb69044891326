"""Django settings for Sibyl, read from the environment with django-environ.

Every value comes from one ``env`` object; see README.md for the variables.
https://docs.djangoproject.com/en/5.2/ref/settings/
"""

import importlib.util
import math
import os
import re
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core ----------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#core-settings
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
# Where people reach this server (e.g. https://sibyl.example): makes the links in notifications
# (an approval's approve / reject links) absolute; empty → paths only.
SIBYL_PUBLIC_URL = env.str("SIBYL_PUBLIC_URL", default="")
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def checkout_secret_key(path: Path) -> str:
    """This checkout's own random secret key, kept in ``path`` (``var/secret_key``): made once
    (50 URL-safe characters from ``secrets``, file mode 0600), then read back, so sessions and
    tokens' signatures survive restarts. Two processes starting together agree: the file
    appears whole (written aside, then linked into place) and the loser reads the winner's."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(get_random_secret_key())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_text().strip()


# No public default: a deployment sets SECRET_KEY (docker-compose.yml requires it) and starts
# without one only to fail. Local use — DEBUG, or a site answering for loopback names only
# (the demo, `make serve`, the tests) — gets a key generated once per checkout in var/.
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS):
        raise ImproperlyConfigured(
            "Set SECRET_KEY: it has no default outside DEBUG or a loopback-only ALLOWED_HOSTS."
        )
    SECRET_KEY = checkout_secret_key(VAR_DIR / "secret_key")
# The salt from which (with SECRET_KEY and SECRET_KEY_FALLBACKS) the Fernet keys that encrypt
# LLM endpoint keys at rest are derived (django-fernet-encrypted-fields reads SALT_KEY).
# LLM_KEY_SALT is one salt or a comma-separated list: the first encrypts, every one decrypts
# (rotation: put the new salt first). Same rule as SECRET_KEY: no public default; local use
# gets one generated per checkout in var/. Changing SECRET_KEY or the salt without keeping the
# old one makes stored endpoint keys undecryptable: runs then fail until each key is re-entered.
SALT_KEY: str | list[str] = env.list("LLM_KEY_SALT", default=[])
if not SALT_KEY:
    if not (DEBUG or set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS):
        raise ImproperlyConfigured(
            "Set LLM_KEY_SALT: it has no default outside DEBUG or a loopback-only ALLOWED_HOSTS."
        )
    SALT_KEY = [checkout_secret_key(VAR_DIR / "llm_key_salt")]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.accounts",
    "apps.lineage",
    "apps.symbols",
    "apps.marketdata",
    "apps.analysis",
    "apps.strategies",
    "apps.signals",
    "apps.trading",
    "apps.positions",
    "apps.orders",
    "apps.pipeline",
    "apps.ibkr",
    "apps.evaluation",
    "apps.notifications",
]
# Development and test tools (the TWS simulator) are not in the production image (.dockerignore):
# installed only where the package exists.
if importlib.util.find_spec("devtools") is not None:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    # django-prometheus: first and last, so request metrics time the whole stack.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outermost but security: it sees every error response Django made under /api/.
    "apps.common.api.ApiJsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# --- Content-Security-Policy (django-csp) ------------------------------------------------------
# Scripts only from this origin, never inline or eval: the browser app is Vite's module bundle,
# Swagger UI is the split view (its settings script is a URL of its own) with sidecar assets,
# and the admin has no inline scripts. Inline styles stay allowed: Plotly and Swagger UI inject
# <style> elements. Images may be data:/blob: URLs (chart downloads). Nothing may frame the app.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- HTTPS behind a TLS proxy ----------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/middleware/#http-strict-transport-security and
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/ — off by default (the demo
# and `make serve` are plain HTTP on loopback); docker-compose.yml turns them on, for a proxy
# that terminates TLS and sets X-Forwarded-Proto. Only trust that header behind such a proxy.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("SECURE_PROXY_SSL_HEADER", default=False)
    else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Database ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
# The demo's default is an embedded SQLite file; tests and deployments set DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'demo.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", True)
# django-prometheus's wrappers of the PostgreSQL and SQLite backends count connections and
# queries and time them (django_db_*); same backends underneath. METRICS_DB=false keeps
# Django's own.
_METRICS_ENGINES = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
if env.bool("METRICS_DB", default=True):
    _engine = DATABASES["default"]["ENGINE"]
    DATABASES["default"]["ENGINE"] = _METRICS_ENGINES.get(_engine, _engine)

# Every app's migrations live in the top-level migrations/ package.
MIGRATION_MODULES = {
    app: f"migrations.{app}"
    for app in (
        "lineage",
        "symbols",
        "marketdata",
        "analysis",
        "strategies",
        "signals",
        "orders",
        "pipeline",
        "trading",
        "positions",
        "evaluation",
        "notifications",
    )
}

# --- Time, static and media files ----------------------------------------------------------
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# The browser app built by Vite (frontend/); WhiteNoise serves its files at the site root.
FRONTEND_DIST = Path(env.str("FRONTEND_DIST", default=str(BASE_DIR / "frontend" / "dist")))
WHITENOISE_ROOT = FRONTEND_DIST if FRONTEND_DIST.is_dir() else None
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- REST API ------------------------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/ — every endpoint needs a login
# (session for the browser, token for scripts); errors keep DRF's standard shape (README).
REST_FRAMEWORK = {
    # Token first: an anonymous request gets 401 with ``WWW-Authenticate: Token``.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.api.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "apps.common.schema.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "apps.common.api.exception_handler",
    "PAGE_SIZE": 50,
    # Sign-in attempts (session and token) per client address; counted in the default cache,
    # which is per process (LocMem): each web process counts on its own.
    "DEFAULT_THROTTLE_RATES": {"login": env.str("LOGIN_THROTTLE_RATE", default="10/min")},
}
# https://drf-spectacular.readthedocs.io/en/latest/settings.html — the docs UI is served from
# the sidecar package (no CDN).
SPECTACULAR_SETTINGS = {
    "TITLE": "Sibyl API",
    "DESCRIPTION": "Strategies, runs with their lineage, signals, orders, fills and positions.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "side" with different values (an order's BUY/SELL, a position's
    # LONG/SHORT): each choice set keeps one name.
    "ENUM_NAME_OVERRIDES": {
        "SideEnum": "apps.orders.models.Side",
        "PositionSideEnum": "apps.positions.models.PositionSide",
        "AccountPositionSideEnum": "apps.positions.models.AccountPositionSide",
        # A strategy's entry and close order types (MKT, LMT; an inline schema, so hashed by
        # its values): one enum, the entry's name.
        "OrderTypeEnum": ["MKT", "LMT"],
        # The trading state (account field, change rows, API answers): one enum.
        "TradingStateEnum": "apps.trading.models.TradingState",
        # A backtest's kind (backtest | replay), apart from an account's (paper | live).
        "BacktestKindEnum": "apps.evaluation.models.BacktestKind",
        "KindEnum": ["paper", "live"],
        # Notifications: a delivery's status and the event catalogue, apart from other
        # "status" and "event" fields (the backtest's status keeps its name).
        "StatusEnum": "apps.evaluation.models.BacktestStatus",
        "DeliveryStatusEnum": "apps.notifications.models.DeliveryStatus",
        "NotificationEventEnum": "apps.notifications.models.NotificationEvent",
    },
}

# --- Celery and Redis ----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
# A task is acknowledged after it ran, and re-delivered if its worker died: every task is
# idempotent (runs are claimed once; orders are looked up by client order reference first).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task that raised is acknowledged (Celery's default, kept on purpose): on Redis a rejected
# message is dropped anyway. A run whose task failed before the run was claimed stays pending,
# and the pending-run pass below sends it again or expires it.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A run's time budget (seconds), enforced by the executor whatever the pool (the ``runs``
# worker's threads pool ignores Celery's time limits): past it no further step starts, blocking
# calls (model, IBKR, chart PNG) get at most the time left as their timeout, and no order is
# created or sent; the run fails with the budget named. Celery's soft and hard limits (which a
# prefork pool enforces) follow it by default, a minute apart, and must stay above it.
RUN_TIME_BUDGET_S = env.float("RUN_TIME_BUDGET_S", default=240.0)
CELERY_TASK_SOFT_TIME_LIMIT = env.int(
    "CELERY_TASK_SOFT_TIME_LIMIT", default=math.ceil(RUN_TIME_BUDGET_S) + 60
)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=CELERY_TASK_SOFT_TIME_LIMIT + 60)
if not 0 < RUN_TIME_BUDGET_S < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "Need 0 < RUN_TIME_BUDGET_S < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT, got "
        f"{RUN_TIME_BUDGET_S} < {CELERY_TASK_SOFT_TIME_LIMIT} < {CELERY_TASK_TIME_LIMIT}: a run "
        "fails on its own budget before a pool that enforces Celery's limits stops it."
    )
# A parallel backtest's variant task runs slots for at most this long, then sends itself again
# (apps.evaluation.tasks): one slice plus one run must stay under the soft limit.
BACKTEST_TASK_SLICE_S = env.float("BACKTEST_TASK_SLICE_S", default=30.0)
# Slot inputs (bars, indicators, chart) computed ahead of a backtest's walk
# (apps.pipeline.prefetch): background threads (0: off) and how many slots ahead of the walk.
BACKTEST_PREFETCH_WORKERS = env.int("BACKTEST_PREFETCH_WORKERS", default=2)
BACKTEST_PREFETCH_AHEAD = env.int("BACKTEST_PREFETCH_AHEAD", default=16)
if not 0 < BACKTEST_TASK_SLICE_S < CELERY_TASK_SOFT_TIME_LIMIT - RUN_TIME_BUDGET_S:
    raise ImproperlyConfigured(
        "Need 0 < BACKTEST_TASK_SLICE_S < CELERY_TASK_SOFT_TIME_LIMIT - RUN_TIME_BUDGET_S, got "
        f"{BACKTEST_TASK_SLICE_S}: a backtest slice and its last run must end before the limit."
    )
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 2}
# Pending runs whose task never started (scheduling spec): beat's pass sends a pending run again
# when its task was sent (or, never sent, it was created) more than RUNS_PENDING_GRACE_S seconds
# ago and the runs queue is empty, or expires it when it is too old to run: a scheduled run once
# its strategy's next slot has come, a manual or API run RUNS_MANUAL_MAX_WAIT_S after it was
# requested.
RUNS_PENDING_GRACE_S = env.float("RUNS_PENDING_GRACE_S", default=30.0)
RUNS_MANUAL_MAX_WAIT_S = env.float("RUNS_MANUAL_MAX_WAIT_S", default=900.0)
# A worker retries an unreachable database before it claims a run: attempts, and waits doubling
# from the initial one up to the maximum, in seconds (1 + 2 + 4 + 8 = 15 s by default).
RUNS_DB_RETRY_ATTEMPTS = env.int("RUNS_DB_RETRY_ATTEMPTS", default=5)
RUNS_DB_RETRY_INITIAL_S = env.float("RUNS_DB_RETRY_INITIAL_S", default=1.0)
RUNS_DB_RETRY_MAX_S = env.float("RUNS_DB_RETRY_MAX_S", default=30.0)

# --- Language model ------------------------------------------------------------------------
# Prompt template bounds (apps/analysis/prompts.py): the saved body's size, and per render the
# rendered text's size (also the cap on any one string or list a template builds) and the loop
# iterations of all its for-loops together (also the longest range()).
PROMPT_TEMPLATE_MAX_CHARS = env.int("PROMPT_TEMPLATE_MAX_CHARS", default=20_000)
PROMPT_RENDER_MAX_CHARS = env.int("PROMPT_RENDER_MAX_CHARS", default=100_000)
PROMPT_RENDER_MAX_ITERATIONS = env.int("PROMPT_RENDER_MAX_ITERATIONS", default=10_000)

# With no LLM_BASE_URL the deterministic baseline analyst is used and labelled as such.
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="gpt-4o-mini")
LLM_TIMEOUT_S = env.float("LLM_TIMEOUT_S", default=60.0)
# The operator's default endpoint (LLM_BASE_URL, LLM_API_KEY) is used by strategies that name
# no LLM endpoint, and is the only URL LLM_API_KEY is ever sent to. Other endpoints are rows
# (apps.analysis.models.LlmEndpoint, keys encrypted): staff add the operator's; users add their
# own only when LLM_USER_ENDPOINTS is true.
LLM_USER_ENDPOINTS = env.bool("LLM_USER_ENDPOINTS", default=False)
# The outbound URL policy (apps/common/outbound.py): an endpoint's URL may not reach loopback,
# private, link-local … addresses unless its host name, IP address or CIDR network is listed
# here (comma-separated). LLM_BASE_URL's own host and port are always allowed.
LLM_ALLOWED_HOSTS = env.list("LLM_ALLOWED_HOSTS", default=[])
# Models that take no image input: their prompt carries a text summary of the chart instead.
LLM_TEXT_ONLY_MODELS = env.list("LLM_TEXT_ONLY_MODELS", default=[])
# Attempts per model (429, 5xx, timeouts); backoff doubles from the initial delay, with jitter.
LLM_MAX_ATTEMPTS = env.int("LLM_MAX_ATTEMPTS", default=4)
LLM_RETRY_INITIAL_S = env.float("LLM_RETRY_INITIAL_S", default=1.0)
LLM_RETRY_MAX_S = env.float("LLM_RETRY_MAX_S", default=30.0)
# USD per million tokens, for the cost estimate on every call (JSON; unknown models cost 0).
LLM_PRICES = env.json(
    "LLM_PRICES",
    default={
        "gpt-4o-mini": {"input": 0.15, "output": 0.60},
        "gpt-4o": {"input": 2.50, "output": 10.00},
        "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    },
)
# Training-data cutoffs of the default endpoint's models, as OpenAI publishes them (JSON
# {"model": "YYYY-MM-DD"}): a backtest window from before a model's cutoff is marked in its
# report as a period the model may have seen. Endpoint rows set their own (knowledge_cutoff*).
LLM_KNOWLEDGE_CUTOFFS = env.json(
    "LLM_KNOWLEDGE_CUTOFFS",
    default={"gpt-4o-mini": "2023-10-01", "gpt-4o": "2023-10-01", "gpt-4.1-mini": "2024-06-01"},
)

# --- Broker --------------------------------------------------------------------------------
# Paper trading is the default; live trading needs BROKER=ibkr, IBKR_READONLY=false and a
# strategy in live mode.
BROKER = env.str("BROKER", default="paper")
PAPER_SLIPPAGE_TICKS = env.int("PAPER_SLIPPAGE_TICKS", default=1)
PAPER_BUYING_POWER = Decimal(env.str("PAPER_BUYING_POWER", default="1000000"))
# IBKR fixed pricing for US stocks: USD 0.005 a share, at least USD 1.00, at most 1% of value.
PAPER_COMMISSION_PER_SHARE = Decimal(env.str("PAPER_COMMISSION_PER_SHARE", default="0.005"))
PAPER_COMMISSION_MIN = Decimal(env.str("PAPER_COMMISSION_MIN", default="1.00"))
PAPER_COMMISSION_MAX_PCT = Decimal(env.str("PAPER_COMMISSION_MAX_PCT", default="1.0"))
# IBKR forex: 0.2 basis points of trade value, at least USD 2.
PAPER_FX_COMMISSION_BPS = Decimal(env.str("PAPER_FX_COMMISSION_BPS", default="0.2"))
PAPER_FX_COMMISSION_MIN = Decimal(env.str("PAPER_FX_COMMISSION_MIN", default="2.00"))

# Orders: a pending order older than this may or may not have reached the broker, and is
# reconciled by client order reference; failed submissions are retried with backoff.
ORDER_IN_DOUBT_AFTER_S = env.int("ORDER_IN_DOUBT_AFTER_S", default=120)
ORDER_RETRY_BASE_DELAY_S = env.int("ORDER_RETRY_BASE_DELAY_S", default=30)
ORDER_MAX_ATTEMPTS = env.int("ORDER_MAX_ATTEMPTS", default=5)
# Cleanup: terminal runs and orders older than this are pruned with their artifact files.
RETENTION_DAYS = env.int("RETENTION_DAYS", default=90)
# Runs: when the database goes away during a step, the run's outcome (and a paid model call)
# is written once a fresh connection works, retried with backoff for at most this long.
RUN_DB_RECOVERY_S = env.float("RUN_DB_RECOVERY_S", default=30.0)

# --- Per-user limits (apps/strategies/limits.py) --------------------------------------------
# How many active strategies one owner may have, and the shortest gap (seconds) allowed between
# two slots of an active strategy's schedule. Strategies owned by staff (and ownerless ones,
# which only an operator can make) are exempt.
STRATEGIES_MAX_ACTIVE_PER_USER = env.int("STRATEGIES_MAX_ACTIVE_PER_USER", default=20)
SCHEDULE_MIN_INTERVAL_S = env.float("SCHEDULE_MIN_INTERVAL_S", default=300.0)

# --- Notifications (apps/notifications) ----------------------------------------------------
# Channels are apprise URLs (encrypted at rest like LLM keys). Their destinations obey the
# outbound URL policy: loopback, private, link-local … addresses are refused unless listed in
# NOTIFY_ALLOWED_HOSTS (host names, IP addresses, CIDR networks), at save time and at every
# connection the sender makes. Each delivery gets NOTIFY_MAX_ATTEMPTS attempts, the n-th retry
# NOTIFY_RETRY_BACKOFF_S * 2**(n-1) seconds after the previous one (at most
# NOTIFY_RETRY_BACKOFF_MAX_S); a queued delivery whose message was lost (Redis down when it was
# queued) is sent again by beat after NOTIFY_REQUEUE_AFTER_S. NOTIFY_TIMEOUT_S bounds one send.
# The daily summary goes out at NOTIFY_DAILY_SUMMARY_AT (HH:MM, UTC) for the UTC day so far.
NOTIFY_ALLOWED_HOSTS = env.list("NOTIFY_ALLOWED_HOSTS", default=[])
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=4)
NOTIFY_RETRY_BACKOFF_S = env.float("NOTIFY_RETRY_BACKOFF_S", default=30.0)
NOTIFY_RETRY_BACKOFF_MAX_S = env.float("NOTIFY_RETRY_BACKOFF_MAX_S", default=600.0)
NOTIFY_REQUEUE_AFTER_S = env.float("NOTIFY_REQUEUE_AFTER_S", default=120.0)
NOTIFY_TIMEOUT_S = env.float("NOTIFY_TIMEOUT_S", default=15.0)
NOTIFY_DAILY_SUMMARY_AT = env.str("NOTIFY_DAILY_SUMMARY_AT", default="21:30")
if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", NOTIFY_DAILY_SUMMARY_AT):
    raise ImproperlyConfigured(
        f"NOTIFY_DAILY_SUMMARY_AT must be HH:MM (UTC), got {NOTIFY_DAILY_SUMMARY_AT!r}"
    )

# --- Charts --------------------------------------------------------------------------------
CHART_PNG_WIDTH = env.int("CHART_PNG_WIDTH", default=1000)
CHART_PNG_HEIGHT = env.int("CHART_PNG_HEIGHT", default=700)

# --- Logging -------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# --- Metrics (Prometheus; apps/observability, openspec operations spec "Metrics") ---------
# Who may scrape /metrics: with METRICS_TOKEN set, requests carrying
# "Authorization: Bearer <token>"; with METRICS_ALLOWED_NETWORKS set (CIDRs, comma-separated),
# clients in them (REMOTE_ADDR); both set, both; neither, loopback only. Across processes,
# each process group sets PROMETHEUS_MULTIPROC_DIR (read by prometheus_client itself) to an
# empty directory of its own under METRICS_MULTIPROC_ROOT (README, "Watching it").
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# The web process's scrape merges the multiprocess files of every directory under this one
# (each process group writes its own PROMETHEUS_MULTIPROC_DIR below it); blank: only its own.
METRICS_MULTIPROC_ROOT = env.str("METRICS_MULTIPROC_ROOT", default="")
# Prometheus scrapes plain HTTP inside the deployment's network: no redirect to HTTPS there.
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]

# --- Interactive Brokers (BROKER=ibkr) -----------------------------------------------------
# TWS paper 7497 / live 7496; IB Gateway paper 4002 / live 4001. Orders need IBKR_READONLY=false
# and a strategy in live mode; IBKR_CLIENT_ID is the first clientId tried (326 → the next one).
IBKR_HOST = env.str("IBKR_HOST", default="127.0.0.1")
IBKR_PORT = env.int("IBKR_PORT", default=7497)
IBKR_CLIENT_ID = env.int("IBKR_CLIENT_ID", default=1)
IBKR_CLIENT_ID_TRIES = env.int("IBKR_CLIENT_ID_TRIES", default=8)
IBKR_ACCOUNT = env.str("IBKR_ACCOUNT", default="")
IBKR_READONLY = env.bool("IBKR_READONLY", default=True)
IBKR_CONNECT_TIMEOUT_S = env.float("IBKR_CONNECT_TIMEOUT_S", default=10.0)
IBKR_REQUEST_TIMEOUT_S = env.float("IBKR_REQUEST_TIMEOUT_S", default=30.0)
IBKR_RECONNECT_MAX_S = env.float("IBKR_RECONNECT_MAX_S", default=60.0)
IBKR_ORDER_ACK_TIMEOUT_S = env.float("IBKR_ORDER_ACK_TIMEOUT_S", default=10.0)
# Pause (seconds) before retrying a reqHistoricalData after error 162 "pacing violation".
IBKR_PACING_RETRY_S = env.float("IBKR_PACING_RETRY_S", default=15.0)
