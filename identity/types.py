"""Plain value types shared by the identity services (no Django models here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class IdentityData:
    """The identity block of the API contract, parsed but not yet validated.

    Its ``repr`` never shows the personal fields, so an instance that ends up
    in a traceback or a log line leaks nothing.
    """

    id_type: str
    id_number: str
    name: str
    date_of_birth: dt.date
    sex: str  # "M" or "F"
    id_expiry: dt.date | None = None
    nationality: str | None = None  # ISO 3166-1 alpha-3
    address: str | None = None
    # The language of the person's notices (zh-hans, en); None: not chosen.
    language: str | None = None

    def __repr__(self) -> str:
        return f"IdentityData(id_type={self.id_type!r}, <personal fields hidden>)"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> IdentityData:
        """From a form's or serializer's cleaned data (blank optional fields → None)."""
        return cls(
            id_type=data["id_type"],
            id_number=data["id_number"],
            name=data["name"],
            date_of_birth=data["date_of_birth"],
            sex=data["sex"],
            id_expiry=data.get("id_expiry") or None,
            nationality=(data.get("nationality") or "").upper() or None,
            address=data.get("address") or None,
            language=data.get("language") or None,
        )

    __str__ = __repr__
