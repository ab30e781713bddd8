"""Visitors' lines: the end of a stay (``Line.stay_until``, given at a
``mobile_open`` on a foreign passport).

The daily cycle (``campaigns.reverification_cycle``) calls :func:`stays_cycle`:
a line whose stay ends today or earlier is barred from outgoing calls
(reason ``stay_ended``); a line whose stay ends within 7 days, then within
1 day, is reminded once per stage and end of stay (a :class:`StayReminder`
row, unique, written before the channel is called: a crashed send is not
repeated, and a new end of stay reminds again). A clerk restores the line
with ``campaigns.line_stay_renew`` after checking the holder in person.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from notices import channels
from notices.messages import date_for_reading, language_for, render_message
from registration import alerts
from registration.models import Line, LineStatus

from .models import StayReminder

logger = logging.getLogger(__name__)

STAY_ENDED = "stay_ended"
REMINDER_STAGES = (7, 1)  # days before the end of stay, latest first
STAY_KIND = "stay_ending"
STAY_HORIZON_DAYS = 3660


@dataclass(frozen=True)
class StayResult:
    barred: int
    reminded: int


def stays_cycle(*, now: dt.datetime, today: dt.date) -> StayResult:
    """Bar the lines whose stay has ended; remind those whose end is near."""
    with transaction.atomic():
        barred = Line.objects.filter(stay_until__lte=today, status=LineStatus.ACTIVE).update(
            status=LineStatus.BARRED_OUTGOING, status_reason=STAY_ENDED, status_changed_at=now
        )
    reminded = 0
    for stage in REMINDER_STAGES:
        reminded += _remind(stage, now=now, today=today)
    return StayResult(barred=barred, reminded=reminded)


def _remind(stage: int, *, now: dt.datetime, today: dt.date) -> int:
    """Record and send the reminders of ``stage`` due today."""
    later = [s for s in REMINDER_STAGES if s < stage]
    latest = today + dt.timedelta(days=stage)
    earliest = today + dt.timedelta(days=(max(later) if later else 0) + 1)
    lines = list(
        Line.objects.filter(
            stay_until__gte=earliest, stay_until__lte=latest, status=LineStatus.ACTIVE
        ).select_related("operator", "holder")
    )
    channel = channels.get_channel(settings.TELEREG_ALERT_CHANNEL)
    sent = 0
    for line in lines:
        with transaction.atomic():
            reminder, created = StayReminder.objects.get_or_create(
                line=line,
                stay_until=line.stay_until,
                stage=stage,
                defaults={"channel": channel.name, "created_at": now},
            )
        if created and _send(channel, reminder, line):
            sent += 1
    return sent


def _send(channel, reminder: StayReminder, line: Line) -> bool:
    language = language_for(line.holder.language)
    link = alerts.my_lines_link(operator_code=line.operator.code, language=language)
    text = render_message(
        kind=STAY_KIND,
        language=language,
        context={
            "operator": line.operator.name,
            "last4": line.number[-4:],
            "date": date_for_reading(line.stay_until, language),
            "link": link,
        },
    )
    message = channels.Message(
        delivery=reminder.channel_key,
        channel=channel.name,
        to=line.number,
        campaign=None,
        request=None,
        kind=STAY_KIND,
        language=language,
        text=text,
        link=link,
    )
    try:
        channel.send_many([message])
    except channels.ChannelError as exc:
        StayReminder.objects.filter(pk=reminder.pk).update(error=exc.reason[:200])
        logger.warning("stay reminder %s not sent (%s)", reminder.pk, type(exc).__name__)
        return False
    StayReminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
    return True


# --- In store: a later end of stay -----------------------------------------------------


def stay_problem(line: Line, stay_until: dt.date | None, *, today: dt.date) -> str | None:
    """Why ``stay_until`` cannot be the line's new end of stay, or None."""
    if line.stay_until is None:
        return gettext("This line is not a visitor's line: it has no end of stay.")
    if stay_until is None:
        return gettext("The new end of stay is required.")
    if stay_until <= today or stay_until <= line.stay_until:
        return gettext("The new end of stay must be later than the current one and today.")
    if (stay_until - today).days > STAY_HORIZON_DAYS:
        return gettext("The end of stay must be within %(days)s days from today.") % {
            "days": STAY_HORIZON_DAYS
        }
    return None
