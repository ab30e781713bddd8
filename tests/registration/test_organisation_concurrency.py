"""The organisation's cap under 20 concurrent openings (threads, each on its
own database connection), as the per-person cap's race test does."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from identity.models import Organisation
from registration import representatives, services
from registration.errors import CapReached
from registration.models import Line, NumberStatus, PhoneNumber, Transaction, TransactionState
from tests import helpers

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20
CODE = "91110000600037341L"


def outcome(result: object) -> str:
    if isinstance(result, Exception):
        return type(result).__name__
    return result.state


def test_twenty_openings_for_one_organisation_at_cap_five_give_exactly_five_lines(
    alpha, alpha_clerk, consent, citizen, inventory
):
    alpha.organisation_line_cap = 5
    alpha.save()
    handlers = [citizen()]
    valid = timezone.localdate() + dt.timedelta(days=30)

    def open_line(i: int):
        # One handler acts for the organisation in every thread.
        return services.transaction_submit(
            actor=alpha_clerk.user,
            request=services.TransactionRequest(
                kind="mobile_open",
                consent=consent,
                subscriber=representatives.OrganisationInput(
                    name="样例物流有限公司", uscc=CODE, address="上海市浦东新区样例路1号"
                ),
                handler=handlers[0],
                authorization=representatives.AuthorizationInput(
                    reference="AUTH-RACE", valid_until=valid
                ),
            ),
        )

    results = helpers.race(open_line, THREADS)
    counts = Counter(outcome(r) for r in results)
    assert counts == {"completed": 5, "CapReached": THREADS - 5}, counts
    assert Organisation.objects.count() == 1
    assert Line.objects.filter(organisation__isnull=False).count() == 5
    assert PhoneNumber.objects.filter(status=NumberStatus.ASSIGNED).count() == 5
    assert not PhoneNumber.objects.filter(status=NumberStatus.RESERVED).exists()
    assert all(isinstance(r, CapReached) for r in results if isinstance(r, Exception))
    assert (
        Transaction.objects.filter(
            state=TransactionState.REJECTED, refusal_code="cap_reached"
        ).count()
        == THREADS - 5
    )
