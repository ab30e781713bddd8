"""Telephone numbers grouped for reading: ``+8613800138000`` is read as
``138 0013 8000``, ``+861062345678`` as ``010-6234 5678``.

Numbers are stored and exchanged in E.164 (the API, CSV files, notices'
addresses); only what a person reads is grouped, here, with phonenumbers'
own national formats, so every country's grouping is data, not code. A
number of the home region (``settings.TELEREG_PHONE_HOME_REGION``, the
carriers' country) is shown in national format; any other in international
format, because a national format hides which country it belongs to.

A masked number (``+86138****8000``, from :func:`identity.masking.mask_phone`)
keeps exactly its mask and is grouped like the clear number would be
(``138 **** 8000``): masking decides what is shown, this only adds spaces.

Guarantees: no function here raises on odd input, logs, or reveals more than
it was given; what it cannot read as a telephone number it returns unchanged.
"""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

__all__ = ["phone_for_reading"]

MASK = "*"
# A digit that stands for a masked one while choosing the grouping: the
# visible leading digits decide the pattern, the stand-ins only fill its length.
_STAND_IN = "0"
# Where a country writes its area code apart with another separator than
# phonenumbers' space (data, per region): Chinese landlines read 010-6234 5678.
AREA_CODE_SEPARATOR = {"CN": "-"}
_FIXED_LINE = {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_PHONE_SHAPE = re.compile(r"^\+?[0-9*]{4,17}$")
_LONGEST_INPUT = 32


def _home_region() -> str:
    return str(getattr(settings, "TELEREG_PHONE_HOME_REGION", "CN")).upper()


def _group(parsed: phonenumbers.PhoneNumber, *, region: str, home: str) -> str:
    """``parsed`` in the format its reader expects (national at home, else
    international), the area code set apart as the home country writes it."""
    if region != home:
        return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    text = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    separator = AREA_CODE_SEPARATOR.get(region)
    if separator and phonenumbers.number_type(parsed) in _FIXED_LINE and " " in text:
        text = text.replace(" ", separator, 1)
    return text


def _parse(digits: str, home: str) -> tuple[phonenumbers.PhoneNumber, str] | None:
    """The number and its region, or None when phonenumbers cannot place it."""
    try:
        parsed = phonenumbers.parse(digits, None if digits.startswith("+") else home)
    except NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed) or ""
    if not region:
        return None
    return parsed, region


def _clear_for_reading(text: str, home: str) -> str:
    placed = _parse(text, home)
    if placed is None:
        return text
    parsed, region = placed
    if not phonenumbers.is_valid_number(parsed):
        return text
    return _group(parsed, region=region, home=home)


def _masked_for_reading(text: str, home: str) -> str:
    """Group a masked number by formatting a stand-in with the same visible
    digits and length, then put the original characters back, aligned from the
    end (a national format may add a trunk prefix in front, never after)."""
    placed = _parse(text.replace(MASK, _STAND_IN), home)
    if placed is None:
        return text
    parsed, region = placed
    grouped = _group(parsed, region=region, home=home)
    national = str(parsed.national_number)
    cut = len(text) - len(national)
    # The stand-in must be read digit for digit: nothing lost in front but
    # the country code or a trunk prefix (leading zeros would shift the mask).
    if cut < 0 or text[:cut] not in ("", f"+{parsed.country_code}", "0"):
        return text
    if not phonenumbers.is_possible_number(parsed):
        return text
    original = text[cut:]
    out = list(grouped)
    remaining = len(original)
    for index in range(len(out) - 1, -1, -1):
        if remaining == 0:
            break
        if out[index].isdigit():
            remaining -= 1
            out[index] = original[remaining]
    if remaining:
        return text
    return "".join(out)


def phone_for_reading(value: object, *, home_region: str | None = None) -> str:
    """``value`` (an E.164 number, clear or masked) grouped for reading; the
    input unchanged (as text) when it is not one. ``None`` gives ``""``."""
    if value is None:
        return ""
    text = str(value)
    compact = text.strip()
    if len(compact) > _LONGEST_INPUT or not _PHONE_SHAPE.match(compact):
        return text
    home = (home_region or _home_region()).upper()
    if MASK in compact:
        return _masked_for_reading(compact, home)
    return _clear_for_reading(compact, home)
