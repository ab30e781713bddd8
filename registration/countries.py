"""Countries for the nationality field: ISO 3166-1 alpha-3 codes named in the
page's language (pycountry's ``iso3166-1`` gettext catalogue), sorted by that
name, with the operator's own country first. Built once per language."""

from __future__ import annotations

import functools
import gettext

import pycountry
from django.utils.translation import get_language, to_locale

# Django's language codes → the locales pycountry ships for them.
PYCOUNTRY_LOCALES = {"zh-hans": "zh_CN", "zh-hant": "zh_TW"}
FIRST = "CHN"


def _translation(language: str) -> gettext.NullTranslations:
    locale = PYCOUNTRY_LOCALES.get(language, to_locale(language))
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[locale], fallback=True
    )


@functools.lru_cache(maxsize=8)
def _choices_for(language: str) -> tuple[tuple[str, str], ...]:
    names = _translation(language)
    named = [(country.alpha_3, names.gettext(country.name)) for country in pycountry.countries]
    first = [choice for choice in named if choice[0] == FIRST]
    rest = sorted((choice for choice in named if choice[0] != FIRST), key=lambda c: c[1].casefold())
    return tuple(first + rest)


def country_choices() -> list[tuple[str, str]]:
    """(alpha-3, name) pairs in the active language, China first."""
    return list(_choices_for((get_language() or "en").lower()))
