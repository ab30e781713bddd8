"""What re-verification does when a line closes (registration calls it
through ``registration.hooks.line_closed``, inside the closing's database
transaction): nothing more is asked of a line that no longer exists."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .models import Dispute, DisputeState, RequestState, ReverificationRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from registration.models import Line

CLOSED_NOTE = "line closed"


def line_closed(line: Line, now: dt.datetime, actor: AbstractBaseUser | None) -> None:
    """The line's open requests (waiting, or expired but still answerable)
    are cancelled, so no reminder, barring or answer acts on it any more; its
    open disputes are cancelled, with the closing's actor and time."""
    ReverificationRequest.objects.filter(
        line=line, state__in=[RequestState.PENDING, RequestState.EXPIRED]
    ).update(state=RequestState.CANCELLED)
    Dispute.objects.filter(line=line, state=DisputeState.OPEN).update(
        state=DisputeState.CANCELLED, resolved_by=actor, resolved_at=now, note=CLOSED_NOTE
    )
