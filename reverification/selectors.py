"""Reads of re-verification."""

from __future__ import annotations

from registration.models import Line

from .models import RequestState, ReverificationRequest


def person_has_requests(person_id: int) -> bool:
    """Whether any re-verification request names this person."""
    return ReverificationRequest.objects.filter(person_id=person_id).exists()


def line_open_request(line: Line) -> ReverificationRequest | None:
    """The line's latest request still waiting (or expired but answerable)."""
    return (
        ReverificationRequest.objects.filter(
            line=line, state__in=[RequestState.PENDING, RequestState.EXPIRED]
        )
        .order_by("-created_at")
        .first()
    )
