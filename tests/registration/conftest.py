"""Fixtures for registration: inventory, catalog, a clerk, and request builders."""

from __future__ import annotations

import dataclasses

import pytest

from identity.services import ConsentInput
from registration.models import LineKind, PhoneNumber, Service
from registration.services import TransactionRequest, transaction_submit

MOBILE_BASE = 13800138000
LANDLINE_BASE = 1062345600


@pytest.fixture
def inventory(alpha):
    """20 mobile and 10 landline numbers for alpha."""
    PhoneNumber.objects.bulk_create(
        [
            PhoneNumber(operator=alpha, number=f"+86{MOBILE_BASE + n}", kind=LineKind.MOBILE)
            for n in range(20)
        ]
        + [
            PhoneNumber(operator=alpha, number=f"+86{LANDLINE_BASE + n}", kind=LineKind.LANDLINE)
            for n in range(10)
        ]
    )
    return alpha


@pytest.fixture
def catalog(alpha):
    return {
        "intl_roaming": Service.objects.create(
            operator=alpha, code="intl_roaming", name="International roaming", line_kinds=["mobile"]
        ),
        "call_forwarding": Service.objects.create(
            operator=alpha,
            code="call_forwarding",
            name="Call forwarding",
            line_kinds=["mobile", "landline"],
        ),
    }


@pytest.fixture
def submit(alpha_clerk, consent):
    """Submit a transaction as alpha's clerk with a valid consent by default."""

    def do(kind, *, actor=None, consent_input=None, **fields):
        return transaction_submit(
            actor=(actor or alpha_clerk).user,
            request=TransactionRequest(kind=kind, consent=consent_input or consent, **fields),
        )

    return do


@pytest.fixture
def open_mobile(submit, citizen, inventory):
    """A completed mobile opening for a fresh citizen; returns (tx, identity)."""

    def do(identity=None, **fields):
        identity = identity or citizen()
        return submit("mobile_open", applicant=identity, **fields), identity

    return do


def api_block(identity) -> dict:
    data = dataclasses.asdict(identity)
    data["date_of_birth"] = identity.date_of_birth.isoformat()
    data["id_expiry"] = identity.id_expiry.isoformat() if identity.id_expiry else None
    return data


def declined(consent: ConsentInput) -> ConsentInput:
    return ConsentInput(consent.notice_hash, False)
