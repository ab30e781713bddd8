"""The portrait review queue and settings in the console (issue 14): the
queue lists the operator's open reviews; a review's page shows the two
images only after an audited reveal, decides with a reason, never lets the
staff member who took it decide, hides other operators' reviews; the home
counts open reviews and shows per store and per clerk how many went to
review and were refused; the operator's portrait settings are editable.
Both languages."""

from __future__ import annotations

import base64
import uuid

import pytest
from django.urls import reverse

from identity import portraits, services
from identity.models import AccessLogEntry
from identity.services import CitizenRow
from identity.synthetic_portraits import flip_bits, pattern_image
from operators.roles import Role
from registration.models import PortraitReview, Transaction, TransactionState
from tests.conftest import privileged_login
from tests.registration.conftest import api_block
from tests.test_translations import compiled_catalogue, untranslated, visible  # noqa: F401

pytestmark = pytest.mark.django_db

BITS = 0x0F0F_F0F0_3333_CCCC


@pytest.fixture
def review(alpha_clerk, api_client_for, consent, make_identity, inventory):
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
    image = pattern_image(flip_bits(BITS, 10), fmt="JPEG")
    body = {
        "kind": "mobile_open",
        "applicant": api_block(identity),
        "consent": {"notice": consent.notice_hash, "given": True},
        "portrait": {"image": base64.b64encode(image).decode(), "liveness": "passed"},
    }
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert response.status_code == 202
    return PortraitReview.objects.get()


def page(review):
    return reverse("console:registration_portraitreview_change", args=[review.pk])


def test_the_officer_reveals_both_images_and_approves(client, alpha_compliance, review):
    privileged_login(client, alpha_compliance.user)
    listing = client.get(reverse("console:registration_portraitreview_changelist"))
    assert review.transaction.reference in listing.content.decode()
    shown = client.get(page(review)).content.decode()
    assert "Score between the thresholds" in shown  # the cause, as people read it
    assert 'id="live-image"' not in shown
    assert "data:image" not in shown
    assert AccessLogEntry.objects.filter(purpose="portrait_review").count() == 0
    revealed = client.post(page(review), {"action": "reveal", "reason": "portrait review"})
    html = revealed.content.decode()
    assert "no-store" in revealed["Cache-Control"]
    assert 'id="live-image"' in html
    assert 'id="reference-image"' in html
    assert AccessLogEntry.objects.filter(purpose="portrait_review").count() == 1
    decided = client.post(page(review), {"decision": "approve", "reason": "the same person"})
    assert decided.status_code == 302
    tx = Transaction.objects.get()
    assert tx.state == TransactionState.COMPLETED
    assert tx.line.status == "active"


def test_a_decision_without_a_reason_is_refused_beside_the_field(client, alpha_compliance, review):
    privileged_login(client, alpha_compliance.user)
    response = client.post(page(review), {"decision": "refuse", "reason": ""})
    assert response.status_code == 400
    assert PortraitReview.objects.get().state == "open"


def test_another_operators_officer_sees_nothing(client, beta, make_staff, review):
    privileged_login(client, make_staff(beta, Role.COMPLIANCE_OFFICER).user)
    listing = client.get(reverse("console:registration_portraitreview_changelist"))
    assert review.transaction.reference not in listing.content.decode()
    assert client.get(page(review)).status_code == 404
    response = client.post(page(review), {"decision": "approve", "reason": "not mine at all"})
    assert response.status_code == 404
    assert PortraitReview.objects.get().state == "open"


def test_the_home_counts_open_reviews_and_per_store_and_clerk(
    client, alpha_compliance, alpha_clerk, review
):
    privileged_login(client, alpha_compliance.user)
    counts = client.get(reverse("console:home_counts")).json()
    assert counts["counts"]["portrait_reviews_open"] == 1
    rows = {row["id"]: row for row in counts["panels"]["portrait_checks"]}
    assert rows[f"clerk-{alpha_clerk.user.username}"]["reviews"] == 1
    assert rows[f"store-{alpha_clerk.store.code}"]["refused"] == 0
    html = client.get(reverse("console:index")).content.decode()
    assert 'id="portrait-panel"' in html
    assert f'data-row-id="clerk-{alpha_clerk.user.username}"' in html


def test_the_operators_portrait_settings_are_editable(client, alpha, make_staff):
    admin = make_staff(alpha, Role.OPERATOR_ADMIN)
    privileged_login(client, admin.user)
    url = reverse("console:operators_operator_change", args=[alpha.pk])
    form = client.get(url).content.decode()
    for name in (
        "portrait_policy",
        "portrait_pass",
        "portrait_refuse",
        "portrait_review_hours",
        "portrait_retention_days",
    ):
        assert f'name="{name}"' in form
    from tests.test_reading_formats import _operator_form

    saved = client.post(
        url, _operator_form(alpha, portrait_policy="required", portrait_pass="0.85")
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    alpha.refresh_from_db()
    assert alpha.portrait_policy == "required"
    assert alpha.portrait_pass == 0.85
    crossed = client.post(url, _operator_form(alpha, portrait_refuse="0.95"))
    assert crossed.status_code == 200
    assert "cannot be above the pass score" in crossed.content.decode()
    alpha.refresh_from_db()
    assert alpha.portrait_refuse == 0.70


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_review_pages_speak_the_staff_language(
    client,
    alpha,
    alpha_compliance,
    alpha_clerk,
    review,
    language,
    compiled_catalogue,  # noqa: F811
):
    type(alpha).objects.filter(pk=alpha.pk).update(default_language=language, name="华通电信")
    type(alpha_clerk.store).objects.filter(pk=alpha_clerk.store_id).update(name="朝阳营业厅")
    privileged_login(client, alpha_compliance.user)
    pages = {
        "list": client.get(reverse("console:registration_portraitreview_changelist")),
        "review": client.get(page(review)),
        "revealed": client.post(page(review), {"action": "reveal", "reason": "portrait review"}),
        "home": client.get(reverse("console:index")),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert visible(html, language).html_lang == language, name
        if language == "zh-hans":
            assert untranslated(html, compiled_catalogue) == [], name
    if language == "zh-hans":
        assert "现场人像" in pages["revealed"].content.decode()
        assert "人像复核" in pages["home"].content.decode()
