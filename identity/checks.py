"""System checks: a malformed access-log key refuses start-up (`manage.py check`,
and every process Django starts), naming the setting, never the key."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

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
