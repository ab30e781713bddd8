"""``/metrics`` in the Prometheus text format, for the inside only.

Who may read it: a client whose address is in ``TELEREG_METRICS_ALLOW``
(addresses or CIDR networks; default loopback), or one sending
``Authorization: Bearer <TELEREG_METRICS_TOKEN>`` (compared in constant time).
Anyone else gets the site's 404, as if there were nothing here. With
``TELEREG_NUM_PROXIES`` at 0 a request that came through a proxy (it carries
``X-Forwarded-For``) is never let in by its address: the proxy's own address
(often loopback) is not the client's. The token still works.

What it says:

* per view (django-prometheus' middleware; URL names, never paths): requests,
  latencies, responses by status and exceptions, all named ``telereg_django_…``;
* the domain's own, read from the database at scrape time by
  :class:`DomainCollector` with a few grouped counts (kept 15 seconds in the
  shared cache, so many web pods scraped at once query once), all ``telereg_…``:
  transactions by kind and state, verifications waiting for the authority,
  dispatch batches by state and the oldest queued one's age, notices sent and
  failed per channel, the authority's and the portrait matcher's circuit
  breakers, open portrait reviews, the last successful
  ``verify_access_log`` run's age and the last run's problems, look-up bursts
  (look-up alerts), the workers' heartbeat age and the messages waiting in
  each broker queue.

No metric carries personal data: labels are kinds, states, channels and URL
names. Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (an
empty directory per start) so that the per-view counters add up across them."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from config.network import client_ip
from identity import authority, portraits
from identity.models import AccessLogVerification, LookupAlert
from operators.models import WorkerHeartbeat
from registration.models import PortraitReview, ReviewState, Transaction, TransactionState
from reverification.models import BatchState, Delivery, DeliveryState, DispatchBatch

logger = logging.getLogger(__name__)

CACHE_KEY = "metrics:domain"
CACHE_SECONDS = 15
BREAKER_STATES = ("closed", "half_open", "open")


# --- Who may read -------------------------------------------------------------


def _networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in settings.TELEREG_METRICS_ALLOW:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            logger.warning("TELEREG_METRICS_ALLOW: an entry is not an address or network")
    return networks


def _token_ok(request: HttpRequest) -> bool:
    expected = settings.TELEREG_METRICS_TOKEN
    if not expected:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def _address_ok(request: HttpRequest) -> bool:
    if settings.TELEREG_NUM_PROXIES <= 0 and request.META.get("HTTP_X_FORWARDED_FOR"):
        return False  # came through a proxy we were not told about
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address in network for network in _networks())


def may_read(request: HttpRequest) -> bool:
    # Both are always evaluated: the answer's timing does not tell which failed.
    by_token = _token_ok(request)
    by_address = _address_ok(request)
    return by_token or by_address


# --- The domain's own metrics ----------------------------------------------------

Sample = tuple[str, str, str, dict[str, str], float]  # kind, name, help, labels, value


def _transactions() -> Iterator[Sample]:
    rows = Transaction.objects.values("kind", "state").annotate(n=Count("id")).order_by()
    for row in rows:
        yield (
            "gauge",
            "telereg_transactions",
            "Transactions by kind and state (outcome).",
            {"kind": row["kind"], "state": row["state"]},
            row["n"],
        )
    pending = Transaction.objects.filter(state=TransactionState.PENDING_VERIFICATION).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    yield (
        "gauge",
        "telereg_verifications_pending",
        "Transactions waiting for the authority's answer.",
        {},
        pending["n"],
    )
    age = (timezone.now() - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0
    yield (
        "gauge",
        "telereg_verifications_pending_oldest_seconds",
        "Age of the oldest transaction waiting for the authority (0: none waits).",
        {},
        age,
    )


def _batches() -> Iterator[Sample]:
    counts = dict(DispatchBatch.objects.values_list("state").annotate(n=Count("id")).order_by())
    for state in BatchState.values:
        yield (
            "gauge",
            "telereg_dispatch_batches",
            "Campaign dispatch batches by state (queued, claimed: being sent).",
            {"state": state},
            counts.get(state, 0),
        )
    oldest = DispatchBatch.objects.filter(state=BatchState.QUEUED).aggregate(t=Min("created_at"))
    age = (timezone.now() - oldest["t"]).total_seconds() if oldest["t"] else 0.0
    yield (
        "gauge",
        "telereg_dispatch_oldest_queued_batch_seconds",
        "Age of the oldest queued dispatch batch (0: none queued).",
        {},
        age,
    )


def _notices() -> Iterator[Sample]:
    rows = (
        Delivery.objects.filter(state__in=[DeliveryState.SENT, DeliveryState.FAILED])
        .values("channel", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        name = (
            "telereg_notices_sent"
            if row["state"] == DeliveryState.SENT
            else "telereg_notices_failed"
        )
        what = "sent" if row["state"] == DeliveryState.SENT else "that failed"
        yield (
            "counter",
            name,
            f"Notices {what}, per channel.",
            {"channel": row["channel"]},
            row["n"],
        )


def _access_log() -> Iterator[Sample]:
    last_ok = (
        AccessLogVerification.objects.filter(problems=0, checkpoints_broken=False)
        .order_by("-ran_at")
        .values_list("ran_at", flat=True)
        .first()
    )
    age = (timezone.now() - last_ok).total_seconds() if last_ok else float("inf")
    yield (
        "gauge",
        "telereg_access_log_verified_age_seconds",
        "Seconds since the last verify_access_log run that found nothing wrong (+Inf: never).",
        {},
        age,
    )
    last = AccessLogVerification.objects.order_by("-ran_at", "-id").first()
    yield (
        "gauge",
        "telereg_access_log_last_verification_problems",
        "Problems the last verify_access_log run found (broken chains, checkpoints).",
        {},
        last.problems if last else 0,
    )


def _lookup_bursts() -> Iterator[Sample]:
    counts = LookupAlert.objects.aggregate(
        total=Count("id"), open=Count("id", filter=Q(acknowledged_at__isnull=True))
    )
    yield (
        "counter",
        "telereg_lookup_bursts",
        "Look-up alerts raised (a staff member past the hourly look-up limit).",
        {},
        counts["total"],
    )
    yield (
        "gauge",
        "telereg_lookup_bursts_unacknowledged",
        "Look-up alerts no compliance officer has acknowledged yet.",
        {},
        counts["open"],
    )


def _workers() -> Iterator[Sample]:
    beat = WorkerHeartbeat.objects.filter(name="worker").values_list("seen_at", flat=True).first()
    age = (timezone.now() - beat).total_seconds() if beat else float("inf")
    yield (
        "gauge",
        "telereg_worker_heartbeat_age_seconds",
        "Seconds since a worker last ran beat's heartbeat task (+Inf: never).",
        {},
        age,
    )


def _broker_queues() -> Iterator[Sample]:
    """Messages waiting in each queue of the broker (what KEDA's Redis scaler
    reads too): one connection, one passive declare per queue, a 1 s timeout."""
    from config.celery import app

    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)
        channel = conn.default_channel
        for queue in settings.CELERY_TASK_QUEUES:
            try:
                count = channel.queue_declare(queue=queue.name, passive=True).message_count
            except Exception:  # a queue nothing was ever sent to
                count = 0
            yield (
                "gauge",
                "telereg_broker_queue_messages",
                "Messages waiting in the broker, per queue.",
                {"queue": queue.name},
                count,
            )


def _portrait_reviews() -> Iterator[Sample]:
    """Portraits the counter's check sent to a second person, still open, and
    the age of the oldest (a queue nobody works on shows here first)."""
    counts = PortraitReview.objects.filter(state=ReviewState.OPEN).aggregate(
        open=Count("id"), oldest=Min("created_at")
    )
    yield (
        "gauge",
        "telereg_portrait_reviews_pending",
        "Portrait reviews waiting for a reviewer's decision.",
        {},
        counts["open"],
    )
    oldest = counts["oldest"]
    yield (
        "gauge",
        "telereg_portrait_review_oldest_age_seconds",
        "Seconds the oldest open portrait review has waited (0: none open).",
        {},
        (timezone.now() - oldest).total_seconds() if oldest else 0.0,
    )


#: Every source of domain samples; add one here (a function yielding samples).
DOMAIN_SOURCES: list[Callable[[], Iterator[Sample]]] = [
    _transactions,
    _batches,
    _notices,
    _access_log,
    _lookup_bursts,
    _workers,
    _broker_queues,
    _portrait_reviews,
]


def domain_samples() -> list[Sample]:
    """The database's samples, shared 15 s through the cache; a source whose
    query fails is left out (and logged) rather than failing the scrape."""
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return cached
    samples: list[Sample] = []
    for source in DOMAIN_SOURCES:
        try:
            samples.extend(source())
        except Exception as exc:
            logger.warning("metrics source %s failed: %s", source.__name__, type(exc).__name__)
    cache.set(CACHE_KEY, samples, CACHE_SECONDS)
    return samples


def _breaker() -> list[Sample]:
    # Read live (they live in the cache already), not kept with the rest.
    return [
        *_breaker_samples("authority", "The authority's", authority.breaker_state),
        *_breaker_samples(
            "portrait_matcher", "The portrait matcher's", portraits.matcher_breaker_state
        ),
    ]


def _breaker_samples(name: str, whose: str, read: Callable) -> list[Sample]:
    try:
        state = read()
    except Exception as exc:
        logger.warning("metrics: %s breaker state unreadable: %s", name, type(exc).__name__)
        return []
    current = state.value if state is not None else "closed"
    samples: list[Sample] = [
        (
            "gauge",
            f"telereg_{name}_breaker_state",
            f"{whose} circuit breaker: 1 for its current state.",
            {"state": state_name},
            1.0 if state_name == current else 0.0,
        )
        for state_name in BREAKER_STATES
    ]
    samples.append(
        (
            "gauge",
            f"telereg_{name}_breaker_open",
            f"1 while {whose[0].lower() + whose[1:]} circuit breaker is open (calls skipped).",
            {},
            1.0 if current == "open" else 0.0,
        )
    )
    return samples


class DomainCollector:
    """A prometheus_client collector: builds the families at each scrape."""

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for kind, name, help_text, labels, value in [*domain_samples(), *_breaker()]:
            family = families.get(name)
            if family is None:
                cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
                family = cls(name, help_text, labels=sorted(labels))
                families[name] = family
            family.add_metric([labels[k] for k in sorted(labels)], float(value))
        yield from families.values()

    def describe(self) -> list[Metric]:
        return []


DOMAIN_REGISTRY = CollectorRegistry(auto_describe=False)
DOMAIN_REGISTRY.register(DomainCollector())


def _process_registry() -> CollectorRegistry:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_read(request):
        raise Http404
    body = generate_latest(_process_registry()) + generate_latest(DOMAIN_REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
