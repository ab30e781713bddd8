"""SECRET_KEY rotates with SECRET_KEY_FALLBACKS: a notice's link and a "lines
under my ID" code made under the old key still work after it moved to the
fallbacks, and stop working once it is dropped. Links sent before the signing
scheme (a plain HMAC) keep opening too."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re

import pytest
from django.utils import timezone

from operators.roles import Role
from reverification import campaigns, my_lines, tokens
from reverification.models import MyLinesChallenge

pytestmark = pytest.mark.django_db

OLD = "old-secret-key-" + "o" * 50
NEW = "new-secret-key-" + "n" * 50


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    return tmp_path / "file.jsonl"


@pytest.fixture
def request_row(alpha, make_staff, open_mobile, outbox):
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    open_mobile()
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Rotation",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7, 2],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    return campaign.requests.get()


def _opens(client, token: str) -> bool:
    response = client.get(f"/r/{token}")
    assert response.status_code in (200, 404)
    return response.status_code == 200


def test_a_link_made_under_the_old_key_opens_while_it_is_a_fallback_and_not_after(
    client, settings, request_row
):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    sent = tokens.request_token(request_row.pk)
    assert _opens(client, sent)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert tokens.request_from_token(sent) == request_row
    assert _opens(client, sent)
    fresh = tokens.request_token(request_row.pk)
    assert fresh != sent  # new links are made under the new key
    assert _opens(client, fresh)

    settings.SECRET_KEY_FALLBACKS = []
    assert tokens.request_from_token(sent) is None
    assert not _opens(client, sent)
    assert _opens(client, fresh)


def test_the_link_digest_is_djangos_salted_hmac_under_its_own_salt(settings, request_row):
    from django.utils.crypto import salted_hmac

    settings.SECRET_KEY = NEW
    token = tokens.request_token(request_row.pk)
    expected = salted_hmac(tokens.LINK_SALT, str(request_row.pk), algorithm="sha256")
    assert token == f"{request_row.pk}.{expected.hexdigest()[:32]}"
    # The same value under another purpose's salt is not a link.
    other = salted_hmac("telereg.registration.receipt-check", str(request_row.pk))
    assert tokens.request_from_token(f"{request_row.pk}.{other.hexdigest()[:32]}") is None


def test_a_link_sent_before_the_signing_scheme_still_opens_under_current_and_fallback_keys(
    client, settings, request_row
):
    def legacy(secret: str) -> str:
        digest = hmac.new(
            secret.encode(), f"reverification:{request_row.pk}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        return f"{request_row.pk}.{digest}"

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    assert _opens(client, legacy(OLD))
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert _opens(client, legacy(OLD))
    settings.SECRET_KEY_FALLBACKS = []
    assert not _opens(client, legacy(OLD))


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "",
        "1.",
        "0" * 10 + "." + "0" * 32,
        "１.0123456789abcdef0123456789abcdef",  # a full-width digit
        "1." + "a" * 5000,
    ],
)
def test_malformed_or_forged_tokens_open_nothing(client, settings, request_row, token):
    assert tokens.request_from_token(token) is None


def test_a_token_for_one_request_with_a_leading_zero_is_not_that_request(settings, request_row):
    token = tokens.request_token(request_row.pk)
    assert tokens.request_from_token("0" + token) is None


def _code(outbox) -> str:
    message = json.loads(outbox.read_text().splitlines()[-1])
    return re.search(r"\d{6}", message["text"]).group(0)


def _start(alpha, holder) -> MyLinesChallenge:
    return my_lines.challenge_start(
        operator=alpha,
        id_type=holder.id_type,
        id_number=holder.id_number,
        name=holder.name,
        address="198.51.100.7",
    )


def test_a_code_sent_under_the_old_key_verifies_while_it_is_a_fallback(
    settings, alpha, open_mobile, outbox
):
    _tx, holder = open_mobile()
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    challenge = _start(alpha, holder)
    code = _code(outbox)
    challenge.refresh_from_db()
    assert code not in challenge.code_hash
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert my_lines.challenge_verify(challenge=challenge, code=code)


def test_a_code_sent_under_a_dropped_key_is_refused(settings, alpha, open_mobile, outbox):
    _tx, holder = open_mobile()
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    challenge = _start(alpha, holder)
    code = _code(outbox)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, []
    with pytest.raises(my_lines.CodeRefused):
        my_lines.challenge_verify(challenge=challenge, code=code)
    challenge.refresh_from_db()
    assert challenge.failed_attempts == 1


def test_a_code_stored_before_the_signing_scheme_still_verifies(
    settings, alpha, open_mobile, outbox
):
    _tx, holder = open_mobile()
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    challenge = _start(alpha, holder)
    code = _code(outbox)
    legacy = hmac.new(
        OLD.encode(), f"my-lines:{challenge.uid}:{code}".encode(), hashlib.sha256
    ).hexdigest()
    MyLinesChallenge.objects.filter(pk=challenge.pk).update(code_hash=legacy)
    assert my_lines.challenge_verify(challenge=challenge, code=code)


def test_a_wrong_code_is_refused_under_every_key(settings, alpha, open_mobile, outbox):
    _tx, holder = open_mobile()
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    challenge = _start(alpha, holder)
    code = _code(outbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    with pytest.raises(my_lines.CodeRefused):
        my_lines.challenge_verify(challenge=challenge, code=wrong)
