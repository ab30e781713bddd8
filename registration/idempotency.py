"""Idempotency-Key for API POSTs (IETF draft semantics).

- missing where required: 400;
- same key, same body: the stored answer, nothing done again;
- same key, another body: 422;
- same key while the first request is still running: 409.
The record is written before the work, in its own transaction, so a retry
that races the first request finds it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from functools import wraps

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import error_body

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEEP_FOR = dt.timedelta(hours=48)


def _body_hash(request: Request) -> str:
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _claim(request: Request, key: str, digest: str) -> IdempotencyRecord:
    """The record for this key, committed before the work (IntegrityError when
    the key is taken)."""
    record = IdempotencyRecord(
        user=request.user, key=key, method_path=request.path[:200], request_hash=digest
    )
    if connection.in_atomic_block:
        # Inside someone's transaction: a savepoint keeps it usable on a clash.
        with transaction.atomic():
            record.save(force_insert=True)
    else:
        # Autocommit: the INSERT commits (or fails) on its own.
        record.save(force_insert=True)
    return record


def idempotent(*, required: bool = True) -> Callable:
    """Decorate an APIView method (post) so that retries are safe."""

    def decorator(method: Callable) -> Callable:
        @wraps(method)
        def wrapper(view, request: Request, *args, **kwargs) -> Response:
            key = request.headers.get(HEADER, "").strip()
            if not key:
                if not required:
                    return method(view, request, *args, **kwargs)
                return Response(
                    error_body(
                        "idempotency_key_required",
                        f"Send an {HEADER} header (a unique value per intended operation).",
                        {HEADER: ["This header is required."]},
                    ),
                    status=status.HTTP_400_BAD_REQUEST,
                )
            if len(key) > 128:
                return Response(
                    error_body(
                        "invalid",
                        "Some fields are not valid.",
                        {HEADER: ["At most 128 characters."]},
                    ),
                    status=status.HTTP_400_BAD_REQUEST,
                )
            digest = _body_hash(request)
            try:
                record = _claim(request, key, digest)
            except IntegrityError:
                existing = IdempotencyRecord.objects.get(user=request.user, key=key)
                if existing.request_hash != digest:
                    return Response(
                        error_body(
                            "idempotency_key_reused",
                            "This Idempotency-Key was used with another request body.",
                        ),
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                    )
                if existing.status_code is None:
                    return Response(
                        error_body(
                            "request_in_progress",
                            "The first request with this Idempotency-Key is still running.",
                        ),
                        status=status.HTTP_409_CONFLICT,
                    )
                replay = Response(existing.response_body, status=existing.status_code)
                replay["Idempotent-Replayed"] = "true"
                return replay
            try:
                response = method(view, request, *args, **kwargs)
            except Exception as exc:
                # Store what the exception handler makes of it (4xx answers are
                # part of the contract); a server error frees the key for a retry.
                try:
                    response = view.handle_exception(exc)
                except Exception:
                    record.delete()
                    raise
            if response.status_code >= 500:
                record.delete()
                return response
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=response.status_code, response_body=response.data
            )
            return response

        return wrapper

    return decorator


def purge_expired(*, now: dt.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
