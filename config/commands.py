"""What management commands share: the ``--now ISO-DATETIME`` clock that
lets an operator (or a test) run a time-driven job as of another moment."""

from __future__ import annotations

import argparse
import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime


def iso_datetime(value: str) -> dt.datetime:
    """An argparse type: an ISO 8601 date-time (``2027-03-01T09:00:00+08:00``),
    read in the site's time zone when it names none."""
    if "\x00" in value or len(value) > 40:
        raise argparse.ArgumentTypeError("not an ISO 8601 date-time")
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 date-time (e.g. 2027-03-01T09:00:00+08:00)"
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def add_now_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--now",
        type=iso_datetime,
        default=None,
        metavar="ISO-DATETIME",
        help="Run as of this moment instead of the current time.",
    )
