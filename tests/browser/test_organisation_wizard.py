"""A clerk opens a line for an organisation in a real browser (issue 15):
organisation → handler → authorization → notice and consent → details →
receipt, the organisation and handler masked; a bad credit code's reason
beside its field; axe finds nothing serious or critical on any step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from identity.models import Organisation
from registration.models import Line, Transaction, TransactionState
from tests.browser.axe import assert_accessible
from tests.browser.test_registration import (  # noqa: F401
    citizens,
    counter_setup,
    fill_identity,
    sign_in,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CODE = "91110000600037341L"
NAME = "样例网络科技有限公司"


def test_a_clerk_opens_a_line_for_an_organisation(page, counter_setup, citizens):  # noqa: F811
    handler = citizens()
    sign_in(page, counter_setup["clerk"])
    page.goto("/store/")
    page.click("#start-organisation")
    page.wait_for_url("**/store/organisation/")
    page.fill("#id_name", NAME)
    page.fill("#id_uscc", CODE[:-1] + "M")
    page.click("#org-next")
    page.wait_for_selector("#error-uscc")
    assert_accessible(page, "organisation wizard: organisation (error)")
    assert "GB 32100" in page.text_content("#error-uscc")
    page.fill("#id_uscc", CODE)
    page.fill("#id_address", "北京市海淀区样例路8号")
    page.click("#org-next")
    page.wait_for_url("**/organisation/handler/")
    assert_accessible(page, "organisation wizard: handler")
    fill_identity(page, "handler", handler)
    page.click("#org-next")
    page.wait_for_url("**/organisation/authorization/")
    assert_accessible(page, "organisation wizard: authorization")
    page.fill("#id_reference", "AUTH-WEB-1")
    page.fill("#id_valid_until", (timezone.localdate() + dt.timedelta(days=30)).isoformat())
    page.click("#org-next")
    page.wait_for_url("**/organisation/notice/")
    assert_accessible(page, "organisation wizard: notice")
    assert page.is_visible("#notice-zh-hans")
    page.check("input[name=consent]")
    page.click("#give-consent")
    page.wait_for_url("**/organisation/details/")
    assert_accessible(page, "organisation wizard: details")
    assert NAME not in page.text_content("#org-summary")
    page.click("#org-next")
    page.wait_for_url("**/store/transactions/*/")
    assert_accessible(page, "organisation wizard: receipt")
    reference = page.text_content("#reference").strip()
    tx = Transaction.objects.get(reference=reference)
    assert tx.state == TransactionState.COMPLETED
    assert tx.organisation == Organisation.objects.get()
    assert Line.objects.get(pk=tx.line_id).organisation_id == tx.organisation_id
    shown = page.text_content("#organisation")
    assert "9111**********341L" in shown
    assert NAME not in page.content()
    assert CODE not in page.content()
    assert handler.name not in page.content()
    assert handler.id_number[-4:] in page.text_content("#handler")
