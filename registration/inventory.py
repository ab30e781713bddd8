"""The number inventory as operators manage it: loading numbers, putting
available ones to rest (quarantine) and giving rested ones back.

Claiming a number for a transaction lives in :mod:`registration.numbers`;
every write here is a conditional update on the row's status, so it never
touches a number that a transaction holds (reserved) or a line uses (assigned),
even when both run at the same time."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from config.api import DomainError
from operators.models import Operator

from .models import LineKind, NumberStatus, PhoneNumber
from .numbers import InvalidNumber, to_e164

MAX_RANGE = 1_000_000
_RANGE = re.compile(r"^\s*(\+?\d+)\s*-\s*(\+?\d+)\s*$")


class InventoryLoadRefused(DomainError):
    """A load refused as a whole: nothing was written."""

    code = "inventory_load_refused"
    reason = ""

    def __init__(self, message: str, *, position: int | None = None, entry: str = "") -> None:
        super().__init__(message)
        self.position, self.entry = position, entry

    @classmethod
    def at(cls, position: int, entry: str, reason: str) -> InventoryLoadRefused:
        refusal = cls(
            gettext("Entry %(position)s (%(entry)r) is refused: %(reason)s. Nothing was loaded.")
            % {"position": position, "entry": entry, "reason": reason},
            position=position,
            entry=entry,
        )
        refusal.reason = reason
        return refusal


def is_range(spec: str) -> bool:
    """Whether ``spec`` is written as a range ``FIRST-LAST`` of digits."""
    return _RANGE.match(spec) is not None


def number_range(spec: str) -> list[str]:
    """The numbers of an inclusive range ``FIRST-LAST`` (``+8613800000000-+8613800009999``):
    both ends written alike (same length, both with or both without ``+``), at
    most :data:`MAX_RANGE` numbers. Leading zeros of national numbers are kept."""
    match = _RANGE.match(spec)
    if match is None:
        raise InventoryLoadRefused(
            gettext("%(spec)r is not a range like +8613800000000-+8613800009999.") % {"spec": spec}
        )
    first, last = match.groups()
    if len(first) != len(last) or first.startswith("+") != last.startswith("+"):
        raise InventoryLoadRefused(
            gettext("The ends of the range %(first)s-%(last)s must be written alike (same length).")
            % {"first": first, "last": last}
        )
    plus = "+" if first.startswith("+") else ""
    digits = len(first) - len(plus)
    low, high = int(first.lstrip("+")), int(last.lstrip("+"))
    if low > high:
        raise InventoryLoadRefused(
            gettext("The range %(first)s-%(last)s runs backwards.") % {"first": first, "last": last}
        )
    if high - low + 1 > MAX_RANGE:
        raise InventoryLoadRefused(
            gettext(
                "The range %(first)s-%(last)s holds %(count)s numbers; "
                "the most one load takes is %(most)s."
            )
            % {
                "first": first,
                "last": last,
                "count": f"{high - low + 1:,}",
                "most": f"{MAX_RANGE:,}",
            }
        )
    return [f"{plus}{n:0{digits}d}" for n in range(low, high + 1)]


def _chunks(items: list[str]) -> Iterable[list[str]]:
    # Stay under the backend's bound-parameter limit (999 on older SQLite).
    size = min(5000, (connection.features.max_query_params or 5000) - 10)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def number_load(*, operator: Operator, kind: str, numbers: Iterable[str]) -> tuple[int, int]:
    """Add numbers to the operator's inventory as available; return
    ``(created, skipped)``.

    Guarantees: every entry is checked first (a valid number of the
    operator's country and of ``kind``, and not another operator's or another
    kind's), and if any fails nothing is written and
    :class:`InventoryLoadRefused` names the first bad entry. Numbers already in
    this operator's inventory as ``kind``, and repeats within the load, are
    skipped, so loading the same list twice adds nothing. Blank entries and
    ``#`` comments are ignored but counted in positions, so a position is a
    file's line number. Loads for one operator run one at a time."""
    if kind not in LineKind.values:
        raise InventoryLoadRefused(
            gettext("Unknown line kind %(kind)r: use one of %(kinds)s.")
            % {"kind": kind, "kinds": ", ".join(LineKind.values)}
        )
    wanted: dict[str, int] = {}  # E.164 -> position, in first-seen order
    entries = 0
    for position, raw in enumerate(numbers, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        entries += 1
        try:
            e164 = to_e164(text, country=operator.country, kind=kind)
        except InvalidNumber as exc:
            raise InventoryLoadRefused.at(position, text, str(exc)) from None
        wanted.setdefault(e164, position)
    with transaction.atomic():
        # Serialise loads per operator, so the counts below are exact.
        Operator.objects.select_for_update().filter(pk=operator.pk).first()
        ordered = list(wanted)
        existing: set[str] = set()
        for chunk in _chunks(ordered):
            rows = PhoneNumber.objects.filter(number__in=chunk).values_list(
                "number", "operator_id", "kind"
            )
            for number, operator_id, number_kind in rows:
                if operator_id != operator.pk or number_kind != kind:
                    reason = (
                        gettext("already in another operator's inventory as a %(kind)s number")
                        if operator_id != operator.pk
                        else gettext("already in this inventory as a %(kind)s number")
                    )
                    raise InventoryLoadRefused.at(
                        wanted[number], number, reason % {"kind": number_kind}
                    )
                existing.add(number)
        new = [number for number in ordered if number not in existing]
        # ignore_conflicts only guards a concurrent load of another operator.
        PhoneNumber.objects.bulk_create(
            (PhoneNumber(operator=operator, number=number, kind=kind) for number in new),
            batch_size=2000,
            ignore_conflicts=True,
        )
    return len(new), entries - len(new)


def number_quarantine(*, numbers: QuerySet[PhoneNumber], days: int) -> tuple[int, int]:
    """Put the available numbers among ``numbers`` to rest for ``days`` days;
    return ``(quarantined, skipped)``. Reserved, assigned and already
    quarantined numbers are skipped and left exactly as they were."""
    if days < 1:
        raise ValueError("a quarantine lasts at least one day")
    with transaction.atomic():
        total = numbers.count()
        changed = PhoneNumber.objects.filter(
            pk__in=numbers.values("pk"), status=NumberStatus.AVAILABLE
        ).update(
            status=NumberStatus.QUARANTINED,
            quarantined_until=timezone.now() + dt.timedelta(days=days),
        )
    return changed, total - changed


def number_release(*, numbers: QuerySet[PhoneNumber]) -> tuple[int, int]:
    """Make the quarantined numbers among ``numbers`` available now; return
    ``(released, skipped)``. Numbers in any other state are skipped."""
    with transaction.atomic():
        total = numbers.count()
        changed = PhoneNumber.objects.filter(
            pk__in=numbers.values("pk"), status=NumberStatus.QUARANTINED
        ).update(status=NumberStatus.AVAILABLE, quarantined_until=None)
    return changed, total - changed
