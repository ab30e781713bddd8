"""The store wizard's kinds of issue 13 in a real browser: a clerk replaces a
line's SIM (the ICCID asked at the details step, a wrong check digit refused
beside its field) and closes a line, both taken from their KindSpec."""

from __future__ import annotations

import pytest
from stdnum import luhn

from identity.services import ConsentInput
from registration.models import LineStatus, SimCard, Transaction, TransactionState
from registration.services import TransactionRequest, transaction_submit
from tests.browser.test_registration import (  # noqa: F401
    confirm_and_read_receipt,
    consent_and_continue,
    counter_setup,
    fill_identity,
    sign_in,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _opened_line(counter_setup, identity):  # noqa: F811
    opening = transaction_submit(
        actor=counter_setup["clerk"].user,
        request=TransactionRequest(
            kind="mobile_open",
            applicant=identity,
            consent=ConsentInput(counter_setup["notices"][0].content_hash, True),
        ),
    )
    return opening.line


def _start(page, kind: str, line, identity) -> None:
    page.goto("/store/")
    page.click(f"#start-{kind}")
    page.fill("#id_line", line.number)
    fill_identity(page, "applicant", identity)
    page.click("text=Check identity and continue")


def test_clerk_replaces_a_sim_in_the_wizard(page, counter_setup, citizen):  # noqa: F811
    identity = citizen()
    line = _opened_line(counter_setup, identity)
    body = "898601234567890123"
    iccid = body + luhn.calc_check_digit(body)
    wrong = iccid[:-1] + str((int(iccid[-1]) + 1) % 10)
    sign_in(page, counter_setup["clerk"])
    _start(page, "sim_replace", line, identity)
    consent_and_continue(page)
    page.fill("#id_iccid", wrong)
    page.click("text=Continue to confirmation")
    page.wait_for_selector("#id_iccid[aria-invalid=true], .field .error")
    assert "check digit" in page.content()
    assert not SimCard.objects.exists()
    page.fill("#id_iccid", iccid)
    reference = confirm_and_read_receipt(page)

    assert page.text_content("#kind").strip() == "SIM replacement"
    assert page.text_content("#state").strip() == "Completed"
    assert iccid[-4:] in page.text_content("#sim")
    assert iccid not in page.content()
    tx = Transaction.objects.get(reference=reference)
    sim = SimCard.objects.get(line=line)
    assert sim.transaction == tx
    assert sim.last4 == iccid[-4:]
    assert sim.changed_at is not None


def test_clerk_closes_a_line_in_the_wizard(page, counter_setup, citizen):  # noqa: F811
    identity = citizen()
    line = _opened_line(counter_setup, identity)
    sign_in(page, counter_setup["clerk"])
    _start(page, "line_close", line, identity)
    # The line and its holder were checked at the identity step: nothing is
    # left for a details step.
    consent_and_continue(page, next_step="confirm")
    reference = confirm_and_read_receipt(page, details=False)

    assert page.text_content("#kind").strip() == "Line closing"
    assert page.text_content("#state").strip() == "Completed"
    assert Transaction.objects.get(reference=reference).state == TransactionState.COMPLETED
    line.refresh_from_db()
    assert line.status == LineStatus.CLOSED
