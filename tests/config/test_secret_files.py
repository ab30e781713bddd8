"""Key settings may come from mounted secret files (NAME_FILE=/path), read at start."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.secret_files import FILE_SETTINGS, MAX_SECRET_FILE_BYTES, secret_setting

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k1:" + base64.b64encode(b"\x07" * 32).decode()


def test_value_from_the_environment_as_before():
    assert secret_setting("TELEREG_KEYS", environ={"TELEREG_KEYS": SECRET}) == SECRET


def test_neither_set_gives_the_default_and_an_empty_variable_counts_as_unset():
    assert secret_setting("TELEREG_KEYS", environ={}) == ""
    assert secret_setting("TELEREG_KEYS", "d", environ={"TELEREG_KEYS": ""}) == "d"


def test_value_from_a_file_with_its_trailing_newline_trimmed(tmp_path):
    path = tmp_path / "keys"
    path.write_text(SECRET + "\n")
    environ = {"TELEREG_KEYS_FILE": str(path), "TELEREG_KEYS": ""}
    assert secret_setting("TELEREG_KEYS", environ=environ) == SECRET


def test_both_set_is_refused_naming_both_variables_not_the_value(tmp_path):
    path = tmp_path / "keys"
    path.write_text(SECRET)
    environ = {"TELEREG_KEYS": SECRET, "TELEREG_KEYS_FILE": str(path)}
    with pytest.raises(ImproperlyConfigured) as caught:
        secret_setting("TELEREG_KEYS", environ=environ)
    message = str(caught.value)
    assert "TELEREG_KEYS and TELEREG_KEYS_FILE" in message
    assert SECRET not in message
    assert SECRET.split(":")[1] not in message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (b" \n\t\n", "is empty"),
        (b"k1:\xff\xfe", "not UTF-8"),
        (b"k1:abc\x00def", "NUL byte"),
        (b"A" * (MAX_SECRET_FILE_BYTES + 1), "larger than"),
    ],
)
def test_an_unusable_file_is_refused_naming_the_variable_never_the_content(
    tmp_path, content, reason
):
    path = tmp_path / "keys"
    path.write_bytes(content)
    with pytest.raises(ImproperlyConfigured) as caught:
        secret_setting("TELEREG_INDEX_KEY", environ={"TELEREG_INDEX_KEY_FILE": str(path)})
    message = str(caught.value)
    assert message.startswith("TELEREG_INDEX_KEY_FILE:")
    assert reason in message
    if content.strip():
        assert content[:8].decode("latin-1") not in message
    assert caught.value.__cause__ is None


def test_a_missing_or_unreadable_file_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="TELEREG_KEYS_FILE: cannot read"):
        secret_setting("TELEREG_KEYS", environ={"TELEREG_KEYS_FILE": str(tmp_path / "absent")})
    # A directory where a file should be (a secret volume mounted one level off).
    with pytest.raises(ImproperlyConfigured, match="TELEREG_KEYS_FILE: cannot read"):
        secret_setting("TELEREG_KEYS", environ={"TELEREG_KEYS_FILE": str(tmp_path)})


def test_every_key_setting_of_the_settings_module_accepts_a_file():
    source = (ROOT / "config/settings/base.py").read_text()
    for name in FILE_SETTINGS:
        assert f'{name} = secret_setting("{name}")' in source, name


def _production_env(secret_dir: Path, **overrides: str) -> dict[str, str]:
    def secret(name: str, value: str) -> str:
        path = secret_dir / name.lower()
        path.write_text(value + "\n")
        return str(path)

    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "ALLOWED_HOSTS": "telereg.example",
        "SECRET_KEY_FILE": secret("SECRET_KEY", base64.b64encode(os.urandom(48)).decode()),
        "TELEREG_KEYS_FILE": secret(
            "TELEREG_KEYS",
            f"p1:{base64.b64encode(os.urandom(32)).decode()},"
            f"s1:sm4-gcm:{base64.b64encode(os.urandom(16)).decode()}",
        ),
        "TELEREG_ACTIVE_KEY_FILE": secret("TELEREG_ACTIVE_KEY", "s1"),
        "TELEREG_INDEX_KEY_FILE": secret(
            "TELEREG_INDEX_KEY", "hmac-sm3:" + base64.b64encode(os.urandom(32)).decode()
        ),
        "TELEREG_AUDIT_KEYS_FILE": secret(
            "TELEREG_AUDIT_KEYS", f"pa1:{base64.b64encode(os.urandom(32)).decode()}"
        ),
        "TELEREG_AUDIT_ACTIVE_KEY_FILE": secret("TELEREG_AUDIT_ACTIVE_KEY", "pa1"),
        "TELEREG_AUDIT_SIGNING_KEY_FILE": secret(
            "TELEREG_AUDIT_SIGNING_KEY", base64.b64encode(os.urandom(32)).decode()
        ),
        "TELEREG_REPORT_SIGNING_KEY_FILE": secret(
            "TELEREG_REPORT_SIGNING_KEY", base64.b64encode(os.urandom(32)).decode()
        ),
        # Production demands PostgreSQL, Redis and an https address (prodcfg);
        # `check` connects to neither.
        "DATABASE_URL": "postgres://telereg@127.0.0.1:5432/telereg",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "TELEREG_PUBLIC_URL": "https://telereg.example",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_starts_with_every_key_from_mounted_files(tmp_path):
    result = _check(_production_env(tmp_path))
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_refuses_a_key_given_both_ways(tmp_path):
    env = _production_env(tmp_path, TELEREG_INDEX_KEY=base64.b64encode(os.urandom(32)).decode())
    result = _check(env)
    assert result.returncode != 0
    assert "Both TELEREG_INDEX_KEY and TELEREG_INDEX_KEY_FILE are set" in result.stderr


def test_production_refuses_an_empty_secret_file_naming_it(tmp_path):
    env = _production_env(tmp_path)
    Path(env["TELEREG_AUDIT_SIGNING_KEY_FILE"]).write_text("\n")
    result = _check(env)
    assert result.returncode != 0
    assert "TELEREG_AUDIT_SIGNING_KEY_FILE:" in result.stderr
    assert "is empty" in result.stderr


def test_production_refuses_a_malformed_data_key_ring_from_a_file(tmp_path):
    env = _production_env(tmp_path)
    Path(env["TELEREG_KEYS_FILE"]).write_text("p1:rot13-gcm:" + "A" * 44 + "\n")
    result = _check(env)
    assert result.returncode != 0
    assert "TELEREG_KEYS entry 1" in result.stderr
    assert "A" * 44 not in result.stderr
