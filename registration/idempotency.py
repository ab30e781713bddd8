"""Idempotency-Key for API POSTs (IETF draft semantics).

- missing where required: 400;
- same key, same body: the stored answer, nothing done again;
- same key, another body: 422;
- same key while the first request is still running: 409;
- never a stuck key: a first request that ends in a server error (or is
  interrupted) gives the key back, and a claim whose worker was killed
  mid-request expires after TELEREG_IDEMPOTENCY_LEASE_SECONDS, when one retry
  takes it over and runs. A 4xx answer is stored and replayed like any other.
The record is written before the work, in its own transaction, so a retry
that races the first request finds it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import error_body

from .models import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEEP_FOR = dt.timedelta(hours=48)


def _body_hash(request: Request) -> str:
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _lease(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=settings.TELEREG_IDEMPOTENCY_LEASE_SECONDS)


def _claim(request: Request, key: str, digest: str) -> IdempotencyRecord:
    """The record for this key, committed before the work (IntegrityError when
    the key is taken), with a lease on the work."""
    record = IdempotencyRecord(
        user=request.user,
        key=key,
        method_path=request.path[:200],
        request_hash=digest,
        lease_until=_lease(timezone.now()),
    )
    if connection.in_atomic_block:
        # Inside someone's transaction: a savepoint keeps it usable on a clash.
        with transaction.atomic():
            record.save(force_insert=True)
    else:
        # Autocommit: the INSERT commits (or fails) on its own.
        record.save(force_insert=True)
    return record


def _take_over(record: IdempotencyRecord) -> bool:
    """An abandoned claim (no answer stored, lease run out: its worker was
    killed mid-request) goes to this retry. A conditional UPDATE: of two
    concurrent retries, one wins and the other gets 409."""
    now = timezone.now()
    lease = dt.timedelta(seconds=settings.TELEREG_IDEMPOTENCY_LEASE_SECONDS)
    return bool(
        IdempotencyRecord.objects.filter(
            Q(lease_until__lt=now) | Q(lease_until__isnull=True, created_at__lt=now - lease),
            pk=record.pk,
            status_code__isnull=True,
        ).update(lease_until=_lease(now))
    )


def _release(record: IdempotencyRecord) -> None:
    """Free the key for a retry (the request failed without an answer to keep)."""
    try:
        IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()
    except Exception:  # the lease frees it anyway
        logger.warning("could not release an Idempotency-Key claim", exc_info=True)


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
                        gettext(
                            "Send an %(header)s header (a unique value per intended operation)."
                        )
                        % {"header": HEADER},
                        {HEADER: [gettext("This header is required.")]},
                    ),
                    status=status.HTTP_400_BAD_REQUEST,
                )
            if len(key) > 128:
                return Response(
                    error_body(
                        "invalid",
                        gettext("Some fields are not valid."),
                        {HEADER: [gettext("At most 128 characters.")]},
                    ),
                    status=status.HTTP_400_BAD_REQUEST,
                )
            digest = _body_hash(request)
            outcome = _claim_or_answer(request, key, digest)
            if isinstance(outcome, Response):
                return outcome
            record = outcome
            try:
                response = method(view, request, *args, **kwargs)
            except Exception as exc:
                # Store what the exception handler makes of it (4xx answers are
                # part of the contract); a server error frees the key for a retry.
                try:
                    response = view.handle_exception(exc)
                except BaseException:
                    _release(record)
                    raise
            except BaseException:
                # SystemExit from a gunicorn worker's timeout, KeyboardInterrupt:
                # no answer to keep, and the key must not stay "in progress".
                _release(record)
                raise
            if response.status_code >= 500:
                _release(record)
                return response
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=response.status_code, response_body=response.data, lease_until=None
            )
            return response

        return wrapper

    return decorator


def _claim_or_answer(request: Request, key: str, digest: str) -> IdempotencyRecord | Response:
    """This request's claim on the key, or the answer for a key already taken:
    422 (another body), 409 (the first request still running), or the stored
    response replayed."""
    for _ in range(3):
        try:
            return _claim(request, key, digest)
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
        if existing is None:
            continue  # the first request failed and gave the key back meanwhile
        if existing.request_hash != digest:
            return Response(
                error_body(
                    "idempotency_key_reused",
                    gettext("This Idempotency-Key was used with another request body."),
                ),
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        if existing.status_code is None:
            if _take_over(existing):
                return existing
            break
        replay = Response(existing.response_body, status=existing.status_code)
        replay["Idempotent-Replayed"] = "true"
        return replay
    return Response(
        error_body(
            "request_in_progress",
            gettext("The first request with this Idempotency-Key is still running."),
        ),
        status=status.HTTP_409_CONFLICT,
    )


def purge_expired(*, now: dt.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
