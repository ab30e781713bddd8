"""The README points only at files a clone has (issue 12): every repository
path it names exists, and nothing outside the clone is named; what lives under
``var/`` is created by ``make run``/``make test`` and the README says so."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    "README.md",
    "deploy/README.md",
    *sorted(p.as_posix() for p in Path(ROOT, "docs").glob("*.md")),
]
TOP = {p.name for p in ROOT.iterdir() if not p.name.startswith(".") or p.name == ".ci"}
GENERATED = ("var/", ".venv/")


def named_paths(text: str) -> set[str]:
    """Code spans that are repository paths: they start with one of the
    clone's top-level names (or climb out of it), name a file (an extension)
    or a folder (a trailing slash), and hold no placeholder. API paths such
    as ``identity/check`` are neither."""
    found: set[str] = set()
    for span in re.findall(r"`([^`\s]+)`", text):
        path = re.split(r"[:#]", span)[0].rstrip(".,")
        if any(mark in path for mark in "<>{}*$"):
            continue
        looks_like_file = path.endswith("/") or "." in path.rsplit("/", 1)[-1]
        if (
            "/" in path
            and looks_like_file
            and (path.startswith("../") or path.split("/")[0] in TOP)
        ):
            found.add(path)
    return found


def test_the_readmes_name_only_files_a_clone_has():
    missing = {}
    for document in DOCUMENTS:
        path = ROOT / document
        text = path.read_text(encoding="utf-8")
        base = path.parent
        gone = sorted(
            p
            for p in named_paths(text)
            if not p.startswith(GENERATED) and not (ROOT / p).exists() and not (base / p).exists()
        )
        if gone:
            missing[document] = gone
    assert missing == {}


def test_nothing_outside_the_clone_is_named():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../" not in " ".join(named_paths(text))


def test_the_readme_says_var_is_made_by_the_two_commands():
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "Everything under `var/` is created by `make run` and `make test`" in text
