"""Settings shared by every environment; local.py, production.py and test.py build on them.

Everything that differs between a laptop and production comes from the environment
(https://docs.djangoproject.com/en/5.2/topics/settings/). With no environment at all the
service runs in its embedded mode: SQLite, an in-memory channel layer and Celery tasks run
in-process, so `make run` needs nothing but Python. `DATABASE_URL` and `REDIS_URL` switch to
PostgreSQL, the Redis channel layer and separate Celery worker processes.
"""

import datetime as dt
import json
import os
import sys
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parents[2]


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------------
# DEBUG, SECRET_KEY and ALLOWED_HOSTS differ by environment: local.py and production.py.
DEBUG = False
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "channels",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "templates_app",
    "assist",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything that can answer on its own (WhiteNoise, CommonMiddleware), so that a
    # preflight gets its CORS headers: https://github.com/adamchainz/django-cors-headers
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# https://github.com/jazzband/dj-database-url — e.g. postgres://user@127.0.0.1:5432/assist
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# PostgreSQL plans a statement each time it receives one as text, which is what Django sends by
# default: about 0.6 ms for the worker's read of a ranking job, more than the read itself.
# Parameters bound by the server let psycopg prepare a statement once per connection, after it
# has run `DB_PREPARE_THRESHOLD` times; 0 turns that off (a transaction-mode PgBouncer cannot
# keep prepared statements).
DB_PREPARE_THRESHOLD = int(os.environ.get("DB_PREPARE_THRESHOLD", "5"))
if DATABASES["default"]["ENGINE"].endswith("postgresql") and DB_PREPARE_THRESHOLD > 0:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=DB_PREPARE_THRESHOLD
    )
# Web processes share a bounded pool of connections (Django's psycopg pool):
# https://docs.djangoproject.com/en/5.2/ref/databases/#connection-pool
# Persistent connections are per thread, and an ASGI server runs the ORM on a thread pool that
# grows under load: 32 client threads once made one server hold 99 connections, and PostgreSQL
# refused everyone. With the pool, a process holds at most DB_POOL_MAX_SIZE; a request that
# finds none free waits DB_POOL_TIMEOUT_S, then answers 503 (assist/api/exceptions.py). A
# Celery worker process runs one task at a time on one thread, so it keeps its one persistent
# connection instead (CELERY_DB_REUSE_MAX below). DB_POOL_MAX_SIZE=0 turns the pool off.
DB_POOL_MAX_SIZE = int(os.environ.get("DB_POOL_MAX_SIZE", "10"))
# Short: the pool also waits this long when the database is unreachable (it keeps trying to
# reconnect), and such a request should fail fast with a 503, not hang.
DB_POOL_TIMEOUT_S = float(os.environ.get("DB_POOL_TIMEOUT_S", "2"))
# `celery ... worker` or `python -m celery ... worker`: argv[0] is celery's script or package.
IS_CELERY_PROCESS = "celery" in Path(sys.argv[0]).parts[-2:]
if (
    DATABASES["default"]["ENGINE"].endswith("postgresql")
    and DB_POOL_MAX_SIZE > 0
    and not IS_CELERY_PROCESS
):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django must not as well
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_POOL_TIMEOUT_S,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The review queries' covering indexes (INCLUDE columns) are a PostgreSQL feature; on the
# embedded SQLite they are plain indexes, which is all a laptop needs.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
# Sign-in without a `next` lands where the user's role works (assist/views.py start_page).
LOGIN_REDIRECT_URL = "landing"

# Sign-in throttling (https://django-axes.readthedocs.io/en/latest/4_configuration.html): after
# AXES_FAILURE_LIMIT wrong passwords for one username, or from one address, that username or
# address is refused (HTTP 429) on /accounts/login/ and /admin/login/ for AXES_COOLOFF_MINUTES,
# even with the right password. Failures are kept in the database (the admin lists them under
# "Axes"; `manage.py axes_reset` clears them). Axes' backend must come first: it refuses a
# locked-out sign-in before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
# Each on its own: a username is throttled whatever address tries it, an address whatever
# usernames it tries.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Behind a reverse proxy every client has the proxy's address: set AXES_PROXY_COUNT to the
# number of proxies in front of the server, and the client address is read from
# X-Forwarded-For instead.
# (Not a setting of that name: axes 8 warns that AXES_PROXY_COUNT is deprecated.)
_proxy_count = int(os.environ.get("AXES_PROXY_COUNT", "0"))
if _proxy_count:
    AXES_IPWARE_PROXY_COUNT = _proxy_count
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
# WhiteNoise serves them from the ASGI process too: locally straight from the app folders
# (WHITENOISE_USE_FINDERS in local.py), in production from STATIC_ROOT after `collectstatic`.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

