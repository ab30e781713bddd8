"""Each operator's time zone: times are stored in UTC (``USE_TZ``) and shown
to its staff and its subscribers in the operator's own zone, an IANA name
(``Asia/Shanghai``, ``Asia/Urumqi``, ``Asia/Manila``) kept on
:class:`operators.models.Operator`.

Staff pages get it from :class:`operators.middleware.OperatorTimeZoneMiddleware`;
a subscriber page activates its link's operator once it knows it
(:func:`operator_time_zone_activate`); the middleware deactivates after
every response, so one request's zone never leaks into the next one served
by the same thread."""

from __future__ import annotations

import functools
import zoneinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from .models import Operator

DEFAULT_TIME_ZONE = "Asia/Shanghai"
# IANA names are short ("America/Argentina/ComodRivadavia" is among the longest).
TIME_ZONE_MAX_LENGTH = 64


@functools.cache
def time_zone_names() -> frozenset[str]:
    """The IANA zone names this machine's time zone database knows."""
    return frozenset(zoneinfo.available_timezones())


def time_zone_choices() -> list[tuple[str, str]]:
    """The known zones, sorted, for the console's select."""
    return [(name, name) for name in sorted(time_zone_names())]


def validate_time_zone(value: str) -> None:
    """Refuse anything but a known IANA zone name (no paths, no offsets)."""
    if value not in time_zone_names():
        raise ValidationError(
            _("Choose a time zone by its IANA name, e.g. Asia/Shanghai."), code="invalid"
        )


def zone_of(operator: Operator | None) -> zoneinfo.ZoneInfo:
    """The operator's zone; the site's TIME_ZONE when there is no operator
    or its stored name is unknown here (a display must never fail)."""
    name = getattr(operator, "time_zone", "") or settings.TIME_ZONE
    if name not in time_zone_names():
        name = settings.TIME_ZONE
    return zoneinfo.ZoneInfo(name)


def operator_time_zone_activate(operator: Operator | None) -> None:
    """Show this request's times in the operator's zone."""
    timezone.activate(zone_of(operator))
