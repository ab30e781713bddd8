"""Where role changes are written down.

Role changes go to the hash-chained access log, which the ``identity`` app
owns; ``identity`` depends on ``operators`` (``operators`` ← ``identity``), so
this app cannot import it. Instead ``identity`` registers its writer here when
its app is ready (:meth:`identity.apps.IdentityConfig.ready`), the mirror
image of ``identity.services.reveal_grant_register``. One recorder, not a
signal: a signal with no receiver is silently a no-op, while a role change
with no recorder must not happen, so :func:`role_audit_record` fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from .models import Operator, StaffMember


@dataclass(frozen=True)
class RoleChangeEvent:
    """One grant request, decision, direct role change or revocation.

    ``event`` is a short code (``grant_requested``, ``grant_approved``,
    ``grant_refused``, ``grant_withdrawn``, ``role_set``, ``revoked``,
    ``store_changed``, ``reactivated``, ``staff_created``); ``detail`` holds
    ids and role codes only, never personal data."""

    operator: Operator
    actor: AbstractBaseUser | None
    staff: StaffMember
    event: str
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


RoleAuditRecorder = Callable[[RoleChangeEvent], None]
_recorder: RoleAuditRecorder | None = None


def role_audit_register(recorder: RoleAuditRecorder) -> RoleAuditRecorder:
    """Install the writer every role change goes through (the access log)."""
    global _recorder  # one process-wide registry, set at app ready
    _recorder = recorder
    return recorder


def role_audit_record(event: RoleChangeEvent) -> None:
    """Write one role change; refuses (so the caller's transaction rolls back)
    when no recorder is installed."""
    if _recorder is None:
        raise ImproperlyConfigured(
            "No role-change recorder is registered: install the identity app, which "
            "writes role changes to the access log."
        )
    _recorder(event)
