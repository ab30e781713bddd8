"""Settings shared by every environment.

Everything that differs between machines is read from the environment here,
through django-environ; the per-environment modules only change what they
demand (production refuses to start without its secrets), never behaviour.
"""

from __future__ import annotations

import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config.secret_files import secret_setting

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
# SQLite files, the filesystem broker, demo keys and outboxes live here.
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()


def env_required(name: str) -> str:
    """A value production cannot run without: refuse to start when it is absent."""
    value = secret_setting(name)  # NAME, or the file NAME_FILE names
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} is required.")
    return value


# --- Core -------------------------------------------------------------------

SECRET_KEY = secret_setting("SECRET_KEY")
# Rotating SECRET_KEY: put the old key here (comma-separated, newest first) and
# the new one in SECRET_KEY. Links and codes already sent (config/keyed.py,
# Django's signing, sessions) keep working until the old key is dropped.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Per-view request metrics for /metrics (config/metrics.py).
    "django_prometheus",
    "operators",
    "identity",
    "registration",
    "reverification",
    "notices",
]

MIDDLEWARE = [
    # /healthz and /readyz alone, answered before the HTTPS redirect and the
    # Host header check (an orchestrator probes the pod's address over HTTP).
    "config.health.ProbeMiddleware",
    # Per-view requests, latencies and errors (with the After one, last).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.cache_control.NoStoreMiddleware",
    "config.request_id.RequestIdMiddleware",
    # Before anything that reads a parameter, a header or the session cookie.
    "config.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the request (cookie, Accept-Language, else LANGUAGE_CODE);
    # after sessions, before common (which may redirect to a language's URL).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    # A signed-in staff member's own language (or their operator's default)
    # for staff pages and the console; after LocaleMiddleware and authentication.
    "operators.middleware.StaffLanguageMiddleware",
    # Times in the staff member's operator's time zone (subscriber pages: the link's).
    "operators.middleware.OperatorTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # No document or phone number in a console URL (identity/console_urls.py);
    # before the staff gate, whose sign-in and undertaking redirects carry the path on.
    "identity.console_urls.ConsoleQueryGuard",
    "operators.middleware.StaffGateMiddleware",
    # Last, so that it sees the flag AxesBackend sets during authentication.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                # LANGUAGE_CODE, LANGUAGES and LANGUAGE_BIDI for <html lang> and the switch.
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "operators.context_processors.staff",
            ],
            # {{ number|phone }} in every template without {% load %} (numbers for reading).
            "builtins": ["identity.templatetags.telereg_format"],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'telereg.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait on the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# Connection pooling (PostgreSQL). Behind PgBouncer in transaction mode a
# server-side cursor (what .iterator() uses) would outlive the transaction's
# server connection: TELEREG_DB_DISABLE_SERVER_SIDE_CURSORS=1 makes Django fetch
# in client-side chunks instead. TELEREG_DB_POOL ("max" or "min:max") turns on
# Django 5.2's psycopg pool, one per process; persistent connections are then off
# (the pool keeps them).
TELEREG_DB_DISABLE_SERVER_SIDE_CURSORS = env.bool(
    "TELEREG_DB_DISABLE_SERVER_SIDE_CURSORS", default=False
)
TELEREG_DB_POOL = env.str("TELEREG_DB_POOL", default="")
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = TELEREG_DB_DISABLE_SERVER_SIDE_CURSORS
    if TELEREG_DB_POOL:
        _pool = re.fullmatch(r"(?:(\d+):)?(\d+)", TELEREG_DB_POOL.strip())
        if not _pool or int(_pool.group(2)) < 1 or int(_pool.group(1) or 1) > int(_pool.group(2)):
            raise ImproperlyConfigured(
                "TELEREG_DB_POOL must be a pool size (max) or min:max, e.g. 2:10."
            )
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": int(_pool.group(1) or 1),
            "max_size": int(_pool.group(2)),
            "timeout": 10,
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Least privilege (PostgreSQL): web and worker connect with DATABASE_URL as a
# runtime role that may only SELECT and INSERT the access log; `manage.py migrate`
# connects with DATABASE_MIGRATE_URL, the owner of the tables (the same database,
# perhaps by another host or port). Unset, it is DATABASE_URL (and the SQLite file).
# After every migrate the owner grants TELEREG_DB_RUNTIME_ROLE what it needs
# (identity/db_roles.py); unset, no grants are made.
DATABASE_MIGRATE_URL = env.str("DATABASE_MIGRATE_URL", default="")
TELEREG_DB_RUNTIME_ROLE = env.str("TELEREG_DB_RUNTIME_ROLE", default="")

