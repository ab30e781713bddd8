"""The console finds persons by document and lines by number through a POST
form (counted, logged), never through a URL; personal-shaped query values are
stripped from every console URL; look-up alerts are acknowledged there."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.urls import reverse

from identity import lookups
from identity.models import AccessLogEntry, LookupAlert
from operators import selectors as operator_selectors
from operators import services as operator_services
from operators.roles import Role
from tests.factories import UserFactory, ensure_undertaking

pytestmark = pytest.mark.django_db

FIND = "console:identity_person_find"


def hrefs(body: str) -> list[str]:
    return [unquote(h) for h in re.findall(r'(?:href|action|src)="([^"]*)"', body)]


def assert_nowhere(response, *secrets: str) -> None:
    """Neither the redirect target nor any link of the page carries a secret."""
    targets = [unquote(response.get("Location", ""))] + hrefs(response.content.decode())
    for secret in secrets:
        assert not any(secret in target for target in targets), secret


def test_find_by_document_redirects_to_the_persons_page_by_id_and_logs(
    register, make_identity, alpha_compliance, web_client_for
):
    identity = make_identity()
    person = register(identity)
    client = web_client_for(alpha_compliance)
    response = client.post(
        reverse(FIND),
        {
            "id_type": identity.id_type,
            "id_number": identity.id_number,
            "purpose": "compliance_review",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:identity_person_change", args=[person.pk])
    entry = AccessLogEntry.objects.get(detail__surface="console.person.find")
    assert entry.person == person
    assert entry.purpose == "compliance_review"
    assert entry.actor == alpha_compliance.user
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert_nowhere(page, identity.id_number, identity.name)


def test_find_by_document_not_found_does_not_show_the_number_back(
    alpha_compliance, web_client_for, make_identity
):
    stranger = make_identity()
    response = web_client_for(alpha_compliance).post(
        reverse(FIND),
        {"id_type": stranger.id_type, "id_number": stranger.id_number, "purpose": "correction"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="not-found"' in body
    assert stranger.id_number not in body
    assert "no-store" in response["Cache-Control"]
    entry = AccessLogEntry.objects.get(detail__surface="console.person.find")
    assert entry.person is None
    assert entry.purpose == "correction"


def test_find_by_document_shows_a_form_on_get_and_looks_nothing_up(
    alpha_compliance, web_client_for
):
    response = web_client_for(alpha_compliance).get(reverse(FIND))
    assert response.status_code == 200
    assert 'method="post"' in response.content.decode()
    assert not AccessLogEntry.objects.exists()


def test_find_by_document_in_another_operator_finds_nobody(
    register, make_identity, beta, make_staff, web_client_for
):
    identity = make_identity()
    register(identity)
    outsider = make_staff(beta, Role.COMPLIANCE_OFFICER)
    response = web_client_for(outsider).post(
        reverse(FIND),
        {
            "id_type": identity.id_type,
            "id_number": identity.id_number,
            "purpose": "compliance_review",
        },
    )
    assert response.status_code == 200
    assert 'id="not-found"' in response.content.decode()


def test_find_by_document_counts_against_the_hourly_limit(
    settings, register, make_identity, alpha_compliance, web_client_for
):
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 1
    identity = make_identity()
    register(identity)
    client = web_client_for(alpha_compliance)
    body = {
        "id_type": identity.id_type,
        "id_number": identity.id_number,
        "purpose": "compliance_review",
    }
    assert client.post(reverse(FIND), body).status_code == 302
    refused = client.post(reverse(FIND), body)
    assert refused.status_code == 429
    assert "Location" not in refused
    body = refused.content.decode()
    assert "Too many look-ups" in body
    assert identity.id_number not in body
    assert LookupAlert.objects.get().staff == alpha_compliance.user


def test_a_platform_admin_without_a_profile_names_the_operator(
    alpha, register, make_identity, web_client_for
):
    identity = make_identity()
    person = register(identity)
    root = UserFactory(is_superuser=True, is_staff=True)
    ensure_undertaking()
    operator_services.undertaking_accept(
        user=root, undertaking=operator_selectors.undertaking_current()
    )
    client = web_client_for(root)
    response = client.post(
        reverse(FIND),
        {
            "operator": alpha.pk,
            "id_type": identity.id_type,
            "id_number": identity.id_number,
            "purpose": "compliance_review",
        },
    )
    assert response["Location"] == reverse("console:identity_person_change", args=[person.pk])


# --- No personal data in a console URL -----------------------------------------------------


@pytest.mark.parametrize(
    "term",
    ["+8613800138000", "13800138000", "138 0013 8000", "010-6234-5678", "someone@example.com"],
)
def test_console_queries_shaped_like_personal_data_are_stripped(
    term, alpha_compliance, web_client_for
):
    client = web_client_for(alpha_compliance)
    url = reverse("console:identity_accesslogentry_changelist")
    response = client.get(url, {"q": term, "purpose__exact": "compliance_review"})
    assert response.status_code == 302
    assert response["Location"] == f"{url}?purpose__exact=compliance_review"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "not accepted in a web address" in page.content.decode()


def test_changelist_filters_carried_into_a_change_page_are_stripped_too(
    register, make_identity, alpha_compliance, web_client_for
):
    identity = make_identity()
    person = register(identity)
    client = web_client_for(alpha_compliance)
    url = reverse("console:identity_person_change", args=[person.pk])
    response = client.get(
        url, {"_changelist_filters": f"q={identity.id_number}&id_type__exact={identity.id_type}"}
    )
    assert response.status_code == 302
    assert identity.id_number not in unquote(response["Location"])
    assert f"id_type__exact%3D{identity.id_type}" in response["Location"]
    assert_nowhere(client.get(response["Location"]), identity.id_number)


def test_a_name_in_the_person_search_is_removed_from_the_url(
    register, make_identity, alpha_compliance, web_client_for
):
    identity = make_identity()
    register(identity)
    client = web_client_for(alpha_compliance)
    url = reverse("console:identity_person_changelist")
    response = client.get(url, {"q": identity.name})
    assert response.status_code == 302
    assert response["Location"] == url
    page = client.get(url)
    assert_nowhere(page, identity.name, identity.id_number)
    assert reverse(FIND) in hrefs(page.content.decode())


def test_ordinary_console_searches_still_work(alpha_compliance, web_client_for):
    client = web_client_for(alpha_compliance)
    url = reverse("console:identity_accesslogentry_changelist")
    response = client.get(url, {"q": alpha_compliance.user.username})
    assert response.status_code == 200


# --- Look-up alerts in the console ---------------------------------------------------------


def _burst(staff, settings):
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 1
    lookups.lookup_allow(actor=staff.user, operator=staff.operator)
    with pytest.raises(lookups.LookupLimitReached):
        lookups.lookup_allow(actor=staff.user, operator=staff.operator)
    return LookupAlert.objects.get(staff=staff.user)


def test_compliance_sees_and_acknowledges_its_operators_alerts(
    settings, alpha, beta, alpha_clerk, alpha_compliance, make_staff, web_client_for
):
    alert = _burst(alpha_clerk, settings)
    beta_alert = _burst(make_staff(beta, Role.CLERK), settings)
    client = web_client_for(alpha_compliance)
    url = reverse("console:identity_lookupalert_changelist")
    listed = client.get(url).context["cl"].result_list
    assert list(listed) == [alert]
    response = client.post(
        url, {"action": "acknowledge", "_selected_action": [alert.pk, beta_alert.pk]}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    beta_alert.refresh_from_db()
    assert alert.acknowledged_by == alpha_compliance.user
    assert alert.acknowledged_at is not None
    assert beta_alert.acknowledged_by is None  # another operator's: out of reach
    assert (
        client.get(reverse("console:identity_lookupalert_change", args=[beta_alert.pk])).status_code
        == 404
    )


def test_alerts_are_read_only_and_hidden_from_clerks(
    settings, alpha_clerk, alpha, make_staff, web_client_for
):
    alert = _burst(alpha_clerk, settings)
    admin_user = make_staff(alpha, Role.OPERATOR_ADMIN)
    client = web_client_for(admin_user)
    url = reverse("console:identity_lookupalert_change", args=[alert.pk])
    assert client.get(url).status_code in (403, 404)
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    client = web_client_for(officer)
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_a_signed_out_visitor_is_not_sent_to_sign_in_with_the_number_in_next(client):
    document = "110105199003071247"
    response = client.get(reverse("console:identity_person_changelist"), {"q": document})
    assert response.status_code == 302
    while response.status_code == 302:
        assert document not in unquote(unquote(response["Location"]))
        response = client.get(response["Location"])


def test_staff_who_did_not_accept_the_undertaking_get_no_number_in_next(
    alpha, make_staff, web_client_for
):
    document = "110105199003071247"
    client = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER, accepted=False))
    response = client.get(reverse("console:identity_person_changelist"), {"q": document})
    hops = 0
    while response.status_code == 302 and hops < 5:
        assert document not in unquote(unquote(response["Location"]))
        response = client.get(response["Location"])
        hops += 1
    assert hops >= 1
