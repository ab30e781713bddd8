"""The embedded default for `make run`: SQLite and the filesystem broker unless
DATABASE_URL / REDIS_URL say otherwise. Secrets come from var/local.env, which
`make run` writes once for this machine (config/local_env.py), or from the
environment; without them it refuses to start (no fixed fallback key).

DEBUG is off, as in production, so that `make run` shows the project's own
error pages; DJANGO_DEBUG=1 opts in to Django's technical pages."""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

# TELEREG_LOCAL_ENV_FILE: another file than var/local.env (the tests use it).
_ENV_FILE = Path(
    os.environ.get("TELEREG_LOCAL_ENV_FILE")
    or Path(__file__).resolve().parent.parent.parent / "var" / "local.env"
)
if _ENV_FILE.exists():
    environ.Env.read_env(str(_ENV_FILE), overwrite=False)

from .base import *  # noqa: E402

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: run `make keys` (python -m config.local_env writes "
        "var/local.env for this machine) or set SECRET_KEY in the environment."
    )
