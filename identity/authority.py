"""Identity verification against the issuing authority (no Django models here).

The registration flow asks one question of the authority: does this identity
document exist, is it still valid, and does it belong to the person in front of
us?  This module defines the answer (:class:`AuthorityResult`), the interface
every backend implements (:class:`AuthorityBackend`), the HTTP backend that
talks to a real authority endpoint (:class:`HttpAuthorityBackend`), and
:func:`get_backend`, which picks the configured backend.

Guarantees that callers rely on:

* ``verify()`` never raises for anything the network or the authority does: a
  timeout, refused connection, 5xx, 429, garbage body or open circuit breaker
  all become ``Outcome.UNAVAILABLE`` with a locally generated reference, so the
  caller can park the transaction in ``pending_verification`` and retry later.
* No personal data (name, ID number, birth date, sex) ever reaches a log
  record, an exception message or a ``repr``: only outcome, reference, HTTP
  status, attempt number and timing are logged.

Settings read by :func:`get_backend` (all optional except the URL for "http"):

``TELEREG_AUTHORITY_BACKEND``
    ``"simulated"`` (default), ``"http"``, or a dotted path to a backend class.
``TELEREG_AUTHORITY_URL``
    Endpoint that accepts the JSON POST (``http://`` or ``https://``).
``TELEREG_AUTHORITY_USERNAME`` / ``TELEREG_AUTHORITY_PASSWORD``
    Sent as HTTP Basic credentials (``Authorization: Basic ...``) on every
    request.  Use ``https://`` outside loopback: the body carries identity data.
``TELEREG_AUTHORITY_TIMEOUT``
    Seconds per attempt (connect and each read), default ``3.0``.
``TELEREG_AUTHORITY_RETRIES``
    Extra attempts after the first, default ``2`` (so at most 3 requests).
``TELEREG_AUTHORITY_BACKOFF``
    Base backoff in seconds, default ``0.2``; doubled per retry, with jitter.
``TELEREG_AUTHORITY_BREAKER_THRESHOLD``
    Consecutive failed ``verify()`` calls that open the breaker, default ``5``.
``TELEREG_AUTHORITY_BREAKER_RESET``
    Seconds the breaker stays open before one trial call, default ``30.0``.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import http.client
import ipaddress
import json
import logging
import random
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from identity.types import IdentityData

logger = logging.getLogger(__name__)

#: Where the simulated backend lives; imported lazily so this module (and the
#: HTTP backend) works before, and without, that module.
SIMULATED_BACKEND_PATH = "identity.authority_simulated.SimulatedBackend"

DEFAULT_TIMEOUT = 3.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 0.2
DEFAULT_MAX_BACKOFF = 5.0
DEFAULT_BREAKER_THRESHOLD = 5
DEFAULT_BREAKER_RESET = 30.0

# An authority answer is a few hundred bytes; refusing more keeps a broken or
# hostile endpoint from making us buffer megabytes per request.
MAX_RESPONSE_BYTES = 64 * 1024
# The reference is logged and stored; bound it so it cannot smuggle a payload.
MAX_REFERENCE_LENGTH = 128


class Outcome(enum.StrEnum):
    """What the authority said. Only ``UNAVAILABLE`` means "no answer"."""

    MATCH = "match"
    MISMATCH = "mismatch"
    NOT_FOUND = "not_found"
    REVOKED = "revoked"
    UNAVAILABLE = "unavailable"


# The answers an authority may give; UNAVAILABLE is ours, never theirs.
_AUTHORITY_OUTCOMES = frozenset(
    {Outcome.MATCH, Outcome.MISMATCH, Outcome.NOT_FOUND, Outcome.REVOKED}
)


@dataclass(frozen=True, slots=True)
class AuthorityResult:
    """One verification answer.

    ``reference`` is the authority's reference for a definitive answer, or a
    locally generated ``LOCAL-...`` one for ``UNAVAILABLE`` so that every
    attempt can still be traced.  ``checked_at`` is timezone-aware UTC.
    No field holds personal data, so the default ``repr`` is safe to log.
    """

    outcome: Outcome
    reference: str
    checked_at: dt.datetime
    backend: str

    @property
    def is_definitive(self) -> bool:
        """True when the authority actually answered (anything but UNAVAILABLE)."""
        return self.outcome is not Outcome.UNAVAILABLE

    @property
    def is_match(self) -> bool:
        """True only when the identity was confirmed."""
        return self.outcome is Outcome.MATCH


@runtime_checkable
class AuthorityBackend(Protocol):
    """What every verification backend provides.

    ``verify`` must not raise for authority or network trouble: it returns an
    ``UNAVAILABLE`` result instead, and it must not log personal data.
    """

    name: str

    def verify(self, identity: IdentityData) -> AuthorityResult:
        """Ask the authority about ``identity`` and return its answer."""
        ...


def utc_now() -> dt.datetime:
    """The current time as an aware UTC datetime."""
    return dt.datetime.now(tz=dt.UTC)


def local_reference() -> str:
    """A unique reference for answers we produced ourselves (no authority reply)."""
    return f"LOCAL-{uuid.uuid4().hex}"


def unavailable(backend: str) -> AuthorityResult:
    """An ``UNAVAILABLE`` result stamped now with a fresh local reference."""
    return AuthorityResult(Outcome.UNAVAILABLE, local_reference(), utc_now(), backend)


# --------------------------------------------------------------------------
# Circuit breaker
# --------------------------------------------------------------------------


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Thread-safe consecutive-failure circuit breaker.

    * closed: every call is allowed; ``failure_threshold`` consecutive
      failures open it.
    * open: no call is allowed until ``reset_seconds`` have passed on
      ``clock``; then it is half-open.
    * half-open: exactly one trial call is allowed; its success closes the
      breaker, its failure opens it again for another ``reset_seconds``.

    Every call for which :meth:`allow` returned True must be followed by
    exactly one :meth:`record_success` or :meth:`record_failure`.
    """

    def __init__(
        self,
        failure_threshold: int = DEFAULT_BREAKER_THRESHOLD,
        reset_seconds: float = DEFAULT_BREAKER_RESET,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_seconds < 0:
            raise ValueError("reset_seconds must not be negative")
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    def _refresh_locked(self) -> None:
        # The open -> half-open move is time-driven, so it is applied lazily
        # whenever somebody looks, rather than by a timer thread.
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_seconds
        ):
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The current state (open turns into half-open once the reset time passed)."""
        with self._lock:
            self._refresh_locked()
            return self._state

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._failures

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, True for one caller only."""
        with self._lock:
            self._refresh_locked()
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        """A call got a definitive answer: close the breaker and forget failures."""
        with self._lock:
            if self._state is not BreakerState.CLOSED:
                logger.info("authority circuit breaker closed")
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """A call got no definitive answer: count it, and open when due."""
        with self._lock:
            self._failures += 1
            self._trial_in_flight = False
            if self._state is BreakerState.HALF_OPEN or (
                self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold
            ):
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                logger.warning(
                    "authority circuit breaker opened after %d consecutive failures; "
                    "next trial in %.1fs",
                    self._failures,
                    self.reset_seconds,
                )


