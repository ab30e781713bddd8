"""Production refuses to start half-configured: without each variable it
needs it stops with ImproperlyConfigured naming that variable, and with all of
them it starts and passes ``check --deploy``.

Each case is a fresh interpreter importing the settings with an environment
made here (nothing inherited but PATH), so the suite's own settings and the
developer's shell play no part."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _b64(byte: bytes) -> str:
    return base64.b64encode(byte * 32).decode()


def production_env() -> dict[str, str]:
    """A complete production environment with obviously fake values. The
    database and Redis are never contacted by a settings import or a check."""
    return {
        "SECRET_KEY": "prod-test-" + "k" * 60,
        "ALLOWED_HOSTS": "telereg.example.test",
        "DATABASE_URL": "postgres://telereg_app:pw@db.example.test:5432/telereg",
        "REDIS_URL": "redis://redis.example.test:6379/0",
        "TELEREG_PUBLIC_URL": "https://telereg.example.test",
        "TELEREG_KEYS": "p1:" + _b64(b"\x11"),
        "TELEREG_ACTIVE_KEY": "p1",
        "TELEREG_INDEX_KEY": _b64(b"\x12"),
        "TELEREG_AUDIT_KEYS": "pa1:" + _b64(b"\x13"),
        "TELEREG_AUDIT_ACTIVE_KEY": "pa1",
        "TELEREG_AUDIT_SIGNING_KEY": _b64(b"\x14"),
        "TELEREG_REPORT_SIGNING_KEY": _b64(b"\x15"),
    }


def run_production(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    full = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


IMPORT = [
    "-c",
    "import django; django.setup(); from django.conf import settings; "
    "print('started', settings.DATABASES['default']['ENGINE'], settings.TELEREG_PUBLIC_URL)",
]


@pytest.mark.parametrize("name", sorted(production_env()))
def test_production_refuses_to_start_without_each_variable_naming_it(name):
    env = production_env()
    del env[name]
    result = run_production(env, *IMPORT)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.strip().splitlines()[-1]
    assert "started" not in result.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "sqlite:////tmp/telereg.sqlite3"),
        ("DATABASE_URL", "mysql://u:p@db.example.test/telereg"),
        ("REDIS_URL", "filesystem://"),
        ("REDIS_URL", "memory://"),
        ("TELEREG_PUBLIC_URL", "http://telereg.example.test"),
        ("TELEREG_PUBLIC_URL", "https://"),
        ("TELEREG_PUBLIC_URL", "telereg.example.test"),
        ("ALLOWED_HOSTS", ""),
        ("TELEREG_KEYS", ""),
    ],
)
def test_production_refuses_a_wrong_value_naming_the_variable(name, value):
    env = {**production_env(), name: value}
    result = run_production(env, *IMPORT)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last
    assert name in last


def test_production_starts_with_everything_set_and_passes_check_deploy():
    started = run_production(production_env(), *IMPORT)
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == [
        "started",
        "django.db.backends.postgresql",
        "https://telereg.example.test",
    ]
    checked = run_production(
        production_env(), "manage.py", "check", "--deploy", "--fail-level", "WARNING"
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
    assert "no issues" in checked.stdout
