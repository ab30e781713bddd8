"""The portrait matchers: the average-hash rule, the simulated matcher against
the registry's reference portraits, and the http matcher against a local fake
service (scores, no reference, timeouts, 5xx, malformed answers, retries, the
circuit breaker)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from identity import portraits
from identity.authority import BreakerState, CircuitBreaker
from identity.portraits import HttpMatcher, MatchOutcome
from identity.synthetic_portraits import (
    flip_bits,
    live_variant,
    pattern_image,
    synthetic_portrait,
)
from tests.fake_matcher import FakeMatcher

BITS = 0x0123_4567_89AB_CDEF


@pytest.fixture
def fake():
    with FakeMatcher() as server:
        yield server


def matcher(fake, **kwargs):
    options = {"timeout": 2.0, "retries": 2, "backoff": 0.0, "sleep": lambda s: None}
    return HttpMatcher(fake.url, "portrait-client", "secret", **{**options, **kwargs})


def test_the_average_hash_is_the_contracts_rule():
    # A 2×1 image: left black, right white → left half of each row 0, right half 1.
    image = Image.new("L", (2, 1))
    image.putdata([0, 255])
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert portraits.average_hash(out.getvalue()) == int("00001111" * 8, 2)
    assert portraits.average_hash(pattern_image(BITS)) == BITS
    assert portraits.hash_score(BITS, flip_bits(BITS, 16)) == 0.75


def test_a_live_variant_matches_its_reference_and_not_another_citizens():
    reference = portraits.image_clean(synthetic_portrait("110105199003071247"))
    own = portraits.image_clean(live_variant("110105199003071247"))
    other = portraits.image_clean(live_variant("440305198811110022"))
    score = portraits.hash_score(portraits.average_hash(own), portraits.average_hash(reference))
    assert score >= 0.9
    other_score = portraits.hash_score(
        portraits.average_hash(other), portraits.average_hash(reference)
    )
    assert other_score < 0.9


def test_the_http_matcher_sends_the_document_and_the_image_and_reads_the_score(fake, make_identity):
    identity = make_identity()
    result = matcher(fake).compare(identity, b"\xff\xd8jpeg-bytes")
    assert result.outcome is MatchOutcome.SCORED
    assert result.score == 0.95
    sent = fake.requests[0]
    assert sent["body"]["id_number"] == identity.id_number
    assert sent["body"]["image"] == "/9hqcGVnLWJ5dGVz"
    assert sent["auth"].startswith("Basic ")


def test_no_reference_is_an_answer(fake, make_identity):
    fake.mode = "no_reference"
    assert matcher(fake).compare(make_identity(), b"x").outcome is MatchOutcome.NO_REFERENCE


@pytest.mark.parametrize("mode", ["error", "bad"])
def test_5xx_and_malformed_answers_are_retried_then_unavailable(fake, mode, make_identity):
    fake.mode = mode
    result = matcher(fake).compare(make_identity(), b"x")
    assert result.outcome is MatchOutcome.UNAVAILABLE
    assert len(fake.requests) == 3  # the first try and two retries


def test_a_4xx_is_not_retried(fake, make_identity):
    fake.mode = "reject"
    assert matcher(fake).compare(make_identity(), b"x").outcome is MatchOutcome.UNAVAILABLE
    assert len(fake.requests) == 1


def test_a_timeout_is_unavailable_and_a_retry_that_answers_wins(fake, make_identity):
    fake.mode, fake.delay = "slow", 1.0
    result = matcher(fake, timeout=0.2, retries=0).compare(make_identity(), b"x")
    assert result.outcome is MatchOutcome.UNAVAILABLE
    fake.mode = "score"
    assert matcher(fake, timeout=2.0).compare(make_identity(), b"x").score == 0.95


def test_an_unreachable_service_is_unavailable(make_identity):
    down = HttpMatcher("http://127.0.0.1:9/compare", timeout=0.5, retries=1, sleep=lambda s: None)
    assert down.compare(make_identity(), b"x").outcome is MatchOutcome.UNAVAILABLE


def test_the_breaker_opens_after_failures_and_spares_the_service(fake, make_identity):
    fake.mode = "error"
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=3600)
    client = matcher(fake, retries=0, breaker=breaker)
    client.compare(make_identity(), b"x")
    client.compare(make_identity(), b"x")
    assert breaker.state is BreakerState.OPEN
    fake.mode = "score"
    assert client.compare(make_identity(), b"x").outcome is MatchOutcome.UNAVAILABLE
    assert len(fake.requests) == 2


@pytest.mark.parametrize("score", [1.5, -0.1, "0.9", True, None])
def test_a_score_out_of_range_is_no_answer(fake, score, make_identity):
    fake.score = score
    assert matcher(fake, retries=0).compare(make_identity(), b"x").outcome is (
        MatchOutcome.UNAVAILABLE
    )


def test_the_matcher_is_chosen_by_the_setting(settings, fake):
    settings.TELEREG_PORTRAIT_MATCHER = "simulated"
    assert portraits.get_matcher().name == "simulated"
    settings.TELEREG_PORTRAIT_MATCHER = "http"
    settings.TELEREG_PORTRAIT_MATCHER_URL = fake.url
    chosen = portraits.get_matcher()
    assert isinstance(chosen, HttpMatcher)
    assert portraits.get_matcher() is chosen  # one breaker per process
    assert "secret" not in repr(chosen)
    assert fake.url not in repr(chosen)


def test_a_bad_setting_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TELEREG_PORTRAIT_MATCHER = "magic"
    with pytest.raises(ImproperlyConfigured):
        portraits.get_matcher()
    settings.TELEREG_PORTRAIT_MATCHER = "http"
    settings.TELEREG_PORTRAIT_MATCHER_URL = "file:///etc/passwd"
    with pytest.raises(ImproperlyConfigured):
        portraits.get_matcher()
