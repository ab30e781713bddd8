"""Reads about persons, notices and the access log. Nothing here returns
personal data in clear: persons come back masked (unmasking is
:func:`identity.services.person_reveal`, which logs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from operators.tenancy import scoped

from . import documents, masking, vault
from .models import AccessLogEntry, Person, PrivacyNotice

if TYPE_CHECKING:
    from operators.models import Operator
    from operators.tenancy import AnyUser


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


def person_find(*, operator: Operator, id_type: str, id_number: str) -> Person | None:
    """Exact look-up by document through the blind index (never a scan)."""
    number = documents.normalise_document(id_type, id_number)
    return Person.objects.filter(
        operator=operator, doc_index=vault.document_index(id_type, number)
    ).first()


def person_list(*, user: AnyUser) -> QuerySet[Person]:
    return scoped(Person.objects.select_related("operator"), user)


def person_masked(person: Person) -> dict[str, str | None]:
    """A person as every surface shows them by default: masked, not logged."""
    if person.is_shredded:
        return {
            "id": str(person.uid),
            "id_type": person.id_type,
            "name": "(erased)",
            "id_number": "(erased)",
            "date_of_birth": None,
            "address": None,
        }
    values = vault.open_fields(person, ("name", "id_number", "date_of_birth", "address"))
    return {
        "id": str(person.uid),
        "id_type": person.id_type,
        "name": masking.mask_name(values["name"]),
        "id_number": masking.mask_id_number(values["id_number"]),
        "date_of_birth": masking.mask_date(values["date_of_birth"]) or None,
        "address": masking.mask_address(values["address"]) or None,
    }


def access_log_list(*, user: AnyUser) -> QuerySet[AccessLogEntry]:
    return scoped(AccessLogEntry.objects.select_related("operator", "store", "person"), user)


def value_masked(person: Person, *, context: str, field: str, blob: bytes | None) -> str | None:
    """A value sealed with vault.seal_value, as surfaces show it: masked."""
    if blob is None or person.is_shredded:
        return None
    return masking.mask_address(vault.open_value(person, context=context, field=field, blob=blob))
