"""The append-only, keyed hash-chained access log.

Each entry stores the digest of the previous entry of its chain; a digest is
HMAC-SHA256 under a key from ``TELEREG_AUDIT_KEYS`` (never in the database),
and each entry names the key id it was chained with, so a rotation leaves old
entries verifiable. Without the key nobody who can write the table can
recompute a chain.

Chains are per operator and UTC day, so writers of different operators (or
days) never wait on each other (FIELD-NOTES: one global chain cost ~15 % of
throughput). Writers of one chain are serialised by a transaction-scoped
advisory lock on PostgreSQL (SQLite serialises every writer already): the head
of a chain is simply its highest entry, so appending is INSERT-only and the
application's database role needs no UPDATE or DELETE on the log at all.

What an INSERT-only table cannot show, the signed checkpoints can: the heads
are signed (Ed25519) into files outside the database every few minutes and on
every ``verify_access_log`` run (``identity.checkpoints``), and verification
reports a chain that is now shorter, rewound, rewritten or gone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.request_id import current_request_id
from operators.models import Operator

from . import checkpoints
from .audit_crypto import AuditKeyRing
from .models import AccessLogEntry, AccessLogVerification

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from operators.models import Store

    from .models import Person

GENESIS = "0" * 64
# Advisory-lock namespace, so that this lock never collides with another use.
_LOCK_PREFIX = "telereg.access_log:"


def chain_key(operator_id: int, at: dt.datetime) -> str:
    return f"{operator_id}:{at.astimezone(dt.UTC).date().isoformat()}"


def canonical_payload(
    *,
    chain: str,
    seq: int,
    prev_hash: str,
    key_id: str,
    operator_id: int,
    actor_id: int | None,
    actor_label: str,
    store_id: int | None,
    person_id: int | None,
    fields: list[str],
    purpose: str,
    reason: str,
    detail: dict[str, Any],
    request_id: str,
    created_at: dt.datetime,
) -> bytes:
    """The bytes an entry's digest covers: every column but the id and the digest."""
    payload = {
        "chain": chain,
        "seq": seq,
        "prev": prev_hash,
        "key": key_id,
        "operator": operator_id,
        "actor": actor_id,
        "actor_label": actor_label,
        "store": store_id,
        "person": person_id,
        "fields": list(fields),
        "purpose": purpose,
        "reason": reason,
        "detail": detail,
        "request_id": request_id,
        "at": created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_digest(*, ring: AuditKeyRing | None = None, **values: Any) -> str:
    """HMAC-SHA256 of the entry under the key it names (``key_id``)."""
    ring = ring or AuditKeyRing.from_settings()
    return ring.mac(values["key_id"], canonical_payload(**values))


def _lock_chain(key: str) -> tuple[int, str]:
    """Serialise the writers of one chain until commit; return its head (seq, digest)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [_LOCK_PREFIX + key]
            )
    head = (
        AccessLogEntry.objects.filter(chain=key)
        .order_by("-seq")
        .values_list("seq", "entry_hash")
        .first()
    )
    return head or (0, GENESIS)


@transaction.atomic
def append(
    *,
    operator: Operator,
    actor: AbstractBaseUser | None,
    purpose: str,
    person: Person | None = None,
    fields: Iterable[str] = (),
    reason: str = "",
    store: Store | None = None,
    detail: dict[str, Any] | None = None,
    request_id: str | None = None,
    actor_label: str | None = None,
) -> AccessLogEntry:
    """Append one entry to its operator's chain for today, keyed with the active
    audit key. Only ever INSERTs: never edits an entry or any other log row."""
    ring = AuditKeyRing.from_settings()
    now = timezone.now()
    key = chain_key(operator.pk, now)
    last_seq, last_hash = _lock_chain(key)
    values = _entry_values(
        ring,
        key,
        last_seq + 1,
        last_hash,
        now,
        operator=operator,
        actor=actor,
        purpose=purpose,
        person=person,
        fields=fields,
        reason=reason,
        store=store,
        detail=detail,
        request_id=request_id,
        actor_label=actor_label,
    )
    digest = entry_digest(ring=ring, **values)
    return AccessLogEntry.objects.create(entry_hash=digest, **values)


@transaction.atomic
def append_many(entries: Iterable[dict[str, Any]]) -> list[AccessLogEntry]:
    """:func:`append` for many entries (each a dict of its keyword arguments) in one
    transaction, for maintenance work over many persons: the entries and their chains
    are exactly what appending them one by one, in order, would write, but each
    chain is locked (in a fixed order, so two callers cannot deadlock) and its head
    read once, and all entries go in one INSERT."""
    entries = list(entries)
    if not entries:
        return []
    ring = AuditKeyRing.from_settings()
    now = timezone.now()
    heads = {
        key: _lock_chain(key)
        for key in sorted({chain_key(entry["operator"].pk, now) for entry in entries})
    }
    rows: list[AccessLogEntry] = []
    for entry in entries:
        key = chain_key(entry["operator"].pk, now)
        last_seq, last_hash = heads[key]
        values = _entry_values(ring, key, last_seq + 1, last_hash, now, **entry)
        digest = entry_digest(ring=ring, **values)
        heads[key] = (last_seq + 1, digest)
        rows.append(AccessLogEntry(entry_hash=digest, **values))
    return AccessLogEntry.objects.bulk_create(rows)


def _entry_values(
    ring: AuditKeyRing,
    key: str,
    seq: int,
    prev_hash: str,
    now: dt.datetime,
    *,
    operator: Operator,
    actor: AbstractBaseUser | None,
    purpose: str,
    person: Person | None = None,
    fields: Iterable[str] = (),
    reason: str = "",
    store: Store | None = None,
    detail: dict[str, Any] | None = None,
    request_id: str | None = None,
    actor_label: str | None = None,
) -> dict[str, Any]:
    return {
        "chain": key,
        "seq": seq,
        "prev_hash": prev_hash,
        "key_id": ring.active_kid,
        "operator_id": operator.pk,
        "actor_id": actor.pk if actor is not None else None,
        "actor_label": actor_label or (actor.get_username() if actor is not None else "system"),
        "store_id": store.pk if store is not None else None,
        "person_id": person.pk if person is not None else None,
        "fields": sorted(set(fields)),
        "purpose": purpose,
        "reason": reason.strip()[:300],
        "detail": detail or {},
        "request_id": (request_id or current_request_id() or "")[:64],
        "created_at": now,
    }


@dataclass(frozen=True)
class ChainBreak:
    chain: str
    entry_id: int | None
    seq: int
    problem: str


@dataclass
class VerifyReport:
    """What one verification found, and the heads it walked (for a checkpoint)."""

    breaks: list[ChainBreak]
    heads: dict[str, tuple[int, str]]
    entries: int
    checkpoints: int

    @property
    def intact(self) -> bool:
        return not self.breaks


CHECKPOINTS = "checkpoints"


def verify(chunk_size: int = 2000) -> Iterator[ChainBreak]:
    """Every break found: see :func:`verify_report`."""
    yield from verify_report(chunk_size=chunk_size).breaks


def verify_report(*, chunk_size: int = 2000) -> VerifyReport:
    """Walk every chain in order and report the first break of each: an entry
    changed (its digest is not the keyed HMAC of its content), missing or
    reordered, chained with an unknown key; a chain that is shorter than, rewound
    from, or different from what a signed checkpoint saw, or that a checkpoint
    saw and is gone. Checkpoint files that fail their signature are breaks too."""
    ring = AuditKeyRing.from_settings()
    found, problems = checkpoints.read_all()
    breaks = [
        ChainBreak(
            CHECKPOINTS,
            None,
            0,
            _("checkpoint %(name)s: %(problem)s") % {"name": p.name, "problem": _(p.problem)},
        )
        for p in problems
    ]
    # chain -> seq -> (digest, the first checkpoint that saw it)
    seen: dict[str, dict[int, tuple[str, str]]] = {}
    for checkpoint in found:
        for chain, (seq, digest) in checkpoint.heads.items():
            seen.setdefault(chain, {}).setdefault(seq, (digest, checkpoint.name))
    chains = set(AccessLogEntry.objects.order_by().values_list("chain", flat=True).distinct())
    heads: dict[str, tuple[int, str]] = {}
    entries = 0
    for key in sorted(chains | set(seen)):
        broken, head, count = _verify_chain(key, seen.get(key, {}), ring, chunk_size)
        entries += count
        if head[0]:
            heads[key] = head
        if broken is not None:
            breaks.append(broken)
    return VerifyReport(breaks=breaks, heads=heads, entries=entries, checkpoints=len(found))


_ROW_FIELDS = (
    "id",
    "seq",
    "prev_hash",
    "entry_hash",
    "key_id",
    "operator_id",
    "actor_id",
    "actor_label",
    "store_id",
    "person_id",
    "fields",
    "purpose",
    "reason",
    "detail",
    "request_id",
    "created_at",
)


def _verify_chain(
    key: str, seen: Mapping[int, tuple[str, str]], ring: AuditKeyRing, chunk_size: int
) -> tuple[ChainBreak | None, tuple[int, str], int]:
    prev_hash, expected_seq, last_seq, count = GENESIS, 1, 0, 0
    rows = (
        AccessLogEntry.objects.filter(chain=key)
        .order_by("seq")
        .values(*_ROW_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    broken: ChainBreak | None = None
    for row in rows:
        count += 1
        if broken is not None:
            continue  # count the rest; report the first break only
        entry_id = row.pop("id")
        stored_hash = row.pop("entry_hash")
        seq = row["seq"]
        if seq != expected_seq:
            problem = _("expected entry %(seq)d here") % {"seq": expected_seq}
            broken = ChainBreak(key, entry_id, seq, problem)
        elif row["prev_hash"] != prev_hash:
            broken = ChainBreak(key, entry_id, seq, _("does not follow the previous entry"))
        elif row["key_id"] not in ring:
            broken = ChainBreak(key, entry_id, seq, _("chained with a key id not in the key ring"))
        elif entry_digest(ring=ring, chain=key, **row) != stored_hash:
            broken = ChainBreak(key, entry_id, seq, _("content differs from its keyed hash"))
        elif seq in seen and seen[seq][0] != stored_hash:
            problem = _("differs from checkpoint %(name)s (rewritten)") % {"name": seen[seq][1]}
            broken = ChainBreak(key, entry_id, seq, problem)
        else:
            prev_hash, last_seq, expected_seq = stored_hash, seq, seq + 1
    if broken is None and seen:
        top = max(seen)
        if top > last_seq:
            name = seen[top][1]
            if last_seq == 0:
                problem = _("chain is gone: checkpoint %(name)s saw %(top)d entries") % {
                    "name": name,
                    "top": top,
                }
            else:
                problem = _(
                    "entries %(first)d-%(top)d are missing from the end of the chain "
                    "(checkpoint %(name)s saw %(top)d): truncated or rewound"
                ) % {"first": last_seq + 1, "top": top, "name": name}
            broken = ChainBreak(key, None, last_seq, problem)
    return broken, (last_seq, prev_hash), count


def recent_heads(*, now: dt.datetime | None = None) -> dict[str, tuple[int, str]]:
    """The heads of every operator's chains of today and yesterday (UTC): the only
    chains that still grow. One index look-up per chain; nothing is locked."""
    now = now or timezone.now()
    days = [now, now - dt.timedelta(days=1)]
    heads: dict[str, tuple[int, str]] = {}
    for operator_id in Operator.objects.order_by("pk").values_list("pk", flat=True):
        for day in days:
            key = chain_key(operator_id, day)
            head = (
                AccessLogEntry.objects.filter(chain=key)
                .order_by("-seq")
                .values_list("seq", "entry_hash")
                .first()
            )
            if head is not None:
                heads[key] = head
    return heads


def checkpoint_recent() -> str:
    """Sign the growing chains' heads into a new checkpoint; return its file name."""
    return checkpoints.write(recent_heads(), scope="recent").name


def _chain_operator(chain: str) -> int | None:
    """The operator id a chain key (``<operator id>:<UTC day>``) names."""
    head, _sep, _day = chain.partition(":")
    return int(head) if head.isdigit() else None


def verification_record(*, report: VerifyReport, checkpoint: str = "") -> AccessLogVerification:
    """Keep what one ``verify_access_log`` run found, for the console home: the
    counts, which operators' chains broke, whether checkpoint files did, and
    the checkpoint written (blank when it could not be)."""
    broken = sorted(
        {
            operator_id
            for b in report.breaks
            if b.chain != CHECKPOINTS and (operator_id := _chain_operator(b.chain)) is not None
        }
    )
    return AccessLogVerification.objects.create(
        ran_at=timezone.now(),
        entries=report.entries,
        chains=len(report.heads),
        problems=len(report.breaks),
        broken_operator_ids=broken,
        checkpoints_broken=any(b.chain == CHECKPOINTS for b in report.breaks),
        checkpoint=checkpoint[:80],
    )
