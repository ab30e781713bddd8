"""Identity documents: a registry of document types and the rules of an identity block.

Pure Python: no Django models, no database. What this module guarantees:

* Every document type lives in :data:`DOCUMENT_TYPES` as data (a :class:`DocumentType`
  with its own ``normalise`` and ``validate``); adding a country's document means adding
  an entry, not a branch.
* :func:`validate_identity` either returns a normalised copy of the block or raises
  :class:`IdentityInvalid` with *every* reason found, per field of the identity block.
* No message, ``str`` or ``repr`` produced here contains personal data: reasons are fixed
  sentences for a store clerk (the only number ever interpolated is the operator's minimum
  age setting).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.utils.translation import gettext_lazy as _
from stdnum import numdb
from stdnum.cn import ric

from .errors import IDENTITY_FIELDS, Errors, IdentityInvalid
from .types import IdentityData

#: The fields of the identity block, in the order errors are reported.
FIELDS = IDENTITY_FIELDS

NAME_MAX_LENGTH = 100
ADDRESS_MAX_LENGTH = 300
DEFAULT_MIN_AGE = 16

# Reasons shared by several rules. They are constant text on purpose: a reason must never
# carry the value it is about (errors end up in logs, API responses and tracebacks).
UNKNOWN_TYPE = "unknown document type"
NUMBER_REQUIRED = "ID number is required"
CHECK_DIGIT = "check digit does not match"
BIRTH_DATE_DIFFERS = "birth date differs from the ID number"
SEX_DIFFERS = "sex differs from the ID number"
NATIONALITY_DIFFERS = "nationality differs from the ID number"
NOT_A_DATE = "the birth date inside the ID number is not a real date"
UNKNOWN_REGION = "unknown region code"
REGION_ABOLISHED = "region code was abolished before the holder was born"
HMT_NUMBER_AS_RESIDENT_ID = (
    "this is a Hong Kong, Macao or Taiwan residence permit number: choose that document type"
)
EXPIRED = "document has expired"
EXPIRY_REQUIRED = "expiry date is required for this document"
NATIONALITY_REQUIRED = "nationality is required for this document"
NATIONALITY_NOT_ISO = "nationality is not an ISO 3166-1 alpha-3 country code"
NATIONALITY_CHINESE = "a foreign document cannot be held by a Chinese national (CHN)"
NAME_REQUIRED = "name is required"
NAME_TOO_LONG = f"name is longer than {NAME_MAX_LENGTH} characters"
NAME_CONTROL = "name contains control characters"
# Reasons added with issue 10 go through gettext_lazy (issue 12 adds the catalogues);
# IdentityInvalid turns them into text when it is raised, in the request's language.
NAME_HIDDEN = _(
    "name contains invisible or direction-changing characters (zero-width, "
    "bidirectional or other format controls): type the name as printed on the document"
)
ADDRESS_CONTROL = _("address contains control characters")
ADDRESS_HIDDEN = _(
    "address contains invisible or direction-changing characters (zero-width, "
    "bidirectional or other format controls)"
)
BIRTH_REQUIRED = "date of birth is required"
BIRTH_IN_FUTURE = "birth date is in the future"
SEX_INVALID = "sex must be M or F"
ADDRESS_REQUIRED = "address is required"
ADDRESS_TOO_LONG = f"address is longer than {ADDRESS_MAX_LENGTH} characters"


def under_min_age(min_age: int) -> str:
    """The reason for a holder younger than the operator's minimum age."""
    return f"holder is under the minimum age of {int(min_age)}"


class _Collector:
    """Reasons gathered per field while checking one identity block."""

    def __init__(self) -> None:
        self.errors: Errors = {}

    def add(self, field: str, reason: str) -> None:
        reasons = self.errors.setdefault(field, [])
        if reason not in reasons:
            reasons.append(reason)


