"""Look-ups that answer "found / not found" about a document, a name or a line.

A masked answer still tells who is registered: a clerk who may ask without
limit recovers a masked document number by guessing the hidden digits (367
guesses were enough). So every look-up by document goes through this module:
it is counted against an hourly limit per staff member (all surfaces together,
``TELEREG_LOOKUP_LIMIT_PER_HOUR``), written to the access log with its purpose
before the answer, and a staff member who hits the limit raises a
:class:`~identity.models.LookupAlert` that compliance officers see in the
console. The public "lines under my ID" page is limited per address and per
document the same way.

The counts live in the database (:class:`~identity.models.LookupBucket`, one
row per limit, locked while counted): every web process shares it, so the
limit holds however many gunicorn workers there are, and two concurrent
look-ups can never both take the last one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, gettext_lazy

from config.api import DomainError
from operators.tenancy import staff_of

from . import access_log, documents, services, vault
from .models import AccessPurpose, LookupAlert, LookupBucket, Person

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from operators.models import Operator, Store

    from .types import IdentityData

logger = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=1)
# Refused attempts kept per bucket (for the alert's count): bounded, so that a
# script hammering a refused limit cannot grow the row without end.
MAX_REFUSED_KEPT = 5000

# Why a staff member may look a person up; the purpose lands in the access log.
LOOKUP_PURPOSES = (
    AccessPurpose.CUSTOMER_REQUEST,
    AccessPurpose.REGISTRATION,
    AccessPurpose.COMPLIANCE_REVIEW,
    AccessPurpose.CORRECTION,
    AccessPurpose.LAW_ENFORCEMENT,
)
LOOKUP_PURPOSE_CHOICES = [(p.value, p.label) for p in LOOKUP_PURPOSES]
DEFAULT_PURPOSE = AccessPurpose.CUSTOMER_REQUEST


class LookupLimitReached(DomainError):
    code = "lookup_limit"
    message = gettext_lazy(
        "Too many look-ups in the last hour. Try again later; compliance has been told."
    )


class LookupPurposeInvalid(DomainError):
    code = "invalid"
    message = gettext_lazy("State why you look this person up.")

    def __init__(self) -> None:
        super().__init__(fields={"purpose": [gettext("Not a known purpose code.")]})


@dataclass(frozen=True)
class Limit:
    key: str
    per_hour: int


def _take(limits: list[Limit], *, now: dt.datetime) -> tuple[bool, int]:
    """Count one look-up against every limit, or refuse it if any is spent.

    Returns ``(allowed, tried)``: ``tried`` is the most look-ups one of the
    limits saw in the window, this one and refused ones included. Runs in its
    own transaction, so that a refusal is recorded even though the caller then
    raises."""
    active = sorted((lim for lim in limits if lim.per_hour > 0), key=lambda lim: lim.key)
    if not active:
        return True, 0
    stamp = now.timestamp()
    cutoff = stamp - WINDOW.total_seconds()
    with transaction.atomic():
        LookupBucket.objects.bulk_create(
            [LookupBucket(key=lim.key) for lim in active], ignore_conflicts=True
        )
        # Locked in key order: two callers sharing buckets never deadlock.
        buckets = {
            b.key: b
            for b in LookupBucket.objects.select_for_update()
            .filter(key__in=[lim.key for lim in active])
            .order_by("key")
        }
        recent = {}
        for lim in active:
            bucket = buckets[lim.key]
            recent[lim.key] = (
                [h for h in bucket.hits if h > cutoff],
                [r for r in bucket.refused_at if r > cutoff][-MAX_REFUSED_KEPT:],
            )
        allowed = all(len(recent[lim.key][0]) < lim.per_hour for lim in active)
        tried = 0
        for lim in active:
            hits, refused = recent[lim.key]
            if allowed:
                hits.append(stamp)
            elif len(hits) >= lim.per_hour:
                refused.append(stamp)
            bucket = buckets[lim.key]
            bucket.hits, bucket.refused_at = hits, refused
            bucket.save(update_fields=["hits", "refused_at", "updated_at"])
            tried = max(tried, len(hits) + len(refused))
    return allowed, tried


def _staff_limit(actor: AbstractBaseUser) -> Limit:
    return Limit(f"staff:{actor.pk}", settings.TELEREG_LOOKUP_LIMIT_PER_HOUR)


def _alert(*, actor: AbstractBaseUser, operator: Operator | None, tried: int, now: dt.datetime):
    """One open alert per staff member and burst: a later refusal in the same
    burst updates it; once acknowledged, the next burst raises a new one."""
    with transaction.atomic():
        alert = (
            LookupAlert.objects.select_for_update()
            .filter(staff=actor, acknowledged_at__isnull=True, window_end__gte=now - WINDOW)
            .order_by("-window_end")
            .first()
        )
        if alert is None:
            LookupAlert.objects.create(
                operator=operator,
                staff=actor,
                count=tried,
                window_start=now - WINDOW,
                window_end=now,
            )
        else:
            alert.count = max(alert.count, tried)
            alert.window_end = now
            alert.save(update_fields=["count", "window_end"])
    logger.warning("look-up limit reached: staff user %s, %s look-ups in an hour", actor.pk, tried)


def lookup_allow(*, actor: AbstractBaseUser, operator: Operator | None, surface: str = "") -> None:
    """Count one look-up by ``actor`` against their hourly limit (every surface
    together), or raise :class:`LookupLimitReached` and alert compliance."""
    now = timezone.now()
    allowed, tried = _take([_staff_limit(actor)], now=now)
    if not allowed:
        _alert(actor=actor, operator=operator, tried=tried, now=now)
        raise LookupLimitReached()


def lookup_record(
    *,
    operator: Operator,
    actor: AbstractBaseUser | None,
    purpose: str,
    surface: str,
    kind: str,
    person: Person | None,
    store: Store | None = None,
    actor_label: str | None = None,
    extra: dict | None = None,
) -> None:
    """The access-log entry of one look-up: who, why, where, and whether it
    found someone (never what was typed)."""
    access_log.append(
        operator=operator,
        actor=actor,
        person=person,
        purpose=purpose,
        store=store if store is not None else _store_of(actor),
        actor_label=actor_label,
        detail={"lookup": kind, "surface": surface, "found": person is not None, **(extra or {})},
    )


def _store_of(actor: AbstractBaseUser | None) -> Store | None:
    staff = staff_of(actor)
    return staff.store if staff else None


def check_purpose(purpose: str) -> str:
    if purpose not in LOOKUP_PURPOSES:
        raise LookupPurposeInvalid()
    return purpose


def person_lookup_by_document(
    *,
    operator: Operator,
    actor: AbstractBaseUser,
    id_type: str,
    id_number: str,
    purpose: str,
    surface: str = "api",
    store: Store | None = None,
) -> Person | None:
    """The person of ``operator`` holding this document, or None.

    Guarantees, in this order: an unknown type or purpose raises (400) and
    counts nothing; the look-up is counted against the actor's hourly limit
    (429 and an alert past it, without answering); it is written to the access
    log with its purpose, found or not; only then comes the answer."""
    check_purpose(purpose)
    index = vault.document_index(id_type, documents.normalise_document(id_type, id_number))
    lookup_allow(actor=actor, operator=operator, surface=surface)
    person = Person.objects.filter(operator=operator, doc_index=index).first()
    lookup_record(
        operator=operator,
        actor=actor,
        purpose=purpose,
        surface=surface,
        kind="document",
        person=person,
        store=store,
        extra={"id_type": id_type},
    )
    return person


def identity_check_counted(
    *,
    operator: Operator,
    identity: IdentityData,
    actor: AbstractBaseUser,
    store: Store | None = None,
    require_address: bool = False,
    surface: str = "api.identity.check",
) -> services.IdentityCheck:
    """:func:`identity.services.identity_check` asked on its own (not inside a
    registration): an oracle of "this name and document exist", so it counts
    against the actor's hourly look-up limit like a look-up by document. An
    invalid block raises first and counts nothing; the check logs itself."""
    services.identity_validate(
        operator=operator, identity=identity, require_address=require_address
    )
    lookup_allow(actor=actor, operator=operator, surface=surface)
    return services.identity_check(
        operator=operator,
        identity=identity,
        actor=actor,
        store=store,
        require_address=require_address,
    )


def address_key(address: str) -> str:
    """An address as a limit's key: keyed, so the table holds no address."""
    digest = salted_hmac("telereg.identity.lookup-address", address, algorithm="sha256")
    return digest.hexdigest()[:40]


