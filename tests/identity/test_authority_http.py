"""HttpAuthorityBackend against a real loopback HTTP server (no database, no Django setup).

Every identity here is synthetic.  The client timeout is 0.2 s and the fake's
slow replies take 0.5 s, so the few timeout tests cost well under a second; all
backoff waits go through an injected ``sleep`` that only records its argument.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import django.conf
import pytest
from django.core.exceptions import ImproperlyConfigured

from identity import authority
from identity.authority import (
    AuthorityBackend,
    AuthorityResult,
    BreakerState,
    CircuitBreaker,
    HttpAuthorityBackend,
    Outcome,
    build_backend,
    get_backend,
)
from identity.types import IdentityData
from tests.identity.fake_authority import REVOKED, Failure, FakeAuthority

ID_TYPE = "CN_RESIDENT_ID"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def gb11643(first17: str) -> str:
    """Append the GB 11643 check character to 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def person(n: int, *, name: str | None = None) -> IdentityData:
    """Synthetic person ``n``; a 1990s birth date encoded in a made-up ID number."""
    born = dt.date(1990, 1, 1) + dt.timedelta(days=37 * n)
    id_number = gb11643(f"110105{born:%Y%m%d}{n % 1000:03d}")
    return IdentityData(
        id_type=ID_TYPE,
        id_number=id_number,
        name=name or f"Test Person {n}",
        date_of_birth=born,
        sex="M" if n % 2 else "F",
    )


PERSON_1 = person(1)
PERSON_2 = person(2)
PERSON_3 = person(3)  # not registered
PERSON_4 = person(4)  # document revoked


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake() -> Iterator[FakeAuthority]:
    registry = {
        (ID_TYPE, PERSON_1.id_number): (PERSON_1.name, "valid"),
        (ID_TYPE, PERSON_2.id_number): (PERSON_2.name, "valid"),
        (ID_TYPE, PERSON_4.id_number): (PERSON_4.name, REVOKED),
    }
    with FakeAuthority(registry, slow_delay=0.5, retry_after="1") as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_backend(
    fake: FakeAuthority,
    sleeps: list[float],
    clock: FakeClock,
    **overrides: object,
) -> HttpAuthorityBackend:
    options: dict[str, object] = {
        "url": fake.url,
        "username": fake.username,
        "password": fake.password,
        "timeout": 0.2,
        "retries": 2,
        "backoff": 0.2,
        "sleep": sleeps.append,
        "clock": clock,
    }
    options.update(overrides)
    return HttpAuthorityBackend(**options)  # type: ignore[arg-type]


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- definitive answers -------------------------------------------------------


def test_registered_identity_with_same_name_is_a_match(fake, sleeps, clock):
    result = make_backend(fake, sleeps, clock).verify(PERSON_1)
    assert result.outcome is Outcome.MATCH
    assert result.reference.startswith("FAKE-")
    assert result.backend == "http"
    assert fake.request_count == 1


def test_registered_identity_with_other_name_is_a_mismatch(fake, sleeps, clock):
    impostor = person(1, name="Test Person Other")
    assert make_backend(fake, sleeps, clock).verify(impostor).outcome is Outcome.MISMATCH


def test_unknown_id_number_is_not_found(fake, sleeps, clock):
    assert make_backend(fake, sleeps, clock).verify(PERSON_3).outcome is Outcome.NOT_FOUND


def test_revoked_document_is_revoked(fake, sleeps, clock):
    assert make_backend(fake, sleeps, clock).verify(PERSON_4).outcome is Outcome.REVOKED


def test_request_is_json_with_exactly_the_five_fields_and_basic_auth(fake, sleeps, clock):
    make_backend(fake, sleeps, clock).verify(PERSON_2)
    (request,) = fake.requests
    assert request.authorized
    assert request.body == {
        "id_type": ID_TYPE,
        "id_number": PERSON_2.id_number,
        "name": PERSON_2.name,
        "date_of_birth": PERSON_2.date_of_birth.isoformat(),
        "sex": PERSON_2.sex,
    }


def test_result_is_frozen_aware_utc_and_its_repr_holds_no_personal_data(fake, sleeps, clock):
    result = make_backend(fake, sleeps, clock).verify(PERSON_1)
    assert result.checked_at.utcoffset() == dt.timedelta(0)
    with pytest.raises(AttributeError):
        result.outcome = Outcome.MISMATCH  # type: ignore[misc]
    text = repr(result)
    for secret in (PERSON_1.name, PERSON_1.id_number, PERSON_1.date_of_birth.isoformat()):
        assert secret not in text
    assert isinstance(result, AuthorityResult)


