"""Supportdesk settings: one module, driven by the environment.

With nothing set the desk runs on its *embedded default*: SQLite, Channels' in-memory layer and
Celery in eager mode, all in one process. ``DATABASE_URL`` switches to PostgreSQL, ``REDIS_URL``
to channels-redis, Redis as Celery broker and real workers. ``SUPPORTDESK_PRODUCTION=1`` turns on
the security settings and demands a real ``SECRET_KEY``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

PRODUCTION = env.bool("SUPPORTDESK_PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)

_DEV_SECRET = "insecure-dev-only-secret-key-never-use-in-production-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET):
    raise ImproperlyConfigured("SUPPORTDESK_PRODUCTION is on: set SECRET_KEY to a long random value.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Pages allowed to open the alert websocket (checked by supportdesk.asgi in every mode, so a foreign
# page cannot ride an agent's session cookie). "https://desk.example.com" pins scheme and port; a bare
# host name allows any. Default: this machine outside production, CSRF_TRUSTED_ORIGINS in production.
WEBSOCKET_ALLOWED_ORIGINS = env.list(
    "WEBSOCKET_ALLOWED_ORIGINS", default=CSRF_TRUSTED_ORIGINS if PRODUCTION else ["localhost", "127.0.0.1"]
)

INSTALLED_APPS = [
    "daphne",  # makes `runserver` serve ASGI (websockets included)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us (the CSP blocks CDNs)
    "axes",  # sign-in throttling (see "Sign-in throttling" below)
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "csp",
    "channels",
    "core",
    "supportdesk",
    "customers",
    "tickets",
    "incidents",
    "notifications",
    "dashboard",
]

MIDDLEWARE = [
    # First, so the latency it records for /metrics covers every other middleware too.
    "dashboard.middleware.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    # Before the session, so its save counts as a write (read-your-writes; core/replica.py). Removes
    # itself without DATABASE_REPLICA_URL.
    "core.replica.ReadRoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Early: NUL/surrogates in the query string are refused before any view reads them.
    "supportdesk.middleware.HostileInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "supportdesk.middleware.ProfileLanguageMiddleware",
    "supportdesk.middleware.ViewerTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"
ASGI_APPLICATION = "supportdesk.asgi.application"
WSGI_APPLICATION = "supportdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.roles.role_context",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------------

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# With persistent connections (gunicorn's CONN_MAX_AGE=60, deploy/gunicorn.conf.py) a PostgreSQL
# restart would fail the first request on each old connection: test a reused one first.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] != 0
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if not USING_POSTGRES:
    # SQLite waits for a writer instead of failing at once (the embedded default has one process).
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # ticket_open_area_idx INCLUDEs the service for PostgreSQL's index-only scans (the dashboard);
    # SQLite builds the index without it, which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
# Behind pgbouncer in transaction pooling a cursor may not outlive its transaction: set this there
# (Django's advice for transaction-level poolers; our streamed exports read in keyset chunks anyway).
DISABLE_SERVER_SIDE_CURSORS = env.bool("DISABLE_SERVER_SIDE_CURSORS", default=False)
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = DISABLE_SERVER_SIDE_CURSORS
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A PostgreSQL streaming replica for the heavy read-only pages (queues, dashboard, status page).
# Unset: no second alias, no router, every query on ``default``. How reads are routed, read-your-
# writes and the lag bound: core/replica.py.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
# Past this many seconds behind the primary (or unreachable), reads go to the primary.
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=10.0)
# Each process measures the lag at most this often (one tiny query on the replica).
REPLICA_LAG_CHECK_SECONDS = env.float("REPLICA_LAG_CHECK_SECONDS", default=5.0)
# After a write, that browser reads from the primary this long: by default the bound plus the check
# period, after which a replica reported within the bound has replayed the write.
REPLICA_READ_YOUR_WRITES_SECONDS = env.int(
    "REPLICA_READ_YOUR_WRITES_SECONDS", default=math.ceil(REPLICA_MAX_LAG_SECONDS + REPLICA_LAG_CHECK_SECONDS)
)
# Seconds to wait for the replica to accept a connection before reading from the primary instead.
REPLICA_CONNECT_TIMEOUT = env.int("REPLICA_CONNECT_TIMEOUT", default=2)
if DATABASE_REPLICA_URL:
    if not USING_POSTGRES:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs DATABASE_URL on PostgreSQL: the replica is a PostgreSQL standby."
        )
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"].update(
        CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"],
        CONN_HEALTH_CHECKS=DATABASES["default"]["CONN_HEALTH_CHECKS"],
        DISABLE_SERVER_SIDE_CURSORS=DISABLE_SERVER_SIDE_CURSORS,
        # Tests run against one database: the replica alias reads the test copy of ``default``.
        TEST={"MIRROR": "default"},
    )
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = REPLICA_CONNECT_TIMEOUT
    DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
if REPLICA_MAX_LAG_SECONDS < 0 or REPLICA_LAG_CHECK_SECONDS <= 0 or REPLICA_READ_YOUR_WRITES_SECONDS < 0:
    raise ImproperlyConfigured(
        "REPLICA_MAX_LAG_SECONDS and REPLICA_READ_YOUR_WRITES_SECONDS must be >= 0, REPLICA_LAG_CHECK_SECONDS > 0."
    )

REDIS_URL = env.str("REDIS_URL", default="")
# The Channels layer's Redis servers, comma-separated (default: REDIS_URL alone). With several,
# channels_redis shards channels and groups over them by a hash of the name, so every process must
# list the same servers in the same order. A shard that restarts forgets its groups and messages:
# sockets re-join on their next hello and the alert sweep re-sends what could not be pushed
# (README, "Read replica, pgbouncer, Channels shards"). The broker and the cache stay on REDIS_URL.
CHANNEL_LAYER_REDIS_URLS = env.list("CHANNEL_LAYER_REDIS_URLS", default=[REDIS_URL] if REDIS_URL else [])

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Pushes are hints, rows are the truth (DESIGN.md): a short expiry keeps a dead
            # consumer's backlog from growing, a larger capacity absorbs bursts of alerts.
            "CONFIG": {
                # channels_redis blocks 5 s in BZPOPMIN, so the socket timeout must exceed it (redis-py
                # 8 defaults to 5 s and idle consumers die); hundreds of agents joining groups at once
                # need more than redis-py's 100 pooled connections (bench/README.md, "Live alerts").
                "hosts": [
                    {
                        "address": url,
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                        "max_connections": 2000,
                    }
                    for url in CHANNEL_LAYER_REDIS_URLS
                ],
                "capacity": 500,
                "expiry": 30,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # One pool per process, not a new connection per request under ASGI (supportdesk/redis_pool.py).
            "OPTIONS": {"pool_class": "supportdesk.redis_pool.SharedConnectionPool"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery (read by supportdesk/celery.py through the CELERY_ namespace) -----------------------

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Embedded default: no broker, tasks run in-process right after the commit that enqueued them.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Acknowledge after the task ran and requeue it if its worker dies: every task is idempotent, so
# running twice is harmless and running never is the failure we rule out.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Fail fast when the broker is down: the row is already written and the sweep re-enqueues it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_RESULT_EXPIRES = 3600
# One result backend (and its Redis pool) per process instead of one per thread: under ASGI every request
# has a thread of its own, and building the backend there cost each request that enqueued a task
# (a ticket's confirmation e-mail) more than the enqueue itself (bench/README.md, "Opening tickets over
# HTTP"). The Redis backend is thread-safe (redis-py's pool).
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_TIMEZONE = "UTC"
# Three queues, so a 100,000-message mailing never sits in front of the next outage alert:
# ``alerts`` (latency first: live alert fan-out and its sweep), ``mail`` (bulk outbox sending) and
# ``default`` (everything else: close-the-loop, SLA marks, intake, heartbeat). Run a worker per
# queue (``celery -A supportdesk worker -Q alerts``; README, "The full stack with Docker Compose");
# a worker started without ``-Q`` consumes all three (the tests' live workers do).
# Each queue its own routing key: Celery would otherwise bind all three under "default", and a
# task sent there would be delivered to every queue.
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in ("alerts", "mail", "default")]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "notifications.tasks.fan_out_alert": {"queue": "alerts"},
    "notifications.tasks.fan_out_alerts": {"queue": "alerts"},
    "notifications.tasks.sweep_pending_alerts": {"queue": "alerts"},
    "notifications.tasks.deliver_outbox": {"queue": "mail"},
    "notifications.tasks.sweep_outbox": {"queue": "mail"},
}

# How often periodic work runs; the schedule itself lives in supportdesk/celery.py.
HEARTBEAT_INTERVAL = env.int("HEARTBEAT_INTERVAL", default=15)
# /healthz calls a worker dead when its last heartbeat is older than this.
HEARTBEAT_MAX_AGE = env.int("HEARTBEAT_MAX_AGE", default=60)

# --- The desk's own knobs ----------------------------------------------------------------------

# Tickets opened this long before an incident started are still explained by it (not known-issues).
INCIDENT_LOOKBACK = timedelta(hours=env.float("INCIDENT_LOOKBACK_HOURS", default=4))

# Surge detection (incidents/surge.py, run every minute by beat): a cell (service × area, or service
# × equipment model) is proposed as an incident when its technical tickets of the last
# SURGE_WINDOW_MINUTES, or of one of the shorter looks SURGE_SHORT_LOOKS_MINUTES (for a fast start),
# would happen with Poisson probability below SURGE_P_VALUE (one budget for all looks: each tail is
# multiplied by their number), given its usual number: the same time of the week
# (SURGE_BASELINE_SPAN_MINUTES) averaged over SURGE_BASELINE_WEEKS weeks, never below SURGE_BASELINE_FLOOR per long window; and never on fewer
# than SURGE_MIN_REPORTS reports (two tickets are not an outage). With the defaults a quiet postcode
# takes 3 reports in 5 minutes or 4 in 15. bench/bench_surge.py measures the trade-off.
SURGE_WINDOW_MINUTES = env.int("SURGE_WINDOW_MINUTES", default=15)
SURGE_SHORT_LOOKS_MINUTES = [int(m) for m in env.list("SURGE_SHORT_LOOKS_MINUTES", default=["3", "5"])]
SURGE_BASELINE_WEEKS = env.int("SURGE_BASELINE_WEEKS", default=4)
# How much of each past week around the same time the usual number is taken from (minutes).
SURGE_BASELINE_SPAN_MINUTES = env.int("SURGE_BASELINE_SPAN_MINUTES", default=120)
SURGE_BASELINE_FLOOR = env.float("SURGE_BASELINE_FLOOR", default=0.05)
# Whatever the numbers, never a proposal on fewer reports than this.
SURGE_MIN_REPORTS = env.int("SURGE_MIN_REPORTS", default=3)
# float() itself: django-environ's float cast drops the "e" of "1e-4" and reads "1-4".
SURGE_P_VALUE = float(env.str("SURGE_P_VALUE", default="1e-5"))
# Every cell's usual number is scaled by how busy the whole desk is now against its usual (never
# below 1, at most this): a busy hour everywhere is not an outage in the big cells. 1 turns it off.
SURGE_DESK_FACTOR_CAP = env.float("SURGE_DESK_FACTOR_CAP", default=2.0)
# A dismissed proposal keeps its cell quiet this long.
SURGE_QUIET_HOURS = env.float("SURGE_QUIET_HOURS", default=2)
if not (
    0 < SURGE_P_VALUE < 1
    and SURGE_BASELINE_FLOOR > 0
    and all(0 < m < SURGE_WINDOW_MINUTES for m in SURGE_SHORT_LOOKS_MINUTES)
    and SURGE_BASELINE_WEEKS >= 1
):
    raise ImproperlyConfigured(
        "SURGE_P_VALUE must be in (0, 1), the floor positive, the short looks shorter than the long one, "
        "SURGE_BASELINE_WEEKS at least 1."
    )

# What an Alertmanager "resolved" notification does to its incident (read by incidents/monitoring.py
# on each delivery): "resolve" resolves it (customers told, credits computed, from the alert's own
# word); "monitoring" moves it to status monitoring with an internal note, for ops to confirm and
# resolve by hand — for shops whose alerts flap or do not yet deserve the customer's trust.
MONITORING_RESOLVED_ACTION = env.str("MONITORING_RESOLVED_ACTION", default="resolve")
if MONITORING_RESOLVED_ACTION not in ("resolve", "monitoring"):
    raise ImproperlyConfigured("MONITORING_RESOLVED_ACTION must be 'resolve' or 'monitoring'.")

# --- Metrics (dashboard.views.metrics_view) ------------------------------------------------------

# Prometheus scrapes /metrics with "Authorization: Bearer <METRICS_TOKEN>"; unset, /metrics refuses
# everyone (the figures describe customers' trouble and staff behaviour: not for the public).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Celery queues whose length /metrics reports (Redis lists named after the queue).
METRICS_CELERY_QUEUES = env.list("METRICS_CELERY_QUEUES", default=["alerts", "mail", "default"])

# --- Auth --------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18n --------------------------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("sv", _("Swedish")), ("fi", _("Finnish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["supportdesk.formats"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production, serve straight from the source folders (no collectstatic needed).
SERVESTATIC_USE_FINDERS = not PRODUCTION
SERVESTATIC_AUTOREFRESH = DEBUG

# --- API ---------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Bodies holding NUL/lone surrogates, and JSON nested too deep, are a 400 at the parser
    # (supportdesk.parsers), before any serializer or query sees them.
    "DEFAULT_PARSER_CLASSES": [
        "supportdesk.parsers.StrictJSONParser",
        "supportdesk.parsers.StrictFormParser",
        "supportdesk.parsers.StrictMultiPartParser",
    ],
    # Every list is paged by cursor (keyset, core.pagination), ?page_size= at most API_MAX_PAGE_SIZE;
    # each list names its order (an index's) with core.pagination.keyset.
    "DEFAULT_PAGINATION_CLASS": "core.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "supportdesk.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Supportdesk API",
    "DESCRIPTION": "Tickets, incidents, look-up and monitoring hooks for an incident-aware support desk.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ from our own static files, not a CDN the CSP (script-src 'self') would block.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# The largest page an API list returns (?page_size=, or its older name ?limit=). Lists are paged by
# cursor, so there is no deepest page to bound. Read by core.pagination.
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=200)
# Bodies larger than this are refused before parsing (JSON API and forms alike). Django does not
# count file parts of a multipart body here, hence the two limits below.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
# Files larger than this are spooled to disk instead of memory while a request is parsed.
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
FILE_UPLOAD_HANDLERS = [
    "core.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Our forms have a dozen fields; Django's default (1,000) lets a single request make the parser build
# thousands of objects. More is a 400. (Files: DATA_UPLOAD_MAX_NUMBER_FILES, with the attachments.)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=200)
# Seconds an Idempotency-Key and its stored response are kept (core.idempotency; purged by beat).
IDEMPOTENCY_KEY_TTL = env.int("IDEMPOTENCY_KEY_TTL", default=24 * 3600)

# --- Proxies and sign-in throttling ----------------------------------------------------------

# Trust X-Forwarded-For for the client address only when a proxy we run sits in front and sets it;
# otherwise anyone can rotate the header and escape every per-address limit. Off by default. Read
# here (axes, DRF's throttles) and by docker-compose.yml (daphne's --proxy-headers).
TRUST_PROXY_HEADERS = env.bool("TRUST_PROXY_HEADERS", default=False)
# DRF's throttles: 0 proxies means REMOTE_ADDR, never X-Forwarded-For.
REST_FRAMEWORK["NUM_PROXIES"] = 1 if TRUST_PROXY_HEADERS else 0

# django-axes guards every authenticate() call: the login page, the admin and POST /api/v1/auth/token/
# (and any later sign-in path that calls authenticate()). Failures are stored in the database, so
# the throttle keeps working when Redis is down.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15) / 60  # hours, as axes reads it
# A username from one address: guessing ops' password is stopped without letting anyone elsewhere
# lock ops out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "supportdesk.views.signin_locked_out"
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if TRUST_PROXY_HEADERS else ("REMOTE_ADDR",)
)
AXES_IPWARE_PROXY_COUNT = 1 if TRUST_PROXY_HEADERS else 0
AXES_VERBOSE = False

# --- E-mail ------------------------------------------------------------------------------------

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if env.str("EMAIL_HOST", default="")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Supportdesk <support@supportdesk.example>")
# A stuck SMTP server must not hold a sending worker (and its claimed rows) for long.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# Where links in e-mails point (unsubscribe, status page): mail has no request to take a host from.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

# --- Customers' sign-in by an e-mailed link (customers.signin) ------------------------------------
SIGN_IN_LINK_MAX_AGE = env.int("SIGN_IN_LINK_MAX_AGE", default=15 * 60)  # seconds a link works
SIGN_IN_RATE_WINDOW = env.int("SIGN_IN_RATE_WINDOW", default=15 * 60)  # seconds links are counted in
SIGN_IN_RATE_PER_ADDRESS = env.int("SIGN_IN_RATE_PER_ADDRESS", default=3)
SIGN_IN_RATE_PER_IP = env.int("SIGN_IN_RATE_PER_IP", default=20)

# --- Customer e-mail outbox (read by notifications.outbox; see its docstring) --------------------
# Messages per second across all workers (0: as fast as the SMTP server accepts). Your relay's or
# provider's limit: exceeding it gets 4xx replies, which are retried, but slowly.
NOTIFICATION_SEND_RATE = env.int("NOTIFICATION_SEND_RATE", default=0)
# Rows a worker claims and sends over one SMTP connection (one claim query per chunk).
NOTIFICATION_CHUNK_SIZE = env.int("NOTIFICATION_CHUNK_SIZE", default=500)
# SMTP PIPELINING (RFC 2920) where the server offers it: one round trip per message instead of four.
NOTIFICATION_SMTP_PIPELINING = env.bool("NOTIFICATION_SMTP_PIPELINING", default=True)
# Delivery tasks started for a large batch of new rows: match the processes consuming the ``mail``
# queue (Compose: worker-mail, -c 4). Sending waits on round trips, so more processes than cores pay.
NOTIFICATION_PARALLEL = env.int("NOTIFICATION_PARALLEL", default=4)
# A claim is a lease: rows of a worker that died are sent again after this many seconds.
NOTIFICATION_CLAIM_SECONDS = env.int("NOTIFICATION_CLAIM_SECONDS", default=120)
# Backoff after a temporary failure: base × 2^(attempt-1) seconds, capped at an hour; then failed.
NOTIFICATION_RETRY_BASE_SECONDS = env.int("NOTIFICATION_RETRY_BASE_SECONDS", default=30)
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=10)
# The right-hand side of our Message-IDs (threading: customers' answers refer to them).
NOTIFICATION_MESSAGE_ID_DOMAIN = env.str(
    "NOTIFICATION_MESSAGE_ID_DOMAIN", default=DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ")
)

# --- E-mail intake (tickets.mailboxes) ----------------------------------------------------------
# IMAP mailboxes polled for customers' e-mail: imap://user:pw@host:port/MAILBOX or imaps://...,
# several separated by commas. Empty: no polling.
INTAKE_IMAP_URL = env.str("INTAKE_IMAP_URL", default="")
INTAKE_POLL_INTERVAL = env.float("INTAKE_POLL_INTERVAL", default=30.0)
INTAKE_BATCH = env.int("INTAKE_BATCH", default=200)
# The placeholder customer (number) that e-mail from unknown senders is filed under.
INTAKE_UNKNOWN_CUSTOMER_NUMBER = env.str("INTAKE_UNKNOWN_CUSTOMER_NUMBER", default="0000")
# More of the desk's own addresses (DEFAULT_FROM_EMAIL is one): mail from them is never imported.
INTAKE_OWN_ADDRESSES = env.list("INTAKE_OWN_ADDRESSES", default=[])

# --- Attachments (tickets.attachments) ---------------------------------------------------------
# Files that come with tickets (e-mail intake, the portal's forms) are kept in Django's default
# storage under MEDIA_ROOT. There is deliberately no MEDIA_URL route: files are served only by
# tickets.views.attachment_download, which checks who asks. Mount MEDIA_ROOT on a volume shared by
# web and workers (the workers store e-mail attachments).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"  # never routed; FileField wants one
# Per file, in bytes, and per message (an e-mail or a form): larger or further files are refused,
# with a note on the ticket for e-mail, nothing else of the message lost.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_MAX_COUNT = env.int("ATTACHMENT_MAX_COUNT", default=10)
# The transport's limits, above the attachment rules so that a file a little too big or one too many
# still reaches the form and gets its friendly error, while a hostile body is cut off early
# (core.uploads; 413/400 in the error contract):
# - a whole multipart body, files included, refused by its Content-Length before anything is read;
REQUEST_MAX_BODY_SIZE = env.int(
    "REQUEST_MAX_BODY_SIZE", default=ATTACHMENT_MAX_BYTES * ATTACHMENT_MAX_COUNT + DATA_UPLOAD_MAX_MEMORY_SIZE
)
# - one file part, stopped while it is parsed (also when the client sent no Content-Length);
UPLOAD_MAX_FILE_SIZE = env.int("UPLOAD_MAX_FILE_SIZE", default=ATTACHMENT_MAX_BYTES + 5 * 1024 * 1024)
# - file parts in one request (Django's default is 100).
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=2 * ATTACHMENT_MAX_COUNT)
# What is kept, by the type the bytes are (sniffed, not the sender's label). Executables, scripts,
# HTML and SVG are never on this list by default: they are what a forged "invoice.pdf" would be.
ATTACHMENT_ALLOWED_TYPES = env.list(
    "ATTACHMENT_ALLOWED_TYPES",
    default=[
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "application/zip",  # also .docx/.xlsx/.odt, which are zip files
        "application/msword",  # also .xls/.ppt (OLE2 compound files)
    ],
)

# --- Security ----------------------------------------------------------------------------------

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Eager Celery logs every task at INFO; in one process that drowns the request log.
    "loggers": {"daphne": {"level": "WARNING"}, "celery": {"level": "WARNING"}},
}