# --- Normalisation --------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _squeeze(number: str) -> str:
    """NFKC (full-width digits and letters typed with a Chinese input method become
    ASCII), no whitespace anywhere, upper case ('x' -> 'X')."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", number or "")).upper()


def _squeeze_parentheses(number: str) -> str:
    """As :func:`_squeeze`, and drops parentheses: older Taiwan permits print their issue
    letter as ``1234567890(B)``, which people type with or without the brackets."""
    return re.sub(r"[()]", "", _squeeze(number))


def collapse_whitespace(text: str | None) -> str:
    """Stripped, with every run of whitespace (including the ideographic space) made one
    ordinary space."""
    return " ".join((text or "").split())


# Control characters (Cc: escapes, bells...), format characters (Cf: zero-width
# spaces and joiners, bidirectional embeddings, overrides and isolates, the byte
# order mark, the Arabic letter mark, tag characters) and lone surrogates (Cs).
# Format characters change what a clerk, a receipt or a notice shows without
# being seen: "\u202eAlice" prints reversed, "Ali\u200bce" is another person.
_HIDDEN_CATEGORIES = frozenset({"Cf", "Cs"})


def hidden_text_problem(text: str, *, control: str, hidden: str) -> str | None:
    """``control`` when ``text`` holds a control character, ``hidden`` when it
    holds an invisible format character (by Unicode category, not a hand list),
    else None. Whitespace is not counted: callers collapse it first."""
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc" and not ch.isspace():
            return control
        if category in _HIDDEN_CATEGORIES:
            return hidden
    return None


def address_problem(address: str | None) -> str | None:
    """The reason an address (of a person or an installation) is refused, if any."""
    return hidden_text_problem(address or "", control=ADDRESS_CONTROL, hidden=ADDRESS_HIDDEN)


# --- GB 11643 numbers (resident ID, HMT residence permit, new permanent residence card) --

_GB11643 = re.compile(r"\d{17}[\dX]")


def gb11643_check_digit(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for 17 digits: '0'-'9' or 'X'."""
    # stdnum's function expects the full number and ignores its last character.
    return ric.calc_check_digit(first17 + "0")


