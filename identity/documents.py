"""Identity documents: a registry of types, each with its own normalisation and
validation, and the rules that apply to every identity block.

No Django models here. Errors are collected per field of the identity block
(``IdentityInvalid.errors``) with reasons a store clerk understands; neither
the errors nor their ``str`` ever contain the personal data itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from stdnum.cn import ric

from .types import IdentityData


class IdentityInvalid(Exception):  # noqa: N818 - reads as what happened, like CapReached
    """The identity block breaks one or more rules; ``errors`` names each field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("invalid identity: " + ", ".join(sorted(errors)))


Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, reason: str) -> None:
    errors.setdefault(field, []).append(reason)


def _compact(number: str) -> str:
    return re.sub(r"[\s\-/()]", "", number or "").upper()


# --- GB 11643 (resident ID, residence permits, new permanent residence card) --------


def gb11643_check_digit(first17: str) -> str:
    """The check digit of an 18-character GB 11643 number from its first 17 digits."""
    return ric.calc_check_digit(first17 + "0")


def _region_years(code: str) -> list[tuple[int | None, int | None]] | None:
    """The periods a six-digit region code existed, from python-stdnum's data
    (None bounds are open). None when the code never existed."""
    from stdnum import numdb

    info = {k: v for _, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    if "county" not in info:
        return None
    periods: list[tuple[int | None, int | None]] = []
    for county in info["county"].split(","):
        if county.startswith("["):
            span = county[1:].split("]", 1)[0]
            start, _, end = span.partition("-")
            periods.append((int(start) if start else None, int(end) if end else None))
        else:
            periods.append((None, None))
    return periods


def region_reason(code: str, birth_year: int) -> str | None:
    """Why a region code cannot appear on the card of someone born in
    ``birth_year``, or None when it can.

    A number keeps the code of the place where it was first issued, so a code
    created after the birth year is fine (born 1970, Pudong 310115 created in
    1992); a code abolished before the birth year cannot have been issued to
    that person (Chongwen 110103, abolished 2010, for someone born in 2012)."""
    periods = _region_years(code)
    if periods is None:
        return "unknown region code"
    if any(end is None or end >= birth_year for _, end in periods):
        return None
    return "region code was abolished before the holder was born"


def _validate_gb11643(
    number: str, data: IdentityData, errors: Errors, *, prefixes: tuple[str, ...] | None = None
) -> None:
    if (
        len(number) != 18
        or not number[:17].isdigit()
        or not (number[17].isdigit() or number[17] == "X")
    ):
        _add(errors, "id_number", "must be 18 characters: 17 digits and a digit or X")
        return
    if number[17] != gb11643_check_digit(number[:17]):
        _add(errors, "id_number", "check digit does not match")
        return
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        _add(errors, "id_number", "the birth date inside the number is not a real date")
        return
    if prefixes is not None:
        if not number.startswith(prefixes):
            _add(errors, "id_number", f"must start with {' or '.join(prefixes)}")
    else:
        reason = region_reason(number[:6], born.year)
        if reason:
            _add(errors, "id_number", reason)
    if isinstance(data.date_of_birth, dt.date) and born != data.date_of_birth:
        _add(errors, "date_of_birth", "birth date differs from the ID number")
    if data.sex in ("M", "F") and ("M" if int(number[16]) % 2 else "F") != data.sex:
        _add(errors, "sex", "sex differs from the ID number")


def _validate_resident_id(number: str, data: IdentityData, errors: Errors) -> None:
    _validate_gb11643(number, data, errors)


def _validate_hmt_permit(number: str, data: IdentityData, errors: Errors) -> None:
    _validate_gb11643(number, data, errors, prefixes=("810000", "820000", "830000"))


def _pattern(regex: str, message: str) -> Callable[[str, IdentityData, Errors], None]:
    compiled = re.compile(regex)

    def check(number: str, data: IdentityData, errors: Errors) -> None:
        if not compiled.fullmatch(number):
            _add(errors, "id_number", message)

    return check


def _validate_permanent_residence(number: str, data: IdentityData, errors: Errors) -> None:
    if len(number) == 15:
        # Old form: nationality (3 letters), province (2), birth YYMMDD, sequence (2), check (1).
        if not re.fullmatch(r"[A-Z]{3}\d{12}", number):
            _add(errors, "id_number", "the 15-character form is 3 letters and 12 digits")
            return
        if data.nationality and number[:3] != data.nationality.upper():
            _add(errors, "nationality", "nationality differs from the ID number")
        if isinstance(data.date_of_birth, dt.date) and (
            number[5:11] != data.date_of_birth.strftime("%y%m%d")
        ):
            _add(errors, "date_of_birth", "birth date differs from the ID number")
        return
    if len(number) == 18:
        if not number.startswith("9"):
            _add(errors, "id_number", "the 18-character form starts with 9")
            return
        _validate_gb11643(number, data, errors, prefixes=("9",))
        return
    _add(errors, "id_number", "must be 15 or 18 characters")


# --- The registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: str
    label_zh: str
    # Resident ID cards of people over 46 are valid for life: expiry optional.
    expiry: str  # "required" or "optional"
    requires_nationality: bool
    validate_number: Callable[[str, IdentityData, Errors], None]
    foreign: bool = False
    normalise: Callable[[str], str] = _compact


DOCUMENT_TYPES: dict[str, DocumentType] = {
    t.code: t
    for t in [
        DocumentType(
            "cn_resident_id",
            "Resident identity card",
            "居民身份证",
            "optional",
            False,
            _validate_resident_id,
        ),
        DocumentType(
            "hmt_residence_permit",
            "Residence permit for Hong Kong, Macao and Taiwan residents",
            "港澳台居民居住证",
            "required",
            False,
            _validate_hmt_permit,
        ),
        DocumentType(
            "hk_macao_travel_permit",
            "Mainland travel permit for Hong Kong and Macao residents",
            "港澳居民来往内地通行证",
            "required",
            False,
            _pattern(r"[HM]\d{8}(\d{2})?", "must be H or M followed by 8 (or 10) digits"),
        ),
        DocumentType(
            "taiwan_travel_permit",
            "Mainland travel permit for Taiwan residents",
            "台湾居民来往大陆通行证",
            "required",
            False,
            _pattern(r"\d{8}|\d{10}[A-Z]?", "must be 8 digits (or 10 on older permits)"),
        ),
        DocumentType(
            "cn_passport",
            "Passport of the People's Republic of China",
            "中华人民共和国护照",
            "required",
            False,
            _pattern(
                r"[EG]\d{8}|E[A-Z]\d{7}", "must be E or G and 8 digits, or E, a letter and 7 digits"
            ),
        ),
        DocumentType(
            "foreign_passport",
            "Foreign passport",
            "外国护照",
            "required",
            True,
            _pattern(r"[A-Z0-9]{5,20}", "must be 5 to 20 letters and digits"),
            foreign=True,
        ),
        DocumentType(
            "foreign_permanent_residence",
            "Foreigner's permanent residence ID card",
            "外国人永久居留身份证",
            "required",
            True,
            _validate_permanent_residence,
            foreign=True,
        ),
    ]
}

ID_TYPE_CHOICES = [(t.code, t.label) for t in DOCUMENT_TYPES.values()]


def document_type(code: str) -> DocumentType:
    try:
        return DOCUMENT_TYPES[code]
    except KeyError:
        raise IdentityInvalid({"id_type": ["unknown document type"]}) from None


def normalise_document(id_type: str, id_number: str) -> str:
    """The canonical form of a document number (for storage and the blind index)."""
    return document_type(id_type).normalise(id_number)


def _iso_countries() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.countries)


