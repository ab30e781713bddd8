"""The subscriber's pages (issue 12): the code page names the masked number,
"Not mine" asks for a reason and says what happens next, the person corrects
their own data, and every page carries the operator's name and colours."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from identity.models import CorrectionRequest, CorrectionStatus
from operators.models import Operator
from operators.roles import Role
from reverification import my_lines, selectors
from reverification.models import Dispute, MyLinesChallenge
from tests.catalogues import compile_catalogues
from tests.reverification.subscriber_states import answer_link, last_code

pytestmark = pytest.mark.django_db

PAGE = "/my-lines/"


@pytest.fixture(autouse=True)
def catalogues():
    compile_catalogues()


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    return tmp_path / "file.jsonl"


def start(client: Client, identity, *, name: str | None = None, lang: str = "en"):
    return client.post(
        f"{PAGE}?lang={lang}",
        {
            "step": "start",
            "operator": "alpha",
            "id_type": identity.id_type,
            "id_number": identity.id_number,
            "name": name or identity.name,
        },
    )


def step(client: Client, step_name: str, lang: str = "en", **fields):
    return client.post(f"{PAGE}?lang={lang}", {"step": step_name, **fields})


@pytest.fixture
def coded(client, open_mobile, outbox):
    """A holder of two lines who entered the right code: (client, tx, identity)."""
    tx, holder = open_mobile()
    open_mobile(holder)
    start(client, holder)
    assert step(client, "code", code=last_code(outbox)).status_code == 200
    return client, tx, holder


# --- The code page -----------------------------------------------------------------------


def test_the_code_page_names_the_masked_number_the_code_went_to(client, open_mobile, outbox):
    tx, holder = open_mobile()
    body = start(client, holder).content.decode()
    sent_to = json.loads(outbox.read_text().splitlines()[-1])["to"]
    assert sent_to == tx.line.number
    masked = f"{sent_to[:6]}****{sent_to[-4:]}"
    # Stored masked in E.164's shape; shown grouped for reading (138 **** 8000).
    assert f'<strong id="sent-to">{sent_to[3:6]} **** {sent_to[-4:]}</strong>' in body
    assert sent_to not in body
    assert MyLinesChallenge.objects.get().sent_to_masked == masked


def test_an_unknown_document_gets_the_same_decoy_number_each_time(
    client, inventory, citizen, outbox
):
    stranger = citizen()
    first = re.search(r'id="sent-to">([^<]+)<', start(client, stranger).content.decode()).group(1)
    again = re.search(r'id="sent-to">([^<]+)<', start(client, stranger).content.decode()).group(1)
    assert first == again
    assert re.fullmatch(r"\d{3} \*{4} \d{4}", first)
    assert not outbox.exists()  # nothing sent to anyone


# --- "Not mine" ----------------------------------------------------------------------------


def test_not_mine_first_asks_for_confirmation_and_a_reason(coded):
    client, tx, _ = coded
    body = step(client, "dispute", line=str(tx.line.uid)).content.decode()
    assert 'id="confirm-not-mine"' in body
    assert 'name="reason"' in body
    assert "I never registered this number" in body
    assert Dispute.objects.count() == 0  # asking changes nothing


def test_a_confirmed_report_is_recorded_once_and_says_what_happens_next(coded):
    client, tx, _ = coded
    report = {"line": str(tx.line.uid), "reason": "someone_else", "reason_text": "Never seen it"}
    first = step(client, "report", **report)
    second = step(client, "report", **report)
    assert first.status_code == second.status_code == 200
    dispute = Dispute.objects.get()
    assert (dispute.reason, dispute.reason_text) == ("someone_else", "Never seen it")
    assert dispute.review_by is not None
    body = first.content.decode()
    assert 'id="next-steps"' in body
    assert "Alpha Telecom reviews your report by" in body
    assert dispute.review_by.strftime("%Y") in body


@pytest.mark.parametrize(
    "fields",
    [
        {"reason": ""},
        {"reason": "bribed"},
        {"reason": "other", "reason_text": "x" * 201},
        {"reason": "other", "reason_text": "bad\x07text"},
    ],
    ids=["no reason", "unknown reason", "oversized", "control character"],
)
def test_a_report_with_bad_input_is_refused_beside_the_field_and_stores_nothing(coded, fields):
    client, tx, _ = coded
    response = step(client, "report", line=str(tx.line.uid), **fields)
    assert response.status_code == 400
    form = response.context["dispute_form"]
    assert set(form.errors) & {"reason", "reason_text"}
    assert Dispute.objects.count() == 0


def test_the_service_refuses_control_characters_and_oversized_text_too(coded):
    _, tx, _ = coded
    challenge = MyLinesChallenge.objects.get()
    for text in ("a\x00b", "a\x07b", "y" * 201):
        with pytest.raises(my_lines.InvalidInput):
            my_lines.dispute_report(
                challenge=challenge, line_uid=str(tx.line.uid), reason="other", reason_text=text
            )
    assert Dispute.objects.count() == 0


def test_a_nul_in_a_report_or_a_correction_is_refused_and_stores_nothing(coded):
    client, tx, _ = coded
    report = step(client, "report", line=str(tx.line.uid), reason="other", reason_text="a\x00")
    correction = step(client, "correction", name="Bad\x00Name")
    assert report.status_code == correction.status_code == 400
    assert Dispute.objects.count() == CorrectionRequest.objects.count() == 0


def test_another_persons_line_cannot_be_reported(coded, open_mobile):
    client, _, _ = coded
    other, _ = open_mobile()
    for name in ("dispute", "report"):
        response = step(client, name, line=str(other.line.uid), reason="never_registered")
        assert response.status_code == 404
    assert Dispute.objects.count() == 0


@pytest.mark.parametrize("name", ["dispute", "report", "correct", "correction"])
def test_a_stranger_without_the_code_cannot_report_or_correct(client, open_mobile, outbox, name):
    tx, holder = open_mobile()
    fields = {"line": str(tx.line.uid), "reason": "never_registered", "name": "Changed Name"}
    assert step(Client(), name, **fields).status_code == 403  # no look-up at all
    start(client, holder)  # a look-up started, the code not entered
    assert step(client, name, **fields).status_code == 403
    assert Dispute.objects.count() == 0
    assert CorrectionRequest.objects.count() == 0


# --- Self-service correction --------------------------------------------------------------


def test_the_correction_form_shows_the_current_details_masked(coded):
    client, _, holder = coded
    body = step(client, "correct").content.decode()
    assert 'id="send-correction"' in body
    assert holder.name not in body
    assert holder.id_number not in body


def test_a_correction_goes_to_the_compliance_queue_once_and_says_what_happens_next(
    coded, alpha, make_staff, web_client_for
):
    client, tx, _ = coded
    fields = {"address": "Room 5, 1 Harbour Road, Test City"}
    first = step(client, "correction", **fields)
    second = step(client, "correction", **fields)
    assert first.status_code == second.status_code == 200
    correction = CorrectionRequest.objects.get()
    assert correction.person == tx.line.holder
    assert correction.status == CorrectionStatus.PENDING
    assert correction.requested_by is None  # the subscriber, not a clerk
    assert list(correction.proposed) == ["address"]
    body = first.content.decode()
    assert 'id="corrected"' in body
    assert "Alpha Telecom checks your request against your document by" in body
    officer = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    queue = officer.get(reverse("console:identity_correctionrequest_changelist"))
    assert queue.status_code == 200
    assert correction in list(queue.context["cl"].result_list)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"address": "a" * 301},
        {"address": "Room\x1b5"},
        {"date_of_birth": "2024-02-30"},
        {"sex": "X"},
    ],
    ids=["empty", "oversized", "control character", "not a date", "unknown sex"],
)
def test_a_bad_correction_is_refused_and_stores_nothing(coded, fields):
    client, _, _ = coded
    response = step(client, "correction", **fields)
    assert response.status_code == 400
    assert response.context["correction_form"].errors
    assert CorrectionRequest.objects.count() == 0


def test_a_correction_breaking_the_identity_rules_is_refused_on_its_field(coded):
    client, _, holder = coded
    # A resident ID holds the birth date: another one does not agree with it.
    other_year = str(holder.date_of_birth.year - 3)
    response = step(
        client, "correction", date_of_birth=f"{other_year}{holder.date_of_birth:-%m-%d}"
    )
    assert response.status_code == 400
    assert CorrectionRequest.objects.count() == 0


# --- The operator's brand -------------------------------------------------------------------


def test_the_pages_carry_the_operators_name_in_the_pages_language(coded, alpha):
    client, _, _ = coded
    Operator.objects.filter(pk=alpha.pk).update(
        display_name_zh="阿尔法通信", display_name_en="Alpha Mobile"
    )
    en = step(client, "", "en").content.decode()
    zh = step(client, "", "zh-hans").content.decode()
    assert '<span class="brand" id="brand">Alpha Mobile</span>' in en
    assert '<span class="brand" id="brand">阿尔法通信</span>' in zh
    assert "telereg" not in re.search(r"<header.*</header>", en, re.S).group(0)


def test_an_operator_with_a_colour_gets_its_own_cacheable_style_sheet(client, alpha, coded):
    page_client, _, _ = coded
    body = step(page_client, "").content.decode()
    assert "/brand/alpha.css" not in body  # no colour: the default look
    alpha.brand_colour = "#C8102E"
    alpha.full_clean()
    alpha.save()
    body = step(page_client, "").content.decode()
    href = re.search(r'href="(/brand/alpha\.css\?v=\d+)"', body).group(1)
    response = client.get(href)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert "--accent: #c8102e;" in response.content.decode()
    assert "no-store" not in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert "style=" not in body


def test_a_light_brand_colour_keeps_text_readable(alpha):
    alpha.brand_colour = "#ffe600"
    sheet = selectors.brand_stylesheet(alpha)
    assert "--on-accent: #1d2329;" in sheet
    assert "--accent-text: #1d2329;" in sheet


def test_an_unknown_operators_style_sheet_is_404(client, alpha):
    assert client.get("/brand/nobody.css").status_code == 404


@pytest.mark.parametrize(
    "colour", ["red;}body{", "#12345", "#1234567", "#ggg000", "#fff\n", "red", "#abc;x"]
)
def test_a_brand_colour_that_is_not_rrggbb_is_refused(alpha, colour):
    alpha.brand_colour = colour
    with pytest.raises(ValidationError) as refused:
        alpha.full_clean()
    assert "brand_colour" in refused.value.message_dict


def test_the_database_refuses_a_colour_written_around_the_validation(alpha):
    with pytest.raises(IntegrityError), transaction.atomic():
        Operator.objects.filter(pk=alpha.pk).update(brand_colour="red;}x")


def test_the_style_sheet_never_writes_an_unchecked_value(alpha):
    alpha.brand_colour = "red;}body{display:none}"  # as if it got past everything
    sheet = selectors.brand_stylesheet(alpha)
    assert "red" not in sheet
    assert "}" not in sheet.replace("*/", "")


def test_an_operator_admin_sets_the_brand_in_the_console_and_injection_is_refused(
    alpha, make_staff, web_client_for
):
    admin = web_client_for(make_staff(alpha, Role.OPERATOR_ADMIN))
    url = reverse("console:operators_operator_change", args=[alpha.pk])
    form = admin.get(url).context["adminform"].form
    data = {n: form[n].value() if form[n].value() is not None else "" for n in form.fields}
    data["reverification_reminder_days"] = "[14, 7, 2]"
    data.update(brand_colour="red;}body{", display_name_en="Alpha Mobile")
    refused = admin.post(url, data)
    assert refused.status_code == 200
    assert "brand_colour" in refused.context["adminform"].form.errors
    alpha.refresh_from_db()
    assert alpha.brand_colour == ""
    data["brand_colour"] = "#0a7d4f"
    assert admin.post(url, data).status_code == 302
    alpha.refresh_from_db()
    assert (alpha.brand_colour, alpha.display_name_en) == ("#0a7d4f", "Alpha Mobile")


def test_the_answer_page_carries_the_brand_and_the_masked_number(
    alpha, make_staff, open_mobile, outbox, settings
):
    alpha.display_name_en = "Alpha Mobile"
    alpha.brand_colour = "#0a7d4f"
    alpha.save()
    link, line = answer_link(alpha, make_staff, open_mobile, outbox)
    body = Client().get(f"{link}?lang=en").content.decode()
    assert '<span class="brand" id="brand">Alpha Mobile</span>' in body
    assert "/brand/alpha.css?v=" in body
    assert line.number not in body
    assert f"{line.number[3:6]} **** {line.number[-4:]}" in body


def test_a_link_naming_the_operator_brands_the_first_page_and_anything_else_is_ignored(
    client, alpha
):
    Operator.objects.filter(pk=alpha.pk).update(display_name_en="Alpha Mobile")
    named = client.get(f"{PAGE}?lang=en&operator=alpha").content.decode()
    assert '<span class="brand" id="brand">Alpha Mobile</span>' in named
    assert '<option value="alpha" selected>' in named
    for hostile in ("nobody", "x" * 500, "<script>"):
        response = client.get(PAGE, {"lang": "en", "operator": hostile})
        assert response.status_code == 200
        assert "Alpha Mobile" not in response.content.decode().split("<main>")[0]
        assert "<script>" not in response.content.decode().split("</head>")[1]


def test_half_an_hour_after_the_code_nothing_more_is_filed_without_a_new_one(coded):
    client, tx, _ = coded
    MyLinesChallenge.objects.update(
        verified_at=timezone.now() - my_lines.VERIFIED_TTL - dt.timedelta(seconds=1)
    )
    report = step(client, "report", line=str(tx.line.uid), reason="never_registered")
    correction = step(client, "correction", address="Room 5, 1 Harbour Road, Test City")
    assert report.status_code == correction.status_code == 403
    assert 'id="my-lines"' not in step(client, "").content.decode()
    assert Dispute.objects.count() == CorrectionRequest.objects.count() == 0
