"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0


def check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


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
    for name, check in (("database", check_database), ("broker", check_broker)):
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = "unavailable"
        else:
            checks[name] = "ok"
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {
        "status": "ready" if ready else "unavailable",
        "checks": checks,
        "time": timezone.now().isoformat(),
    }
    if checks["database"] == "ok":
        body["worker_last_seen"] = _worker_last_seen()
    return JsonResponse(body, status=200 if ready else 503)
