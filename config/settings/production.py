"""Production: the same behaviour as everywhere, but it refuses to start
without its secrets and enforces HTTPS-only cookies and HSTS."""

from .base import *  # noqa: F403
from .base import env_required

SECRET_KEY = env_required("SECRET_KEY")
TELEREG_KEYS = env_required("TELEREG_KEYS")
TELEREG_ACTIVE_KEY = env_required("TELEREG_ACTIVE_KEY")
TELEREG_INDEX_KEY = env_required("TELEREG_INDEX_KEY")
TELEREG_AUDIT_KEYS = env_required("TELEREG_AUDIT_KEYS")
TELEREG_AUDIT_ACTIVE_KEY = env_required("TELEREG_AUDIT_ACTIVE_KEY")
TELEREG_AUDIT_SIGNING_KEY = env_required("TELEREG_AUDIT_SIGNING_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")  # no default: name the hosts you serve
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
