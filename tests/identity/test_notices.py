"""Privacy notices: six parts before publishing; immutable once published."""

from __future__ import annotations

import pytest

from identity import services
from identity.errors import NoticeIncomplete, NoticePublished
from identity.models import NoticeLanguage
from tests.identity.conftest import NOTICE_PARTS_EN

pytestmark = pytest.mark.django_db


def test_notice_missing_a_part_cannot_be_published(alpha):
    parts = {**NOTICE_PARTS_EN, "retention": "  "}
    draft = services.notice_draft_create(operator=alpha, language=NoticeLanguage.EN, parts=parts)
    with pytest.raises(NoticeIncomplete) as info:
        services.notice_publish(notice=draft, actor=None)
    assert set(info.value.fields) == {"retention"}
    draft.refresh_from_db()
    assert draft.published_at is None
    assert draft.content_hash == ""


def test_published_notice_gets_a_content_hash_and_cannot_change(alpha):
    draft = services.notice_draft_create(
        operator=alpha, language=NoticeLanguage.EN, parts=NOTICE_PARTS_EN
    )
    notice = services.notice_publish(notice=draft, actor=None)
    assert len(notice.content_hash) == 64
    assert notice.content_hash == notice.compute_hash()
    with pytest.raises(NoticePublished):
        services.notice_save_draft(notice=notice, parts={"purpose": "Something else entirely"})


def test_versions_number_per_language_and_hashes_differ(alpha, publish_notice):
    first = publish_notice(alpha)
    second = publish_notice(alpha, purpose="Updated purpose for the second version.")
    chinese = publish_notice(alpha, language=NoticeLanguage.ZH)
    assert (first.version, second.version, chinese.version) == (1, 2, 1)
    assert len({first.content_hash, second.content_hash, chinese.content_hash}) == 3
    assert {n.pk for n in services.current_notices(alpha)} == {second.pk, chinese.pk}


def test_publishing_twice_is_idempotent(alpha):
    draft = services.notice_draft_create(
        operator=alpha, language=NoticeLanguage.EN, parts=NOTICE_PARTS_EN
    )
    first = services.notice_publish(notice=draft, actor=None)
    again = services.notice_publish(notice=draft, actor=None)
    assert (first.content_hash, first.published_at) == (again.content_hash, again.published_at)


def test_notice_page_shows_all_six_parts_publicly(alpha, publish_notice, client):
    from identity.models import NoticeLanguage as Lang

    publish_notice(alpha, language=Lang.EN)
    publish_notice(alpha, language=Lang.ZH)
    body = client.get("/privacy-notice/alpha/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in NOTICE_PARTS_EN.values():
        assert text in body
    assert 'id="notice-en"' in body


def test_notice_page_shows_the_notice_in_the_language_of_the_link_then_the_browser(
    alpha, publish_notice, client
):
    from identity.models import NoticeLanguage as Lang

    publish_notice(alpha, language=Lang.EN)
    publish_notice(alpha, language=Lang.ZH)
    body = client.get("/privacy-notice/alpha/?lang=zh-hans", HTTP_ACCEPT_LANGUAGE="en")
    body = body.content.decode()
    assert '<html lang="zh-hans">' in body
    assert 'id="notice-zh-hans"' in body
    assert 'id="notice-en"' not in body  # one language at a time
    body = client.get("/privacy-notice/alpha/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'id="notice-zh-hans"' in body
    assert 'id="notice-en"' not in body
    assert 'name="language" value="en"' in body  # the switch


def test_notice_page_is_in_the_operators_frame_not_the_products(
    alpha, publish_notice, client
):
    from identity.models import NoticeLanguage as Lang

    alpha.brand_colour = "#0a7d3b"
    alpha.save()
    publish_notice(alpha, language=Lang.EN)
    body = client.get("/privacy-notice/alpha/?lang=en").content.decode()
    assert 'class="subscriber"' in body  # the subscriber pages' frame
    assert f'id="brand">{alpha.display_name("en")}<' in body
    assert "/brand/alpha.css?v=" in body  # its colours


def test_notice_page_of_unknown_operator_is_404(client):
    assert client.get("/privacy-notice/nobody/").status_code == 404


def test_published_notice_refuses_a_save_through_the_orm(alpha_notice):
    alpha_notice.purpose = "Quietly changed after people consented."
    with pytest.raises(PermissionError):
        alpha_notice.save()


def test_compliance_records_a_consent_withdrawal_in_the_console(
    register, make_identity, alpha_compliance, web_client_for
):
    from django.urls import reverse

    from identity.models import Consent

    register(make_identity())
    consent = Consent.objects.get()
    client = web_client_for(alpha_compliance)
    client.post(
        reverse("console:identity_consent_changelist"),
        {"action": "record_withdrawal", "_selected_action": [consent.pk]},
    )
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert consent.withdrawn_by == alpha_compliance.user
