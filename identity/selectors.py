"""Reads about persons, notices and the access log. Nothing here returns
personal data in clear: persons come back masked (unmasking is
:func:`identity.services.person_reveal`, which logs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from operators.tenancy import scoped

from . import documents, masking, vault
from .models import AccessLogEntry, CorrectionRequest, NoticeLanguage, Person, PrivacyNotice
from .types import IdentityData

if TYPE_CHECKING:
    from operators.models import Operator
    from operators.tenancy import AnyUser


# The language of a person who has not chosen one: the operator's default
# when the staff side adds ``Operator.default_language``, else Chinese.
DEFAULT_PERSON_LANGUAGE = "zh-hans"


def default_language(operator: Operator | None) -> str:
    """The language a new person's notices get unless they choose one: Simplified
    Chinese. (``Operator.default_language`` is the language of the carrier's
    staff pages, a staff preference; it does not choose for subscribers.)"""
    return DEFAULT_PERSON_LANGUAGE


def person_language(person: Person | None) -> str:
    """The language to write to ``person`` in (zh-hans or en), never blank."""
    if person is None:
        return DEFAULT_PERSON_LANGUAGE
    if person.language in NoticeLanguage.values:
        return person.language
    return default_language(person.operator)


def notice_current(*, operator: Operator, language: str = "zh-hans") -> PrivacyNotice | None:
    return (
        PrivacyNotice.objects.filter(
            operator=operator, language=language, published_at__isnull=False
        )
        .order_by("-version")
        .first()
    )


def notice_by_hash(*, operator: Operator, content_hash: str) -> PrivacyNotice | None:
    return PrivacyNotice.objects.filter(
        operator=operator, content_hash=content_hash, published_at__isnull=False
    ).first()


def document_index(*, id_type: str, id_number: str) -> str:
    """The blind index of a document as written (normalised first; raises
    documents.IdentityInvalid when it cannot be)."""
    return vault.document_index(id_type, documents.normalise_document(id_type, id_number))


def person_find(*, operator: Operator, id_type: str, id_number: str) -> Person | None:
    """Exact look-up by document through the blind index (never a scan)."""
    return Person.objects.filter(
        operator=operator, doc_index=document_index(id_type=id_type, id_number=id_number)
    ).first()


def person_list(*, user: AnyUser) -> QuerySet[Person]:
    return scoped(Person.objects.select_related("operator"), user)


MASKED_FIELDS = ("name", "id_number", "date_of_birth", "address")
_MASKS = {
    "name": masking.mask_name,
    "id_number": masking.mask_id_number,
    "date_of_birth": lambda value: masking.mask_date(value) or None,
    "address": lambda value: masking.mask_address(value) or None,
}
_ERASED = {"name": "(erased)", "id_number": "(erased)", "date_of_birth": None, "address": None}


def phone_masked(number: str | None) -> str:
    """A phone number as staff may see it ("+86138****8000")."""
    return masking.mask_phone(number)


def person_masked(
    person: Person, *, fields: tuple[str, ...] = MASKED_FIELDS
) -> dict[str, str | None]:
    """A person as every surface shows them by default: masked, not logged.

    ``fields`` narrows the answer to some of MASKED_FIELDS (only those are
    decrypted); ``id`` and ``id_type`` are always there."""
    out: dict[str, str | None] = {"id": str(person.uid), "id_type": person.id_type}
    if person.is_shredded:
        out.update((name, _ERASED[name]) for name in fields)
        return out
    values = vault.open_fields(person, fields)
    out.update((name, _MASKS[name](values[name])) for name in fields)
    return out


def held_identity_masked(
    *, person: Person, context: str, blob: bytes, fields: tuple[str, ...] = MASKED_FIELDS
) -> dict[str, str | None]:
    """An identity held on another row (a waiting transaction: what the clerk
    typed), masked like :func:`person_masked`, not logged. ``id`` names the
    person the record is sealed to; the values are the record's own, never
    the person's stored ones."""
    out: dict[str, str | None] = {"id": str(person.uid), "id_type": person.id_type}
    if person.is_shredded:
        out.update((name, _ERASED[name]) for name in fields)
        return out
    values = vault.open_identity(person, context=context, blob=blob)
    out.update((name, _MASKS[name](values[name])) for name in fields)
    return out


