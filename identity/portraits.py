"""Portraits taken at the counter: the image rules and the matchers.

* :func:`image_clean` decodes what the clerk sent with Pillow (never trusting
  its name or its declared type), refuses what is not a PNG or JPEG, larger
  than :data:`MAX_IMAGE_BYTES` or with more than :data:`MAX_PIXELS` pixels (a
  decompression bomb is refused before its pixels are decoded), and
  re-encodes it as a JPEG without any metadata (EXIF, GPS, comments).
* :func:`average_hash` and :func:`hash_score` are the contract's rule
  (``imagehash.average_hash``: grayscale, 8×8, bit set above the mean; score
  = 1 − d/64), with Pillow alone.
* Matchers compare a live image with the reference portrait of a document:
  ``simulated`` (the simulated authority's registry, identity.models
  .CitizenRecord) and ``http`` (a remote comparison service), chosen by
  ``TELEREG_PORTRAIT_MATCHER``. A matcher never raises for what the network
  does: no answer is ``MatchOutcome.UNAVAILABLE``, and the transaction waits.

Images never reach a log record, an exception message or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import http.client
import io
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from .authority import CircuitBreaker, SharedCircuitBreaker, _NoRedirect, _shared_cache
from .types import IdentityData

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 2 * 1024 * 1024
# A portrait needs far fewer; a 40-megapixel camera still fits. Checked on the
# header, before any pixel is decoded.
MAX_PIXELS = 40_000_000
MAX_SIDE = 12_000
# Stored portraits are re-encoded at most this large on their longer side.
STORED_SIDE = 1024
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG"})


class ImageRefused(ValueError):
    """An image that cannot be a portrait; ``reason`` is for a person and
    never quotes the image."""

    def __init__(self, reason: Any) -> None:
        super().__init__("image refused")
        self.reason = reason

    def __repr__(self) -> str:
        return "ImageRefused()"


def decode_base64(text: str) -> bytes:
    """The bytes of a base64 text (a ``data:`` prefix allowed), or ImageRefused."""
    if not isinstance(text, str) or not text:
        raise ImageRefused(_("An image is required."))
    if text.startswith("data:"):
        text = text.partition(",")[2]
    # base64 of 2 MB is about 2.8 MB: refuse a longer text before decoding it.
    if len(text) > (MAX_IMAGE_BYTES * 4) // 3 + 16:
        raise ImageRefused(_("The image is larger than 2 MB."))
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRefused(_("Not base64 of an image.")) from None


def _open_checked(raw: bytes) -> Image.Image:
    if len(raw) > MAX_IMAGE_BYTES:
        raise ImageRefused(_("The image is larger than 2 MB."))
    if not raw:
        raise ImageRefused(_("An image is required."))
    with warnings.catch_warnings():
        # Pillow warns past MAX_IMAGE_PIXELS and raises past twice that: both refused.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw), formats=sorted(ACCEPTED_FORMATS))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRefused(_("The image has too many pixels.")) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise ImageRefused(_("Not a PNG or JPEG image.")) from None
    width, height = image.size
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE:
        raise ImageRefused(_("The image has too many pixels."))
    if width * height > MAX_PIXELS:
        raise ImageRefused(_("The image has too many pixels."))
    return image


def _decode(raw: bytes) -> Image.Image:
    image = _open_checked(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRefused(_("The image has too many pixels.")) from None
        except (OSError, ValueError, SyntaxError, EOFError):
            raise ImageRefused(_("Not a PNG or JPEG image.")) from None
    return image


def image_clean(raw: bytes) -> bytes:
    """The image as a JPEG without metadata, at most STORED_SIDE pixels on
    its longer side; ImageRefused when it is not a portrait we accept."""
    image = _decode(raw)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGBA").convert("RGB") if "A" in image.mode else image.convert("RGB")
    image.thumbnail((STORED_SIDE, STORED_SIDE))
    out = io.BytesIO()
    # A new image: no info dict, no EXIF, no ICC profile, no comment is copied.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    clean.save(out, format="JPEG", quality=90)
    return out.getvalue()


def average_hash(raw: bytes) -> int:
    """The 64-bit average hash of an image (imagehash.average_hash's rule)."""
    image = _decode(raw)
    small = image.convert("L").resize((8, 8), Image.Resampling.LANCZOS)
    pixels = list(small.getdata())
    mean = sum(pixels) / len(pixels)
    bits = 0
    for value in pixels:
        bits = (bits << 1) | (1 if value > mean else 0)
    return bits


def hash_score(a: int, b: int) -> float:
    """1 − d/64, d the Hamming distance of two average hashes."""
    return 1 - bin(a ^ b).count("1") / 64


# --- Matchers ------------------------------------------------------------------------------


class MatchOutcome(enum.StrEnum):
    SCORED = "scored"  # a score was computed
    NO_REFERENCE = "no_reference"  # the authority holds no portrait of this document
    UNAVAILABLE = "unavailable"  # no answer: the transaction waits


@dataclass(frozen=True)
class MatchResult:
    outcome: MatchOutcome
    score: float | None = None
    backend: str = ""
    reference_image: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"MatchResult(outcome={self.outcome!s}, score={self.score}, backend={self.backend})"


@runtime_checkable
class PortraitMatcher(Protocol):
    name: str

    def compare(self, identity: IdentityData, image: bytes) -> MatchResult:
        """Compare ``image`` (cleaned) with the reference of ``identity``'s document."""


class SimulatedMatcher:
    """The simulated authority's reference portraits (CitizenRecord), compared
    by average hash."""

    name = "simulated"

    def compare(self, identity: IdentityData, image: bytes) -> MatchResult:
        from . import services  # the registry's reference, decrypted by identity

        reference = services.citizen_portrait(identity)
        if reference is None:
            return MatchResult(MatchOutcome.NO_REFERENCE, backend=self.name)
        score = hash_score(average_hash(image), average_hash(reference))
        return MatchResult(MatchOutcome.SCORED, score, backend=self.name, reference_image=reference)


class HttpMatcher:
    """A remote comparison service: ``POST url`` with HTTP Basic credentials
    and ``{"id_type", "id_number", "image": base64 JPEG}``; a 2xx answers
    ``{"score": 0..1, "reference_image": base64 | null}`` or ``{"result":
    "no_reference"}``. Timeouts, connection errors, 5xx, 429 and malformed
    answers are retried (``retries`` extra attempts with backoff) and then
    give ``UNAVAILABLE``; the circuit breaker counts whole calls."""

    name = "http"
    MAX_RESPONSE_BYTES = 4 * 1024 * 1024

    def __init__(
        self,
        url: str,
        username: str = "",
        password: str = "",
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("portrait matcher URL must be an absolute http:// or https:// URL")
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise ValueError("timeout must be positive, retries and backoff not negative")
        self.url = url
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self._sleep = sleep
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._auth = f"Basic {token}"
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:
        return f"<HttpMatcher timeout={self.timeout} retries={self.retries}>"

    def compare(self, identity: IdentityData, image: bytes) -> MatchResult:
        if not self.breaker.allow():
            logger.info("portrait match skipped: circuit breaker open")
            return MatchResult(MatchOutcome.UNAVAILABLE, backend=self.name)
        result = MatchResult(MatchOutcome.UNAVAILABLE, backend=self.name)
        try:
            result = self._with_retries(identity, image)
        except Exception as exc:  # a bug of ours is no answer, never the caller's error
            logger.error("portrait match failed unexpectedly error=%s", type(exc).__name__)
        finally:
            if result.outcome is MatchOutcome.UNAVAILABLE:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
        return result

    def _with_retries(self, identity: IdentityData, image: bytes) -> MatchResult:
        body = json.dumps(
            {
                "id_type": identity.id_type,
                "id_number": identity.id_number,
                "image": base64.b64encode(image).decode("ascii"),
            }
        ).encode()
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(body)
            except _Failed as failure:
                logger.warning(
                    "portrait match attempt failed reason=%s status=%s attempt=%d/%d",
                    failure.reason,
                    failure.status,
                    attempt,
                    attempts,
                )
                if not failure.retryable:
                    break
                if attempt < attempts:
                    self._sleep(self.backoff * (2 ** (attempt - 1)))
        return MatchResult(MatchOutcome.UNAVAILABLE, backend=self.name)

    def _attempt(self, body: bytes) -> MatchResult:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": self._auth,
                "User-Agent": "telereg-portrait-client/1",
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                raw = response.read(self.MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            if status == 429 or status >= 500:
                raise _Failed("server_error", status) from None
            raise _Failed("rejected", status, retryable=False) from None
        except TimeoutError:
            raise _Failed("timeout") from None
        except urllib.error.URLError as exc:
            reason = "timeout" if isinstance(exc.reason, TimeoutError) else "connection_error"
            raise _Failed(reason) from None
        except (OSError, http.client.HTTPException):
            raise _Failed("connection_error") from None
        if not 200 <= status < 300:
            raise _Failed("unexpected_status", status, retryable=False)
        if len(raw) > self.MAX_RESPONSE_BYTES:
            raise _Failed("response_too_large", status)
        return self._parse(raw, status)

    def _parse(self, raw: bytes, status: int) -> MatchResult:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _Failed("malformed_json", status) from None
        if not isinstance(data, dict):
            raise _Failed("malformed_json", status)
        if data.get("result") == MatchOutcome.NO_REFERENCE:
            return MatchResult(MatchOutcome.NO_REFERENCE, backend=self.name)
        score = data.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise _Failed("bad_score", status)
        reference = None
        if isinstance(data.get("reference_image"), str):
            try:
                reference = image_clean(decode_base64(data["reference_image"]))
            except ImageRefused:
                reference = None
        return MatchResult(MatchOutcome.SCORED, float(score), self.name, reference_image=reference)


class _Failed(Exception):  # noqa: N818 - internal control flow
    def __init__(self, reason: str, status: int | None = None, *, retryable: bool = True):
        super().__init__(reason)
        self.reason, self.status, self.retryable = reason, status, retryable


_SETTINGS = (
    "TELEREG_PORTRAIT_MATCHER",
    "TELEREG_PORTRAIT_MATCHER_URL",
    "TELEREG_PORTRAIT_MATCHER_USERNAME",
    "TELEREG_PORTRAIT_MATCHER_PASSWORD",
    "TELEREG_PORTRAIT_MATCHER_TIMEOUT",
    "TELEREG_PORTRAIT_MATCHER_RETRIES",
    "TELEREG_PORTRAIT_MATCHER_BACKOFF",
    "TELEREG_PORTRAIT_MATCHER_BREAKER_THRESHOLD",
    "TELEREG_PORTRAIT_MATCHER_BREAKER_RESET",
)
_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], PortraitMatcher] | None = None


def build_matcher(settings: Any) -> PortraitMatcher:
    from django.core.exceptions import ImproperlyConfigured

    choice = getattr(settings, "TELEREG_PORTRAIT_MATCHER", "simulated") or "simulated"
    if choice == "simulated":
        return SimulatedMatcher()
    if choice != "http":
        raise ImproperlyConfigured("TELEREG_PORTRAIT_MATCHER is 'simulated' or 'http'")
    url = getattr(settings, "TELEREG_PORTRAIT_MATCHER_URL", "") or ""
    if not url:
        raise ImproperlyConfigured("TELEREG_PORTRAIT_MATCHER_URL is required for 'http'")
    try:
        return HttpMatcher(
            url=url,
            username=getattr(settings, "TELEREG_PORTRAIT_MATCHER_USERNAME", "") or "",
            password=getattr(settings, "TELEREG_PORTRAIT_MATCHER_PASSWORD", "") or "",
            timeout=float(getattr(settings, "TELEREG_PORTRAIT_MATCHER_TIMEOUT", 5.0)),
            retries=int(getattr(settings, "TELEREG_PORTRAIT_MATCHER_RETRIES", 2)),
            backoff=float(getattr(settings, "TELEREG_PORTRAIT_MATCHER_BACKOFF", 0.2)),
            # Shared by every process through Django's cache (Redis in production),
            # like the authority's: one outage opens it for the whole deployment.
            breaker=SharedCircuitBreaker(
                _shared_cache(),
                failure_threshold=int(
                    getattr(settings, "TELEREG_PORTRAIT_MATCHER_BREAKER_THRESHOLD", 5)
                ),
                reset_seconds=float(
                    getattr(settings, "TELEREG_PORTRAIT_MATCHER_BREAKER_RESET", 30)
                ),
                prefix="portrait-matcher-breaker",
            ),
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"TELEREG_PORTRAIT_MATCHER_*: {exc}") from None


def get_matcher() -> PortraitMatcher:
    """The configured matcher, shared per process while its settings stay the
    same (the breaker works only if every caller sees one instance)."""
    global _cached
    from django.conf import settings

    key = tuple(getattr(settings, name, None) for name in _SETTINGS)
    with _lock:
        if _cached is None or _cached[0] != key:
            _cached = (key, build_matcher(settings))
        return _cached[1]


def matcher_breaker_state():
    """The configured matcher's breaker state (None: the simulated matcher,
    which has none). Read by /metrics."""
    breaker = getattr(get_matcher(), "breaker", None)
    return breaker.state if breaker is not None else None