# -- retries ----------------------------------------------------------------


def test_one_500_then_success_within_retries_is_a_match_after_two_requests(fake, sleeps, clock):
    fake.fail_next(Failure.ERROR_500)
    result = make_backend(fake, sleeps, clock).verify(PERSON_1)
    assert result.outcome is Outcome.MATCH
    assert fake.request_count == 2
    assert len(sleeps) == 1


def test_503_is_retried(fake, sleeps, clock):
    fake.fail_next(Failure.ERROR_503, count=2)
    assert make_backend(fake, sleeps, clock).verify(PERSON_1).outcome is Outcome.MATCH
    assert fake.request_count == 3


def test_429_is_retried_honouring_retry_after(fake, sleeps, clock):
    fake.fail_next(Failure.TOO_MANY_REQUESTS)
    backend = make_backend(fake, sleeps, clock, jitter=lambda: 0.0)
    assert backend.verify(PERSON_1).outcome is Outcome.MATCH
    assert fake.request_count == 2
    assert sleeps == [1.0]  # Retry-After: 1 beats the 0.1 s jittered backoff


def test_persistent_500_is_unavailable_after_retries_plus_one_attempts(fake, sleeps, clock):
    fake.fail_next(Failure.ERROR_500, count=10)
    result = make_backend(fake, sleeps, clock, retries=2).verify(PERSON_1)
    assert result.outcome is Outcome.UNAVAILABLE
    assert result.reference.startswith("LOCAL-")
    assert result.checked_at.tzinfo is not None
    assert fake.request_count == 3
    assert len(sleeps) == 2  # no pointless wait after the last attempt


def test_timeout_is_unavailable_and_never_raises(fake, sleeps, clock):
    fake.fail_next(Failure.SLOW, count=5)
    result = make_backend(fake, sleeps, clock, retries=1).verify(PERSON_1)
    assert result.outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 2


def test_one_timeout_then_success_is_a_match(fake, sleeps, clock):
    fake.fail_next(Failure.SLOW)
    assert make_backend(fake, sleeps, clock).verify(PERSON_1).outcome is Outcome.MATCH
    assert fake.request_count == 2


def test_malformed_json_is_unavailable(fake, sleeps, clock):
    fake.fail_next(Failure.MALFORMED_JSON, count=10)
    assert make_backend(fake, sleeps, clock).verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 3


def test_unknown_result_value_is_unavailable(fake, sleeps, clock):
    fake.fail_next(Failure.UNKNOWN_RESULT, count=10)
    assert make_backend(fake, sleeps, clock).verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 3


def test_connection_closed_without_reply_is_retried_then_matches(fake, sleeps, clock):
    fake.fail_next(Failure.CLOSE_CONNECTION)
    assert make_backend(fake, sleeps, clock).verify(PERSON_1).outcome is Outcome.MATCH
    assert fake.request_count == 2


def test_connection_always_closed_is_unavailable(fake, sleeps, clock):
    fake.fail_next(Failure.CLOSE_CONNECTION, count=10)
    assert make_backend(fake, sleeps, clock).verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 3


def test_connection_refused_is_unavailable(sleeps, clock):
    backend = HttpAuthorityBackend(
        f"http://127.0.0.1:{unused_port()}/v1/verify",
        "u",
        "p",
        timeout=0.2,
        sleep=sleeps.append,
        clock=clock,
    )
    assert backend.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert len(sleeps) == 2  # refused connections are retried like other outages


def test_wrong_credentials_are_unavailable_without_retrying(fake, sleeps, clock):
    backend = make_backend(fake, sleeps, clock, password="wrong-password")  # noqa: S106
    assert backend.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 1
    assert not fake.requests[0].authorized
    assert sleeps == []


def test_backoff_delays_grow_exponentially(fake, sleeps, clock):
    fake.fail_next(Failure.ERROR_500, count=10)
    backend = make_backend(fake, sleeps, clock, retries=3, backoff=0.2, jitter=lambda: 1.0)
    backend.verify(PERSON_1)
    assert sleeps == pytest.approx([0.2, 0.4, 0.8])


def test_backoff_jitter_stays_within_half_to_full_step_and_keeps_growing(fake, sleeps, clock):
    fake.fail_next(Failure.ERROR_500, count=10)
    make_backend(fake, sleeps, clock, retries=4, backoff=0.1).verify(PERSON_1)
    assert len(sleeps) == 4
    for n, delay in enumerate(sleeps, start=1):
        step = 0.1 * 2 ** (n - 1)
        assert step / 2 <= delay <= step
    assert sleeps == sorted(sleeps)


