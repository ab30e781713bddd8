"""Keyed digests made with Django's signing (``salted_hmac``), each purpose
under its own salt, so that ``SECRET_KEY`` can rotate: a digest made under a
key now listed in ``SECRET_KEY_FALLBACKS`` still verifies, and stops verifying
once that key is dropped from the list.

``digest`` makes one with the current key; ``verifies`` checks one against the
current key and every fallback (constant-time comparisons, all of them made)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.utils.crypto import salted_hmac


def secrets_in_force() -> list[str]:
    """The current SECRET_KEY first, then the fallbacks still accepted."""
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def digest(salt: str, value: str, *, secret: str | None = None, length: int = 64) -> str:
    """The hex digest of ``value`` for one purpose (``salt``), under ``secret``
    (default: the current SECRET_KEY), cut to ``length`` hex characters."""
    mac = salted_hmac(salt, value, secret=secret or settings.SECRET_KEY, algorithm="sha256")
    return mac.hexdigest()[:length]


def verifies(salt: str, value: str, candidate: str, *, length: int = 64) -> bool:
    """Whether ``candidate`` is ``value``'s digest under any key in force."""
    found = False
    for secret in secrets_in_force():
        found |= hmac.compare_digest(candidate, digest(salt, value, secret=secret, length=length))
    return found
