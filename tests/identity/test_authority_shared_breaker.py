"""The authority's circuit breaker is shared by every process through the
cache: two backends (two "processes") built from the same settings over one
cache see one breaker, so an outage seen by one opens it for the other, and
one trial call goes out from the deployment when it half-opens. The retry and
breaker settings are read from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.cache.backends.locmem import LocMemCache

from identity import authority
from identity.authority import BreakerState, HttpAuthorityBackend, Outcome, SharedCircuitBreaker
from tests.identity.fake_authority import Failure, FakeAuthority
from tests.identity.test_authority_http import ID_TYPE, PERSON_1

ROOT = Path(__file__).resolve().parents[2]


class WallClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake():
    registry = {(ID_TYPE, PERSON_1.id_number): (PERSON_1.name, "valid")}
    with FakeAuthority(registry, slow_delay=0.5, retry_after="1") as server:
        yield server


@pytest.fixture
def shared_cache():
    # One cache both "processes" reach (Redis in production): a LocMemCache
    # under one name is one store, whichever object reads it.
    return LocMemCache("shared-breaker-test", {})


def _process(fake, cache, clock, threshold=3):
    """One process's backend: its own objects, the cache shared."""
    breaker = SharedCircuitBreaker(
        cache, failure_threshold=threshold, reset_seconds=30, clock=clock
    )
    return HttpAuthorityBackend(
        url=fake.url,
        username=fake.username,
        password=fake.password,
        timeout=0.5,
        retries=0,
        breaker=breaker,
        sleep=lambda _s: None,
    )


def test_an_outage_seen_by_one_process_opens_the_breaker_for_the_other(fake, shared_cache):
    shared_cache.clear()
    clock = WallClock()
    web = _process(fake, LocMemCache("shared-breaker-test", {}), clock)
    worker = _process(fake, LocMemCache("shared-breaker-test", {}), clock)
    assert web is not worker
    assert web.breaker is not worker.breaker
    fake.fail_next(Failure.ERROR_500, count=3)
    assert web.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert worker.verify(PERSON_1).outcome is Outcome.UNAVAILABLE  # failures add up across
    assert web.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 3
    assert worker.breaker.state is BreakerState.OPEN
    assert web.breaker.state is BreakerState.OPEN

    # The authority is back, but while open neither process calls it.
    assert worker.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert web.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 3


def test_after_the_reset_one_trial_goes_out_from_all_processes_and_closes_it_for_all(
    fake, shared_cache
):
    shared_cache.clear()
    clock = WallClock()
    web = _process(fake, LocMemCache("shared-breaker-test", {}), clock, threshold=1)
    worker = _process(fake, LocMemCache("shared-breaker-test", {}), clock, threshold=1)
    fake.fail_next(Failure.ERROR_500, count=1)
    assert web.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert worker.breaker.state is BreakerState.OPEN
    clock.now += 31
    assert worker.breaker.state is BreakerState.HALF_OPEN
    assert web.breaker.allow() is True  # web holds the one trial
    assert worker.breaker.allow() is False
    web.breaker.record_success()
    assert worker.breaker.state is BreakerState.CLOSED
    assert worker.verify(PERSON_1).outcome is Outcome.MATCH


def test_a_failed_trial_reopens_it_for_every_process(fake, shared_cache):
    shared_cache.clear()
    clock = WallClock()
    web = _process(fake, LocMemCache("shared-breaker-test", {}), clock, threshold=2)
    worker = _process(fake, LocMemCache("shared-breaker-test", {}), clock, threshold=2)
    fake.fail_next(Failure.ERROR_500, count=3)
    web.verify(PERSON_1)
    web.verify(PERSON_1)
    clock.now += 31
    assert worker.verify(PERSON_1).outcome is Outcome.UNAVAILABLE  # the trial, failed
    assert fake.request_count == 3
    assert web.breaker.state is BreakerState.OPEN
    assert web.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 3


class BrokenCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache down")

        return fail


def test_a_cache_outage_falls_back_on_a_local_breaker_and_never_raises(fake):
    backend = _process(fake, BrokenCache(), WallClock(), threshold=2)
    assert backend.verify(PERSON_1).outcome is Outcome.MATCH
    fake.fail_next(Failure.ERROR_500, count=2)
    backend.verify(PERSON_1)
    backend.verify(PERSON_1)
    assert backend.breaker.state is BreakerState.OPEN
    assert backend.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 3


def test_backends_built_from_settings_share_the_breaker_through_djangos_cache(fake):
    settings = SimpleNamespace(
        TELEREG_AUTHORITY_URL=fake.url,
        TELEREG_AUTHORITY_USERNAME=fake.username,
        TELEREG_AUTHORITY_PASSWORD=fake.password,
        TELEREG_AUTHORITY_TIMEOUT=0.5,
        TELEREG_AUTHORITY_RETRIES=0,
        TELEREG_AUTHORITY_BACKOFF=0.0,
        TELEREG_AUTHORITY_BREAKER_THRESHOLD=2,
        TELEREG_AUTHORITY_BREAKER_RESET=30.0,
    )
    one = HttpAuthorityBackend.from_settings(settings)
    two = HttpAuthorityBackend.from_settings(settings)
    assert isinstance(one.breaker, SharedCircuitBreaker)
    fake.fail_next(Failure.ERROR_500, count=2)
    one.verify(PERSON_1)
    one.verify(PERSON_1)
    assert two.breaker.state is BreakerState.OPEN
    assert two.verify(PERSON_1).outcome is Outcome.UNAVAILABLE
    assert fake.request_count == 2


def test_the_retry_and_breaker_settings_are_read_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from identity import authority; b = authority.get_backend(); "
        "print(b.retries, b.backoff, b.breaker.failure_threshold, b.breaker.reset_seconds)"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TELEREG_AUTHORITY_BACKEND": "http",
        "TELEREG_AUTHORITY_URL": "https://authority.example.test/verify",
        "TELEREG_AUTHORITY_RETRIES": "4",
        "TELEREG_AUTHORITY_BACKOFF": "0.75",
        "TELEREG_AUTHORITY_BREAKER_THRESHOLD": "9",
        "TELEREG_AUTHORITY_BREAKER_RESET": "45",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["4", "0.75", "9", "45.0"]


def test_breaker_state_is_none_for_a_backend_without_one(settings):
    settings.TELEREG_AUTHORITY_BACKEND = "simulated"
    authority.reset_backend_cache()
    assert authority.breaker_state() is None
