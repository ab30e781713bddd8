"""docs/configuration.md has one table of every setting: every ``TELEREG_*``
name the code reads and every variable the settings read from the
environment is in it, and every name in it is read by something."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
APPS = ("config", "operators", "identity", "registration", "reverification", "notices")
OTHER_FILES = ("deploy/Procfile", "gunicorn.conf.py", "manage.py")

TELEREG_NAME = re.compile(r"\bTELEREG_[A-Z0-9_]*[A-Z0-9]\b")
# env.str("NAME", ...), env.int(...), env.db_url(...), env("NAME"), env_required("NAME"),
# os.environ.get("NAME") / os.environ["NAME"] / os.getenv("NAME"), ${NAME} in the Procfile.
ENV_READ = re.compile(
    r"""(?:\benv(?:\.\w+)?\(\s*|\benv_required\(\s*|environ(?:\.get\(|\[)\s*|getenv\(\s*)"""
    r"""["']([A-Z][A-Z0-9_]+)["']"""
)
SHELL_READ = re.compile(r"\$\{([A-Z][A-Z0-9_]+)")
TABLE_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|", re.M)


def _code_files() -> list[Path]:
    files = [p for app in APPS for p in (ROOT / app).rglob("*.py")]
    return files + [ROOT / name for name in OTHER_FILES if (ROOT / name).exists()]


def _code_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in _code_files())


def documented() -> set[str]:
    return set(TABLE_ROW.findall(DOC.read_text(encoding="utf-8")))


def telereg_names_in_code() -> set[str]:
    return set(TELEREG_NAME.findall(_code_text()))


def environment_reads() -> set[str]:
    text = _code_text()
    return set(ENV_READ.findall(text)) | set(SHELL_READ.findall(text))


def test_the_scan_finds_what_it_must():
    # The greps are the test: they must see the names they are meant to see.
    assert {"TELEREG_PUBLIC_URL", "TELEREG_AUTHORITY_RETRIES", "TELEREG_SMS_URL"} <= (
        telereg_names_in_code()
    )
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BIND", "WEB_CONCURRENCY"} <= (
        environment_reads()
    )
    assert len(documented()) > 60


def test_every_telereg_setting_the_code_reads_is_documented():
    missing = sorted(telereg_names_in_code() - documented())
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_every_environment_variable_the_settings_read_is_documented():
    missing = sorted(environment_reads() - documented())
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_every_documented_name_is_read_by_the_code():
    text = _code_text()
    unread = sorted(name for name in documented() if not re.search(rf"\b{name}\b", text))
    assert not unread, f"documented but read by nothing: {unread}"


def test_each_name_is_documented_once():
    rows = TABLE_ROW.findall(DOC.read_text(encoding="utf-8"))
    assert len(rows) == len(set(rows))
