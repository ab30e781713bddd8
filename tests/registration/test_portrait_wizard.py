"""The store wizard's capture step (issue 14): for an operator that requires
portraits, the confirm step takes a live portrait (a file input that opens the
camera), the receipt tells a transaction waiting for review, and the pages
speak both languages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from identity import portraits, services
from identity.services import CitizenRow
from identity.synthetic_portraits import flip_bits, pattern_image
from registration.models import PortraitReview, Transaction, TransactionState
from tests import test_translations
from tests.registration import test_pages
from tests.registration.test_pages import block, url
from tests.test_translations import untranslated, visible

pytestmark = pytest.mark.django_db

counter = test_pages.counter
notices = test_pages.notices
stock = test_pages.stock
compiled_catalogue = test_translations.compiled_catalogue

BITS = 0x33CC_55AA_0FF0_9966


@pytest.fixture
def required(alpha):
    alpha.portrait_policy = "required"
    alpha.save()
    return alpha


@pytest.fixture
def pictured(make_identity):
    identity = make_identity()
    services.authority_registry_load(
        [
            CitizenRow(
                id_type=identity.id_type,
                id_number=identity.id_number,
                name=identity.name,
                date_of_birth=identity.date_of_birth,
                sex=identity.sex,
                revoked=False,
                portrait=portraits.image_clean(pattern_image(BITS)),
            )
        ]
    )
    return identity


def to_confirm(client, identity, kind="mobile_open"):
    assert client.post(url("identity", kind), block("applicant", identity)).status_code == 302
    notice = client.get(url("notice", kind)).context["notices"][0]
    response = client.post(
        url("notice", kind), {"notice": notice.content_hash, "consent": "on", "action": "consent"}
    )
    assert response.status_code == 302
    client.post(url("details", kind), {"number": ""})
    return client.get(url("confirm", kind))


def photo(flipped=0, name="face.jpg"):
    raw = pattern_image(flip_bits(BITS, flipped), fmt="JPEG")
    return SimpleUploadedFile(name, raw, content_type="image/jpeg")


def test_the_confirm_step_takes_a_portrait_and_opens_the_line(counter, required, pictured):
    page = to_confirm(counter, pictured).content.decode()
    assert 'type="file"' in page
    assert 'accept="image/*"' in page
    assert 'capture="user"' in page
    assert 'enctype="multipart/form-data"' in page
    response = counter.post(
        url("confirm", "mobile_open"), {"portrait_image": photo(), "portrait_liveness": "passed"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tx = Transaction.objects.get()
    assert tx.state == TransactionState.COMPLETED
    assert tx.portrait_outcome == "passed"


def test_without_a_portrait_the_step_says_so_beside_it(counter, required, pictured):
    to_confirm(counter, pictured)
    response = counter.post(url("confirm", "mobile_open"), {"portrait_liveness": "passed"})
    assert response.status_code == 400
    assert 'id="error-portrait"' in response.content.decode()
    assert not Transaction.objects.exists()


def test_a_file_that_is_not_an_image_is_refused_beside_the_field(counter, required, pictured):
    to_confirm(counter, pictured)
    fake = SimpleUploadedFile("face.jpg", b"MZ\x90\x00 not an image", content_type="image/jpeg")
    response = counter.post(
        url("confirm", "mobile_open"), {"portrait_image": fake, "portrait_liveness": "passed"}
    )
    assert response.status_code == 400
    assert 'id="error-portrait"' in response.content.decode()
    assert not Transaction.objects.exists()


def test_a_portrait_for_review_gives_a_receipt_that_says_it_waits(counter, required, pictured):
    to_confirm(counter, pictured)
    response = counter.post(
        url("confirm", "mobile_open"), {"portrait_image": photo(10), "portrait_liveness": "passed"}
    )
    assert response.status_code == 302
    tx = Transaction.objects.get()
    assert tx.state == TransactionState.PENDING_REVIEW
    assert PortraitReview.objects.filter(transaction=tx).exists()
    receipt = counter.get(reverse("registration:receipt", kwargs={"uid": tx.uid})).content.decode()
    assert 'id="review-note"' in receipt


def test_a_mismatch_can_be_retried_with_another_portrait(counter, required, pictured):
    to_confirm(counter, pictured)
    refused = counter.post(
        url("confirm", "mobile_open"), {"portrait_image": photo(30), "portrait_liveness": "passed"}
    )
    assert refused.status_code == 409
    again = counter.post(
        url("confirm", "mobile_open"), {"portrait_image": photo(0), "portrait_liveness": "passed"}
    )
    assert again.status_code == 302
    assert Transaction.objects.filter(state=TransactionState.COMPLETED).count() == 1


def test_an_operator_without_the_policy_shows_no_capture_step(counter, pictured):
    assert 'type="file"' not in to_confirm(counter, pictured).content.decode()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_capture_step_and_the_review_receipt_speak_the_page_language(
    counter, required, pictured, alpha, alpha_clerk, language, compiled_catalogue
):
    type(alpha).objects.filter(pk=alpha.pk).update(default_language=language, name="华通电信")
    # Names are data, not catalogue texts: Chinese ones, as a Chinese carrier's.
    type(alpha_clerk.store).objects.filter(pk=alpha_clerk.store_id).update(name="朝阳营业厅")
    pages = {"confirm": to_confirm(counter, pictured).content.decode()}
    counter.post(
        url("confirm", "mobile_open"), {"portrait_image": photo(10), "portrait_liveness": "passed"}
    )
    tx = Transaction.objects.get()
    pages["receipt"] = counter.get(
        reverse("registration:receipt", kwargs={"uid": tx.uid})
    ).content.decode()
    for name, html in pages.items():
        assert visible(html, language).html_lang == language, name
        if language == "zh-hans":
            assert untranslated(html, compiled_catalogue) == [], name
    if language == "zh-hans":
        assert "现场人像" in pages["confirm"]
        assert "等待人像复核" in pages["receipt"]
    else:
        assert "Live portrait" in pages["confirm"]
        assert "Waiting for a portrait review" in pages["receipt"]
