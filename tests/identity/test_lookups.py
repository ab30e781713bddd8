"""A mask cannot be undone by asking often: every look-up by document (or of a
line by number) is counted per staff member, logged with its purpose, and a
burst past the hourly limit is refused and raises an alert."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from identity import lookups
from identity.models import AccessLogEntry, LookupAlert, LookupBucket
from operators.roles import Role
from tests.registration.conftest import api_block
from tests.registration.test_concurrency import race

pytestmark = pytest.mark.django_db

LOOKUP = "/api/v1/persons/lookup/"
CHECK = "/api/v1/identity/check/"


def guesses(identity, count: int) -> list[str]:
    """Other documents of the same shape, as someone guessing hidden digits
    would try them (valid or not: each is a look-up)."""
    return [identity.id_number[:6] + f"{n:08d}" + identity.id_number[14:] for n in range(count)]


def lookup_entries():
    return AccessLogEntry.objects.filter(detail__lookup__isnull=False)


def test_default_limit_is_thirty_lookups_an_hour(settings):
    assert settings.TELEREG_LOOKUP_LIMIT_PER_HOUR == 30


def test_guessing_a_masked_document_is_refused_after_the_hourly_limit(
    alpha_clerk, api_client_for, register, citizen
):
    holder = citizen()
    register(holder)
    api = api_client_for(alpha_clerk)
    codes = [
        api.post(LOOKUP, {"id_type": holder.id_type, "id_number": guess}, format="json")
        for guess in guesses(holder, 30)
    ]
    assert {r.status_code for r in codes} == {404}
    refused = api.post(
        LOOKUP, {"id_type": holder.id_type, "id_number": holder.id_number}, format="json"
    )
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"]["code"] == "lookup_limit"
    assert set(body["error"]) == {"code", "message", "fields"}
    assert holder.id_number not in refused.content.decode()
    assert "person" not in body  # the right guess, past the limit, learns nothing


def test_every_lookup_is_logged_with_its_purpose_found_or_not(
    alpha_clerk, api_client_for, register, make_identity
):
    known = make_identity()
    register(known)
    api = api_client_for(alpha_clerk)
    api.post(
        LOOKUP,
        {"id_type": known.id_type, "id_number": known.id_number, "purpose": "compliance_review"},
        format="json",
    )
    stranger = make_identity()
    api.post(LOOKUP, {"id_type": stranger.id_type, "id_number": stranger.id_number}, format="json")
    found, missing = lookup_entries().order_by("id")
    assert found.purpose == "compliance_review"
    assert found.person is not None
    assert found.actor == alpha_clerk.user
    assert found.store == alpha_clerk.store
    assert missing.purpose == "customer_request"
    assert missing.person is None
    assert missing.detail == {
        "lookup": "document",
        "surface": "api.persons.lookup",
        "found": False,
        "id_type": stranger.id_type,
    }
    for entry in (found, missing):  # what was typed is never kept
        assert stranger.id_number not in str(entry.detail) + entry.reason


def test_an_unknown_purpose_is_400_and_counts_nothing(alpha_clerk, api_client_for, make_identity):
    someone = make_identity()
    response = api_client_for(alpha_clerk).post(
        LOOKUP,
        {"id_type": someone.id_type, "id_number": someone.id_number, "purpose": "curiosity"},
        format="json",
    )
    assert response.status_code == 400
    assert "purpose" in response.json()["error"]["fields"]
    assert not lookup_entries().exists()
    assert not LookupBucket.objects.exists()


def test_an_unknown_document_type_counts_nothing(alpha_clerk, api_client_for):
    response = api_client_for(alpha_clerk).post(
        LOOKUP, {"id_type": "library_card", "id_number": "1"}, format="json"
    )
    assert response.status_code == 400
    assert not LookupBucket.objects.exists()


def test_identity_checks_and_lookups_share_one_limit(
    settings, alpha_clerk, api_client_for, citizen, make_identity, web_client_for
):
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 3
    api = api_client_for(alpha_clerk)
    someone = citizen()
    assert api.post(CHECK, api_block(someone), format="json").status_code == 200
    other = make_identity()
    lookup = {"id_type": other.id_type, "id_number": other.id_number}
    assert api.post(LOOKUP, lookup, format="json").status_code == 404
    store = web_client_for(alpha_clerk)
    assert store.post(reverse("registration:lines"), {"number": "13800138000"}).status_code == 200
    # The fourth, on any surface, is refused.
    refused = api.post(CHECK, api_block(someone), format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "lookup_limit"
    page = store.post(reverse("registration:lines"), {"number": "13800138000"})
    assert page.status_code == 429
    assert "not-found" not in page.content.decode()


def test_an_invalid_identity_check_is_400_and_counts_nothing(
    alpha_clerk, api_client_for, make_identity
):
    block = api_block(make_identity())
    block["id_number"] = block["id_number"][:-1] + ("0" if block["id_number"][-1] != "0" else "1")
    response = api_client_for(alpha_clerk).post(CHECK, block, format="json")
    assert response.status_code == 400
    assert not LookupBucket.objects.exists()


def test_the_limit_is_per_staff_member(
    settings, alpha, alpha_clerk, make_staff, api_client_for, make_identity
):
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 1
    someone = make_identity()
    body = {"id_type": someone.id_type, "id_number": someone.id_number}
    assert api_client_for(alpha_clerk).post(LOOKUP, body, format="json").status_code == 404
    assert api_client_for(alpha_clerk).post(LOOKUP, body, format="json").status_code == 429
    colleague = make_staff(alpha, Role.CLERK)
    assert api_client_for(colleague).post(LOOKUP, body, format="json").status_code == 404


def test_the_limit_lives_in_the_database_not_in_a_process_cache(
    settings, alpha_clerk, api_client_for, make_identity
):
    from django.core.cache import cache

    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 2
    someone = make_identity()
    body = {"id_type": someone.id_type, "id_number": someone.id_number}
    api = api_client_for(alpha_clerk)
    for _ in range(2):
        api.post(LOOKUP, body, format="json")
        cache.clear()  # another gunicorn worker has a cache of its own
    assert api.post(LOOKUP, body, format="json").status_code == 429


def test_the_window_slides_after_an_hour(
    settings, monkeypatch, alpha_clerk, api_client_for, make_identity
):
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 2
    start = timezone.now()
    clock = {"now": start}
    monkeypatch.setattr(lookups.timezone, "now", lambda: clock["now"])
    someone = make_identity()
    body = {"id_type": someone.id_type, "id_number": someone.id_number}
    api = api_client_for(alpha_clerk)
    assert api.post(LOOKUP, body, format="json").status_code == 404
    clock["now"] = start + dt.timedelta(minutes=30)
    assert api.post(LOOKUP, body, format="json").status_code == 404
    clock["now"] = start + dt.timedelta(minutes=59)
    assert api.post(LOOKUP, body, format="json").status_code == 429
    clock["now"] = start + dt.timedelta(minutes=61)  # the first has left the window
    assert api.post(LOOKUP, body, format="json").status_code == 404
    assert api.post(LOOKUP, body, format="json").status_code == 429


def test_a_burst_raises_one_alert_counting_every_attempt(
    settings, alpha_clerk, api_client_for, make_identity
):
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 3
    someone = make_identity()
    body = {"id_type": someone.id_type, "id_number": someone.id_number}
    api = api_client_for(alpha_clerk)
    for _ in range(3):
        api.post(LOOKUP, body, format="json")
    assert not LookupAlert.objects.exists()  # at the limit, not past it
    for _ in range(4):
        assert api.post(LOOKUP, body, format="json").status_code == 429
    alert = LookupAlert.objects.get()
    assert alert.staff == alpha_clerk.user
    assert alert.operator == alpha_clerk.operator
    assert alert.count == 7
    assert alert.window_start < alert.window_end
    assert alert.acknowledged_by is None
    assert lookup_entries().count() == 3  # refused ones answered nothing, read nothing


def test_after_acknowledgement_the_next_burst_raises_a_new_alert(
    settings, alpha_clerk, alpha_compliance, api_client_for, make_identity
):
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 1
    someone = make_identity()
    body = {"id_type": someone.id_type, "id_number": someone.id_number}
    api = api_client_for(alpha_clerk)
    api.post(LOOKUP, body, format="json")
    api.post(LOOKUP, body, format="json")
    first = LookupAlert.objects.get()
    assert lookups.alert_acknowledge(alert=first, actor=alpha_compliance.user)
    assert not lookups.alert_acknowledge(alert=first, actor=alpha_clerk.user)
    first.refresh_from_db()
    assert first.acknowledged_by == alpha_compliance.user
    api.post(LOOKUP, body, format="json")
    assert LookupAlert.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_lookups_never_exceed_the_limit(
    settings, alpha_clerk, api_client_for, make_identity
):
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 4
    someone = make_identity()
    body = {"id_type": someone.id_type, "id_number": someone.id_number}
    token_client = api_client_for(alpha_clerk)
    auth = token_client._credentials["HTTP_AUTHORIZATION"]

    def one(_: int) -> int:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=auth)
        return client.post(LOOKUP, body, format="json").status_code

    results = race(one, count=10)
    assert sorted(results) == [404] * 4 + [429] * 6
    assert lookup_entries().count() == 4


def test_the_store_line_lookup_is_logged_with_the_holder_and_purpose(
    open_mobile, alpha_clerk, web_client_for
):
    tx, _ = open_mobile()
    page = web_client_for(alpha_clerk).post(
        reverse("registration:lines"), {"number": tx.line.number, "purpose": "registration"}
    )
    assert page.status_code == 200
    entry = lookup_entries().get(detail__surface="store.lines")
    assert entry.person == tx.line.holder
    assert entry.purpose == "registration"
    assert entry.actor == alpha_clerk.user


@pytest.mark.parametrize(
    "body",
    [
        {"id_type": "cn_resident_id", "id_number": "11010519900307\x001247"},
        {"id_type": "cn_resident_id", "id_number": {"nested": {"deeper": ["1"]}}},
        {"id_type": "cn_resident_id", "id_number": "1" * 41},
        {"id_type": "cn_resident_id", "id_number": "110105199003071247", "purpose": ["a"]},
    ],
)
def test_hostile_lookup_input_is_400_and_counts_nothing(alpha_clerk, api_client_for, body):
    response = api_client_for(alpha_clerk).post(LOOKUP, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not LookupBucket.objects.exists()
    assert not lookup_entries().exists()


def test_the_sweep_drops_only_limits_with_nothing_left_in_their_window(alpha_clerk, make_identity):
    lookups.lookup_allow(actor=alpha_clerk.user, operator=alpha_clerk.operator)
    LookupBucket.objects.create(key="doc:stale")
    LookupBucket.objects.filter(key="doc:stale").update(
        updated_at=timezone.now() - dt.timedelta(hours=2)
    )
    assert lookups.buckets_sweep() == 1
    assert list(LookupBucket.objects.values_list("key", flat=True)) == [
        f"staff:{alpha_clerk.user.pk}"
    ]
