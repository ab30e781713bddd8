"""Production settings refuse to start without secrets and pass check --deploy."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**overrides: str) -> dict[str, str]:
    key = base64.b64encode(os.urandom(32)).decode()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
        "ALLOWED_HOSTS": "telereg.example",
        "TELEREG_KEYS": f"p1:{key}",
        "TELEREG_ACTIVE_KEY": "p1",
        "TELEREG_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
        "TELEREG_AUDIT_KEYS": f"pa1:{base64.b64encode(os.urandom(32)).decode()}",
        "TELEREG_AUDIT_ACTIVE_KEY": "pa1",
        "TELEREG_AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        # Production demands PostgreSQL, Redis and an https public address
        # (tests/config/test_production_settings.py); none is contacted here.
        "DATABASE_URL": "postgres://telereg_app:pw@db.example:5432/telereg",
        "REDIS_URL": "redis://redis.example:6379/0",
        "TELEREG_PUBLIC_URL": "https://telereg.example",
        "TELEREG_REPORT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", env=_production_env(SECRET_KEY=""))
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_production_refuses_to_start_without_encryption_keys():
    result = _manage("check", env=_production_env(TELEREG_KEYS=""))
    assert result.returncode != 0
    assert "TELEREG_KEYS is required" in result.stderr


@pytest.mark.parametrize(
    "missing", ["TELEREG_AUDIT_KEYS", "TELEREG_AUDIT_ACTIVE_KEY", "TELEREG_AUDIT_SIGNING_KEY"]
)
def test_production_refuses_to_start_without_the_access_log_keys(missing):
    result = _manage("check", env=_production_env(**{missing: ""}))
    assert result.returncode != 0
    assert f"{missing} is required" in result.stderr
