"""Telephone numbers: parsing and kind checks (phonenumbers), and the inventory
operations that must never give one number to two lines."""

from __future__ import annotations

import functools

import phonenumbers
from django.db import connection
from django.utils.translation import gettext, gettext_lazy

from .errors import NoNumberAvailable, NumberTaken, NumberUnknown
from .models import LineKind, NumberStatus, PhoneNumber

_KIND_TYPES = {
    LineKind.MOBILE: {phonenumbers.PhoneNumberType.MOBILE},
    LineKind.LANDLINE: {phonenumbers.PhoneNumberType.FIXED_LINE},
}


def _kind_label(kind: str) -> str:
    """A line kind as people read it inside a sentence ("not a mobile number")."""
    return {LineKind.MOBILE: gettext("mobile"), LineKind.LANDLINE: gettext("landline")}.get(
        kind, kind
    )


class InvalidNumber(ValueError):
    pass


# Why a number is not of the kind asked for, in the reader's language.
_NOT_OF_KIND = {
    LineKind.MOBILE: gettext_lazy("not a mobile number"),
    LineKind.LANDLINE: gettext_lazy("not a landline number"),
}


def to_e164(raw: str, *, country: str, kind: str | None = None) -> str:
    """Parse a number as written in the operator's country; check it is valid
    and, when ``kind`` is given, of that kind (mobile or fixed line)."""
    try:
        parsed = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        raise InvalidNumber(gettext("not a telephone number")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(gettext("not a valid number"))
    if phonenumbers.region_code_for_number(parsed) != country:
        raise InvalidNumber(gettext("not a number of %(country)s") % {"country": country})
    if kind is not None:
        number_type = phonenumbers.number_type(parsed)
        allowed = _KIND_TYPES[kind] | {phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
        if number_type not in allowed:
            raise InvalidNumber(str(_NOT_OF_KIND[kind]))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def reserve(*, operator_id: int, kind: str, number: str | None, transaction_id: int) -> str:
    """Reserve a number for a transaction: the requested one (atomically, or
    refused) or the first available. Call inside the transaction's atomic block."""
    return _claim(
        operator_id=operator_id,
        kind=kind,
        number=number,
        status=NumberStatus.RESERVED,
        reserved_for_id=transaction_id,
    )


def take(*, operator_id: int, kind: str, number: str | None) -> str:
    """Assign a number at once, for a line opened in the same atomic block (no
    reservation in between): the requested one (atomically, or refused) or
    the first available."""
    return _claim(
        operator_id=operator_id,
        kind=kind,
        number=number,
        status=NumberStatus.ASSIGNED,
        reserved_for_id=None,
    )


def _claim(
    *, operator_id: int, kind: str, number: str | None, status: str, reserved_for_id: int | None
) -> str:
    if number:
        updated = PhoneNumber.objects.filter(
            operator_id=operator_id, number=number, kind=kind, status=NumberStatus.AVAILABLE
        ).update(status=status, reserved_for_id=reserved_for_id)
        if updated == 1:
            return number
        if not PhoneNumber.objects.filter(
            operator_id=operator_id, number=number, kind=kind
        ).exists():
            raise NumberUnknown(fields={"number": [gettext("Not in this operator's inventory.")]})
        raise NumberTaken(fields={"number": [gettext("Taken, reserved or resting.")]})
    if connection.vendor == "postgresql":
        # One statement: lock the first free row nobody else holds (SKIP
        # LOCKED) and claim it.
        with connection.cursor() as cursor:
            cursor.execute(
                _claim_first_sql(),
                [status, reserved_for_id, operator_id, kind, NumberStatus.AVAILABLE],
            )
            row = cursor.fetchone()
        if row is None:
            raise NoNumberAvailable()
        return row[0]
    # Elsewhere (SQLite serialises writers): pick one, then claim it with a
    # conditional update.
    for _ in range(5):
        candidate = (
            PhoneNumber.objects.select_for_update(skip_locked=True)
            .filter(operator_id=operator_id, kind=kind, status=NumberStatus.AVAILABLE)
            .order_by("number")
            .values_list("pk", "number")
            .first()
        )
        if candidate is None:
            raise NoNumberAvailable()
        if PhoneNumber.objects.filter(pk=candidate[0], status=NumberStatus.AVAILABLE).update(
            status=status, reserved_for_id=reserved_for_id
        ):
            return candidate[1]
    raise NoNumberAvailable()


@functools.cache
def _claim_first_sql() -> str:
    qn = connection.ops.quote_name
    meta = PhoneNumber._meta

    def col(name: str) -> str:
        return qn(meta.get_field(name).column)

    table = qn(meta.db_table)
    # Quoted model names only; every value is a parameter.
    return (
        f"UPDATE {table} SET {col('status')} = %s, {col('reserved_for')} = %s"  # noqa: S608
        f" WHERE {col('id')} = (SELECT {col('id')} FROM {table}"
        f" WHERE {col('operator')} = %s AND {col('kind')} = %s AND {col('status')} = %s"
        f" ORDER BY {col('number')} LIMIT 1 FOR UPDATE SKIP LOCKED)"
        f" RETURNING {col('number')}"
    )


def assign(*, number: str, transaction_id: int) -> None:
    PhoneNumber.objects.filter(number=number, reserved_for_id=transaction_id).update(
        status=NumberStatus.ASSIGNED, reserved_for=None
    )


def release_reservation(*, transaction_id: int) -> None:
    PhoneNumber.objects.filter(reserved_for_id=transaction_id, status=NumberStatus.RESERVED).update(
        status=NumberStatus.AVAILABLE, reserved_for=None
    )