def access_log_list(*, user: AnyUser) -> QuerySet[AccessLogEntry]:
    return scoped(AccessLogEntry.objects.select_related("operator", "store", "person"), user)


def value_masked(person: Person, *, context: str, field: str, blob: bytes | None) -> str | None:
    """A value sealed with vault.seal_value, as surfaces show it: masked."""
    if blob is None or person.is_shredded:
        return None
    return masking.mask_address(vault.open_value(person, context=context, field=field, blob=blob))


def document_matches(
    *, id_type: str, doc_index: str, identity_type: str, identity_number: str
) -> bool:
    """Whether a document as written (``identity_type``, ``identity_number``) is
    the one a person's blind index names: the one test of "is this the same
    document?" (the number normalised first; an unnormalisable one is not)."""
    if id_type != identity_type:
        return False
    try:
        number = documents.normalise_document(identity_type, identity_number)
    except documents.IdentityInvalid:
        return False
    return vault.document_index(identity_type, number) == doc_index


@sensitive_variables()
def person_name_matches(*, person: Person, name: str) -> bool:
    """Whether a name as typed is the person's stored name (spaces collapsed,
    case ignored); the name itself never leaves the identity app."""
    stored = vault.open_fields(person, ["name"])["name"] or ""
    return " ".join(stored.split()).casefold() == " ".join(name.split()).casefold()


def document_type_choices() -> list[tuple[str, str]]:
    """(code, label) pairs of the registered document types, for form choices."""
    return list(documents.ID_TYPE_CHOICES)


def address_problem(address: str | None) -> str | None:
    """The reason an address (of a person or an installation) is refused, if any."""
    return documents.address_problem(address)


def identity_masked(identity: IdentityData) -> dict[str, str]:
    """An identity as typed (not stored), as surfaces show it: masked."""
    return {
        "name": masking.mask_name(identity.name),
        "id_number": masking.mask_id_number(identity.id_number),
    }


def address_masked(address: str | None) -> str:
    return masking.mask_address(address)


# --- Corrections, side by side ---------------------------------------------------------

CORRECTION_FIELD_LABELS = {
    "name": _("Name"),
    "date_of_birth": _("Date of birth"),
    "sex": _("Sex"),
    "id_expiry": _("Document valid until"),
    "nationality": _("Nationality"),
    "address": _("Address"),
}
HIDDEN = "*"
_CORRECTION_MASKS = {
    "name": masking.mask_name,
    "date_of_birth": masking.mask_date,
    "id_expiry": masking.mask_date,
    "address": masking.mask_address,
}


@dataclass(frozen=True)
class CorrectionField:
    """One field of a correction: its label, the value held and the value
    proposed (masked, unless it came from services.correction_reveal)."""

    field: str
    label: str
    current: str | None
    proposed: str | None


def _correction_mask(field: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    # A one-letter sex or a three-letter country has no part worth showing.
    return _CORRECTION_MASKS.get(field, lambda _value: HIDDEN)(value) or HIDDEN


@sensitive_variables()
def correction_masked(correction: CorrectionRequest) -> list[CorrectionField]:
    """A correction's fields side by side, current and proposed, masked (not
    logged, like person_masked); empty once the person is erased."""
    person = correction.person
    if person.is_shredded:
        return []
    fields = [name for name in CORRECTION_FIELD_LABELS if name in correction.proposed]
    current = vault.open_fields(person, fields)
    proposed = vault.decrypt_values(person, {name: correction.proposed[name] for name in fields})
    return [
        CorrectionField(
            field=name,
            label=str(CORRECTION_FIELD_LABELS[name]),
            current=_correction_mask(name, current[name]),
            proposed=_correction_mask(name, proposed[name]),
        )
        for name in fields
    ]


def correction_fields_text(correction: CorrectionRequest) -> str:
    """The fields a correction concerns, by their labels (the console's list)."""
    return ", ".join(
        str(label) for name, label in CORRECTION_FIELD_LABELS.items() if name in correction.proposed
    )


@sensitive_variables()
def keyed_digest(*parts: str) -> str:
    """A keyed digest (HMAC under the blind-index key) of values another app
    keeps only as such (a SIM's ICCID or EID, a partner call's number): equal
    values give equal digests, and nothing without the key turns one back."""
    return vault.digest(*parts)