# --- Security (https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/) -----------
# HTTPS redirects, secure cookies and HSTS are production's (production.py).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A Content-Security-Policy on every page (https://django-csp.readthedocs.io/): scripts only
# from this site's own files, so text that slips past escaping still cannot run. Inline
# <style> (the review pages) and style attributes (the admin) are allowed: styles cannot run
# code. The panel's WebSocket is `connect-src 'self'` (same host and port, ws: or wss:). The
# embedded panel replaces frame-ancestors with the extension's origins (assist/live/views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Redis, Channels, Celery ----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")

# https://channels.readthedocs.io/en/stable/topics/channel_layers.html
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Publish/subscribe: a push is one PUBLISH that the server processes watching the
            # conversation receive at once, about 2 ms less per suggestion here than the
            # list-based RedisChannelLayer (several round trips a group_send, then a BZPOPMIN
            # relay in the server). Delivery is at-most-once either way (assist/live/events.py).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Shared state between processes (the workers' heartbeat): Redis, or this process's memory.
# https://docs.djangoproject.com/en/5.2/topics/cache/#redis
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# https://docs.celeryq.dev/en/stable/userguide/configuration.html (read with namespace CELERY_)
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Embedded mode has no broker process, so tasks run in the calling process. Tests of the worker
# path never rely on this: they start a real worker against Redis.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ROUTES = {
    "assist.tasks.rank": {"queue": "inference"},
    # Its own queue and worker (`manage.py serve` starts one, one process, niced), so a
    # retraining never takes a process that rankings are waiting for.
    "assist.tasks.retrain": {"queue": "training"},
    "assist.tasks.*": {"queue": "default"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Time limits stay well below Redis's visibility timeout (1 hour by default), so a task that
# is still running is never redelivered to a second worker.
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "60"))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "90"))
# A message a killed worker had taken comes back after this many seconds (the fault drills in
# tests/faults shorten it; the time limits above must stay below it).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every database connection before and after each task unless
# this is set, and a new PostgreSQL connection cost about 9 ms of every ranking here (measured
# in the worker). Set, a worker keeps its connection (Celery still recycles it about every N
# tasks), and assist/live/worker_signals.py applies Django's own rules at each task start:
# CONN_MAX_AGE and the health check, so an expired or broken connection is replaced, not used.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
# A pool process loads the ranker before it reports itself up (assist/live/worker_signals.py),
# which takes longer than Celery's 4 s default on a busy machine: the pool then kills each
# replacement for a dead process in turn and never recovers (seen in tests/faults).
CELERY_WORKER_PROC_ALIVE_TIMEOUT = float(os.environ.get("CELERY_WORKER_PROC_ALIVE_TIMEOUT", "60"))
# A web process must not hang on a dead broker: a few quick retries, then degraded mode.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "assist.api.authentication.AgentTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "assist.api.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Per agent, across processes (the cache is Redis); fails open if the cache is down.
    "DEFAULT_THROTTLE_CLASSES": ["assist.api.throttling.AgentRateThrottle"],
}
# Requests per agent to the REST API, as DRF writes rates. Generous: the extension re-sends a
# whole conversation when it opens one; the limit is there to stop a runaway client.
API_RATE = os.environ.get("API_RATE", "600/minute")

