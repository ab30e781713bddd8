"""`make run`'s settings: DEBUG off unless asked for, and never a fixed SECRET_KEY."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRINT = "from django.conf import settings; print(settings.DEBUG, len(settings.SECRET_KEY))"


def _run(tmp_path, env_file_text: str | None, **extra: str) -> subprocess.CompletedProcess:
    env_file = tmp_path / "local.env"
    if env_file_text is not None:
        env_file.write_text(env_file_text)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "TELEREG_LOCAL_ENV_FILE": str(env_file),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", PRINT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_local_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = _run(tmp_path, None)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_local_settings_take_the_generated_key_and_serve_with_debug_off_unless_asked(tmp_path):
    from config import local_env

    result = _run(tmp_path, local_env.render())
    assert result.returncode == 0, result.stderr
    debug, length = result.stdout.splitlines()[-1].split()
    assert debug == "False"
    assert int(length) >= 50
    opted_in = _run(tmp_path, None, DJANGO_DEBUG="1")  # the file written above still holds the key
    assert opted_in.returncode == 0, opted_in.stderr
    assert opted_in.stdout.splitlines()[-1].split()[0] == "True"
