"""The embedded default for `make run`: SQLite and the filesystem broker unless
DATABASE_URL / REDIS_URL say otherwise. Secrets come from var/local.env, which
`make run` writes once for this machine."""

from pathlib import Path

import environ

_ENV_FILE = Path(__file__).resolve().parent.parent.parent / "var" / "local.env"
if _ENV_FILE.exists():
    environ.Env.read_env(str(_ENV_FILE), overwrite=False)

from .base import *  # noqa: E402

DEBUG = env.bool("DJANGO_DEBUG", default=True)
if not SECRET_KEY:
    # Only reached before `make run` wrote var/local.env (e.g. a bare manage.py call).
    SECRET_KEY = "insecure-local-only-key-run-make-run-to-generate-a-real-one"  # noqa: S105
