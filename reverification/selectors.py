"""Reads of re-verification."""

from __future__ import annotations

import re

from operators.models import Operator
from registration.models import Line

from .models import RequestState, ReverificationRequest


def person_has_requests(person_id: int) -> bool:
    """Whether any re-verification request names this person."""
    return ReverificationRequest.objects.filter(person_id=person_id).exists()


def line_open_request(line: Line) -> ReverificationRequest | None:
    """The line's latest request still waiting (or expired but answerable)."""
    return (
        ReverificationRequest.objects.filter(
            line=line, state__in=[RequestState.PENDING, RequestState.EXPIRED]
        )
        .order_by("-created_at")
        .first()
    )


# --- The operator's brand on the subscriber pages -------------------------------------

BRAND_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DARK_TEXT = "#1d2329"  # the pages' own text colour (static/css/telereg.css --fg)
READABLE_CONTRAST = 4.5  # WCAG AA for normal text


def _luminance(colour: str) -> float:
    """WCAG relative luminance of "#rrggbb"."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def brand_stylesheet(operator: Operator) -> str:
    """The style sheet of an operator's subscriber pages: its colour as the
    accent, with text on it (and the accent as text on white) kept readable.

    Only a colour that is exactly "#rrggbb" is ever written (checked again
    here, whatever the database holds); anything else gives the default look."""
    colour = operator.brand_colour or ""
    if not BRAND_COLOUR.fullmatch(colour):
        return "/* default colours */\n"
    colour = colour.lower()
    on_accent = "#ffffff" if _contrast(colour, "#ffffff") >= READABLE_CONTRAST else DARK_TEXT
    as_text = colour if _contrast(colour, "#ffffff") >= READABLE_CONTRAST else DARK_TEXT
    return (
        ".subscriber {"
        f" --accent: {colour}; --brand: {colour};"
        f" --on-accent: {on_accent}; --accent-text: {as_text}; "
        "}\n"
    )
