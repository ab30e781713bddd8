"""Closing a line and its legal hold in the console, and the holder's
``line_close`` in the store wizard (which shows the kind from its spec):
who may, what it does, bad input beside its field, another operator's line
not found; and every new page in Simplified Chinese and in English."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from identity import services as identity_services
from identity.services import ConsentInput
from operators.models import Language, Operator
from operators.roles import Role
from registration import closing, services
from registration.models import (
    CloseReason,
    LegalHold,
    Line,
    LineClosure,
    LineStatus,
    Transaction,
    TransactionState,
)
from tests.conftest import privileged_login
from tests.helpers import identity_form_fields
from tests.test_translations import compiled_catalogue, shop, untranslated, visible  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quiet_broker(monkeypatch):
    """Messages published after commits are recorded, not sent to a broker."""
    monkeypatch.setattr(closing, "enqueue", lambda *args, **options: True)
    monkeypatch.setattr(services, "enqueue", lambda *args, **options: True)


@pytest.fixture
def line(open_mobile):
    tx, _ = open_mobile()
    return tx.line


def close_url(line: Line) -> str:
    return reverse("console:registration_line_close", args=[line.pk])


def hold_url(line: Line) -> str:
    return reverse("console:registration_line_legal_hold", args=[line.pk])


# --- Closing in the console --------------------------------------------------------------


def test_an_officer_closes_a_line_in_the_console_with_a_reason(
    line, alpha_compliance, web_client_for
):
    client = web_client_for(alpha_compliance)
    change = client.get(reverse("console:registration_line_change", args=[line.pk]))
    assert 'id="close-link"' in change.content.decode()
    page = client.get(close_url(line))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert line.number not in page.content.decode()
    response = client.post(close_url(line), {"reason": "non_payment", "note": "Account 7 unpaid"})
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.status == LineStatus.CLOSED
    closure = LineClosure.objects.get(line=line)
    assert closure.reason == CloseReason.NON_PAYMENT
    assert closure.actor == alpha_compliance.user
    change = client.get(reverse("console:registration_line_change", args=[line.pk]))
    assert 'id="close-link"' not in change.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason": "bored"}, "reason"),
        ({"reason": "holder_request"}, "reason"),
        ({"reason": "fraud", "note": "zero\u200bwidth"}, "note"),
        ({"reason": "fraud", "note": "x" * 301}, "note"),
    ],
)
def test_a_bad_closing_in_the_console_is_shown_beside_its_field(
    line, alpha_compliance, web_client_for, data, field
):
    response = web_client_for(alpha_compliance).post(close_url(line), data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


def test_a_nul_in_the_console_form_is_refused_cleanly(line, alpha_compliance, web_client_for):
    response = web_client_for(alpha_compliance).post(
        close_url(line), {"reason": "fraud", "note": "a\x00b"}
    )
    assert response.status_code == 400
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


def test_an_operator_admin_closes_but_cannot_set_a_hold(line, alpha, make_staff, web_client_for):
    client = web_client_for(make_staff(alpha, Role.OPERATOR_ADMIN))
    assert client.get(hold_url(line)).status_code == 403
    assert client.post(hold_url(line), {"reason": "D-1"}).status_code == 403
    assert not LegalHold.objects.exists()
    assert client.post(close_url(line), {"reason": "other"}).status_code == 302


def test_a_clerk_cannot_reach_the_console_pages(line, alpha_clerk, web_client_for):
    client = web_client_for(alpha_clerk)
    assert client.post(close_url(line), {"reason": "fraud"}).status_code in (302, 403)
    assert client.post(hold_url(line), {"reason": "D-1"}).status_code in (302, 403)
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert not LegalHold.objects.exists()


def test_another_operators_line_is_not_found_in_the_console(line, beta, make_staff, web_client_for):
    client = web_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert client.get(close_url(line)).status_code == 404
    assert client.post(close_url(line), {"reason": "fraud"}).status_code == 404
    assert client.post(hold_url(line), {"reason": "D-1"}).status_code == 404
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


def test_a_hold_set_and_lifted_in_the_console_names_who_and_when(
    line, alpha_compliance, web_client_for
):
    client = web_client_for(alpha_compliance)
    assert client.post(hold_url(line), {"reason": "Disclosure D-42"}).status_code == 302
    hold = LegalHold.objects.get(line=line)
    assert (hold.set_by, hold.reason) == (alpha_compliance.user, "Disclosure D-42")
    refused = client.post(close_url(line), {"reason": "fraud"})
    assert refused.status_code == 409
    assert refused.context["form"].non_field_errors()
    assert client.post(hold_url(line), {"reason": ""}).status_code == 400
    assert client.post(hold_url(line), {"reason": "Case closed"}).status_code == 302
    hold.refresh_from_db()
    assert hold.lifted_by == alpha_compliance.user
    assert hold.lifted_at is not None
    assert hold.lift_reason == "Case closed"
    assert client.post(close_url(line), {"reason": "fraud"}).status_code == 302


# --- The new pages in both languages -----------------------------------------------------


def _shop_line(the_shop, citizen):
    operator, clerk, _ = the_shop
    identity = citizen()
    notice = identity_services.current_notices(operator)[0]
    tx = services.transaction_submit(
        actor=clerk.user,
        request=services.TransactionRequest(
            kind="mobile_open",
            consent=ConsentInput(notice.content_hash, True),
            applicant=identity,
        ),
    )
    return tx.line, identity


def console_pages(the_shop, citizen) -> dict[str, str]:
    """The console's closing and hold pages, each state: name → HTML."""
    operator, _, officer = the_shop
    line, _ = _shop_line(the_shop, citizen)
    client = privileged_login(Client(), officer.user)
    pages: dict[str, str] = {}

    def keep(name: str, response, status: int = 200) -> None:
        assert response.status_code == status, (name, response.status_code)
        pages[name] = response.content.decode()

    change = reverse("console:registration_line_change", args=[line.pk])
    keep("line", client.get(change))
    keep("close", client.get(close_url(line)))
    keep("close refused", client.post(close_url(line), {"reason": "bored"}), 400)
    keep("hold", client.get(hold_url(line)))
    client.post(hold_url(line), {"reason": "D-7"})
    keep("held line", client.get(change))
    keep("close held", client.post(close_url(line), {"reason": "fraud"}), 409)
    keep("lift", client.get(hold_url(line)))
    client.post(hold_url(line), {"reason": "done"})
    assert client.post(close_url(line), {"reason": "fraud"}).status_code == 302
    keep("closed line", client.get(change))
    keep("lines", client.get(reverse("console:registration_line_changelist")))
    keep("operator", client.get(reverse("console:operators_operator_change", args=[operator.pk])))
    return pages