def age_on(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def validate_identity(
    data: IdentityData,
    *,
    today: dt.date,
    min_age: int = 16,
    require_address: bool = False,
) -> IdentityData:
    """Check every rule and return a normalised copy, or raise IdentityInvalid
    with all the reasons found (not only the first)."""
    errors: Errors = {}
    doc = DOCUMENT_TYPES.get(data.id_type)
    if doc is None:
        raise IdentityInvalid({"id_type": ["unknown document type"]})
    number = doc.normalise(data.id_number)
    name = " ".join((data.name or "").split())
    nationality = (data.nationality or "").strip().upper() or None
    address = " ".join((data.address or "").split()) or None
    normalised = replace(
        data, id_number=number, name=name, nationality=nationality, address=address
    )

    if not number:
        _add(errors, "id_number", "is required")
    else:
        doc.validate_number(number, normalised, errors)
    if not name:
        _add(errors, "name", "is required")
    elif len(name) > 100:
        _add(errors, "name", "is longer than 100 characters")
    if data.sex not in ("M", "F"):
        _add(errors, "sex", "must be M or F")
    if not isinstance(data.date_of_birth, dt.date):
        _add(errors, "date_of_birth", "is required")
    elif data.date_of_birth > today:
        _add(errors, "date_of_birth", "is in the future")
    elif age_on(data.date_of_birth, today) < min_age:
        _add(errors, "date_of_birth", f"holder is under the minimum age of {min_age}")
    if data.id_expiry is None:
        if doc.expiry == "required":
            _add(errors, "id_expiry", "expiry date is required for this document")
    elif data.id_expiry < today:
        _add(errors, "id_expiry", "document has expired")
    if doc.requires_nationality:
        if not nationality:
            _add(errors, "nationality", "nationality is required for this document")
        elif nationality not in _iso_countries():
            _add(errors, "nationality", "not an ISO 3166-1 alpha-3 country code")
        elif nationality == "CHN":
            _add(errors, "nationality", "a foreign document cannot have Chinese nationality")
    elif nationality and nationality not in _iso_countries():
        _add(errors, "nationality", "not an ISO 3166-1 alpha-3 country code")
    if require_address and not address:
        _add(errors, "address", "address is required")
    elif address and len(address) > 300:
        _add(errors, "address", "is longer than 300 characters")
    if errors:
        raise IdentityInvalid(errors)
    return normalised