# --- Cache (throttling, axes) -------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "telereg",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication -----------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # Refuses every attempt from an address over its failure limit.
    "operators.sign_in_limits.AddressLimitBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "operators:login"
LOGIN_REDIRECT_URL = "operators:dashboard"
LOGOUT_REDIRECT_URL = "operators:login"

# Load balancers in front of the application that append to X-Forwarded-For;
# 0 (the default) ignores the header. config.client_ip, axes and DRF's
# throttles all read the client's address through this one count.
TELEREG_NUM_PROXIES = env.int("TELEREG_NUM_PROXIES", default=0)
if TELEREG_NUM_PROXIES < 0:
    raise ImproperlyConfigured("TELEREG_NUM_PROXIES must be 0 or more.")

# django-axes: lock a username at one address after 5 failed sign-ins, so a
# stranger elsewhere cannot lock a real user out by knowing the username;
# operators.sign_in_limits also refuses an address after
# TELEREG_SIGN_IN_ADDRESS_LIMIT failures (any usernames) within the cool-off.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "config.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "operators.views.lockout_response"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "id_number", "name", "address"]
TELEREG_SIGN_IN_ADDRESS_LIMIT = env.int("TELEREG_SIGN_IN_ADDRESS_LIMIT", default=20)
SILENCED_SYSTEM_CHECKS: list[str] = [
    # None: axes.W006 (ip_address among the lockout parameters) now holds.
]

# Second factor (TOTP, django-otp) for compliance officers, operator admins and
# platform admins. django-otp's own back-off (1, 2, 4 s...) is replaced by a
# plain limit: TELEREG_OTP_FAILURE_LIMIT wrong codes in a row lock the code step
# for TELEREG_OTP_LOCKOUT_MINUTES (wrong codes also count toward django-axes).
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="telereg")
OTP_TOTP_THROTTLE_FACTOR = 0
TELEREG_OTP_FAILURE_LIMIT = env.int("TELEREG_OTP_FAILURE_LIMIT", default=5)
TELEREG_OTP_LOCKOUT_MINUTES = env.float("TELEREG_OTP_LOCKOUT_MINUTES", default=30.0)
# API tokens expire this long after they were issued (and die with a password
# change or a deactivation).
TELEREG_TOKEN_TTL_HOURS = env.float("TELEREG_TOKEN_TTL_HOURS", default=12.0)

# Messages live in the session, so none outlives a sign-out on a shared tablet.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

# --- Content-Security-Policy (django-csp) and caching -----------------------------
# Scripts and styles from this site's static files only: no inline script or
# style anywhere (tests/operators/test_security_headers.py holds every template
# to it; Django's admin has none while a ModelAdmin keeps actions_on_top). The
# API docs page widens style-src for itself only (config/urls.py).
_CSP_SELF, _CSP_NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_CSP_SELF],
        "script-src": [_CSP_SELF],
        "style-src": [_CSP_SELF],
        "img-src": [_CSP_SELF, "data:"],
        "font-src": [_CSP_SELF],
        "connect-src": [_CSP_SELF],
        "object-src": [_CSP_NONE],
        "base-uri": [_CSP_SELF],
        "form-action": [_CSP_SELF],
        "frame-ancestors": [_CSP_NONE],
    }
}
# Responses under these paths may be cached (no personal data); every other
# response is sent with Cache-Control: no-store (config.cache_control).
# /brand/ holds each operator's colours for its subscriber pages (reverification).
TELEREG_CACHEABLE_PATHS = [
    "/api/schema/",
    "/api/docs/",
    "/static/",
    "/healthz",
    "/readyz",
    "/brand/",
]

