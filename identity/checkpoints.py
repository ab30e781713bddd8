"""Signed checkpoints of the access log's chain heads, kept outside the database.

A checkpoint is one JSON file ``cp-<UTC time>-<random>.json`` in
``TELEREG_AUDIT_CHECKPOINT_DIR``: ``{"body": "<canonical JSON>", "key": "<signing
key id>", "sig": "<base64 Ed25519 signature of body>"}``, where the body lists,
for each chain, the sequence number and digest of its last entry at that time.

Files are written to a temporary name and hard-linked into place, so a reader
never sees half a checkpoint and an existing checkpoint is never overwritten
(``os.link`` refuses an existing name); nothing here deletes one. The database
cannot rewrite them, and without the signing key nobody can forge one: a chain
the database now shows shorter, rewound or different from what a checkpoint
saw is caught by ``access_log.verify``. Point the directory at storage the
database's users cannot reach (another volume, a WORM bucket mounted
read-append, a log shipper that copies new files away).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from .audit_crypto import CheckpointSigner

FORMAT_VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
_NAME_RE = re.compile(r"cp-\d{8}T\d{12}Z-[0-9a-f]{8}\.json")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")
SCOPES = ("recent", "all")


@dataclass(frozen=True)
class Checkpoint:
    name: str
    at: str
    scope: str
    heads: Mapping[str, tuple[int, str]]


@dataclass(frozen=True)
class CheckpointProblem:
    name: str
    problem: str


def checkpoint_dir() -> Path:
    return Path(settings.TELEREG_AUDIT_CHECKPOINT_DIR)


def write(
    heads: Mapping[str, tuple[int, str]],
    *,
    scope: str,
    at: dt.datetime | None = None,
    directory: Path | None = None,
) -> Path:
    """Sign ``heads`` (chain → (last seq, last digest)) and store them as a new file."""
    if scope not in SCOPES:
        raise ValueError(f"unknown checkpoint scope {scope!r}")
    at = (at or timezone.now()).astimezone(dt.UTC)
    directory = directory or checkpoint_dir()
    signer = CheckpointSigner.from_settings()
    body = json.dumps(
        {
            "v": FORMAT_VERSION,
            "at": at.isoformat(timespec="microseconds"),
            "scope": scope,
            "heads": {chain: [seq, digest] for chain, (seq, digest) in heads.items()},
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    document = json.dumps({"body": body, "key": signer.key_id, "sig": signer.sign(body.encode())})
    directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-cp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(document)
            handle.flush()
            os.fsync(handle.fileno())
        while True:
            path = directory / f"cp-{at:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}.json"
            try:
                os.link(tmp, path)  # atomic, and never replaces an existing checkpoint
            except FileExistsError:
                continue
            break
    finally:
        os.unlink(tmp)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def read_all(directory: Path | None = None) -> tuple[list[Checkpoint], list[CheckpointProblem]]:
    """Every checkpoint in name (= time) order, and what is wrong with the files
    that cannot be trusted: unreadable, malformed, or with a bad signature."""
    directory = directory or checkpoint_dir()
    if not directory.is_dir():
        return [], []
    signer = CheckpointSigner.from_settings()
    good: list[Checkpoint] = []
    problems: list[CheckpointProblem] = []
    for path in sorted(directory.iterdir()):
        name = path.name
        if name.startswith(".tmp-"):
            continue
        if not _NAME_RE.fullmatch(name):
            if name.startswith("cp-"):
                problem = gettext_noop("unexpected checkpoint file name")
                problems.append(CheckpointProblem(name, problem))
            continue
        checkpoint, problem = _read_one(path, signer)
        if problem is not None:
            problems.append(CheckpointProblem(name, problem))
        else:
            good.append(checkpoint)
    return good, problems


def _read_one(path: Path, signer: CheckpointSigner) -> tuple[Checkpoint | None, str | None]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None, gettext_noop("too large to be a checkpoint")
        document = json.loads(path.read_text(encoding="utf-8"))
        body_text, key_id, signature = document["body"], document["key"], document["sig"]
        if not all(isinstance(v, str) for v in (body_text, key_id, signature)):
            return None, gettext_noop("malformed")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, KeyError, TypeError):
        return None, gettext_noop("unreadable or malformed")
    problem = signer.verify(key_id, body_text.encode(), signature)
    if problem is not None:
        return None, problem
    try:
        body = json.loads(body_text)
        if body["v"] != FORMAT_VERSION or body["scope"] not in SCOPES:
            return None, gettext_noop("unknown checkpoint format")
        heads: dict[str, tuple[int, str]] = {}
        for chain, (seq, digest) in body["heads"].items():
            if (
                not isinstance(seq, int)
                or isinstance(seq, bool)
                or seq < 1
                or not isinstance(digest, str)
                or not _HEX64_RE.fullmatch(digest)
            ):
                return None, gettext_noop("malformed head")
            heads[chain] = (seq, digest)
        return Checkpoint(path.name, str(body["at"]), body["scope"], heads), None
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return None, gettext_noop("signed but malformed")
