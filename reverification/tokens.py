"""Link tokens of re-verification requests: the request's id and a keyed HMAC
of it, recomputed for each reminder and never stored."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

from .models import ReverificationRequest


def request_token(request_id: int) -> str:
    """The link token of a request: its id and a keyed HMAC of it. Recomputed
    for each reminder, never stored; unguessable without SECRET_KEY."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"reverification:{request_id}".encode(), hashlib.sha256
    ).hexdigest()[:32]
    return f"{request_id}.{digest}"


def request_from_token(token: str) -> ReverificationRequest | None:
    """The request a token names, or None for any token we did not make."""
    request_id, _, _ = token.partition(".")
    if not request_id.isdigit() or not hmac.compare_digest(token, request_token(int(request_id))):
        return None
    return ReverificationRequest.objects.filter(pk=int(request_id)).first()
