"""Stores suspended or blacklisted by a compliance officer (issue 16): with a
reason, who and when; the store's staff can no longer sign in or work on the
pages or through the API; blacklisting opens a re-verification campaign on
the lines the store opened in the last D days."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from operators import services
from operators.errors import StoreStatusInvalid, StoreStatusNotAllowed
from operators.models import Store, StoreStatus
from operators.roles import Role
from registration.models import Line
from reverification import campaigns
from reverification.models import Campaign, CampaignState, ReverificationRequest
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


def sign_in(username: str) -> tuple[int, str]:
    client = Client()
    response = client.post(reverse("operators:login"), {"username": username, "password": PASSWORD})
    return response.status_code, response.content.decode()


def test_a_suspended_stores_clerk_can_no_longer_sign_in_or_use_the_api(
    alpha_clerk, officer, api_client_for
):
    api = api_client_for(alpha_clerk)  # a token issued before the suspension
    assert api.get("/api/v1/me/").status_code == 200
    assert sign_in(alpha_clerk.user.username)[0] == 302
    store = services.store_status_set(
        store=alpha_clerk.store,
        status=StoreStatus.SUSPENDED,
        reason="Audit found unregistered SIMs",
        actor=officer.user,
    )
    assert (store.status, store.status_changed_by) == (StoreStatus.SUSPENDED, officer.user)
    assert store.status_reason == "Audit found unregistered SIMs"
    assert store.status_changed_at is not None
    # The old token is refused from the next request on.
    response = api.get("/api/v1/lines/?number=+8613800138000")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_staff"
    code, body = sign_in(alpha_clerk.user.username)
    assert code == 200
    assert "Your store is suspended" in body
    token = APIClient().post(
        "/api/v1/auth/token/",
        {"username": alpha_clerk.user.username, "password": PASSWORD},
        format="json",
    )
    assert token.status_code == 403
    assert token.json()["error"]["code"] == "store_suspended"


def test_a_suspended_stores_clerk_is_refused_on_the_store_pages(
    alpha_clerk, officer, web_client_for
):
    pages = web_client_for(alpha_clerk)  # signed in before the suspension
    assert pages.get("/").status_code == 200
    services.store_status_set(
        store=alpha_clerk.store,
        status=StoreStatus.BLACKLISTED,
        reason="Fraud ring",
        actor=officer.user,
    )
    response = pages.get("/")
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert reverse("operators:login") in response["Location"]


def test_reinstating_lets_the_staff_back_in(alpha_clerk, officer):
    for status in (StoreStatus.SUSPENDED, StoreStatus.ACTIVE):
        services.store_status_set(
            store=alpha_clerk.store, status=status, reason="Checked", actor=officer.user
        )
    assert sign_in(alpha_clerk.user.username)[0] == 302


def test_head_office_staff_are_not_affected(alpha_clerk, officer):
    services.store_status_set(
        store=alpha_clerk.store, status=StoreStatus.SUSPENDED, reason="Audit", actor=officer.user
    )
    assert services.staff_of(officer.user) is not None


@pytest.mark.parametrize("role", [Role.CLERK, Role.STORE_MANAGER, Role.OPERATOR_ADMIN])
def test_only_a_compliance_officer_sets_a_stores_status(alpha, alpha_clerk, make_staff, role):
    kwargs = {"store": alpha_clerk.store} if role in (Role.CLERK, Role.STORE_MANAGER) else {}
    someone = make_staff(alpha, role, **kwargs)
    with pytest.raises(StoreStatusNotAllowed):
        services.store_status_set(
            store=alpha_clerk.store, status=StoreStatus.SUSPENDED, reason="No", actor=someone.user
        )
    assert Store.objects.get(pk=alpha_clerk.store.pk).status == StoreStatus.ACTIVE


def test_another_operators_officer_cannot_touch_the_store(alpha_clerk, beta, make_staff):
    other = make_staff(beta, Role.COMPLIANCE_OFFICER)
    with pytest.raises(StoreStatusNotAllowed):
        services.store_status_set(
            store=alpha_clerk.store,
            status=StoreStatus.BLACKLISTED,
            reason="x" * 10,
            actor=other.user,
        )


@pytest.mark.parametrize("reason", ["", "ab", "x" * 301, "bad\x07reason", "nul\x00reason"])
def test_a_bad_reason_is_refused_and_changes_nothing(alpha_clerk, officer, reason):
    with pytest.raises(StoreStatusInvalid):
        services.store_status_set(
            store=alpha_clerk.store, status=StoreStatus.SUSPENDED, reason=reason, actor=officer.user
        )
    assert Store.objects.get(pk=alpha_clerk.store.pk).status == StoreStatus.ACTIVE


def test_blacklisting_opens_a_campaign_on_the_stores_recent_lines(
    settings, open_mobile, alpha_clerk, officer
):
    settings.TELEREG_BLACKLIST_LOOKBACK_DAYS = 30
    recent, _ = open_mobile()
    old, _ = open_mobile()
    Line.objects.filter(pk=old.line_id).update(
        registered_at=old.line.registered_at - dt.timedelta(days=40)
    )
    services.store_status_set(
        store=alpha_clerk.store,
        status=StoreStatus.BLACKLISTED,
        reason="Fraud ring",
        actor=officer.user,
    )
    campaign = Campaign.objects.get(criteria__stores=[alpha_clerk.store.code])
    assert campaign.criteria["registered_within_days"] == 30
    assert campaign.state == CampaignState.PLANNING
    assert set(campaigns.matching_lines(campaign).values_list("pk", flat=True)) == {recent.line_id}
    campaigns.campaign_plan(campaign=campaign)
    assert list(
        ReverificationRequest.objects.filter(campaign=campaign).values_list("line_id", flat=True)
    ) == [recent.line_id]
    # Blacklisting again opens no second campaign.
    services.store_status_set(
        store=alpha_clerk.store, status=StoreStatus.BLACKLISTED, reason="Still", actor=officer.user
    )
    assert Campaign.objects.filter(criteria__stores=[alpha_clerk.store.code]).count() == 1


def test_suspending_opens_no_campaign(open_mobile, alpha_clerk, officer):
    open_mobile()
    services.store_status_set(
        store=alpha_clerk.store, status=StoreStatus.SUSPENDED, reason="Audit", actor=officer.user
    )
    assert not Campaign.objects.filter(criteria__stores=[alpha_clerk.store.code]).exists()


def test_the_console_status_page_sets_it_with_a_reason_beside_the_field(
    alpha_clerk, officer, web_client_for
):
    client = web_client_for(officer)
    url = reverse("console:operators_store_status", args=[alpha_clerk.store.pk])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"status": "suspended", "reason": ""})
    assert bad.status_code == 400
    assert 'id="error-reason"' in bad.content.decode()
    done = client.post(url, {"status": "suspended", "reason": "Audit of the counter"})
    assert done.status_code == 302
    assert Store.objects.get(pk=alpha_clerk.store.pk).status == StoreStatus.SUSPENDED


def test_the_status_page_is_refused_to_an_operator_admin_and_404_for_another_operator(
    alpha_clerk, alpha, beta, make_staff, web_client_for
):
    url = reverse("console:operators_store_status", args=[alpha_clerk.store.pk])
    admin_client = web_client_for(make_staff(alpha, Role.OPERATOR_ADMIN))
    assert admin_client.post(url, {"status": "suspended", "reason": "Nope"}).status_code == 403
    admin_client.logout()
    other = web_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert other.post(url, {"status": "suspended", "reason": "Nope!"}).status_code == 404
    assert Store.objects.get(pk=alpha_clerk.store.pk).status == StoreStatus.ACTIVE