# --- CORS (https://github.com/adamchainz/django-cors-headers) ---------------------------------
# Only the REST API, and only for the extension's own origins: pages of other sites may not
# read it. Tokens travel in a header, not a cookie, so credentials stay off.
CORS_ALLOWED_ORIGINS = env_list("EXTENSION_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False

# --- Agent tokens ---------------------------------------------------------------------------
# A token stops working this many days after it was issued; the agent gets a new one.
AGENT_TOKEN_TTL_DAYS = int(os.environ.get("AGENT_TOKEN_TTL_DAYS", "30"))

# --- Helpdesk webhook (docs/protocol.md, "Helpdesk webhook") ---------------------------------
# The shared secret a helpdesk signs its events with; blank: the endpoint does not exist (404).
HELPDESK_WEBHOOK_SECRET = os.environ.get("HELPDESK_WEBHOOK_SECRET", "")
# How far a signed timestamp may be from now, in seconds, before the event is refused.
HELPDESK_WEBHOOK_TOLERANCE_S = int(os.environ.get("HELPDESK_WEBHOOK_TOLERANCE_S", "300"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Agent assist API",
    "DESCRIPTION": "Live response-template suggestions for customer-support agents.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Product --------------------------------------------------------------------------------
# Filled into templates as {company_name}.
COMPANY_NAME = os.environ.get("COMPANY_NAME", "Northwind Bank")
# Longest message text accepted from any client, in characters.
MESSAGE_MAX_CHARS = int(os.environ.get("MESSAGE_MAX_CHARS", "10000"))

# --- Languages (docs/data.md, "Languages") ---------------------------------------------------
# The locale of a template's own text; other locales are its variants (templates_app.variants).
DEFAULT_TEMPLATE_LOCALE = os.environ.get("DEFAULT_TEMPLATE_LOCALE", "en")
# The locales the catalog is written in: the admin flags a key that has no text in one of them.
TEMPLATE_LOCALES = env_list("TEMPLATE_LOCALES", "en,es,de")
# The languages the conversation's language is detected among (assist/languages.py), and the
# least confidence (0-1) for a detection to count: below it the language stays undecided.
LANGUAGE_DETECTION_LANGUAGES = env_list("LANGUAGE_DETECTION_LANGUAGES", "en,es,de,fr,it,pt,nl")
LANGUAGE_DETECTION_MIN_CONFIDENCE = float(
    os.environ.get("LANGUAGE_DETECTION_MIN_CONFIDENCE", "0.5")
)
# The languages the serving model was trained on, for a model directory that does not say
# (its config's `languages`): the panel says when a conversation is in another one.
RANKER_LANGUAGES = env_list("RANKER_LANGUAGES", "en")

# --- Suggestions and the ranker ---------------------------------------------------------------
# The model directory used when no ModelVersion is active; `make run` trains one there.
RANKER_DIR = Path(os.environ.get("RANKER_DIR", BASE_DIR / "var" / "models" / "default"))
# Intra-op threads per ranking process. Threads x worker processes must fit the cores:
# oversubscribed, 2 threads ran up to 10x slower than 1 here.
RANKER_THREADS = int(os.environ.get("RANKER_THREADS", "1"))
# The inference backend (fp32, bf16, int8, int8-mixed, onnx, onnx-int8); unset: the one the
# model directory chose at training time by the accuracy rule (docs/ranker.md).
RANKER_BACKEND = os.environ.get("RANKER_BACKEND") or None
SUGGESTION_K = int(os.environ.get("SUGGESTION_K", "5"))
# Deliveries of one ranking before it is recorded as failed: a message whose ranking kills the
# worker process (acks_late redelivers it) must not crash-loop the inference queue.
RANK_MAX_ATTEMPTS = int(os.environ.get("RANK_MAX_ATTEMPTS", "3"))
# Leave templates already sent in the conversation out of the list (default: mark them).
SUGGEST_EXCLUDE_SENT = env_bool("SUGGEST_EXCLUDE_SENT", False)
# Suggest templates added since the serving model was trained, by retrieval with the base
# encoder blended by the model's confidence (assist/serving/new_templates.py), until a retrain.
SUGGEST_NEW_TEMPLATES = env_bool("SUGGEST_NEW_TEMPLATES", True)
# Their largest share of a list the model is unsure about (ranker/retriever.py).
NEW_TEMPLATE_WEIGHT = float(os.environ.get("NEW_TEMPLATE_WEIGHT", "2.0"))

# --- Model artifacts (assist/lifecycle/artifacts.py) ----------------------------------------
# A registered model version is one archive in the `models` storage, which every host that
# ranks must reach: by default a directory that all hosts mount (a shared volume, NFS); or any
# Django storage backend, given as JSON, e.g. S3-compatible object storage through
# django-storages (docs/configuration.md#model-artifacts).
# https://docs.djangoproject.com/en/5.2/ref/settings/#storages
MODEL_ARTIFACTS_ROOT = Path(
    os.environ.get("MODEL_ARTIFACTS_ROOT", BASE_DIR / "var" / "model-artifacts")
)
_artifacts_storage = os.environ.get("MODEL_ARTIFACTS_STORAGE", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "models": json.loads(_artifacts_storage)
    if _artifacts_storage
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MODEL_ARTIFACTS_ROOT)},
    },
}
# This host's own copies of the versions it has fetched, unpacked, one folder per checksum.
MODEL_CACHE_DIR = Path(os.environ.get("MODEL_CACHE_DIR", BASE_DIR / "var" / "model-cache"))
# A version that could not be fetched is tried again after this many seconds; meanwhile the
# worker ranks with the version it has.
MODEL_FETCH_RETRY_S = float(os.environ.get("MODEL_FETCH_RETRY_S", "60"))