def public_lookup_allow(*, address: str, doc_index: str, per_address: int) -> None:
    """A look-up on a public page (no sign-in): limited per address and per
    document (``TELEREG_MY_LINES_DOCUMENT_LIMIT``), so neither one address
    trying many documents nor many addresses trying one document get far."""
    allowed, _ = _take(
        [
            Limit(f"addr:{address_key(address)}", per_address),
            Limit(f"doc:{doc_index[:64]}", settings.TELEREG_MY_LINES_DOCUMENT_LIMIT),
        ],
        now=timezone.now(),
    )
    if not allowed:
        raise LookupLimitReached(gettext("Too many look-ups; try again in an hour."))


def alert_acknowledge(*, alert: LookupAlert, actor: AbstractBaseUser) -> bool:
    """Mark an alert seen by ``actor`` (once: a second acknowledgement keeps the first)."""
    return bool(
        LookupAlert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_by=actor, acknowledged_at=timezone.now()
        )
    )


def buckets_sweep(*, now: dt.datetime | None = None) -> int:
    """Delete limits nobody has counted against for a whole window (their
    counts are all stale): one row per document tried on a public page would
    otherwise stay for ever. Hourly from beat; safe to run at any time."""
    cutoff = (now or timezone.now()) - WINDOW
    deleted, _ = LookupBucket.objects.filter(updated_at__lt=cutoff).delete()
    return deleted
