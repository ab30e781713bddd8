"""The lock files (requirements/*.txt) agree with pyproject.toml: every
dependency pyproject pins is locked at that very version, every locked
requirement carries hashes (so ``pip install --require-hashes`` takes it), and
the Makefile installs from them. ``make lock-check`` (CI) goes further and
compiles them again; this test needs no network."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = {
    "base.txt": [],
    "dev.txt": ["dev"],
    "bench.txt": ["dev", "bench"],
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wanted(extras: list[str]) -> dict[str, str]:
    wanted = {}
    specs = list(PYPROJECT["project"]["dependencies"])
    for extra in extras:
        specs += PYPROJECT["project"]["optional-dependencies"][extra]
    for spec in specs:
        match = _PIN.match(spec)
        assert match, f"pyproject.toml pins every dependency exactly: {spec!r}"
        wanted[_canonical(match[1])] = match[2]
    return wanted


def parse_lock(text: str) -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes) of each requirement in a lock file."""
    locked: dict[str, tuple[str, int]] = {}
    # A requirement spans its continuation lines ("\\" at the end).
    for block in re.split(r"(?<!\\)\n(?=\S)", text):
        first = block.lstrip()
        if not first or first.startswith("#"):
            continue
        match = _PIN.match(first)
        assert match, f"not a pinned requirement: {first.splitlines()[0]!r}"
        locked[_canonical(match[1])] = (match[2], block.count("--hash=sha256:"))
    return locked


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_each_lock_pins_what_pyproject_pins_with_hashes(lock, extras):
    locked = parse_lock((ROOT / "requirements" / lock).read_text())
    for name, version in _wanted(extras).items():
        assert name in locked, f"{name} is in pyproject.toml but not in requirements/{lock}"
        assert locked[name][0] == version, (
            f"requirements/{lock} locks {name}=={locked[name][0]}, pyproject.toml says "
            f"{version}: run make lock"
        )
    unhashed = [name for name, (_, hashes) in locked.items() if hashes == 0]
    assert not unhashed, f"requirements/{lock}: no hashes for {unhashed}"
    # The project itself is never in its own lock (it is installed with --no-deps).
    assert "telereg" not in locked


def test_the_parser_sees_a_missing_pin_and_a_missing_hash():
    text = (
        "django==5.2.19 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via telereg\ncelery==5.6.0\n"
    )
    locked = parse_lock(text)
    assert locked == {"django": ("5.2.19", 1), "celery": ("5.6.0", 0)}


def test_the_makefile_installs_from_the_locks_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    for lock in LOCKS:
        assert f"--require-hashes -r requirements/{lock}" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
    # No venv target resolves dependencies from pyproject.toml by itself any more.
    assert "pip install --quiet -e '.[" not in makefile
    assert re.search(r"^lock:", makefile, re.M)
    assert re.search(r"^lock-check:", makefile, re.M)