# --- Retraining (assist/lifecycle/retraining.py) -----------------------------------------------
# Hours between scheduled retrainings by Celery beat; 0 turns the schedule off.
RETRAIN_EVERY_HOURS = float(os.environ.get("RETRAIN_EVERY_HOURS", "168"))
# Promote a retrained model automatically when its top-1 on the test split (the newest
# conversations, which neither model was fitted on) beats the active model's by at least this
# much (0.01 = one point) and the 95% interval of the difference is above zero; unset: an admin
# decides (docs/model-lifecycle.md).
_margin = os.environ.get("RETRAIN_PROMOTE_MARGIN", "")
RETRAIN_PROMOTE_MARGIN = float(_margin) if _margin else None
# Fewer templated agent turns than this in the logs: no retraining.
RETRAIN_MIN_EXAMPLES = int(os.environ.get("RETRAIN_MIN_EXAMPLES", "200"))
# A scheduled retraining fine-tunes the encoder unless this is set (head only: much faster).
RETRAIN_FREEZE_ENCODER = env_bool("RETRAIN_FREEZE_ENCODER", False)
# Retraining first continues the encoder's masked-LM pretraining on the train split's text (the
# ranker's domain-adaptive stage), and also trains a model without it to report the stage's
# effect on the test split: about twice the training time (docs/model-lifecycle.md).
RETRAIN_DOMAIN_ADAPT = env_bool("RETRAIN_DOMAIN_ADAPT", False)
# The longest a retraining may run before Celery stops it.
RETRAIN_TIME_LIMIT_S = int(os.environ.get("RETRAIN_TIME_LIMIT_S", str(6 * 3600)))
if RETRAIN_EVERY_HOURS > 0:
    CELERY_BEAT_SCHEDULE = {
        "retrain-ranker": {
            "task": "assist.tasks.retrain",
            "schedule": RETRAIN_EVERY_HOURS * 3600,
        }
    }
# One scheduler per deployment, however many hosts run beat: RedBeat keeps the schedule in
# Redis, and the beat process holding its lock dispatches while the others wait for the lock
# (https://redbeat.readthedocs.io/en/latest/config.html). If that process dies, another takes
# over within BEAT_LOCK_TIMEOUT_S. Embedded mode has no beat (no worker to run the tasks).
if REDIS_URL:
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = REDIS_URL
    CELERY_REDBEAT_KEY_PREFIX = "assist.beat"
    # The leader renews its lock at least every BEAT_MAX_INTERVAL_S, so the lock's timeout
    # must be longer; a waiting beat also retries the lock at that interval.
    CELERY_BEAT_MAX_LOOP_INTERVAL = float(os.environ.get("BEAT_MAX_INTERVAL_S", "60"))
    CELERY_REDBEAT_LOCK_TIMEOUT = int(os.environ.get("BEAT_LOCK_TIMEOUT_S", "300"))

# --- External re-ranker (ranker/external.py): off unless a URL is set -----------------------
# An OpenAI-compatible chat endpoint that re-ranks the classifier's top-M with a probability
# distribution; its temperature is fitted on dev data (`manage.py fit_external_reranker`).
EXTERNAL_RERANK_URL = os.environ.get("EXTERNAL_RERANK_URL", "")
EXTERNAL_RERANK_MODEL = os.environ.get("EXTERNAL_RERANK_MODEL", "")
EXTERNAL_RERANK_KEY = os.environ.get("EXTERNAL_RERANK_KEY", "")
EXTERNAL_RERANK_TOP_M = int(os.environ.get("EXTERNAL_RERANK_TOP_M", "10"))
EXTERNAL_RERANK_WEIGHT = float(os.environ.get("EXTERNAL_RERANK_WEIGHT", "0.5"))
EXTERNAL_RERANK_TEMPERATURE = float(os.environ.get("EXTERNAL_RERANK_TEMPERATURE", "1.0"))
EXTERNAL_RERANK_TIMEOUT_S = float(os.environ.get("EXTERNAL_RERANK_TIMEOUT_S", "2"))

# The demo helpdesk at /demo/helpdesk/: its customer links open conversations without a login.
# On in local.py, off in production.py unless asked for.
DEMO_HELPDESK = False

# --- WebSocket ------------------------------------------------------------------------------
# Origins allowed besides ALLOWED_HOSTS, e.g. chrome-extension://<extension id>.
EXTENSION_ORIGINS = env_list("EXTENSION_ORIGINS")
WS_MAX_FRAME_BYTES = 64 * 1024
# Per connection: a sustained rate and a burst allowance, in frames.
WS_RATE_PER_SECOND = float(os.environ.get("WS_RATE_PER_SECOND", "10"))
WS_RATE_BURST = int(os.environ.get("WS_RATE_BURST", "40"))

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
