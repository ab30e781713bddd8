"""The apps' message catalogues compiled for a test run (``.mo`` files are
built, not committed: ``make messages`` builds them, and so does this, for
the apps whose Chinese pages the tests read)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from django.utils.translation import trans_real

ROOT = Path(__file__).resolve().parent.parent
APPS = ("reverification", "notices")


def po_files() -> list[Path]:
    return sorted(p for app in APPS for p in (ROOT / app / "locale").glob("*/LC_MESSAGES/*.po"))


def compile_catalogues() -> None:
    """Compile each catalogue whose .mo is missing or older than its .po
    (atomically: parallel test workers may do it at once), then drop the
    translations already loaded so that the new ones are read."""
    changed = False
    for po in po_files():
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        os.close(fd)
        subprocess.run(["msgfmt", "--check-format", "-o", tmp, str(po)], check=True)  # noqa: S603, S607
        os.replace(tmp, mo)
        changed = True
    if changed:
        trans_real._translations = {}
        trans_real._default = None