# --- I18N -------------------------------------------------------------------------

# Staff pages and the console speak Simplified Chinese unless the staff member,
# their operator or the request (cookie from /i18n/setlang/, Accept-Language)
# says otherwise. The project catalogue is locale/ (make messages builds the .mo).
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
# Telephone numbers of this country are shown in its national format (138 0013 8000,
# 010-6234 5678), any other in international format (identity.phone_format).
TELEREG_PHONE_HOME_REGION = env.str("TELEREG_PHONE_HOME_REGION", default="CN").upper()
if not re.fullmatch(r"[A-Z]{2}", TELEREG_PHONE_HOME_REGION):
    raise ImproperlyConfigured("TELEREG_PHONE_HOME_REGION must be an ISO 3166-1 alpha-2 code.")
USE_I18N = True
USE_TZ = True


# --- Static files -----------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- REST API ---------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "operators.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["operators.permissions.IsActiveStaff"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bounded size and depth, no NUL or lone surrogates (config/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="6000/min"),
        "sign_in": env.str("THROTTLE_SIGN_IN", default="20/min"),
        # Each partner's calls to the CAMARA endpoints (registration/partner_api.py).
        "partner": env.str("THROTTLE_PARTNER", default="120/min"),
    },
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": TELEREG_NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "telereg API",
    "DESCRIPTION": (
        "Real-name telephone registration for point-of-sale and CRM integrators. "
        "Sign in with POST /api/v1/auth/token/, then send `Authorization: Token <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery -----------------------------------------------------------------------

BROKER_DIR = Path(env.str("TELEREG_BROKER_DIR", default=str(VAR_DIR / "broker")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
else:
    # No server needed: kombu's filesystem transport (fine for `make run`, not production).
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "operators.tasks.heartbeat", "schedule": 60.0},
    "retention-daily": {"task": "identity.tasks.retention_run", "schedule": 24 * 3600.0},
    "pending-verifications": {
        "task": "registration.tasks.sweep_pending_verifications",
        "schedule": 60.0,
    },
    "reverification-cycle": {
        "task": "registration.tasks.reverification_cycle",
        "schedule": env.float("TELEREG_REVERIFICATION_CYCLE_SECONDS", default=900.0),
    },
    "dispatch-leases": {
        "task": "registration.tasks.requeue_expired_batches",
        "schedule": 60.0,
    },
    # Rows whose message was lost (a broker restart without persistence) are
    # published again: queued batches, campaigns planning, holder alerts.
    "overdue-messages": {
        "task": "registration.tasks.requeue_overdue_messages",
        "schedule": 60.0,
    },
    "overdue-alerts": {
        "task": "registration.tasks.requeue_overdue_alerts",
        "schedule": 60.0,
    },
    "idempotency-purge": {
        "task": "registration.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
    },
    "quarantine-release": {
        "task": "registration.tasks.release_numbers",
        "schedule": 3600.0,
    },
    "lookup-buckets-sweep": {"task": "identity.tasks.lookup_buckets_sweep", "schedule": 3600.0},
}
# Signed checkpoints of the access log's chain heads (identity/checkpoints.py).
CELERY_BEAT_SCHEDULE["access-log-checkpoint"] = {
    "task": "identity.tasks.access_log_checkpoint",
    "schedule": env.float("TELEREG_AUDIT_CHECKPOINT_SECONDS", default=300.0),
}
# Interactive work (a clerk waits on it) never queues behind campaign batches.
CELERY_TASK_DEFAULT_QUEUE = "default"
# Every queue a task is routed to is declared here: a bare `celery -A config
# worker` (no -Q) consumes exactly these, so none waits for a worker that
# never comes. Per-queue workers (`-Q campaigns`) stay possible (deploy/README.md).
# Each with its own exchange and routing key, as Celery makes a missing queue:
# a Queue with no routing key would be bound to the default key and receive
# every task published to the default queue as well.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in ("default", "interactive", "campaigns")
]
# By task name whatever the module (the patterns survive a task moving app).
CELERY_TASK_ROUTES = {
    "*.verify_pending": {"queue": "interactive"},
    "*.plan_campaign": {"queue": "campaigns"},
    "*.send_batch": {"queue": "campaigns"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- telereg ---------------------------------------------------------------------

TELEREG_DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="telereg-demo")
TELEREG_KEYS = secret_setting("TELEREG_KEYS")
TELEREG_ACTIVE_KEY = secret_setting("TELEREG_ACTIVE_KEY")
TELEREG_INDEX_KEY = secret_setting("TELEREG_INDEX_KEY")
# The access log: HMAC chain keys ("kid:base64-32-bytes,...") and the active kid,
# the Ed25519 key that signs checkpoints (base64 raw 32 bytes or PEM), retired
# signing keys' public keys (base64 raw, comma-separated) and where checkpoints go.
TELEREG_AUDIT_KEYS = secret_setting("TELEREG_AUDIT_KEYS")
TELEREG_AUDIT_ACTIVE_KEY = secret_setting("TELEREG_AUDIT_ACTIVE_KEY")
TELEREG_AUDIT_SIGNING_KEY = secret_setting("TELEREG_AUDIT_SIGNING_KEY")
TELEREG_AUDIT_VERIFY_KEYS = secret_setting("TELEREG_AUDIT_VERIFY_KEYS")
TELEREG_AUDIT_CHECKPOINT_DIR = env.str(
    "TELEREG_AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "audit-checkpoints")
)
# The Ed25519 key that signs the regulator's monthly reports (manage.py
# regulator_report; base64 of the raw 32-byte seed, as the audit signing key).
# Empty: the report commands say it is missing.
TELEREG_REPORT_SIGNING_KEY = secret_setting("TELEREG_REPORT_SIGNING_KEY")
TELEREG_AUTHORITY_BACKEND = env.str("TELEREG_AUTHORITY_BACKEND", default="simulated")
TELEREG_AUTHORITY_URL = env.str("TELEREG_AUTHORITY_URL", default="")
TELEREG_AUTHORITY_USERNAME = env.str("TELEREG_AUTHORITY_USERNAME", default="")
TELEREG_AUTHORITY_PASSWORD = secret_setting("TELEREG_AUTHORITY_PASSWORD")
TELEREG_AUTHORITY_TIMEOUT = env.float("TELEREG_AUTHORITY_TIMEOUT", default=3.0)
# Extra attempts after the first, their base backoff (doubled per retry, with
# jitter), and the circuit breaker (identity/authority.py): this many failed
# checks in a row open it for every process (its state is in the cache), and
# after TELEREG_AUTHORITY_BREAKER_RESET seconds one trial call goes out.
TELEREG_AUTHORITY_RETRIES = env.int("TELEREG_AUTHORITY_RETRIES", default=2)
TELEREG_AUTHORITY_BACKOFF = env.float("TELEREG_AUTHORITY_BACKOFF", default=0.2)
TELEREG_AUTHORITY_BREAKER_THRESHOLD = env.int("TELEREG_AUTHORITY_BREAKER_THRESHOLD", default=5)
TELEREG_AUTHORITY_BREAKER_RESET = env.float("TELEREG_AUTHORITY_BREAKER_RESET", default=30.0)
TELEREG_QUARANTINE_DAYS = env.int("TELEREG_QUARANTINE_DAYS", default=90)
TELEREG_OUTBOX_DIR = env.str("TELEREG_OUTBOX_DIR", default=str(VAR_DIR / "outbox"))
# The address subscribers reach the self-service pages at (links in notices).
TELEREG_PUBLIC_URL = env.str("TELEREG_PUBLIC_URL", default="http://127.0.0.1:8000")
# Benchmark-only ceiling endpoints (/bench/…): switched on by config.settings.bench
# alone, never read from the environment, so no deployment can turn them on.
TELEREG_BENCH_ENDPOINTS = False
TELEREG_DISPATCH_BATCH = env.int("TELEREG_DISPATCH_BATCH", default=2000)
TELEREG_DISPATCH_LEASE_SECONDS = env.int("TELEREG_DISPATCH_LEASE_SECONDS", default=300)
TELEREG_DISPATCH_RATE = env.float("TELEREG_DISPATCH_RATE", default=0.0)
# A row waiting on a message whose message is older than this is swept and its
# message published again (a duplicate does nothing: the work is claimed).
# Campaign work (batches, planning) may queue behind a long campaign, so it is
# given longer than interactive work (pending verifications, holder alerts).
TELEREG_MESSAGE_OVERDUE_SECONDS = env.int("TELEREG_MESSAGE_OVERDUE_SECONDS", default=900)
TELEREG_INTERACTIVE_OVERDUE_SECONDS = env.int("TELEREG_INTERACTIVE_OVERDUE_SECONDS", default=120)
# An Idempotency-Key's first request holds its claim this long (longer than the
# slowest request, shorter than a client's patience); a retry after a killed
# worker then runs instead of getting 409 until the key is purged.
TELEREG_IDEMPOTENCY_LEASE_SECONDS = env.int("TELEREG_IDEMPOTENCY_LEASE_SECONDS", default=60)
TELEREG_SMS_URL = env.str("TELEREG_SMS_URL", default="")
TELEREG_SMS_API_KEY = secret_setting("TELEREG_SMS_API_KEY")
TELEREG_SMS_TIMEOUT = env.float("TELEREG_SMS_TIMEOUT", default=5.0)
# A notice's link keeps working this many days after its deadline (to bring a
# barred or suspended line back), then it says the request is closed.
TELEREG_LINK_GRACE_DAYS = env.int("TELEREG_LINK_GRACE_DAYS", default=60)
# Wrong answers on the self-service pages, per address and hour.
TELEREG_ANSWER_ADDRESS_LIMIT = env.int("TELEREG_ANSWER_ADDRESS_LIMIT", default=20)
# Receipt checks (the QR code's public page) per client address per hour.
TELEREG_RECEIPT_CHECK_LIMIT = env.int("TELEREG_RECEIPT_CHECK_LIMIT", default=60)
# Look-ups by document (and of a line by number) per staff member and hour, all
# surfaces counted together; past it a 429 and an alert to compliance officers
# (0: no limit, for the benchmark only).
TELEREG_LOOKUP_LIMIT_PER_HOUR = env.int("TELEREG_LOOKUP_LIMIT_PER_HOUR", default=30)
# "Lines under my ID": look-ups per document and hour, whatever the address.
TELEREG_MY_LINES_DOCUMENT_LIMIT = env.int("TELEREG_MY_LINES_DOCUMENT_LIMIT", default=5)
# Messages per second per channel across all workers (shared through the cache:
# Redis in production), 0 for no limit: e.g. TELEREG_CHANNEL_RATES=sms:50,email:10
TELEREG_CHANNEL_RATES = env.dict("TELEREG_CHANNEL_RATES", cast={"value": float}, default={})
# The channels holder alerts and "lines under my ID" codes go out through (any
# channel registered in notices.channels; checked at start).
TELEREG_ALERT_CHANNEL = env.str("TELEREG_ALERT_CHANNEL", default="file")
TELEREG_CODE_CHANNEL = env.str("TELEREG_CODE_CHANNEL", default="file")
# Django's error reports (the technical 500 page with DEBUG on, error e-mails) show no
# request values and no frame variables but harmless scalars, DEBUG on or off.
# /metrics (config/metrics.py): readable from these addresses or networks, or
# with "Authorization: Bearer <TELEREG_METRICS_TOKEN>"; 404 to anyone else.
TELEREG_METRICS_ALLOW = env.list("TELEREG_METRICS_ALLOW", default=["127.0.0.1", "::1"])
TELEREG_METRICS_TOKEN = env.str("TELEREG_METRICS_TOKEN", default="")
# django-prometheus' own metrics are named telereg_django_… too.
PROMETHEUS_METRIC_NAMESPACE = "telereg"
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.PersonalDataReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "config.error_reports.PersonalDataExceptionReporter"

# --- Logging ------------------------------------------------------------------------

# "plain" (a line per record) or "json" (a JSON object per record:
# config/log_format.py); production defaults to json.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.request_id.RequestIdFilter"},
        "redact": {"()": "identity.logging.RedactPersonalData"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "config.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"handlers": ["console", "mail_admins"], "propagate": False},
        # runserver's request lines, through the same redaction (Django's default
        # handler for this logger would print paths such as /r/<token> as they came).
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- The portrait check at the counter (issue 14) ---------------------------------------
# A portrait of at most 2 MB travels as base64 (about 2.8 MB) in the JSON body.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=4 * 1024 * 1024)
# "simulated" (the simulated authority's reference portraits) or "http".
TELEREG_PORTRAIT_MATCHER = env.str("TELEREG_PORTRAIT_MATCHER", default="simulated")
TELEREG_PORTRAIT_MATCHER_URL = env.str("TELEREG_PORTRAIT_MATCHER_URL", default="")
TELEREG_PORTRAIT_MATCHER_USERNAME = env.str("TELEREG_PORTRAIT_MATCHER_USERNAME", default="")
TELEREG_PORTRAIT_MATCHER_PASSWORD = secret_setting("TELEREG_PORTRAIT_MATCHER_PASSWORD")
TELEREG_PORTRAIT_MATCHER_TIMEOUT = env.float("TELEREG_PORTRAIT_MATCHER_TIMEOUT", default=5.0)
TELEREG_PORTRAIT_MATCHER_RETRIES = env.int("TELEREG_PORTRAIT_MATCHER_RETRIES", default=2)
TELEREG_PORTRAIT_MATCHER_BACKOFF = env.float("TELEREG_PORTRAIT_MATCHER_BACKOFF", default=0.2)
TELEREG_PORTRAIT_MATCHER_BREAKER_THRESHOLD = env.int(
    "TELEREG_PORTRAIT_MATCHER_BREAKER_THRESHOLD", default=5
)
TELEREG_PORTRAIT_MATCHER_BREAKER_RESET = env.float(
    "TELEREG_PORTRAIT_MATCHER_BREAKER_RESET", default=30.0
)
CELERY_BEAT_SCHEDULE["portrait-reviews-expire"] = {
    "task": "registration.tasks.expire_portrait_reviews",
    "schedule": 300.0,
}
# Issue 16: velocity rules (reverification.velocity). More than N openings for
# one document across the operator's stores within H hours, or more than M
# openings at one store within an hour, raise a medium risk flag on the new
# lines and one alert per burst on the console home. Blacklisting a store opens
# a re-verification campaign on its lines of the last D days.
TELEREG_VELOCITY_DOCUMENT_OPENINGS = env.int("TELEREG_VELOCITY_DOCUMENT_OPENINGS", default=3)
TELEREG_VELOCITY_DOCUMENT_HOURS = env.int("TELEREG_VELOCITY_DOCUMENT_HOURS", default=24)
TELEREG_VELOCITY_STORE_OPENINGS_PER_HOUR = env.int(
    "TELEREG_VELOCITY_STORE_OPENINGS_PER_HOUR", default=60
)
TELEREG_BLACKLIST_LOOKBACK_DAYS = env.int("TELEREG_BLACKLIST_LOOKBACK_DAYS", default=90)
for _name in (
    "TELEREG_VELOCITY_DOCUMENT_OPENINGS",
    "TELEREG_VELOCITY_DOCUMENT_HOURS",
    "TELEREG_VELOCITY_STORE_OPENINGS_PER_HOUR",
    "TELEREG_BLACKLIST_LOOKBACK_DAYS",
):
    if not 1 <= globals()[_name] <= 100_000:
        raise ImproperlyConfigured(f"{_name} must be between 1 and 100000.")