def test_backoff_is_capped_at_max_backoff(fake, sleeps, clock):
    backend = make_backend(fake, sleeps, clock, backoff=1.0, max_backoff=2.5, jitter=lambda: 1.0)
    assert [backend.backoff_delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 2.5, 2.5]


# -- circuit breaker --------------------------------------------------------


def test_breaker_opens_after_threshold_failures_and_then_skips_the_network(fake, sleeps, clock):
    breaker = CircuitBreaker(failure_threshold=3, reset_seconds=30, clock=clock)
    backend = make_backend(fake, sleeps, clock, retries=0, breaker=breaker)
    fake.fail_next(Failure.ERROR_500, count=3)
    for _ in range(3):
        assert backend.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert breaker.state is BreakerState.OPEN
    assert fake.request_count == 3

    for _ in range(5):
        result = backend.verify(PERSON_1)
        assert result.outcome is Outcome.UNAVAILABLE
        assert result.reference.startswith("LOCAL-")
    assert fake.request_count == 3  # nothing reached the server while open


def test_breaker_half_opens_after_reset_seconds_and_closes_on_success(fake, sleeps, clock):
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=30, clock=clock)
    backend = make_backend(fake, sleeps, clock, retries=0, breaker=breaker)
    fake.fail_next(Failure.ERROR_503, count=2)
    backend.verify(PERSON_1)
    backend.verify(PERSON_1)
    assert breaker.state is BreakerState.OPEN

    clock.advance(29.9)
    assert backend.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 2

    clock.advance(0.2)
    assert breaker.state is BreakerState.HALF_OPEN
    assert backend.verify(PERSON_1).outcome is Outcome.MATCH  # the trial call
    assert fake.request_count == 3
    assert breaker.state is BreakerState.CLOSED
    assert backend.verify(PERSON_2).outcome is Outcome.MATCH
    assert fake.request_count == 4


def test_breaker_reopens_when_the_half_open_trial_fails(fake, sleeps, clock):
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=10, clock=clock)
    backend = make_backend(fake, sleeps, clock, retries=0, breaker=breaker)
    fake.fail_next(Failure.ERROR_500, count=2)
    backend.verify(PERSON_1)
    clock.advance(10)
    assert backend.verify(PERSON_1).outcome is Outcome.UNAVAILABLE  # trial fails
    assert breaker.state is BreakerState.OPEN
    assert backend.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 2


def test_definitive_answers_reset_the_failure_count(fake, sleeps, clock):
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=30, clock=clock)
    backend = make_backend(fake, sleeps, clock, retries=0, breaker=breaker)
    for _ in range(3):
        fake.fail_next(Failure.ERROR_500)
        backend.verify(PERSON_1)
        assert backend.verify(PERSON_3).outcome is Outcome.NOT_FOUND
    assert breaker.state is BreakerState.CLOSED