class SharedCircuitBreaker:
    """The same breaker with its state in a cache shared by every process
    (Django's cache: Redis in production), so that one outage seen by one
    worker opens it for every web and worker process at once, and one trial
    call goes out from the whole deployment when it half-opens.

    Keys (under ``prefix``): ``failures`` (consecutive failed calls),
    ``opened`` (wall-clock time it opened; absent when closed) and ``trial``
    (held by the one process making the half-open trial; it expires on its own
    if that process dies). ``clock`` is wall-clock time, comparable between
    machines. When the cache itself fails, the process falls back on a local
    breaker of its own (``verify`` must never raise) and logs the cache's
    error class."""

    def __init__(
        self,
        cache: Any,
        failure_threshold: int = DEFAULT_BREAKER_THRESHOLD,
        reset_seconds: float = DEFAULT_BREAKER_RESET,
        clock: Callable[[], float] = time.time,
        *,
        prefix: str = "authority-breaker",
        trial_seconds: float = 60.0,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_seconds < 0:
            raise ValueError("reset_seconds must not be negative")
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._cache = cache
        self._clock = clock
        self._failures_key = f"{prefix}:failures"
        self._opened_key = f"{prefix}:opened"
        self._trial_key = f"{prefix}:trial"
        self._trial_seconds = max(1, int(reset_seconds + trial_seconds))
        self._local = CircuitBreaker(failure_threshold, reset_seconds, time.monotonic)

    def _cache_failed(self, exc: Exception) -> None:
        logger.warning(
            "authority breaker cache unavailable: %s; local breaker used", type(exc).__name__
        )

    def _state_from(self, opened: Any) -> BreakerState:
        if opened is None:
            return BreakerState.CLOSED
        if self._clock() - float(opened) < self.reset_seconds:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @property
    def state(self) -> BreakerState:
        try:
            return self._state_from(self._cache.get(self._opened_key))
        except Exception as exc:
            self._cache_failed(exc)
            return self._local.state

    @property
    def consecutive_failures(self) -> int:
        try:
            return int(self._cache.get(self._failures_key) or 0)
        except Exception as exc:
            self._cache_failed(exc)
            return self._local.consecutive_failures

    def allow(self) -> bool:
        try:
            state = self._state_from(self._cache.get(self._opened_key))
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN:
                # One process in the whole deployment wins the trial.
                return bool(self._cache.add(self._trial_key, 1, timeout=self._trial_seconds))
            return False
        except Exception as exc:
            self._cache_failed(exc)
            return self._local.allow()

    def record_success(self) -> None:
        try:
            if self._cache.get(self._opened_key) is not None:
                logger.info("authority circuit breaker closed")
            self._cache.delete_many([self._opened_key, self._failures_key, self._trial_key])
        except Exception as exc:
            self._cache_failed(exc)
        self._local.record_success()

    def record_failure(self) -> None:
        try:
            self._cache.add(self._failures_key, 0, timeout=None)
            failures = int(self._cache.incr(self._failures_key))
            state = self._state_from(self._cache.get(self._opened_key))
            if state is BreakerState.HALF_OPEN or (
                state is BreakerState.CLOSED and failures >= self.failure_threshold
            ):
                self._cache.set(self._opened_key, self._clock(), timeout=None)
                self._cache.delete(self._trial_key)
                logger.warning(
                    "authority circuit breaker opened after %d consecutive failures; "
                    "next trial in %.1fs",
                    failures,
                    self.reset_seconds,
                )
        except Exception as exc:
            self._cache_failed(exc)
            self._local.record_failure()


# --------------------------------------------------------------------------
# HTTP backend
# --------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would turn the POST into a GET (dropping the
    body) or resend identity data to a host we were never configured for."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class _AttemptFailed(Exception):  # noqa: N818 - internal control flow, not an error API
    """One attempt gave no usable answer.  Its message never holds personal data."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_retry_after(value: str | None) -> float | None:
    # Only the delta-seconds form; an HTTP date would need a wall clock we do
    # not want to trust here, and the exponential backoff is a fine fallback.
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class HttpAuthorityBackend:
    """Verify identities against an HTTP(S) JSON endpoint.

    Request: ``POST url`` with HTTP Basic credentials and the JSON body
    ``{"id_type", "id_number", "name", "date_of_birth" (ISO date), "sex"}``.
    Response: any 2xx with the JSON object ``{"result": "match" | "mismatch" |
    "not_found" | "revoked", "reference": "<non-empty string>"}``.

    Retried (up to ``retries`` extra attempts, exponential backoff with
    jitter, capped at ``max_backoff``; ``Retry-After`` seconds honoured on 429
    within the same cap): timeouts, connection errors, 5xx, 429, malformed
    JSON, unknown result, missing reference.  Not retried: other 4xx and 3xx,
    which mean the integration is misconfigured and are logged at ERROR.
    Whatever happens, :meth:`verify` returns a result and never raises.

    The circuit breaker counts whole ``verify`` calls: one that ends
    ``UNAVAILABLE`` is a failure, a definitive answer is a success.  While it
    is open, ``verify`` returns ``UNAVAILABLE`` without touching the network.
    """

    name = "http"

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        breaker: CircuitBreaker | SharedCircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        parts = urlsplit(url)
        # Checked here so urlopen can never be pointed at file:// or ftp://;
        # the message leaves out the URL because it may embed credentials.
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("authority URL must be an absolute http:// or https:// URL")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if retries < 0:
            raise ValueError("retries must not be negative")
        if backoff < 0 or max_backoff < 0:
            raise ValueError("backoff must not be negative")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            logger.warning(
                "authority URL uses plain http to a non-loopback host; identity data and "
                "credentials travel unencrypted"
            )
        self.url = url
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.breaker = breaker if breaker is not None else CircuitBreaker(clock=clock)
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._auth_header = f"Basic {token}"
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:
        # No URL (may embed credentials) and never the password.
        return f"<HttpAuthorityBackend timeout={self.timeout} retries={self.retries}>"

    @classmethod
    def from_settings(cls, settings: Any) -> HttpAuthorityBackend:
        """Build from a Django-settings-like object (attributes ``TELEREG_AUTHORITY_*``)."""
        url = getattr(settings, "TELEREG_AUTHORITY_URL", "") or ""
        if not url:
            raise _improperly_configured("TELEREG_AUTHORITY_URL is required for the http backend")
        clock = time.monotonic
        try:
            # Shared by every process through Django's cache (Redis in production).
            breaker = SharedCircuitBreaker(
                _shared_cache(),
                failure_threshold=int(
                    getattr(
                        settings, "TELEREG_AUTHORITY_BREAKER_THRESHOLD", DEFAULT_BREAKER_THRESHOLD
                    )
                ),
                reset_seconds=float(
                    getattr(settings, "TELEREG_AUTHORITY_BREAKER_RESET", DEFAULT_BREAKER_RESET)
                ),
            )
            return cls(
                url=url,
                username=getattr(settings, "TELEREG_AUTHORITY_USERNAME", "") or "",
                password=getattr(settings, "TELEREG_AUTHORITY_PASSWORD", "") or "",
                timeout=float(getattr(settings, "TELEREG_AUTHORITY_TIMEOUT", DEFAULT_TIMEOUT)),
                retries=int(getattr(settings, "TELEREG_AUTHORITY_RETRIES", DEFAULT_RETRIES)),
                backoff=float(getattr(settings, "TELEREG_AUTHORITY_BACKOFF", DEFAULT_BACKOFF)),
                breaker=breaker,
                clock=clock,
            )
        except ValueError as exc:
            raise _improperly_configured(f"TELEREG_AUTHORITY_*: {exc}") from None

    # -- public ------------------------------------------------------------

    def verify(self, identity: IdentityData) -> AuthorityResult:
        """Return the authority's answer, or ``UNAVAILABLE``; never raises."""
        if not self.breaker.allow():
            result = unavailable(self.name)
            logger.info(
                "authority check skipped: circuit breaker open outcome=%s reference=%s",
                result.outcome,
                result.reference,
            )
            return result
        definitive = False
        try:
            result = self._verify_with_retries(identity)
            definitive = result.is_definitive
            return result
        except Exception as exc:
            # A bug of ours must not become the caller's exception either.  Log
            # the type and code locations only: the message might quote data.
            frames = traceback.extract_tb(exc.__traceback__)
            where = " < ".join(f"{f.filename}:{f.lineno}:{f.name}" for f in reversed(frames))
            logger.error(
                "authority check failed unexpectedly error=%s at %s",
                type(exc).__name__,
                where,
            )
            return unavailable(self.name)
        finally:
            if definitive:
                self.breaker.record_success()
            else:
                self.breaker.record_failure()

    def backoff_delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based).

        "Equal jitter": between half and all of ``backoff * 2**(n-1)``, capped
        at ``max_backoff``.  The lower half keeps delays growing; the random
        half keeps many workers from retrying in lock-step.
        """
        base = min(self.backoff * (2 ** (retry_number - 1)), self.max_backoff)
        return base / 2 + (base / 2) * self._jitter()

    # -- internals ---------------------------------------------------------

    def _verify_with_retries(self, identity: IdentityData) -> AuthorityResult:
        body = json.dumps(
            {
                "id_type": identity.id_type,
                "id_number": identity.id_number,
                "name": identity.name,
                "date_of_birth": identity.date_of_birth.isoformat(),
                "sex": identity.sex,
            }
        ).encode("utf-8")
        attempts = self.retries + 1
        started = self._clock()
        for attempt in range(1, attempts + 1):
            attempt_started = self._clock()
            try:
                status, outcome, reference = self._attempt(body)
            except _AttemptFailed as failure:
                elapsed_ms = (self._clock() - attempt_started) * 1000
                if not failure.retryable:
                    logger.error(
                        "authority rejected the request (configuration problem?) "
                        "status=%s reason=%s attempt=%d/%d elapsed_ms=%.0f; not retrying",
                        failure.status,
                        failure.reason,
                        attempt,
                        attempts,
                        elapsed_ms,
                    )
                    break
                logger.warning(
                    "authority attempt failed status=%s reason=%s attempt=%d/%d elapsed_ms=%.0f",
                    failure.status,
                    failure.reason,
                    attempt,
                    attempts,
                    elapsed_ms,
                )
                if attempt < attempts:
                    delay = self.backoff_delay(attempt)
                    if failure.retry_after is not None:
                        delay = max(delay, min(failure.retry_after, self.max_backoff))
                    logger.debug("authority retry in %.3fs", delay)
                    self._sleep(delay)
                continue
            elapsed_ms = (self._clock() - attempt_started) * 1000
            logger.info(
                "authority answered outcome=%s reference=%s status=%d attempt=%d/%d "
                "elapsed_ms=%.0f",
                outcome,
                reference,
                status,
                attempt,
                attempts,
                elapsed_ms,
            )
            return AuthorityResult(outcome, reference, utc_now(), self.name)
        result = unavailable(self.name)
        logger.warning(
            "authority unavailable outcome=%s reference=%s total_ms=%.0f",
            result.outcome,
            result.reference,
            (self._clock() - started) * 1000,
        )
        return result

    def _attempt(self, body: bytes) -> tuple[int, Outcome, str]:
        """One POST.  Returns (status, outcome, reference) or raises _AttemptFailed."""
        request = urllib.request.Request(  # noqa: S310 - scheme limited to http(s) in __init__
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": self._auth_header,
                "User-Agent": "telereg-authority-client/1",
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()  # release the socket; its body is not read (may echo data)
            if status == 429:
                retry_after = _parse_retry_after(exc.headers.get("Retry-After"))
                raise _AttemptFailed(
                    "rate_limited", status=status, retry_after=retry_after
                ) from None
            if status >= 500:
                raise _AttemptFailed("server_error", status=status) from None
            raise _AttemptFailed("rejected", status=status, retryable=False) from None
        except TimeoutError:
            raise _AttemptFailed("timeout") from None
        except urllib.error.URLError as exc:
            # exc.reason may be a socket error or a string; only its type is logged.
            if isinstance(exc.reason, TimeoutError):
                raise _AttemptFailed("timeout") from None
            raise _AttemptFailed(f"connection_error:{type(exc.reason).__name__}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _AttemptFailed(f"connection_error:{type(exc).__name__}") from None

        if not 200 <= status < 300:
            # 1xx/3xx slipping through means the endpoint is not what we expect.
            raise _AttemptFailed("unexpected_status", status=status, retryable=False)
        if len(raw) > MAX_RESPONSE_BYTES:
            raise _AttemptFailed("response_too_large", status=status)
        outcome, reference = self._parse(raw, status)
        return status, outcome, reference

    @staticmethod
    def _parse(raw: bytes, status: int) -> tuple[Outcome, str]:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _AttemptFailed("malformed_json", status=status) from None
        if not isinstance(data, dict):
            raise _AttemptFailed("malformed_json", status=status)
        try:
            outcome = Outcome(data.get("result"))
        except ValueError:
            raise _AttemptFailed("unknown_result", status=status) from None
        if outcome not in _AUTHORITY_OUTCOMES:
            raise _AttemptFailed("unknown_result", status=status)
        reference = data.get("reference")
        if (
            not isinstance(reference, str)
            or not reference
            or len(reference) > MAX_REFERENCE_LENGTH
            or not reference.isprintable()
        ):
            # Without the authority's reference the answer cannot be audited.
            raise _AttemptFailed("bad_reference", status=status)
        return outcome, reference


# --------------------------------------------------------------------------
# Backend selection
# --------------------------------------------------------------------------


def _shared_cache() -> Any:
    from django.core.cache import caches

    return caches["default"]


def breaker_state() -> BreakerState | None:
    """The configured backend's breaker state (None: a backend without one,
    e.g. the simulated authority). Read by /metrics."""
    breaker = getattr(get_backend(), "breaker", None)
    return breaker.state if breaker is not None else None


def _improperly_configured(message: str) -> Exception:
    from django.core.exceptions import ImproperlyConfigured

    return ImproperlyConfigured(message)


def build_backend(settings: Any) -> AuthorityBackend:
    """A fresh backend as configured by a Django-settings-like object.

    ``TELEREG_AUTHORITY_BACKEND`` is "simulated" (default), "http" or a dotted
    path to a class; such a class is built with ``from_settings(settings)`` if
    it has one, else with no arguments.  Raises ``ImproperlyConfigured`` when
    the setting cannot be honoured.
    """
    from django.utils.module_loading import import_string

    choice = getattr(settings, "TELEREG_AUTHORITY_BACKEND", "simulated") or "simulated"
    if choice == "http":
        return HttpAuthorityBackend.from_settings(settings)
    path = SIMULATED_BACKEND_PATH if choice == "simulated" else choice
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise _improperly_configured(
            f"TELEREG_AUTHORITY_BACKEND={choice!r}: cannot import {path!r} ({exc})"
        ) from exc
    factory = getattr(cls, "from_settings", None)
    backend = factory(settings) if callable(factory) else cls()
    if not isinstance(backend, AuthorityBackend):
        raise _improperly_configured(
            f"TELEREG_AUTHORITY_BACKEND={choice!r}: {path} lacks name/verify"
        )
    return backend


_SETTING_NAMES = (
    "TELEREG_AUTHORITY_BACKEND",
    "TELEREG_AUTHORITY_URL",
    "TELEREG_AUTHORITY_USERNAME",
    "TELEREG_AUTHORITY_PASSWORD",
    "TELEREG_AUTHORITY_TIMEOUT",
    "TELEREG_AUTHORITY_RETRIES",
    "TELEREG_AUTHORITY_BACKOFF",
    "TELEREG_AUTHORITY_BREAKER_THRESHOLD",
    "TELEREG_AUTHORITY_BREAKER_RESET",
)
_cache_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], AuthorityBackend] | None = None


def get_backend() -> AuthorityBackend:
    """The configured backend, shared per process while the settings stay the same.

    Sharing matters: the circuit breaker only works if every caller sees the
    same instance.  A change of any ``TELEREG_AUTHORITY_*`` setting (e.g.
    ``override_settings`` in tests) yields a new instance.
    """
    global _cached
    from django.conf import settings

    key = tuple(getattr(settings, name, None) for name in _SETTING_NAMES)
    with _cache_lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
        backend = build_backend(settings)
        _cached = (key, backend)
        return backend


def reset_backend_cache() -> None:
    """Forget the shared backend (tests; or after reconfiguring at run time)."""
    global _cached
    with _cache_lock:
        _cached = None