def _wizard_line_close(the_shop, citizen) -> dict[str, str]:
    """The store wizard taking a line_close, page by page: name → HTML."""
    _, clerk, _ = the_shop
    line, identity = _shop_line(the_shop, citizen)
    counter = privileged_login(Client(), clerk.user)
    step = lambda name: reverse(f"registration:{name}", kwargs={"kind": "line_close"})  # noqa: E731
    pages: dict[str, str] = {}

    def keep(name: str, response) -> None:
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = response.content.decode()

    keep("store home", counter.get(reverse("registration:index")))
    keep("identity", counter.get(step("identity")))
    # The line is asked at the identity step, with the holder (checked at once).
    posted = counter.post(
        step("identity"),
        {"line": line.number, **identity_form_fields(identity, prefix="applicant-")},
    )
    assert posted.status_code == 302, posted.content.decode()[:2000]
    notice_page = counter.get(step("notice"))
    keep("notice", notice_page)
    notice_hash = notice_page.context["notices"][0].content_hash
    posted = counter.post(
        step("notice"), {"notice": notice_hash, "consent": "on", "action": "consent"}
    )
    assert posted.status_code == 302
    assert posted["Location"].endswith("/confirm/")
    keep("confirm", counter.get(step("confirm")))
    done = counter.post(step("confirm"))
    assert done.status_code == 302, done.content.decode()[:2000]
    tx = Transaction.objects.get(kind="line_close")
    assert tx.state == TransactionState.COMPLETED
    keep("receipt", counter.get(reverse("registration:receipt", kwargs={"uid": tx.uid})))
    line.refresh_from_db()
    assert line.status == LineStatus.CLOSED
    return pages


def test_the_closing_pages_leave_no_catalogue_text_in_english(shop, citizen, compiled_catalogue):  # noqa: F811
    pages = {**console_pages(shop, citizen), **_wizard_line_close(shop, citizen)}
    # A code name whose translation keeps it ("E.164" → "E.164 格式") is no
    # sign of an untranslated text.
    catalogue = {k: v for k, v in compiled_catalogue.items() if k not in v}
    failures = {name: untranslated(html, catalogue) for name, html in pages.items()}
    assert not {name: texts for name, texts in failures.items() if texts}, failures
    for name, html in pages.items():
        assert visible(html, "zh-hans").html_lang == "zh-hans", name
    close_text = "\n".join(visible(pages["close"], "zh-hans").chunks)
    assert "涉嫌诈骗" in close_text
    assert "fraud" not in close_text
    assert "号码销户" in "\n".join(visible(pages["store home"], "zh-hans").chunks)
    assert "应机主本人申请" in "\n".join(visible(pages["receipt"], "zh-hans").chunks) or (
        "号码销户" in "\n".join(visible(pages["receipt"], "zh-hans").chunks)
    )


def test_the_closing_pages_in_english_say_so(shop, citizen, compiled_catalogue):  # noqa: F811
    Operator.objects.filter(pk=shop[0].pk).update(default_language=Language.EN)
    pages = {**console_pages(shop, citizen), **_wizard_line_close(shop, citizen)}
    for name, html in pages.items():
        assert visible(html, "en").html_lang == "en", name
    assert "Close the line" in pages["close"]
    assert "Line closing" in pages["store home"]
