"""Link tokens of re-verification requests: the request's id and a keyed
digest of it, recomputed for each reminder and never stored.

The digest is Django's ``salted_hmac`` under a salt of its own
(:mod:`config.keyed`), so a link sent before ``SECRET_KEY`` rotated still opens
while the old key is in ``SECRET_KEY_FALLBACKS``, and no longer once it is
dropped. Links sent before this scheme (a plain HMAC of ``reverification:<id>``
under SECRET_KEY) keep opening too, under the current key or a fallback, for as
long as such links live (the campaign's deadline plus TELEREG_LINK_GRACE_DAYS);
``LEGACY_LINKS`` can then be switched off."""

from __future__ import annotations

import hashlib
import hmac

from config import keyed

from .models import ReverificationRequest

LINK_SALT = "telereg.reverification.link-token"
DIGEST_LENGTH = 32
TOKEN_MAX_LENGTH = 64  # an id and 32 hex digits; anything longer is not ours
LEGACY_LINKS = True


def request_token(request_id: int) -> str:
    """The link token of a request: its id and a keyed digest of it. Recomputed
    for each reminder, never stored; unguessable without SECRET_KEY."""
    return f"{request_id}.{keyed.digest(LINK_SALT, str(request_id), length=DIGEST_LENGTH)}"


def _legacy_verifies(request_id: int, digest: str) -> bool:
    found = False
    for secret in keyed.secrets_in_force():
        made = hmac.new(
            secret.encode(), f"reverification:{request_id}".encode(), hashlib.sha256
        ).hexdigest()[:DIGEST_LENGTH]
        found |= hmac.compare_digest(digest, made)
    return found


def request_from_token(token: str) -> ReverificationRequest | None:
    """The request a token names, or None for any token we did not make (or
    made under a key no longer in force)."""
    if len(token) > TOKEN_MAX_LENGTH:
        return None
    request_id, _, digest = token.partition(".")
    if not request_id.isdigit() or not request_id.isascii() or len(digest) != DIGEST_LENGTH:
        return None
    pk = int(request_id)
    valid = keyed.verifies(LINK_SALT, str(pk), digest, length=DIGEST_LENGTH)
    if not valid and LEGACY_LINKS:
        valid = _legacy_verifies(pk, digest)
    if not valid or str(pk) != request_id:
        return None
    return ReverificationRequest.objects.filter(pk=pk).first()
