"""Settings for the test suite: DATABASE_URL when set (PostgreSQL in CI), else SQLite."""

import base64
import os

from .base import *  # noqa: F403

SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-0123456789"  # noqa: S105
DEBUG = False
# The suite's existing tests assert English texts; tests/test_translations.py
# checks base settings' zh-hans default and renders the pages in Chinese.
LANGUAGE_CODE = "en"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASE_MIGRATE_URL and DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # The suite connects as the owner (CI: telereg_owner): pytest-django creates the
    # test database and transactional tests flush it with TRUNCATE, which the runtime
    # role may not do to the access log. Tests of the runtime role connect as it
    # themselves (tests/identity/test_access_log_roles.py). The database name stays
    # DATABASE_URL's, so that a worker handed the test database's URL keeps it.
    _owner = env.db_url_config(DATABASE_MIGRATE_URL)
    for _part in ("USER", "PASSWORD", "HOST", "PORT"):
        DATABASES["default"][_part] = _owner.get(_part, "")

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that a real Celery worker process can share it;
    # one per test run, so that two runs on one machine do not collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

# Fixed, obviously-fake keys: tests must be repeatable and never use real ones.
TELEREG_KEYS = "t1:" + base64.b64encode(b"\x01" * 32).decode()
TELEREG_ACTIVE_KEY = "t1"
TELEREG_INDEX_KEY = base64.b64encode(b"\x02" * 32).decode()
TELEREG_AUDIT_KEYS = "ta1:" + base64.b64encode(b"\x04" * 32).decode()
TELEREG_AUDIT_ACTIVE_KEY = "ta1"
TELEREG_AUDIT_SIGNING_KEY = base64.b64encode(b"\x05" * 32).decode()
TELEREG_REPORT_SIGNING_KEY = base64.b64encode(b"\x06" * 32).decode()
# One folder per run; tests/conftest.py gives every test a folder of its own.
TELEREG_AUDIT_CHECKPOINT_DIR = str(VAR_DIR / f"test-audit-checkpoints-{os.getpid()}")

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "anon": "1000/min",
        "user": "100000/min",
        "sign_in": "1000/min",
        "partner": "1000/min",
    },
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "test-celerybeat-schedule")
