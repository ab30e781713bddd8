"""The store wizard "for an organisation" with the test client (issue 15):
each step's errors beside the field, the whole walk to the receipt, nothing
in clear in the session, the pages in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from operators.models import Operator, Store
from registration.models import Transaction, TransactionState
from tests.helpers import identity_form_fields
from tests.test_translations import _set_language, compiled_catalogue, untranslated  # noqa: F401

pytestmark = pytest.mark.django_db

CODE = "91110000600037341L"
NAME = "样例餐饮管理有限公司"


@pytest.fixture
def counter(alpha_clerk, web_client_for, alpha_notice, inventory):
    return web_client_for(alpha_clerk)


def walk(counter, handler, valid_until=None):
    counter.post(reverse("registration:org-organisation"), {"name": NAME, "uscc": CODE})
    counter.post(reverse("registration:org-handler"), identity_form_fields(handler, "handler-"))
    valid_until = valid_until or timezone.localdate() + dt.timedelta(days=30)
    return counter.post(
        reverse("registration:org-authorization"),
        {"reference": "AUTH-P", "valid_until": valid_until.isoformat()},
    )


def test_the_walk_ends_on_the_receipt(counter, citizen, alpha_notice):
    handler = citizen()
    assert walk(counter, handler)["Location"] == reverse("registration:org-notice")
    notice = counter.post(
        reverse("registration:org-notice"),
        {"notice": alpha_notice.content_hash, "consent": "on", "action": "consent"},
    )
    assert notice["Location"] == reverse("registration:org-details")
    session_text = str(dict(counter.session))
    assert NAME not in session_text
    assert CODE not in session_text
    assert handler.id_number not in session_text
    done = counter.post(reverse("registration:org-details"), {"kind": "mobile_open", "number": ""})
    assert done.status_code == 302, done.content.decode()[:2000]
    tx = Transaction.objects.get()
    assert done["Location"] == reverse("registration:receipt", kwargs={"uid": tx.uid})
    assert tx.state == TransactionState.COMPLETED
    assert tx.organisation is not None
    receipt = counter.get(done["Location"]).content.decode()
    assert 'id="organisation"' in receipt
    assert NAME not in receipt


def test_a_bad_code_and_an_expired_authorization_are_told_beside_their_fields(counter, citizen):
    bad = counter.post(
        reverse("registration:org-organisation"), {"name": NAME, "uscc": CODE[:-1] + "M"}
    )
    assert bad.status_code == 400
    assert 'id="error-uscc"' in bad.content.decode()
    expired = walk(counter, citizen(), valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert expired.status_code == 400
    assert 'id="error-valid_until"' in expired.content.decode()


def test_a_later_step_without_the_earlier_ones_goes_back(counter):
    response = counter.get(reverse("registration:org-details"))
    assert response["Location"] == reverse("registration:org-organisation")


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", "统一社会信用代码"), ("en", "Unified social credit code")],
)
def test_the_pages_speak_both_languages(
    counter,
    citizen,
    alpha,
    alpha_notice,
    language,
    expected,
    compiled_catalogue,  # noqa: F811
):
    _set_language(alpha, language)
    # Data, not catalogue texts: names in Chinese, so only the catalogue is judged.
    Store.objects.filter(operator=alpha).update(name="样例营业厅")
    Operator.objects.filter(pk=alpha.pk).update(name="样例通信")
    handler = citizen()
    pages = [counter.get(reverse("registration:org-organisation")).content.decode()]
    counter.post(reverse("registration:org-organisation"), {"name": NAME, "uscc": CODE})
    pages.append(counter.get(reverse("registration:org-handler")).content.decode())
    walk(counter, handler)
    pages.append(counter.get(reverse("registration:org-notice")).content.decode())
    counter.post(
        reverse("registration:org-notice"),
        {"notice": alpha_notice.content_hash, "consent": "on", "action": "consent"},
    )
    pages.append(counter.get(reverse("registration:org-details")).content.decode())
    assert expected in pages[0]
    for html in pages:
        assert f'lang="{language}"' in html
        if language == "zh-hans":
            assert untranslated(html, compiled_catalogue) == []
