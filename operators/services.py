"""Writes about operators, stores and staff."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from .models import ConfidentialityUndertaking, StaffMember, UndertakingAcceptance, WorkerHeartbeat

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


@transaction.atomic
def undertaking_accept(
    *, user: AbstractBaseUser, undertaking: ConfidentialityUndertaking
) -> UndertakingAcceptance:
    """Record that ``user`` accepted this version of the undertaking.

    Idempotent: accepting the same version twice keeps the first acceptance time."""
    now = timezone.now()
    acceptance, created = UndertakingAcceptance.objects.get_or_create(
        user=user, undertaking=undertaking, defaults={"accepted_at": now}
    )
    if created:
        StaffMember.objects.filter(user=user).update(
            confidentiality_accepted_at=acceptance.accepted_at,
            confidentiality_version=undertaking.version,
        )
        logger.info("user %s accepted undertaking %s", user.pk, undertaking.version)
    if hasattr(user, "_telereg_undertaking_pending"):
        del user._telereg_undertaking_pending
    return acceptance


def heartbeat_record(*, name: str) -> None:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})
