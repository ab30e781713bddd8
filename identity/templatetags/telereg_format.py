"""Template filters for reading: ``{{ line.number|phone }}`` groups a
telephone number (clear or masked) the way its reader writes it.

A builtin of the project's templates (``TEMPLATES[...]["OPTIONS"]["builtins"]``),
so a template needs no ``{% load %}``; ``{% load telereg_format %}`` works too."""

from __future__ import annotations

from django import template

from identity.phone_format import phone_for_reading

register = template.Library()


@register.filter(name="phone")
def phone(value: object, home_region: str = "") -> str:
    """A number grouped for reading (``138 0013 8000``, ``010-6234 5678``,
    ``138 **** 8000``); anything else unchanged. The result is plain text, so
    autoescaping still applies to it."""
    return phone_for_reading(value, home_region=home_region or None)