def _birth_in_number(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def _check_gb11643(number: str, data: IdentityData, out: _Collector) -> dt.date | None:
    """Format, check digit, birth date and sex of an 18-character GB 11643 number.

    Returns the birth date inside the number when it is a real date (so callers can
    run their own checks on it), else None."""
    if not _GB11643.fullmatch(number):
        out.add("id_number", "must be 18 characters: 17 digits, then a digit or X")
        return None
    if number[17] != gb11643_check_digit(number[:17]):
        out.add("id_number", CHECK_DIGIT)
    born = _birth_in_number(number)
    if born is None:
        out.add("id_number", NOT_A_DATE)
    elif isinstance(data.date_of_birth, dt.date) and born != data.date_of_birth:
        out.add("date_of_birth", BIRTH_DATE_DIFFERS)
    # The 17th digit is the last of the sequence: odd for men, even for women.
    if data.sex in ("M", "F") and ("M" if int(number[16]) % 2 else "F") != data.sex:
        out.add("sex", SEX_DIFFERS)
    return born


# --- Region codes ---------------------------------------------------------------------

Period = tuple[int | None, int | None]


@functools.lru_cache(maxsize=4096)
def region_periods(code: str) -> tuple[Period, ...] | None:
    """The periods (first year, last year; None = open) during which a six-digit
    administrative division code existed, from python-stdnum's ``cn/loc`` data.

    None when the code never existed. A code reused for a different county after a
    reorganisation has several periods."""
    if not re.fullmatch(r"\d{6}", code):
        return None
    info = {k: v for _, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    county = info.get("county")
    if not county:
        return None
    periods: list[Period] = []
    for entry in county.split(","):
        match = re.match(r"\[(\d*)-(\d*)\]", entry)
        if match is None:
            periods.append((None, None))
        else:
            start, end = match.groups()
            periods.append((int(start) if start else None, int(end) if end else None))
    return tuple(periods)


def region_problem(code: str, birth_year: int | None) -> str | None:
    """Why ``code`` cannot open the resident ID number of someone born in ``birth_year``,
    or None when it can.

    A number keeps the code of the place where it was first issued, so a code created
    after the birth year is fine (born 1970, Pudong 310115 created in 1992: the number was
    issued or reissued there later). A code abolished before the birth year cannot have
    been issued to that person (Chongwen 110103, abolished in 2010, on the card of someone
    born in 2012). python-stdnum's own ``ric.validate`` wrongly requires the code to have
    existed in the birth year, which refuses the first case; hence this rule."""
    periods = region_periods(code)
    if periods is None:
        return UNKNOWN_REGION
    if birth_year is None or any(end is None or end >= birth_year for _, end in periods):
        return None
    return REGION_ABOLISHED


@functools.lru_cache(maxsize=128)
def is_province_code(code: str) -> bool:
    """Whether a two-digit code is a provincial-level division in python-stdnum's data."""
    if not re.fullmatch(r"\d{2}", code):
        return False
    return any("province" in props for _, props in numdb.get("cn/loc").info(code))


# --- Countries (ISO 3166-1) ------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _countries() -> tuple[frozenset[str], dict[str, str]]:
    import pycountry  # imported late: its database loads on first use only

    alpha3 = frozenset(c.alpha_3 for c in pycountry.countries)
    by_numeric = {c.numeric: c.alpha_3 for c in pycountry.countries}
    return alpha3, by_numeric


def is_country(alpha3: str) -> bool:
    """Whether ``alpha3`` is an ISO 3166-1 alpha-3 code (upper case)."""
    return alpha3 in _countries()[0]


def country_by_numeric(numeric: str) -> str | None:
    """The alpha-3 code of an ISO 3166-1 numeric code ('840' -> 'USA'), or None."""
    return _countries()[1].get(numeric)


# --- Validators, one per kind of number ------------------------------------------------
#
# Each receives the number already normalised and the identity block with its other fields
# normalised (sex upper case, nationality upper case or None), and returns its reasons.

Validator = Callable[[str, IdentityData], Errors]

HMT_PREFIXES = ("810000", "820000", "830000")  # Hong Kong, Macao, Taiwan


def _validate_resident_id(number: str, data: IdentityData) -> Errors:
    out = _Collector()
    born = _check_gb11643(number, data, out)
    if _GB11643.fullmatch(number):
        if number.startswith(("81", "82", "83")):
            out.add("id_number", HMT_NUMBER_AS_RESIDENT_ID)
        else:
            year = born.year if born else None
            reason = region_problem(number[:6], year)
            if reason:
                out.add("id_number", reason)
    return out.errors


def _validate_hmt_permit(number: str, data: IdentityData) -> Errors:
    out = _Collector()
    _check_gb11643(number, data, out)
    if _GB11643.fullmatch(number) and not number.startswith(HMT_PREFIXES):
        out.add("id_number", "must start with 810000, 820000 or 830000")
    return out.errors


def _pattern(regex: str, reason: str) -> Validator:
    """A validator for numbers that carry no checksum: the format is all we can check."""
    compiled = re.compile(regex)

    def validate(number: str, data: IdentityData) -> Errors:
        return {} if compiled.fullmatch(number) else {"id_number": [reason]}

    return validate


def _validate_permanent_residence(number: str, data: IdentityData) -> Errors:
    """Both forms of the foreigner's permanent residence ID card.

    2023 form, 18 digits: '9', the issuing province (2), the nationality's ISO 3166-1
    numeric code (3), birth date YYYYMMDD, a sequence whose last digit is odd for men and
    even for women, and a GB 11643 check digit. All of it is checked.

    Older form, 15 characters: the nationality's ISO alpha-3 code, then 12 digits: the
    issuing province (2), the birth date YYMMDD (characters 6 to 11), then a sequence and
    a check character. Only the letters and the birth date are checked: the layout of the
    last four digits and the check algorithm are not published, and refusing a genuine
    card on a guess is worse than accepting a typo the authority check will catch.
    """
    out = _Collector()
    if len(number) == 18:
        if not number.startswith("9"):
            out.add("id_number", "the 18-character form starts with 9")
            return out.errors
        _check_gb11643(number, data, out)
        if not _GB11643.fullmatch(number):
            return out.errors
        if not is_province_code(number[1:3]):
            out.add("id_number", "unknown province code")
        country = country_by_numeric(number[3:6])
        if country is None:
            out.add("id_number", "unknown nationality code in the ID number")
        elif data.nationality and is_country(data.nationality) and country != data.nationality:
            out.add("nationality", NATIONALITY_DIFFERS)
        return out.errors
    if len(number) == 15:
        if not re.fullmatch(r"[A-Z]{3}\d{12}", number):
            out.add("id_number", "the 15-character form is 3 letters, then 12 digits")
            return out.errors
        if not is_country(number[:3]):
            out.add("id_number", "unknown nationality code in the ID number")
        elif data.nationality and is_country(data.nationality) and number[:3] != data.nationality:
            out.add("nationality", NATIONALITY_DIFFERS)
        if isinstance(data.date_of_birth, dt.date):
            if number[5:11] != data.date_of_birth.strftime("%y%m%d"):
                out.add("date_of_birth", BIRTH_DATE_DIFFERS)
        return out.errors
    out.add("id_number", "must be 18 characters (2023 card) or 15 characters (older card)")
    return out.errors


# --- The registry ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentType:
    """One kind of identity document.

    ``has_expiry``: every card of this kind has an end date, so ``id_expiry`` is required.
    When False the document may be valid for life (``id_expiry`` None); an expiry that is
    given is still checked. ``requires_nationality``: a foreign document, whose holder's
    ISO alpha-3 nationality is required and cannot be CHN. ``nationality``: the only
    nationality a holder can have, when the document implies one.
    """

    code: str
    label: str
    label_zh: str
    has_expiry: bool
    requires_nationality: bool
    normalise: Callable[[str], str]
    validate: Validator
    number_format: str  # shown to the clerk next to the number field
    nationality: str | None = None


DOCUMENT_TYPES: dict[str, DocumentType] = {
    doc.code: doc
    for doc in (
        DocumentType(
            code="cn_resident_id",
            label=_("Resident identity card"),
            label_zh="居民身份证",
            # Cards issued at 46 or older are valid for life (长期).
            has_expiry=False,
            requires_nationality=False,
            normalise=_squeeze,
            validate=_validate_resident_id,
            number_format="18 characters: 17 digits, then a digit or X",
            nationality="CHN",
        ),
        DocumentType(
            code="hmt_residence_permit",
            label=_("Residence permit for Hong Kong, Macao and Taiwan residents"),
            label_zh="港澳台居民居住证",
            has_expiry=True,
            requires_nationality=False,
            normalise=_squeeze,
            validate=_validate_hmt_permit,
            number_format="18 characters starting 810000, 820000 or 830000",
        ),
        DocumentType(
            code="hk_macao_travel_permit",
            label=_("Mainland travel permit for Hong Kong and Macao residents"),
            label_zh="港澳居民来往内地通行证",
            has_expiry=True,
            requires_nationality=False,
            normalise=_squeeze,
            # Current cards: H (Hong Kong) or M (Macao) and 8 digits; older booklets added
            # a two-digit issue count.
            validate=_pattern(
                r"[HM]\d{8}(\d{2})?", "must be H or M followed by 8 digits (10 on older permits)"
            ),
            number_format="H or M, then 8 digits (10 on older permits)",
        ),
        DocumentType(
            code="taiwan_travel_permit",
            label=_("Mainland travel permit for Taiwan residents"),
            label_zh="台湾居民来往大陆通行证",
            has_expiry=True,
            requires_nationality=False,
            normalise=_squeeze_parentheses,
            # Current cards: 8 digits. Older ones: 10 digits, sometimes with an issue letter
            # printed in parentheses, kept without them ("1234567890(B)" -> "1234567890B").
            validate=_pattern(
                r"\d{8}|\d{10}[A-Z]?",
                "must be 8 digits (10 and an optional letter on older permits)",
            ),
            number_format="8 digits (older permits: 10 digits and an optional letter)",
        ),
        DocumentType(
            code="cn_passport",
            label=_("Passport of the People's Republic of China"),
            label_zh="中华人民共和国护照",
            has_expiry=True,
            requires_nationality=False,
            normalise=_squeeze,
            validate=_pattern(
                r"[EG]\d{8}|E[A-Z]\d{7}",
                "must be E or G and 8 digits, or E, a letter and 7 digits",
            ),
            number_format="E or G and 8 digits, or E, a letter and 7 digits",
            nationality="CHN",
        ),
        DocumentType(
            code="foreign_passport",
            label=_("Foreign passport"),
            label_zh="外国护照",
            has_expiry=True,
            requires_nationality=True,
            normalise=_squeeze,
            validate=_pattern(r"[A-Z0-9]{5,20}", "must be 5 to 20 letters and digits"),
            number_format="5 to 20 letters and digits",
        ),
        DocumentType(
            code="foreign_permanent_residence",
            label=_("Foreigner's permanent residence ID card"),
            label_zh="外国人永久居留身份证",
            has_expiry=True,
            requires_nationality=True,
            normalise=_squeeze,
            validate=_validate_permanent_residence,
            number_format="18 digits starting with 9 (older cards: 3 letters and 12 digits)",
        ),
    )
}

#: (code, label) pairs for form and serializer choices, in registry order.
ID_TYPE_CHOICES: list[tuple[str, str]] = [(d.code, d.label) for d in DOCUMENT_TYPES.values()]


def document_type(code: str) -> DocumentType:
    """The registered document type; raises IdentityInvalid (on ``id_type``) if unknown."""
    try:
        return DOCUMENT_TYPES[code]
    except (KeyError, TypeError):
        raise IdentityInvalid({"id_type": [UNKNOWN_TYPE]}) from None


def normalise_document(id_type: str, id_number: str) -> str:
    """The canonical form of a document number, as stored and blind-indexed.

    Only normalises (the number need not be valid): the same document typed with spaces,
    lower case or full-width characters always gives the same string. Raises
    IdentityInvalid on an unknown document type."""
    return document_type(id_type).normalise(id_number)


# --- The identity block ---------------------------------------------------------------


def age_on(born: dt.date, today: dt.date) -> int:
    """Completed years of life on ``today`` (someone born on 29 February turns a year
    older on 1 March in common years)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _as_date(value: object) -> dt.date | None:
    # A datetime is a date too, but comparing one with a date raises: keep the date part.
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _normalised(data: IdentityData, doc: DocumentType | None) -> IdentityData:
    number = doc.normalise(data.id_number) if doc else _squeeze(data.id_number)
    return replace(
        data,
        id_number=number,
        name=collapse_whitespace(data.name),
        date_of_birth=_as_date(data.date_of_birth),  # type: ignore[arg-type]
        sex=(data.sex or "").strip().upper(),
        id_expiry=_as_date(data.id_expiry),
        nationality=(data.nationality or "").strip().upper() or None,
        address=collapse_whitespace(data.address) or None,
    )


def validate_identity(
    data: IdentityData,
    *,
    today: dt.date,
    min_age: int = DEFAULT_MIN_AGE,
    require_address: bool = False,
) -> IdentityData:
    """Check an identity block against its document type and the general rules.

    Returns a normalised copy (number in canonical form, whitespace in name and address
    collapsed, sex and nationality upper case). Otherwise raises IdentityInvalid with all
    the reasons found across all fields, not only the first. ``today`` is the calendar
    date in the operator's time zone; ``min_age`` is the operator's minimum holder age.
    """
    out = _Collector()
    doc = DOCUMENT_TYPES.get(data.id_type) if isinstance(data.id_type, str) else None
    if doc is None:
        out.add("id_type", UNKNOWN_TYPE)
    norm = _normalised(data, doc)

    # The number, against its document's own rules.
    if not norm.id_number:
        out.add("id_number", NUMBER_REQUIRED)
    elif doc is not None:
        for field, reasons in doc.validate(norm.id_number, norm).items():
            for reason in reasons:
                out.add(field, reason)

    if not norm.name:
        out.add("name", NAME_REQUIRED)
    elif len(norm.name) > NAME_MAX_LENGTH:
        out.add("name", NAME_TOO_LONG)
    elif problem := hidden_text_problem(norm.name, control=NAME_CONTROL, hidden=NAME_HIDDEN):
        out.add("name", problem)

    born = norm.date_of_birth
    if born is None:
        out.add("date_of_birth", BIRTH_REQUIRED)
    elif born > today:
        out.add("date_of_birth", BIRTH_IN_FUTURE)
    elif age_on(born, today) < min_age:
        out.add("date_of_birth", under_min_age(min_age))

    if norm.sex not in ("M", "F"):
        out.add("sex", SEX_INVALID)

    if norm.id_expiry is None:
        if doc is not None and doc.has_expiry:
            out.add("id_expiry", EXPIRY_REQUIRED)
    elif norm.id_expiry < today:  # valid through its last day
        out.add("id_expiry", EXPIRED)

    nationality = norm.nationality
    if nationality is None:
        if doc is not None and doc.requires_nationality:
            out.add("nationality", NATIONALITY_REQUIRED)
    elif not is_country(nationality):
        out.add("nationality", NATIONALITY_NOT_ISO)
    elif doc is not None and doc.requires_nationality and nationality == "CHN":
        out.add("nationality", NATIONALITY_CHINESE)
    elif doc is not None and doc.nationality and nationality != doc.nationality:
        out.add("nationality", f"this document is issued only to nationals of {doc.nationality}")

    if norm.address is None:
        if require_address:
            out.add("address", ADDRESS_REQUIRED)
    elif len(norm.address) > ADDRESS_MAX_LENGTH:
        out.add("address", ADDRESS_TOO_LONG)
    elif problem := address_problem(norm.address):
        out.add("address", problem)

    if out.errors:
        raise IdentityInvalid(out.errors)
    return norm
