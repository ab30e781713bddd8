"""Fast entry at the counter in a real browser (Chromium, Playwright): birth
date and sex filled from a resident ID number as the clerk types it, the
number picker's search box, and the busy state of a submit that cannot be
sent twice. Everything here is the page's own script (static/js/telereg.js)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from identity.synthetic import synthetic_resident_id
from registration.models import Transaction, TransactionState
from tests.browser import test_registration
from tests.browser.test_registration import consent_and_continue, fill_identity, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The counter's fixtures, shared with the wizard's browser tests.
counter_setup = test_registration.counter_setup
citizens = test_registration.citizens


def test_typing_a_resident_id_fills_birth_date_and_sex(page, counter_setup):
    sign_in(page, counter_setup["clerk"])
    page.goto("/store/new/mobile_open/")
    assert page.evaluate("document.activeElement.id") == "id_applicant-id_type"
    born = dt.date(1987, 6, 5)
    number = synthetic_resident_id(birth_date=born, sex="F", rng=random.Random(7))
    page.select_option("#id_applicant-id_type", "cn_resident_id")
    page.type("#id_applicant-id_number", number)
    assert page.input_value("#id_applicant-date_of_birth") == "1987-06-05"
    assert page.is_checked("input[name='applicant-sex'][value='F']")
    man = synthetic_resident_id(birth_date=dt.date(1990, 1, 31), sex="M", rng=random.Random(8))
    page.fill("#id_applicant-id_number", man)
    assert page.input_value("#id_applicant-date_of_birth") == "1990-01-31"
    assert page.is_checked("input[name='applicant-sex'][value='M']")
    assert not page.is_checked("input[name='applicant-sex'][value='F']")


def test_a_number_that_is_not_a_resident_id_fills_nothing(page, counter_setup):
    sign_in(page, counter_setup["clerk"])
    page.goto("/store/new/mobile_open/")
    page.select_option("#id_applicant-id_type", "cn_resident_id")
    page.fill("#id_applicant-id_number", "110105198713450027")  # month 13: no date
    assert page.input_value("#id_applicant-date_of_birth") == ""
    page.fill("#id_applicant-id_number", "")
    page.select_option("#id_applicant-id_type", "cn_passport")
    page.fill("#id_applicant-id_number", "110105198706050027")
    assert page.input_value("#id_applicant-date_of_birth") == ""


def test_the_number_search_narrows_the_picker_and_the_submit_shows_it_is_busy(
    page, counter_setup, citizens
):
    identity = citizens()
    sign_in(page, counter_setup["clerk"])
    page.goto("/store/new/mobile_open/")
    fill_identity(page, "applicant", identity)
    page.click("text=Check identity and continue")
    consent_and_continue(page)
    assert page.is_visible("#number-search-input")
    page.fill("#number-search-input", "8004")
    visible = page.eval_on_selector_all(
        "#id_number optgroup option", "options => options.filter(o => !o.hidden).map(o => o.value)"
    )
    assert visible == ["+8613800138004"]
    # Enter in the search box moves to the list; the keyboard picks the number.
    page.press("#number-search-input", "Enter")
    assert page.evaluate("document.activeElement.id") == "id_number"
    assert page.url.endswith("/details/")
    page.select_option("#id_number", "+8613800138004")
    page.click("text=Continue to confirmation")
    page.wait_for_url("**/confirm/")

    # The server's answer is held back (a 204 leaves the page where it is), so
    # that the page can be seen while its submit is on its way.
    sent = []

    def answer_later(route) -> None:
        sent.append(route.request.method)
        route.fulfill(status=204)

    page.route("**/store/new/mobile_open/confirm/", answer_later)
    page.click("#submit-transaction", no_wait_after=True)
    busy = page.wait_for_function(
        "() => { const b = document.getElementById('submit-transaction');"
        " return b.disabled && b.textContent.trim(); }"
    )
    assert busy.json_value() == "Submitting…"
    # A second submit is stopped by the page: one request went.
    page.evaluate("document.getElementById('confirm-form').requestSubmit()")
    page.click("#submit-transaction", force=True, no_wait_after=True)
    assert page.get_attribute("#confirm-form", "aria-busy") == "true"
    assert sent == ["POST"]
    assert not Transaction.objects.filter(state=TransactionState.COMPLETED).exists()
