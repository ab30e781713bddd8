"""/metrics: only from TELEREG_METRICS_ALLOW or with the bearer token (404 to
anyone else), per-view request metrics, and the domain's own metrics read from
the database at scrape time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from identity import authority
from identity.models import AccessLogVerification, LookupAlert
from operators.roles import Role
from registration.models import Transaction, TransactionState
from reverification import campaigns, dispatch
from reverification.models import BatchState, Delivery, DeliveryState, DispatchBatch

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-" + "t" * 40  # noqa: S105 - a test value


def scrape(client, **extra):
    return client.get("/metrics", **extra)


def samples(response) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels) -> float:
    return found[(name, tuple(sorted(labels.items())))]


# --- Who may read ---------------------------------------------------------------


def test_loopback_reads_it_by_default(client):
    response = scrape(client)  # the test client's address is 127.0.0.1
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "telereg_transactions" in response.content.decode() or (
        "telereg_verifications_pending" in response.content.decode()
    )


def test_another_address_gets_404_like_a_page_that_does_not_exist(client):
    response = scrape(client, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 404
    assert b"telereg_" not in response.content


def test_a_network_in_the_allow_list_reads_it(client, settings):
    settings.TELEREG_METRICS_ALLOW = ["10.0.0.0/8"]
    assert scrape(client, REMOTE_ADDR="10.20.30.40").status_code == 200
    assert scrape(client, REMOTE_ADDR="127.0.0.1").status_code == 404
    assert scrape(client, REMOTE_ADDR="11.0.0.1").status_code == 404


def test_the_bearer_token_opens_it_from_anywhere(client, settings):
    settings.TELEREG_METRICS_TOKEN = TOKEN
    ok = scrape(client, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert ok.status_code == 200
    assert b"telereg_authority_breaker_open" in ok.content


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Token {TOKEN}",
        f"Basic {TOKEN}",
        "Bearer ",
        "Bearer",
        TOKEN,
    ],
)
def test_a_wrong_token_gets_404(client, settings, header):
    settings.TELEREG_METRICS_TOKEN = TOKEN
    assert scrape(client, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=header).status_code == 404


def test_no_token_is_accepted_when_none_is_configured(client, settings):
    settings.TELEREG_METRICS_TOKEN = ""
    response = scrape(client, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 404


def test_a_request_through_an_undeclared_proxy_is_not_let_in_by_its_loopback_address(
    client, settings
):
    # A reverse proxy on the same host forwards outside clients from 127.0.0.1.
    settings.TELEREG_NUM_PROXIES = 0
    response = scrape(client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 404


def test_behind_declared_proxies_the_client_address_counts(client, settings):
    settings.TELEREG_NUM_PROXIES = 1
    settings.TELEREG_METRICS_ALLOW = ["10.0.0.0/8"]
    inside = scrape(client, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.1.1.1")
    outside = scrape(client, REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert inside.status_code == 200
    assert outside.status_code == 404


def test_only_get_is_answered(client):
    assert scrape(client).status_code == 200
    assert client.post("/metrics").status_code == 405


# --- What it says -------------------------------------------------------------


def test_requests_latencies_and_statuses_are_counted_per_view_by_url_name(client):
    def count(found):
        return found.get(
            (
                "telereg_django_http_requests_latency_seconds_by_view_method_count",
                (("method", "GET"), ("view", "operators:login")),
            ),
            0.0,
        )

    before = count(samples(scrape(client)))
    assert client.get("/sign-in/").status_code == 200
    assert client.get("/sign-in/").status_code == 200
    after = samples(scrape(client))
    assert count(after) == before + 2
    assert any(
        name == "telereg_django_http_responses_total_by_status_view_method_total"
        and dict(labels).get("view") == "operators:login"
        for name, labels in after
    )
    # URL names only: no path (so no number, no token) in a label.
    assert not any(v.startswith("/") for _name, labels in after for _k, v in labels)
    assert not any(k == "path" for _name, labels in after for k, _v in labels)


@pytest.fixture
def domain_rows(alpha, make_staff, open_mobile, settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    for _ in range(3):
        open_mobile()
    pending_tx, _identity = open_mobile()
    Transaction.objects.filter(pk=pending_tx.pk).update(
        state=TransactionState.PENDING_VERIFICATION,
        created_at=timezone.now() - dt.timedelta(minutes=10),
    )
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Metrics",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    first, *rest = dispatch.batches_create(campaign=campaign, size=1)
    dispatch.batch_send(batch_id=first)
    DispatchBatch.objects.filter(pk=rest[0]).update(state=BatchState.CLAIMED)
    DispatchBatch.objects.filter(pk__in=rest[1:]).update(
        created_at=timezone.now() - dt.timedelta(hours=2)
    )
    Delivery.objects.create(
        request=None,
        operator=alpha,
        kind="notice",
        channel="sms",
        state=DeliveryState.FAILED,
        created_at=timezone.now(),
    )
    LookupAlert.objects.create(
        operator=alpha,
        staff=officer.user,
        count=31,
        window_start=timezone.now() - dt.timedelta(hours=1),
        window_end=timezone.now(),
    )
    AccessLogVerification.objects.create(ran_at=timezone.now() - dt.timedelta(hours=3))
    AccessLogVerification.objects.create(ran_at=timezone.now() - dt.timedelta(hours=1), problems=2)
    return {"batches": 1 + len(rest)}


def test_the_domain_metrics_reflect_the_rows_in_the_database(client, domain_rows):
    found = samples(scrape(client))
    assert value(found, "telereg_transactions", kind="mobile_open", state="completed") == 3
    assert (
        value(found, "telereg_transactions", kind="mobile_open", state="pending_verification") == 1
    )
    assert value(found, "telereg_verifications_pending") == 1
    assert value(found, "telereg_verifications_pending_oldest_seconds") >= 600
    batches = domain_rows["batches"]
    assert value(found, "telereg_dispatch_batches", state="done") == 1
    assert value(found, "telereg_dispatch_batches", state="claimed") == 1
    assert value(found, "telereg_dispatch_batches", state="queued") == batches - 2
    assert value(found, "telereg_dispatch_batches", state="failed") == 0
    assert value(found, "telereg_dispatch_oldest_queued_batch_seconds") >= 7200
    assert value(found, "telereg_notices_sent_total", channel="file") == 1
    assert value(found, "telereg_notices_failed_total", channel="sms") == 1
    assert value(found, "telereg_lookup_bursts_total") == 1
    assert value(found, "telereg_lookup_bursts_unacknowledged") == 1
    # The last run found problems; the last good one was three hours ago.
    assert value(found, "telereg_access_log_last_verification_problems") == 2
    assert 3 * 3600 <= value(found, "telereg_access_log_verified_age_seconds") < 4 * 3600
    assert value(found, "telereg_authority_breaker_open") == 0
    assert value(found, "telereg_authority_breaker_state", state="closed") == 1


def test_with_nothing_stored_the_ages_say_never(client):
    found = samples(scrape(client))
    assert value(found, "telereg_access_log_verified_age_seconds") == float("inf")
    assert value(found, "telereg_worker_heartbeat_age_seconds") == float("inf")
    assert value(found, "telereg_verifications_pending") == 0


def test_the_database_is_read_at_scrape_time_kept_for_seconds_in_the_shared_cache(
    client, alpha, open_mobile
):
    before = samples(scrape(client))
    assert ("telereg_transactions", (("kind", "mobile_open"), ("state", "completed"))) not in before
    open_mobile()
    cache.delete("metrics:domain")  # what the 15 seconds do
    after = samples(scrape(client))
    assert value(after, "telereg_transactions", kind="mobile_open", state="completed") == 1


def test_an_open_authority_breaker_shows_as_open(client, settings):
    settings.TELEREG_AUTHORITY_BACKEND = "http"
    settings.TELEREG_AUTHORITY_URL = "http://127.0.0.1:1/verify"
    settings.TELEREG_AUTHORITY_BREAKER_THRESHOLD = 1
    authority.reset_backend_cache()
    try:
        backend = authority.get_backend()
        backend.breaker.record_failure()  # as a failed check does, in any process
        found = samples(scrape(client))
    finally:
        authority.reset_backend_cache()
    assert value(found, "telereg_authority_breaker_open") == 1
    assert value(found, "telereg_authority_breaker_state", state="open") == 1
    assert value(found, "telereg_authority_breaker_state", state="closed") == 0


def test_an_open_matcher_breaker_shows_as_open_for_every_process(client, settings):
    from identity import portraits

    settings.TELEREG_PORTRAIT_MATCHER = "http"
    settings.TELEREG_PORTRAIT_MATCHER_URL = "http://127.0.0.1:1/compare"
    settings.TELEREG_PORTRAIT_MATCHER_BREAKER_THRESHOLD = 1
    try:
        portraits.get_matcher().breaker.record_failure()  # one process sees the outage
        # Another process's matcher: its own objects, the same cache.
        other = portraits.build_matcher(settings)
        assert other.breaker.state.value == "open"
        found = samples(scrape(client))
    finally:
        settings.TELEREG_PORTRAIT_MATCHER = "simulated"
        portraits.get_matcher()
    assert value(found, "telereg_portrait_matcher_breaker_open") == 1
    assert value(found, "telereg_portrait_matcher_breaker_state", state="open") == 1
    assert value(found, "telereg_authority_breaker_open") == 0


def test_open_portrait_reviews_are_counted(
    client, alpha_clerk, api_client_for, consent, inventory, make_identity
):
    import base64
    import datetime as dt
    import uuid

    from django.utils import timezone

    from identity import portraits
    from identity import services as identity_services
    from identity.synthetic_portraits import flip_bits, pattern_image
    from registration.models import PortraitReview
    from tests.registration.conftest import api_block

    found = samples(scrape(client))
    assert value(found, "telereg_portrait_reviews_pending") == 0
    assert value(found, "telereg_portrait_review_oldest_age_seconds") == 0

    bits = 0xA5C3_0F96_3C5A_F00F
    identity = make_identity()
    identity_services.authority_registry_load(
        [
            identity_services.CitizenRow(
                id_type=identity.id_type,
                id_number=identity.id_number,
                name=identity.name,
                date_of_birth=identity.date_of_birth,
                sex=identity.sex,
                revoked=False,
                portrait=portraits.image_clean(pattern_image(bits)),
            )
        ]
    )
    image = base64.b64encode(pattern_image(flip_bits(bits, 10), fmt="JPEG")).decode()
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/",
        {
            "kind": "mobile_open",
            "applicant": api_block(identity),
            "consent": {"notice": consent.notice_hash, "given": True},
            "portrait": {"image": image, "liveness": "passed"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 202, response.json()  # a score between the thresholds
    PortraitReview.objects.update(created_at=timezone.now() - dt.timedelta(hours=2))
    cache.delete("metrics:domain")
    found = samples(scrape(client))
    assert value(found, "telereg_portrait_reviews_pending") == 1
    assert value(found, "telereg_portrait_review_oldest_age_seconds") >= 2 * 3600


def test_a_scrape_costs_a_fixed_few_queries_and_the_next_one_none(
    client, domain_rows, django_assert_max_num_queries, django_assert_num_queries
):
    # Grouped counts: the number of queries does not grow with the rows.
    with django_assert_max_num_queries(10):
        assert scrape(client).status_code == 200
    # Within the 15 seconds another scrape (another pod) reads the shared cache.
    with django_assert_num_queries(0):
        assert scrape(client).status_code == 200


def test_the_messages_waiting_in_each_broker_queue_are_counted(client):
    from config.celery import app

    def waiting(found, queue):
        return value(found, "telereg_broker_queue_messages", queue=queue)

    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue="campaigns", passive=False)
        conn.default_channel.queue_purge("campaigns")
    before = samples(scrape(client))
    assert waiting(before, "campaigns") == 0
    assert {"default", "interactive"} <= {
        dict(labels)["queue"] for name, labels in before if name == "telereg_broker_queue_messages"
    }
    app.send_task("telereg.tests.nothing", queue="campaigns", routing_key="campaigns")
    app.send_task("telereg.tests.nothing", queue="campaigns", routing_key="campaigns")
    cache.delete("metrics:domain")
    try:
        assert waiting(samples(scrape(client)), "campaigns") == 2
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("campaigns")
