"""Recycled numbers: a number that an earlier line closed with and that a new
line took again (``Line.recycled_at``, set by ``kind_rules.open_line``).

Two readers: the new holder's receipt (the number was used before: the
previous holder's bank and app accounts may still point at it), and the
partners' CAMARA number-recycling check ("did this number change hands after
date D?"), which answers for the partner's own operator only and never says
who held the number.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import timezone

from operators.timezones import zone_of

from . import kinds
from .errors import LineNotFound
from .models import Line, LineStatus, TransactionState

if TYPE_CHECKING:
    from operators.models import Operator

    from .models import Transaction


def receipt_number_used_before(tx: Transaction) -> bool:
    """Whether ``tx``'s receipt tells its new holder that the number was
    used before: a completed opening whose line took a recycled number."""
    line = tx.line
    return bool(
        line is not None
        and line.recycled_at is not None
        and tx.state == TransactionState.COMPLETED
        and kinds.known(tx.kind)
        and kinds.get(tx.kind).opens_line
    )


def day_start(*, operator: Operator, day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the operator's time zone: a partner's
    date is a day of the operator's country, not of UTC."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone_of(operator))


def number_recycled_since(*, operator: Operator, number: str, day: dt.date) -> bool:
    """Whether ``number`` (E.164) was closed and given to another holder on
    or after the start of ``day`` (the operator's time zone). The day itself
    counts: a bank that checked its customer on D must hear of a change later
    that day. The same holder taking their own old number back is no change.

    Raises :class:`LineNotFound` when no line of this operator ever had the
    number (unknown here, or another operator's): the answer never tells one
    operator's partner about another's numbers."""
    lines = list(
        Line.objects.filter(operator=operator, number=number)
        .order_by("registered_at", "pk")
        .values("holder_id", "status", "registered_at", "recycled_at")
    )
    if not lines:
        raise LineNotFound()
    since = day_start(operator=operator, day=day)
    for previous, line in zip(lines, lines[1:], strict=False):
        recycled = line["recycled_at"]
        if (
            recycled is not None
            and recycled >= since
            and previous["status"] == LineStatus.CLOSED
            and previous["holder_id"] != line["holder_id"]
        ):
            return True
    return False


def today_for(operator: Operator) -> dt.date:
    """Today in the operator's time zone (a partner's date may not be later)."""
    return timezone.localdate(timezone.now(), zone_of(operator))
