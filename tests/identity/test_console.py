"""Identity in the console: masked by default, reveal logged, log for compliance."""

from __future__ import annotations

import pytest
from django.urls import reverse

from identity.models import AccessLogEntry, NoticeLanguage, PrivacyNotice
from operators.roles import Role
from tests.identity.conftest import NOTICE_PARTS_EN

pytestmark = pytest.mark.django_db


def test_person_list_and_page_show_masked_values_only(
    register, make_identity, alpha_compliance, web_client_for
):
    identity = make_identity()
    person = register(identity)
    client = web_client_for(alpha_compliance)
    for url in (
        reverse("console:identity_person_changelist"),
        reverse("console:identity_person_change", args=[person.pk]),
    ):
        body = client.get(url).content.decode()
        assert identity.name not in body
        assert identity.id_number not in body
        assert identity.id_number[:4] in body  # the masked form shows the first four
    assert not AccessLogEntry.objects.exists()


def test_person_search_takes_an_id_and_never_a_document(
    register, make_identity, alpha_compliance, web_client_for
):
    identity = make_identity()
    person = register(identity)
    register(make_identity())
    client = web_client_for(alpha_compliance)
    url = reverse("console:identity_person_changelist")
    found = client.get(url, {"q": str(person.uid)}).context["cl"].result_list
    assert list(found) == [person]
    by_document = client.get(url, {"q": identity.id_number})
    assert by_document.status_code == 302
    assert identity.id_number not in by_document["Location"]


def test_reveal_page_needs_a_reason_and_logs(
    register, make_identity, alpha_compliance, web_client_for
):
    identity = make_identity()
    person = register(identity)
    client = web_client_for(alpha_compliance)
    url = reverse("console:identity_person_reveal", args=[person.pk])
    page = client.post(url, {"purpose": "compliance_review", "reason": ""})
    assert identity.name not in page.content.decode()
    assert not AccessLogEntry.objects.exists()
    page = client.post(url, {"purpose": "compliance_review", "reason": "Dispute 2026-88"})
    assert identity.name in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert AccessLogEntry.objects.get(person=person).reason == "Dispute 2026-88"


def test_operator_admin_cannot_open_reveal_or_access_log(
    register, make_identity, alpha, make_staff, web_client_for
):
    person = register(make_identity())
    client = web_client_for(make_staff(alpha, Role.OPERATOR_ADMIN))
    assert (
        client.get(reverse("console:identity_person_reveal", args=[person.pk])).status_code == 403
    )
    assert client.get(reverse("console:identity_accesslogentry_changelist")).status_code == 403


def test_compliance_reads_the_access_log_without_personal_data(
    register, make_identity, alpha_compliance, web_client_for
):
    from identity import services

    identity = make_identity()
    person = register(identity)
    services.person_reveal(person=person, actor=alpha_compliance.user, reason="Audit sample 3")
    client = web_client_for(alpha_compliance)
    body = client.get(reverse("console:identity_accesslogentry_changelist")).content.decode()
    assert "Audit sample 3" in body
    assert identity.name not in body
    filtered = client.get(
        reverse("console:identity_accesslogentry_changelist"), {"q": str(person.uid)}
    )
    assert len(filtered.context["cl"].result_list) == 1


def test_other_operators_access_log_entry_is_404(
    register, make_identity, alpha_compliance, beta, make_staff, web_client_for
):
    from identity import services

    person = register(make_identity())
    services.person_reveal(person=person, actor=alpha_compliance.user, reason="Audit sample 4")
    entry = AccessLogEntry.objects.get()
    client = web_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    url = reverse("console:identity_accesslogentry_change", args=[entry.pk])
    assert client.get(url).status_code == 404


def test_compliance_publishes_a_notice_from_the_console(alpha, alpha_compliance, web_client_for):
    client = web_client_for(alpha_compliance)
    response = client.post(
        reverse("console:identity_privacynotice_add"),
        {"language": NoticeLanguage.EN, **NOTICE_PARTS_EN},
    )
    assert response.status_code == 302
    notice = PrivacyNotice.objects.get()
    assert notice.operator == alpha
    client.post(
        reverse("console:identity_privacynotice_changelist"),
        {"action": "publish", "_selected_action": [notice.pk]},
    )
    notice.refresh_from_db()
    assert notice.is_published
    change = client.get(reverse("console:identity_privacynotice_change", args=[notice.pk]))
    assert b'name="purpose"' not in change.content  # read-only once published
