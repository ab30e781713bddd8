"""Every form works with the keyboard alone (issue 12): a clerk signs in and
takes a mobile opening with Tab, Space, arrow keys, typing and Enter, never
a click, in a real browser."""

from __future__ import annotations

import pytest

from registration.models import Line, Transaction, TransactionState
from tests.browser import test_registration as wizard
from tests.factories import PASSWORD

counter_setup = wizard.counter_setup
citizens = wizard.citizens

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAX_TABS = 80


def tab_to(page, selector: str) -> None:
    """Press Tab until the element with the keyboard focus matches ``selector``
    (the page's own tab order; fails if it never gets there)."""
    for _ in range(MAX_TABS):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def type_into(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def type_date(page, selector: str, value) -> None:
    # Chromium's date field in an en-US browser: month, day, year segments.
    tab_to(page, selector)
    page.keyboard.type(value.strftime("%m%d%Y"))
    assert page.input_value(selector) == value.isoformat()


def choose_option(page, selector: str, value: str) -> None:
    """A closed <select> moves through its options with the arrow keys."""
    tab_to(page, selector)
    page.keyboard.press("Home")
    for _ in range(MAX_TABS):
        if page.input_value(selector) == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{selector} has no option {value}")


def choose_radio(page, name: str, value: str) -> None:
    """Tab into a radio group, then the arrow keys pick within it."""
    tab_to(page, f"input[name='{name}']")
    if not page.evaluate("() => document.activeElement.checked"):
        page.keyboard.press("Space")
    for _ in range(MAX_TABS):
        if (
            page.evaluate(f"() => document.querySelector(\"input[name='{name}']:checked\").value")
            == value
        ):
            return
        page.keyboard.press("ArrowRight")
    raise AssertionError(f"no {value} among {name}")


def test_a_clerk_signs_in_and_opens_a_mobile_account_with_the_keyboard_alone(
    page, counter_setup, citizens
):
    identity = citizens()
    clerk = counter_setup["clerk"]
    page.goto("/sign-in/")
    # The username field has the focus as the page opens.
    page.keyboard.type(clerk.user.username)
    type_into(page, "#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#operator")

    tab_to(page, "a[href='/store/']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/store/")
    tab_to(page, "#start-mobile_open")
    page.keyboard.press("Enter")
    page.wait_for_url("**/new/mobile_open/")

    party = "applicant"
    choose_option(page, f"#id_{party}-id_type", identity.id_type)
    type_into(page, f"#id_{party}-id_number", identity.id_number)
    type_into(page, f"#id_{party}-name", identity.name)
    type_date(page, f"#id_{party}-date_of_birth", identity.date_of_birth)
    choose_radio(page, f"{party}-sex", identity.sex)
    if identity.id_expiry:
        type_date(page, f"#id_{party}-id_expiry", identity.id_expiry)
    type_into(page, f"#id_{party}-address", identity.address or "")
    # The address is a text area (Enter is a new line there): on to the button.
    tab_to(page, "#identity-form button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_url("**/notice/")
    tab_to(page, "input[name=consent]")
    page.keyboard.press("Space")
    tab_to(page, "#give-consent")
    page.keyboard.press("Enter")

    page.wait_for_url("**/details/")
    # The number picker is a list: the arrow key chooses the next number.
    tab_to(page, "select[name=number]")
    page.keyboard.press("ArrowDown")
    assert page.eval_on_selector("select[name=number]", "e => e.value").startswith("+86")
    tab_to(page, "#details-form button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_url("**/confirm/")
    tab_to(page, "#submit-transaction")
    page.keyboard.press("Enter")

    page.wait_for_url("**/store/transactions/*/")
    tx = Transaction.objects.get(reference=page.text_content("#reference").strip())
    assert tx.state == TransactionState.COMPLETED
    assert Line.objects.get(pk=tx.line_id).holder == tx.applicant
