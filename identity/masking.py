"""Masking of personal data for display. Every surface shows these by default.

Guarantees, for every function here:

* ``None``, ``""`` and whitespace-only input give ``""`` (callers can pass a missing
  value straight through).
* The output never reveals more of the value than documented per function; when the
  shape of a value is not recognised the output reveals less, never more (a masking
  helper that guesses wrong must fail closed).
* No function raises on odd input and none logs anything.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["mask_address", "mask_date", "mask_id_number", "mask_name", "mask_phone"]

MASK = "*"
REDACTED = "***"


def _clean(value: object) -> str:
    if value is None:
        return ""
    return str(value).strip()


# --- Names ------------------------------------------------------------------------------


def mask_name(name: str | None) -> str:
    """The first character, then one ``*`` for every remaining character.

    "张三丰" → "张**", "Ann Lee" → "A******". Spaces count as characters and are masked
    too, so word boundaries are not revealed; the length is kept because it costs little
    (Chinese names are 2-4 characters) and helps a subscriber recognise their own record.
    A one-character name is fully masked ("*"): showing its first character would show all.
    """
    text = _clean(name)
    if not text:
        return ""
    if len(text) == 1:
        return MASK
    return text[0] + MASK * (len(text) - 1)


# --- Document numbers -------------------------------------------------------------------


def mask_id_number(number: str | None) -> str:
    """At most the first 4 and last 4 characters, ``*`` for the rest; length kept.

    Each visible end is ``min(4, len // 4)`` characters, so at most half the characters
    are ever visible: 18 characters → 4 + 4 ("1101**********123X"), 8 → 2 + 2,
    5-7 → 1 + 1, 4 or fewer → all masked. Whitespace inside the number is dropped first.
    """
    text = "".join(_clean(number).split())
    if not text:
        return ""
    n = len(text)
    visible = 0 if n <= 4 else min(4, n // 4)
    if visible == 0:
        return MASK * n
    return text[:visible] + MASK * (n - 2 * visible) + text[-visible:]


# --- Phone numbers ----------------------------------------------------------------------


def _country_code(digits: str) -> str:
    """The E.164 country code that prefixes ``digits``, or "" if none is recognised.
    Country codes are prefix-free, so the first match by length 1..3 is the only one."""
    try:
        from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
    except ImportError:  # pragma: no cover - phonenumbers is a project dependency
        return ""
    for length in (1, 2, 3):
        if len(digits) > length and int(digits[:length]) in COUNTRY_CODE_TO_REGION_CODE:
            return digits[:length]
    return ""


def mask_phone(e164: str | None) -> str:
    """Country code, the first 3 and last 4 digits of the national number, ``*`` between.

    "+8613800138000" → "+86138****8000". At least 4 digits are always masked, so shorter
    national numbers show fewer: 10 digits → 3 + 3, 8 digits → 2 + 2, 4 or fewer → all
    masked. Spaces, dashes, dots and parentheses are dropped first. Without a leading "+"
    (or with an unknown country code) the whole number is treated as national.
    """
    text = re.sub(r"[\s\-().]", "", _clean(e164))
    if not text:
        return ""
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isdigit():
        return REDACTED  # not a phone number we understand: reveal nothing
    cc = _country_code(digits) if plus else ""
    national = digits[len(cc) :]
    masked = max(4, len(national) - 7)
    visible = max(0, len(national) - masked)
    head = min(3, visible // 2)
    tail = visible - head
    prefix = ("+" + cc) if plus else ""
    return (
        prefix
        + national[:head]
        + MASK * (len(national) - head - tail)
        + (national[-tail:] if tail else "")
    )


# --- Dates ------------------------------------------------------------------------------

_ISO_YEAR = re.compile(r"(\d{4})-")


def mask_date(d: dt.date | str | None) -> str:
    """The year only: date(1990, 5, 17) or "1990-05-17" → "1990-**-**".
    A string that does not start with an ISO year gives "****-**-**"."""
    if d is None:
        return ""
    if isinstance(d, dt.date):  # datetime is a date too
        return f"{d.year:04d}-**-**"
    text = _clean(d)
    if not text:
        return ""
    match = _ISO_YEAR.match(text)
    return f"{match.group(1)}-**-**" if match else "****-**-**"


# --- Addresses --------------------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff]")
# A place name: CJK text without the administrative suffixes (so each level stops at its
# own suffix) and without street-level markers or digits (so a match never runs past the
# district into the street). Lengths bound the lazy matches.
_NAME = r"[^\s\d省市区县旗路街号巷弄A-Za-z0-9]"
_CHINESE_DISTRICT = re.compile(
    r"(?:"
    rf"(?:北京市|上海市|天津市|重庆市|香港特别行政区|澳门特别行政区|{_NAME}{{2,7}}?(?:省|自治区))"
    r")?"
    rf"(?:{_NAME}{{1,9}}?(?:市|自治州|地区|盟))?"
    rf"{_NAME}{{1,8}}?(?:区|县|市|旗)"
)

_STREET_WORDS = re.compile(
    r"\b(?:street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|boulevard|blvd|way|parkway|pkwy"
    r"|highway|hwy|court|ct|place|pl|square|sq|terrace|close|crescent|alley"
    r"|apt|apartment|unit|flat|suite|ste|floor|fl|building|bldg|block|blk|house|room|rm"
    r"|box|no|number|lot|purok|sitio|plot)\b\.?",
    re.IGNORECASE,
)


def _mask_chinese_address(text: str) -> str:
    text = "".join(text.split())
    match = _CHINESE_DISTRICT.match(text)
    return match.group(0) + REDACTED if match else REDACTED


def _locality(component: str) -> str | None:
    """The component without digit-bearing tokens (house numbers, postcodes), or None
    when it looks street-level (a street word) or nothing is left."""
    if _STREET_WORDS.search(component):
        return None
    words = [word for word in component.split() if not any(ch.isdigit() for ch in word)]
    return " ".join(words) or None


def _mask_latin_address(text: str) -> str:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if len(parts) < 2:
        return REDACTED  # one component: no separable district
    # The first component is always street-level; any later one that looks street-level
    # (a street word, or only numbers) moves the cut past it. Keep what follows the cut.
    cut = 1
    for index in range(1, len(parts)):
        if _STREET_WORDS.search(parts[index]):
            cut = index + 1
    kept = [loc for loc in map(_locality, parts[cut:]) if loc]
    return REDACTED + ", " + ", ".join(kept) if kept else REDACTED


def mask_address(address: str | None) -> str:
    """Only the district-level part of an address, followed by "***".

    Chinese (any CJK character present): the province / municipality and prefecture
    city when present, up to and including the first district-level 区/县/市/旗:
    "北京市朝阳区建国路88号" → "北京市朝阳区***". Latin: the first comma-separated
    component and every component up to the last street-looking one are masked, and
    house numbers and postcodes (words with digits) are dropped from the rest:
    "1600 Amphitheatre Parkway, Mountain View, CA 94043, USA" → "***, Mountain View, CA, USA".
    When no district can be found the result is "***".
    """
    text = _clean(address)
    if not text:
        return ""
    if _CJK.search(text):
        return _mask_chinese_address(text)
    return _mask_latin_address(text)
