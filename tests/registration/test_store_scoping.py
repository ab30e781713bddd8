"""Store managers see and act on their own store's transactions only, on the
store pages and the API; head-office staff see the operator's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from identity.authority import AuthorityResult, Outcome, utc_now
from operators.models import StaffMember
from operators.roles import Role
from operators.tenancy import scoped
from registration.models import TransactionEvent, TransactionState

pytestmark = pytest.mark.django_db


class _Down:
    name = "test-down"

    def verify(self, identity):
        return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-x", utc_now(), self.name)


@pytest.fixture
def waiting(submit, citizen, inventory, monkeypatch):
    """A transaction of alpha_clerk's store, waiting for the authority (so cancellable)."""
    from identity import authority

    monkeypatch.setattr(authority, "get_backend", lambda: _Down())
    tx = submit("mobile_open", applicant=citizen())
    assert tx.state == TransactionState.PENDING_VERIFICATION
    return tx


@pytest.fixture
def other_manager(alpha, make_staff):
    return make_staff(alpha, Role.STORE_MANAGER)  # a store of its own


@pytest.fixture
def own_manager(alpha, alpha_clerk, make_staff):
    return make_staff(alpha, Role.STORE_MANAGER, store=alpha_clerk.store)


def test_another_stores_manager_gets_404_and_cannot_cancel_on_the_api(
    waiting, other_manager, api_client_for
):
    api = api_client_for(other_manager)
    assert api.get(f"/api/v1/transactions/{waiting.uid}/").status_code == 404
    assert api.post(f"/api/v1/transactions/{waiting.uid}/cancel/").status_code == 404
    listed = api.get("/api/v1/transactions/").json()["results"]
    assert str(waiting.uid) not in {row["id"] for row in listed}
    waiting.refresh_from_db()
    assert waiting.state == TransactionState.PENDING_VERIFICATION


def test_another_stores_manager_gets_404_and_cannot_cancel_on_the_pages(
    waiting, other_manager, web_client_for
):
    client = web_client_for(other_manager)
    receipt = client.get(reverse("registration:receipt", kwargs={"uid": waiting.uid}))
    assert receipt.status_code == 404
    cancel = client.post(reverse("registration:cancel", kwargs={"uid": waiting.uid}))
    assert cancel.status_code == 404
    listing = client.get(reverse("registration:transactions")).content.decode()
    assert waiting.reference not in listing
    waiting.refresh_from_db()
    assert waiting.state == TransactionState.PENDING_VERIFICATION


def test_only_the_stores_own_manager_and_head_office_see_it_and_the_manager_cancels_it(
    waiting, own_manager, other_manager, alpha_compliance, api_client_for, web_client_for
):
    url = f"/api/v1/transactions/{waiting.uid}/"
    assert api_client_for(other_manager).get(url).status_code == 404
    assert api_client_for(alpha_compliance).get(url).status_code == 200
    console = web_client_for(alpha_compliance).get(
        reverse("console:registration_transaction_change", args=[waiting.pk])
    )
    assert console.status_code == 200
    api = api_client_for(own_manager)
    assert api.get(url).status_code == 200
    cancelled = api.post(f"{url}cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"


def test_a_store_manager_sees_only_own_stores_staff_and_transaction_events(
    waiting, alpha_clerk, other_manager, own_manager
):
    assert set(scoped(StaffMember.objects.all(), other_manager.user)) == {other_manager}
    assert set(scoped(StaffMember.objects.all(), own_manager.user)) == {alpha_clerk, own_manager}
    assert not scoped(TransactionEvent.objects.all(), other_manager.user).exists()
    assert scoped(TransactionEvent.objects.all(), own_manager.user).exists()
