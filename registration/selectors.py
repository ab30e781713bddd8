"""Reads of lines, numbers, services and transactions, scoped and masked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from identity import selectors as identity_selectors
from operators.tenancy import scoped

from .models import Line, NumberStatus, PhoneNumber, Service, Transaction

if TYPE_CHECKING:
    from operators.tenancy import AnyUser


def line_list(*, user: AnyUser) -> QuerySet[Line]:
    return scoped(Line.objects.select_related("holder", "store", "operator"), user)


def line_masked_holder(line: Line) -> dict[str, str | None]:
    masked = identity_selectors.person_masked(line.holder)
    return {
        "id": masked["id"],
        "id_type": masked["id_type"],
        "name": masked["name"],
        "id_number": masked["id_number"],
    }


def line_masked_address(line: Line) -> str | None:
    return identity_selectors.value_masked(
        line.holder,
        context=line.address_subject,
        field="installation_address",
        blob=line.installation_address_enc,
    )


def numbers_available(*, user: AnyUser, kind: str, pattern: str = "") -> QuerySet[PhoneNumber]:
    qs = scoped(PhoneNumber.objects.all(), user).filter(kind=kind, status=NumberStatus.AVAILABLE)
    digits = "".join(ch for ch in pattern if ch.isdigit())
    if digits:
        qs = qs.filter(number__contains=digits)
    return qs.order_by("number")


def service_list(*, user: AnyUser) -> QuerySet[Service]:
    return scoped(Service.objects.filter(active=True), user)


def transaction_list(*, user: AnyUser) -> QuerySet[Transaction]:
    return scoped(
        Transaction.objects.select_related("line__holder", "store", "staff", "service"), user
    )


def person_lines(*, user: AnyUser, id_type: str, id_number: str):
    """A person found by document through the blind index (never a scan), with
    the open lines they hold, within the caller's operator: ``(person, lines)``
    or ``(None, [])``. Masked on the way out, like every default view."""
    staff_operator = getattr(getattr(user, "staff", None), "operator", None)
    if staff_operator is None:
        return None, []
    person = identity_selectors.person_find(
        operator=staff_operator, id_type=id_type, id_number=id_number
    )
    if person is None:
        return None, []
    lines = list(
        line_list(user=user).filter(holder=person).exclude(status="closed").order_by("number")
    )
    return person, lines
