"""The frame of the pages a subscriber reads (notices, /r/, /my-lines/, the
public privacy notice): the operator's name in the page's language and, when it
has a colour, its style sheet."""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation

from .models import Operator


def brand_context(operator: Operator | None) -> dict[str, str]:
    """``brand_name`` and ``brand_css`` for ``subscriber_frame.html``. The style
    sheet's address is versioned by the operator's last change, so a new colour
    is seen at once although the sheet is cached."""
    if operator is None:
        return {"brand_name": "", "brand_css": ""}
    css = ""
    if operator.brand_colour:
        version = int(operator.updated_at.timestamp())
        css = f"{reverse('brand-css', args=[operator.code])}?v={version}"
    return {"brand_name": operator.display_name(translation.get_language()), "brand_css": css}
