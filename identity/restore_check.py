"""What a restore drill proves about a restored database (deploy/scripts/
restore-drill, after ``verify_access_log`` passed against the backup's
checkpoints): the key ring still opens the persons, crypto-shredding held, and
the backup carries no key.

* ``persons_sample_open``: every encrypted field of a random sample of persons
  opens with the key ring; each read is logged first (purpose ``maintenance``,
  actor ``restore-drill``), like every other read in clear.
* ``shredded_stay_unreadable``: every shredded person has no data key and no
  ciphertext, and opening one is refused.
* ``key_material_in``: which of the files (the dump as SQL, the checkpoints)
  hold any key of the ring, the blind-index key, an audit key or the checkpoint
  signing key, as text or as raw bytes. The key ring is escrowed apart.

Results name persons by their uid only, never by a value."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from . import access_log, vault
from .errors import PersonShredded
from .models import ENCRYPTED_FIELDS, AccessPurpose, Person

ACTOR = "restore-drill"
READ_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class SampleOpened:
    sampled: int
    opened: int
    failed: list[str]  # uids of persons whose fields did not open


@dataclass(frozen=True)
class ShreddedChecked:
    shredded: int
    readable: list[str]  # uids of shredded persons something could still be read of


def persons_sample_open(*, sample: int) -> SampleOpened:
    persons = list(
        Person.objects.filter(shredded_at__isnull=True, wrapped_key__isnull=False)
        .select_related("operator")
        .order_by("?")[:sample]
    )
    failed: list[str] = []
    for person in persons:
        with transaction.atomic():
            access_log.append(
                operator=person.operator,
                actor=None,
                actor_label=ACTOR,
                person=person,
                fields=list(ENCRYPTED_FIELDS),
                purpose=AccessPurpose.MAINTENANCE,
                reason="Restore drill: the restored data opens with the key ring.",
            )
        try:
            values = vault.open_fields(person)
        except Exception:  # any failure to open is what the drill reports
            failed.append(str(person.uid))
            continue
        if not values.get("name") or not values.get("id_number"):
            failed.append(str(person.uid))
    return SampleOpened(sampled=len(persons), opened=len(persons) - len(failed), failed=failed)


def shredded_stay_unreadable() -> ShreddedChecked:
    readable: list[str] = []
    shredded = Person.objects.filter(shredded_at__isnull=False).order_by("pk")
    count = 0
    for person in shredded.iterator(chunk_size=500):
        count += 1
        left = [name for name in ENCRYPTED_FIELDS if bytes(getattr(person, f"{name}_enc") or b"")]
        if person.wrapped_key is not None or left:
            readable.append(str(person.uid))
            continue
        try:
            vault.open_fields(person)
        except PersonShredded:
            continue
        readable.append(str(person.uid))
    return ShreddedChecked(shredded=count, readable=readable)


def _key_texts() -> list[str]:
    texts: list[str] = []
    for name in ("TELEREG_KEYS", "TELEREG_AUDIT_KEYS"):
        for entry in (getattr(settings, name, "") or "").split(","):
            if ":" in entry:
                texts.append(entry.split(":", 1)[1].strip())
    for name in ("TELEREG_INDEX_KEY", "TELEREG_AUDIT_SIGNING_KEY"):
        value = (getattr(settings, name, "") or "").strip()
        if "-----BEGIN" in value:
            texts += [
                line.strip()
                for line in value.splitlines()
                if line.strip() and not line.startswith("-----")
            ]
        elif value:
            texts.append(value)
    return [t for t in texts if len(t) >= 16]


def key_patterns() -> list[bytes]:
    """Every key of the configuration, as its text and its raw bytes."""
    patterns: list[bytes] = []
    for text in _key_texts():
        patterns.append(text.encode())
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) >= 16:
            patterns.append(raw)
    return patterns


def key_material_in(paths: Iterable[Path]) -> list[str]:
    """The files (by path) that hold any key of the configuration."""
    patterns = key_patterns()
    if not patterns:
        raise ValueError("no keys configured to look for")
    overlap = max(len(p) for p in patterns)
    found: list[str] = []
    for path in paths:
        with Path(path).open("rb") as handle:
            tail = b""
            while chunk := handle.read(READ_CHUNK):
                window = tail + chunk
                if any(p in window for p in patterns):
                    found.append(str(path))
                    break
                tail = window[-overlap:]
    return found
