"""Velocity rules: openings that come too fast are flagged (issue 16).

- More than ``TELEREG_VELOCITY_DOCUMENT_OPENINGS`` lines opened for one
  document (one person of the operator, whichever store) within
  ``TELEREG_VELOCITY_DOCUMENT_HOURS`` hours;
- more than ``TELEREG_VELOCITY_STORE_OPENINGS_PER_HOUR`` lines opened at one
  store within an hour.

Evaluated after each opening commits (registration's ``line_opened`` hook,
so registration never imports this app). A rule that fires raises a medium
risk flag on the lines of the burst and one :class:`VelocityAlert` for the
console home; while openings of the same key keep coming within the rule's
window the burst goes on: the alert counts them and each new line is
flagged, but no second alert is raised. Concurrent openings of one key are
serialised by a transaction-scoped advisory lock on PostgreSQL, so two
racing openings do not raise two alerts."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from registration.models import Line, LineStatus

from . import risk
from .models import RiskSource, RiskTier, VelocityAlert, VelocityRule

logger = logging.getLogger(__name__)

_LOCK_PREFIX = "telereg.velocity:"


def _lock(key: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [_LOCK_PREFIX + key]
            )


def line_opened(line_id: int) -> None:
    """Check both rules for a line that just opened. Never raises: a failure
    is logged (the error's type, never data) and the opening stands."""
    try:
        _evaluate(line_id, now=timezone.now())
    except Exception:
        logger.exception("velocity: evaluation of line %s failed", line_id)


def _evaluate(line_id: int, *, now: dt.datetime) -> list[VelocityAlert]:
    line = Line.objects.select_related("holder").filter(pk=line_id).first()
    if line is None or line.holder_id is None:
        return []
    fired = []
    document_window = dt.timedelta(hours=settings.TELEREG_VELOCITY_DOCUMENT_HOURS)
    by_document = Line.objects.filter(
        operator_id=line.operator_id,
        holder_id=line.holder_id,
        registered_at__gt=now - document_window,
    ).exclude(status=LineStatus.CLOSED)
    alert = _rule(
        line,
        rule=VelocityRule.DOCUMENT,
        key=f"person:{line.holder_id}",
        lines=by_document,
        limit=settings.TELEREG_VELOCITY_DOCUMENT_OPENINGS,
        window=document_window,
        store=None,
        now=now,
    )
    if alert is not None:
        fired.append(alert)
    if line.store_id is not None:
        store_window = dt.timedelta(hours=1)
        by_store = Line.objects.filter(
            store_id=line.store_id, registered_at__gt=now - store_window
        ).exclude(status=LineStatus.CLOSED)
        alert = _rule(
            line,
            rule=VelocityRule.STORE,
            key=f"store:{line.store_id}",
            lines=by_store,
            limit=settings.TELEREG_VELOCITY_STORE_OPENINGS_PER_HOUR,
            window=store_window,
            store=line.store_id,
            now=now,
        )
        if alert is not None:
            fired.append(alert)
    return fired


def _rule(line, *, rule, key, lines, limit, window, store, now) -> VelocityAlert | None:
    """One rule for one key: None while within the limit; else the burst's
    alert (created once, then extended) with the burst's lines flagged."""
    with transaction.atomic():
        _lock(f"{line.operator_id}:{key}")
        count = lines.count()
        if count <= limit:
            return None
        alert = (
            VelocityAlert.objects.select_for_update()
            .filter(operator_id=line.operator_id, rule=rule, key=key, last_at__gt=now - window)
            .order_by("-last_at")
            .first()
        )
        if alert is None:
            alert = VelocityAlert.objects.create(
                operator_id=line.operator_id,
                rule=rule,
                key=key,
                store_id=store,
                openings=count,
                first_at=now,
                last_at=now,
                created_at=now,
            )
            to_flag = list(lines.values_list("pk", flat=True))
            logger.info("velocity: alert %s (%s) raised", alert.pk, rule)
        else:
            # The lines in the window now (the alert's own count may have
            # included this line already, when openings raced).
            alert.openings = max(alert.openings, count)
            alert.last_at = now
            alert.save(update_fields=["openings", "last_at"])
            to_flag = [line.pk]
    reason = {
        VelocityRule.DOCUMENT: "velocity: more than %(n)s openings for one document in %(h)s h",
        VelocityRule.STORE: "velocity: more than %(n)s openings at one store in 1 h",
    }[rule] % {"n": limit, "h": settings.TELEREG_VELOCITY_DOCUMENT_HOURS}
    for pk in to_flag:
        try:
            risk.risk_flag_raise(
                line=Line(pk=pk),
                tier=RiskTier.MEDIUM,
                reason=reason,
                source=RiskSource.VELOCITY,
                actor_label=f"velocity alert #{alert.pk}",
                now=now,
            )
        except (risk.RiskFlagOpen, risk.RiskLineClosed):
            continue  # flagged already (or closed meanwhile): nothing to add
    return alert
