"""Liveness and readiness for load balancers and orchestrators.

``/healthz``: the process answers. ``/readyz``: the database answers and every
migration of this release is applied (else 503 naming which); the broker is
reported too, but a broker that does not answer makes the process
``degraded``, not unready: sends are rows first and are published again by
beat's sweeps once it is back, so taking web pods out of service over a broker
blip would turn a delay into an outage.

Probes come from the orchestrator over plain HTTP to the pod's own address, so
:class:`ProbeMiddleware`, first of all middleware, answers these two exact
paths before the HTTPS redirect and the Host header validation (and before
anything else: no session, no cache, no language) ever see them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0


def check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


_migrated_lock = threading.Lock()
_migrated = False


def check_migrations() -> None:
    """Raise when a migration of this code is not applied to the database.

    Reading the migration files costs a little, so once every migration was
    seen applied this process stops asking: the files cannot change under a
    running process, and a migration applied stays applied."""
    global _migrated
    if _migrated:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise MigrationsPending()
    with _migrated_lock:
        _migrated = True


def forget_migrated() -> None:
    """Ask again at the next probe (tests)."""
    global _migrated
    with _migrated_lock:
        _migrated = False


class MigrationsPending(Exception):  # noqa: N818 - a reason, shown by its class name in the log
    """Some migration of this release is not applied yet."""


def check_broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


def _worker_last_seen() -> str | None:
    from operators.models import WorkerHeartbeat

    beat = WorkerHeartbeat.objects.filter(name="worker").first()
    return beat.seen_at.isoformat() if beat else None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        check_database()
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        logger.warning("readiness check database failed: %s", type(exc).__name__)
        checks["database"] = "unavailable"
    else:
        checks["database"] = "ok"
    if checks["database"] == "ok":
        try:
            check_migrations()
        except MigrationsPending:
            logger.warning("readiness check migrations: some are not applied")
            checks["migrations"] = "pending"
        except Exception as exc:
            logger.warning("readiness check migrations failed: %s", type(exc).__name__)
            checks["migrations"] = "unavailable"
        else:
            checks["migrations"] = "ok"
    else:
        checks["migrations"] = "unknown"
    try:
        check_broker()
    except Exception as exc:
        logger.warning("readiness check broker failed: %s", type(exc).__name__)
        checks["broker"] = "degraded"
    else:
        checks["broker"] = "ok"
    ready = checks["database"] == "ok" and checks["migrations"] == "ok"
    if not ready:
        status = "unavailable"
    elif checks["broker"] != "ok":
        status = "degraded"
    else:
        status = "ready"
    body: dict[str, object] = {
        "status": status,
        "checks": checks,
        "time": timezone.now().isoformat(),
    }
    if checks["database"] == "ok":
        try:
            body["worker_last_seen"] = _worker_last_seen()
        except Exception as exc:  # a table not migrated yet: the checks already say so
            logger.warning("readiness worker heartbeat unreadable: %s", type(exc).__name__)
            body["worker_last_seen"] = None
    return JsonResponse(body, status=200 if ready else 503)


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """First in MIDDLEWARE: ``/healthz`` and ``/readyz`` (those exact paths,
    no other) are answered here, over plain HTTP and whatever the Host header
    (a probe names the pod's address), before SecurityMiddleware's redirect to
    HTTPS and before anything calls ``request.get_host()``. Their answers carry
    no personal data and take no input but the method."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None:
            return self.get_response(request)
        return probe(request)
