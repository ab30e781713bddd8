"""System checks: a malformed access-log key refuses start-up (`manage.py check`,
and every process Django starts), naming the setting, never the key."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from . import crypto
from .audit_crypto import AuditKeyRing, CheckpointSigner, KeyRingError


@checks.register(checks.Tags.security)
def audit_keys_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if settings.TELEREG_AUDIT_KEYS or settings.TELEREG_AUDIT_ACTIVE_KEY:
        try:
            AuditKeyRing.from_settings()
        except KeyRingError as exc:
            errors.append(checks.Error(str(exc), id="identity.E101"))
    if settings.TELEREG_AUDIT_SIGNING_KEY or settings.TELEREG_AUDIT_VERIFY_KEYS:
        try:
            CheckpointSigner.from_settings()
        except KeyRingError as exc:
            errors.append(checks.Error(str(exc), id="identity.E102"))
    return errors


@checks.register(checks.Tags.security)
def data_keys_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The personal-data key ring (TELEREG_KEYS, TELEREG_ACTIVE_KEY, TELEREG_INDEX_KEY):
    a malformed entry, an unknown cipher or a key of the wrong size refuses start-up
    rather than the first registration."""
    if not (settings.TELEREG_KEYS or settings.TELEREG_ACTIVE_KEY or settings.TELEREG_INDEX_KEY):
        return []  # unset: production refuses on its own, `make run` writes them
    try:
        crypto.KeyRing.from_settings()
    except crypto.KeyRingError as exc:
        return [checks.Error(str(exc), id="identity.E103")]
    return []
