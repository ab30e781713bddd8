"""The counter's follow-up pages in a real browser: the receipt's public check
runs under the Content-Security-Policy without a violation, and on a phone the
transactions list keeps each cell's label and fits the screen."""

from __future__ import annotations

import pytest

from identity.services import ConsentInput
from registration import receipts
from registration.services import TransactionRequest, transaction_submit
from tests.browser import test_csp as csp
from tests.browser import test_registration as wizard
from tests.browser.test_registration import sign_in

# The wizard's fixtures, shared with its own browser tests.
counter_setup = wizard.counter_setup
citizens = wizard.citizens

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _opened(counter_setup, citizens):
    return transaction_submit(
        actor=counter_setup["clerk"].user,
        request=TransactionRequest(
            kind="mobile_open",
            applicant=citizens(),
            consent=ConsentInput(counter_setup["notices"][0].content_hash, True),
        ),
    )


def test_the_public_receipt_check_runs_without_a_policy_violation(page, counter_setup, citizens):
    tx = _opened(counter_setup, citizens)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(csp.WATCH)
    path = receipts.receipt_check_url(tx).removeprefix("http://127.0.0.1:8000")
    response = page.goto(path + "?lang=en")
    assert response.status == 200
    assert page.is_visible("#genuine")
    assert page.text_content("#reference").strip() == tx.reference
    assert csp._violations(page, console) == []


def test_on_a_phone_the_transactions_list_keeps_its_labels_and_fits(page, counter_setup, citizens):
    tx = _opened(counter_setup, citizens)
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, counter_setup["clerk"])
    page.goto("/store/transactions/")
    cell = f"#list #tx-{tx.reference} td:first-child"
    label = page.evaluate(
        "(selector) => getComputedStyle(document.querySelector(selector), '::before').content",
        cell,
    )
    assert label == '"Reference"'
    assert page.is_hidden("#list thead")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