def test_half_open_breaker_lets_exactly_one_concurrent_trial_through(clock):
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=5, clock=clock)
    breaker.record_failure()
    clock.advance(5)
    allowed: list[bool] = []
    barrier = threading.Barrier(16)

    def contend() -> None:
        barrier.wait()
        allowed.append(breaker.allow())

    threads = [threading.Thread(target=contend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 1


# -- no personal data anywhere ---------------------------------------------


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[_Capture]:
    handler = _Capture()
    log = logging.getLogger(authority.__name__)
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


def test_logs_at_debug_hold_no_name_id_number_or_birth_date(fake, sleeps, clock, captured):
    breaker = CircuitBreaker(failure_threshold=4, reset_seconds=30, clock=clock)
    backend = make_backend(fake, sleeps, clock, retries=1, breaker=breaker)
    backend.verify(PERSON_1)
    backend.verify(person(1, name="Test Person Other"))
    fake.fail_next(Failure.ERROR_500)
    fake.fail_next(Failure.MALFORMED_JSON)
    backend.verify(PERSON_2)
    fake.fail_next(Failure.SLOW, count=2)
    backend.verify(PERSON_1)
    fake.fail_next(Failure.UNKNOWN_RESULT, count=2)
    backend.verify(PERSON_2)
    make_backend(fake, sleeps, clock, password="wrong").verify(PERSON_1)  # noqa: S106
    fake.fail_next(Failure.ERROR_500, count=10)
    for _ in range(4):
        backend.verify(PERSON_4)
    assert breaker.state is BreakerState.OPEN
    backend.verify(PERSON_1)  # short-circuited

    assert len(captured.records) > 10
    forbidden = set()
    for someone in (PERSON_1, PERSON_2, PERSON_4):
        forbidden |= {
            someone.name,
            someone.id_number,
            someone.date_of_birth.isoformat(),
            someone.date_of_birth.strftime("%Y%m%d"),
        }
    forbidden |= {"Test Person", fake.password}
    for record in captured.records:
        text = " ".join(
            [record.getMessage(), repr(record.args), str(record.exc_text), str(record.exc_info)]
        )
        for secret in forbidden:
            assert secret not in text, f"{secret!r} leaked in {record.getMessage()!r}"
    messages = " ".join(r.getMessage() for r in captured.records)
    assert "outcome=match" in messages
    assert "status=401" in messages
    assert "attempt=" in messages


def test_an_internal_bug_becomes_unavailable_without_leaking_its_message(
    fake, sleeps, clock, captured, monkeypatch
):
    def broken(raw: bytes, status: int) -> tuple[Outcome, str]:
        raise RuntimeError(f"cannot handle {PERSON_1.name} / {PERSON_1.id_number}")

    backend = make_backend(fake, sleeps, clock)
    monkeypatch.setattr(backend, "_parse", broken)
    result = backend.verify(PERSON_1)
    assert result.outcome is Outcome.UNAVAILABLE
    assert backend.breaker.consecutive_failures == 1
    for record in captured.records:
        assert PERSON_1.name not in record.getMessage()
        assert PERSON_1.id_number not in record.getMessage()
    assert any("RuntimeError" in r.getMessage() for r in captured.records)


def test_backend_repr_and_url_errors_hide_credentials():
    backend = HttpAuthorityBackend("https://user:pw-in-url@authority.example/v", "u", "pw")
    assert "pw" not in repr(backend)
    with pytest.raises(ValueError, match="http") as excinfo:
        HttpAuthorityBackend("file:///etc/pw-in-path", "u", "pw")
    assert "pw-in-path" not in str(excinfo.value)


# -- backend selection (settings stubbed; no Django setup) ----------------------


class StubBackend:
    """A stand-in for configurable backends (and the future simulated one)."""

    name = "stub"

    def verify(self, identity: IdentityData) -> AuthorityResult:
        return authority.unavailable(self.name)


@pytest.fixture
def stub_settings(monkeypatch) -> SimpleNamespace:
    # get_backend imports django.conf.settings at call time, so replacing the
    # attribute is enough and is undone by monkeypatch; nothing is configured.
    settings = SimpleNamespace()
    monkeypatch.setattr(django.conf, "settings", settings)
    authority.reset_backend_cache()
    yield settings
    authority.reset_backend_cache()


def test_http_setting_builds_http_backend_from_settings(stub_settings):
    stub_settings.TELEREG_AUTHORITY_BACKEND = "http"
    stub_settings.TELEREG_AUTHORITY_URL = "https://authority.example/v1/verify"
    stub_settings.TELEREG_AUTHORITY_USERNAME = "u"
    stub_settings.TELEREG_AUTHORITY_PASSWORD = "p"  # noqa: S105
    stub_settings.TELEREG_AUTHORITY_RETRIES = 4
    stub_settings.TELEREG_AUTHORITY_BREAKER_THRESHOLD = 7
    backend = get_backend()
    assert isinstance(backend, HttpAuthorityBackend)
    assert isinstance(backend, AuthorityBackend)
    assert (backend.timeout, backend.retries, backend.backoff) == (3.0, 4, 0.2)
    assert (backend.breaker.failure_threshold, backend.breaker.reset_seconds) == (7, 30.0)
    assert get_backend() is backend  # shared, so the breaker state is shared
    stub_settings.TELEREG_AUTHORITY_TIMEOUT = 1.5
    assert get_backend() is not backend


def test_http_setting_without_url_is_improperly_configured(stub_settings):
    stub_settings.TELEREG_AUTHORITY_BACKEND = "http"
    with pytest.raises(ImproperlyConfigured, match="TELEREG_AUTHORITY_URL"):
        get_backend()


def test_dotted_path_setting_builds_that_class(stub_settings):
    stub_settings.TELEREG_AUTHORITY_BACKEND = f"{__name__}.StubBackend"
    assert isinstance(get_backend(), StubBackend)


def test_default_setting_resolves_the_simulated_backend_lazily(stub_settings, monkeypatch):
    monkeypatch.setattr(authority, "SIMULATED_BACKEND_PATH", f"{__name__}.StubBackend")
    assert isinstance(build_backend(stub_settings), StubBackend)


def test_unimportable_backend_is_improperly_configured(stub_settings):
    stub_settings.TELEREG_AUTHORITY_BACKEND = "identity.no_such_module.Backend"
    with pytest.raises(ImproperlyConfigured):
        get_backend()
