"""Message texts and the pace of sending: one place for each.

Texts are Django templates, ``notices/<kind>.<language>.txt`` (kinds
notice, reminder, expiry, alert, code, line_closed, sim_replaced; languages
zh-hans, en), rendered without HTML escaping (they are plain text) by ``render_message``. A campaign
may carry its own text with ``{placeholders}``: ``campaign_text`` formats it
and falls back to the template when the text is malformed."""

from __future__ import annotations

import datetime as dt
import functools
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import translation
from django.utils.formats import date_format

KINDS = (
    "notice",
    "reminder",
    "expiry",
    "alert",
    "code",
    "line_closed",
    "sim_replaced",
    "stay_ending",
)
LANGUAGES = ("zh-hans", "en")


def language_for(language: str | None) -> str:
    """The language a person's message is written in: theirs (Person.language),
    Chinese when it is not one the texts exist in."""
    return language if language in LANGUAGES else "zh-hans"


def render_message(*, kind: str, language: str, context: dict[str, Any]) -> str:
    """The text of one message of ``kind`` in ``language``. A kind without a
    text in that language falls back to its Chinese text."""
    if kind not in KINDS or language not in LANGUAGES:
        raise ValueError("unknown message kind or language")
    try:
        template = get_template(f"notices/{kind}.{language}.txt")
    except TemplateDoesNotExist:  # this kind has its default language only
        template = get_template(f"notices/{kind}.zh-hans.txt")
    return template.render(context).rstrip("\n")


@functools.lru_cache(maxsize=256)
def date_for_reading(day: dt.date, language: str) -> str:
    """A date as the message's reader writes it (2026年12月1日, Dec. 1, 2026):
    Django's DATE_FORMAT of ``language``, whatever language is active."""
    with translation.override(language_for(language)):
        return date_format(day, "DATE_FORMAT")


def campaign_text(text: str, *, kind: str, language: str, context: dict[str, str]) -> str:
    """A campaign's own text (``{operator} {number} {deadline} {link}``), or
    the template's when it is empty or does not format."""
    if text:
        try:
            return text.format(**context)
        except (KeyError, IndexError, ValueError):
            pass
    return render_message(kind=kind, language=language, context=context)


def rate_wait(channel: str, count: int, *, clock=time.time, sleep=time.sleep) -> None:
    """Hold sending to TELEREG_CHANNEL_RATES[channel] messages per second across
    all workers: each second has a counter in the shared cache (Redis in
    production); a worker that finds the second full waits for the next."""
    rate = settings.TELEREG_CHANNEL_RATES.get(channel, 0)
    if not rate:
        return
    while True:
        now = clock()
        key = f"telereg:rate:{channel}:{int(now)}"
        cache.add(key, 0, timeout=5)
        if cache.incr(key, count) <= rate:
            return
        sleep(max(0.0, int(now) + 1 - now))
