"""Races with real threads, each on its own database connection (PostgreSQL in
CI): a number is never given twice and the cap is never exceeded."""

from __future__ import annotations

from collections import Counter

import pytest

from registration import services
from registration.errors import CapReached, NumberTaken
from registration.models import Line, NumberStatus, PhoneNumber, Transaction, TransactionState
from tests import helpers

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


def race(worker, count: int = THREADS) -> list[object]:
    return helpers.race(worker, count)


def outcome(result: object) -> str:
    if isinstance(result, Exception):
        return type(result).__name__
    return result.state


def test_twenty_claims_of_one_number_give_exactly_one_line(
    alpha_clerk, consent, citizen, inventory
):
    identities = [citizen() for _ in range(THREADS)]
    number = "+8613800138007"

    def claim(i: int):
        return services.transaction_submit(
            actor=alpha_clerk.user,
            request=services.TransactionRequest(
                kind="mobile_open", consent=consent, applicant=identities[i], number=number
            ),
        )

    results = race(claim)
    counts = Counter(outcome(r) for r in results)
    assert counts == {"completed": 1, "NumberTaken": THREADS - 1}, counts
    assert Line.objects.filter(number=number).count() == 1
    assert PhoneNumber.objects.get(number=number).status == NumberStatus.ASSIGNED
    assert not PhoneNumber.objects.filter(status=NumberStatus.RESERVED).exists()
    assert all(isinstance(r, NumberTaken) for r in results if isinstance(r, Exception))


def test_twenty_openings_for_one_document_at_cap_five_give_exactly_five_lines(
    alpha_clerk, consent, citizen, inventory
):
    identity = citizen()

    def open_line(i: int):
        return services.transaction_submit(
            actor=alpha_clerk.user,
            request=services.TransactionRequest(
                kind="mobile_open", consent=consent, applicant=identity
            ),
        )

    results = race(open_line)
    counts = Counter(outcome(r) for r in results)
    assert counts == {"completed": 5, "CapReached": THREADS - 5}, counts
    assert Line.objects.count() == 5
    assert len(set(Line.objects.values_list("number", flat=True))) == 5
    assert PhoneNumber.objects.filter(status=NumberStatus.ASSIGNED).count() == 5
    assert not PhoneNumber.objects.filter(status=NumberStatus.RESERVED).exists()
    assert all(isinstance(r, CapReached) for r in results if isinstance(r, Exception))
    assert (
        Transaction.objects.filter(
            state=TransactionState.REJECTED, refusal_code="cap_reached"
        ).count()
        == THREADS - 5
    )


def test_twenty_openings_for_different_people_get_twenty_different_numbers(
    alpha_clerk, consent, citizen, inventory
):
    identities = [citizen() for _ in range(THREADS)]

    def open_line(i: int):
        return services.transaction_submit(
            actor=alpha_clerk.user,
            request=services.TransactionRequest(
                kind="mobile_open", consent=consent, applicant=identities[i]
            ),
        )

    results = race(open_line)
    assert Counter(outcome(r) for r in results) == {"completed": THREADS}
    numbers = list(Line.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == THREADS
