"""Look-ups of a line by its number: the line's page shows its holder
(masked), so a look-up by number is counted and logged like a look-up by
document (identity.lookups), on every surface that offers it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from identity import lookups

from . import selectors
from .models import Line

if TYPE_CHECKING:
    from operators.tenancy import AnyUser


def line_lookup_by_number(
    *, user: AnyUser, number: str, purpose: str, surface: str, open_only: bool = False
) -> list[Line]:
    """The lines with this (E.164) number that ``user`` may see, newest first.

    Guarantees: an unknown purpose raises (400) and counts nothing; the look-up
    counts against the user's hourly limit (LookupLimitReached past it, and an
    alert); one access-log entry per holder found (or one saying nothing was
    found) is written before the answer."""
    lookups.check_purpose(purpose)
    operator = selectors.lookup_operator(user=user)
    lookups.lookup_allow(actor=user, operator=operator, surface=surface)
    lines = selectors.line_list(user=user).filter(number=number)
    if open_only:
        lines = lines.exclude(status="closed")
    found = list(lines.select_related("holder", "operator", "store").order_by("-registered_at"))
    with transaction.atomic():
        holders = {line.holder_id: line for line in found}
        for line in holders.values():
            lookups.lookup_record(
                operator=line.operator,
                actor=user,
                purpose=purpose,
                surface=surface,
                kind="line_number",
                person=line.holder,
            )
        if not found and operator is not None:
            lookups.lookup_record(
                operator=operator,
                actor=user,
                purpose=purpose,
                surface=surface,
                kind="line_number",
                person=None,
            )
    return found
