"""Production: the same behaviour as everywhere, but it refuses to start
half-configured (ImproperlyConfigured naming the missing or wrong variable)
and enforces HTTPS-only cookies and HSTS.

Without these it would otherwise start on the embedded defaults (SQLite, the
filesystem broker, a per-process memory cache, links to http://127.0.0.1):
every one of them is demanded here, none has a fallback."""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, LOGGING, env, env_required

SECRET_KEY = env_required("SECRET_KEY")

# PostgreSQL, never the SQLite file base settings fall back on.
env_required("DATABASE_URL")
if not DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    raise ImproperlyConfigured(
        "DATABASE_URL must name a PostgreSQL database (postgres://user:password@host:5432/name)."
    )

# Redis: the Celery broker and the cache shared by every process (throttles,
# lockouts, channel rates, the authority's circuit breaker).
REDIS_URL = env_required("REDIS_URL")
if urlsplit(REDIS_URL).scheme not in ("redis", "rediss"):
    raise ImproperlyConfigured("REDIS_URL must be a redis:// or rediss:// URL.")

# The address in every notice's link and on every receipt: HTTPS, never the default.
TELEREG_PUBLIC_URL = env_required("TELEREG_PUBLIC_URL")
if urlsplit(TELEREG_PUBLIC_URL).scheme != "https" or not urlsplit(TELEREG_PUBLIC_URL).hostname:
    raise ImproperlyConfigured(
        "TELEREG_PUBLIC_URL must be an https:// URL (the address subscribers open)."
    )

TELEREG_KEYS = env_required("TELEREG_KEYS")
TELEREG_ACTIVE_KEY = env_required("TELEREG_ACTIVE_KEY")
TELEREG_INDEX_KEY = env_required("TELEREG_INDEX_KEY")
TELEREG_AUDIT_KEYS = env_required("TELEREG_AUDIT_KEYS")
TELEREG_AUDIT_ACTIVE_KEY = env_required("TELEREG_AUDIT_ACTIVE_KEY")
TELEREG_AUDIT_SIGNING_KEY = env_required("TELEREG_AUDIT_SIGNING_KEY")
# The key signing the reports sent to the regulator.
TELEREG_REPORT_SIGNING_KEY = env_required("TELEREG_REPORT_SIGNING_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")  # no default: name the hosts you serve
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("The environment variable ALLOWED_HOSTS is required.")
DEBUG = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# One JSON object per log record unless told otherwise (config/log_format.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING = {
    **LOGGING,
    "handlers": {
        **LOGGING["handlers"],
        "console": {**LOGGING["handlers"]["console"], "formatter": LOG_FORMAT},
    },
}
