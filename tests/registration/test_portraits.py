"""The portrait check at the counter through the API (API.md, "The portrait
check at the counter"): each zone of the score, liveness, the operator's
policy, bad images, the review queue with four eyes, expiry, idempotency,
shredding. Images are drawn by code (identity.synthetic_portraits)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import struct
import uuid
import zlib

import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from identity import portraits, services, vault
from identity.errors import PersonShredded
from identity.models import AccessLogEntry, Person, Portrait
from identity.services import CitizenRow
from identity.synthetic_portraits import flip_bits, pattern_image
from operators.roles import Role
from registration.models import (
    Line,
    PhoneNumber,
    PortraitReview,
    ReviewState,
    Transaction,
    TransactionState,
)
from tests.registration.conftest import api_block

pytestmark = pytest.mark.django_db

BITS = 0xA5C3_0F96_3C5A_F00F


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


@pytest.fixture
def compliance_api(alpha_compliance, api_client_for):
    return api_client_for(alpha_compliance)


@pytest.fixture
def pictured(make_identity):
    """A citizen known to the simulated authority with a reference portrait
    whose average hash is BITS (None: without a portrait)."""

    def make(bits: int | None = BITS):
        identity = make_identity()
        reference = None if bits is None else portraits.image_clean(pattern_image(bits))
        services.authority_registry_load(
            [
                CitizenRow(
                    id_type=identity.id_type,
                    id_number=identity.id_number,
                    name=identity.name,
                    date_of_birth=identity.date_of_birth,
                    sex=identity.sex,
                    revoked=False,
                    portrait=reference,
                )
            ]
        )
        return identity

    return make


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def live(flipped: int = 0, liveness: str = "passed") -> dict:
    return {"image": b64(pattern_image(flip_bits(BITS, flipped), fmt="JPEG")), "liveness": liveness}


def post_tx(client, body, key=None):
    return client.post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=key or uuid.uuid4().hex
    )


def opening(identity, consent, **extra):
    return {
        "kind": "mobile_open",
        "applicant": api_block(identity),
        "consent": {"notice": consent.notice_hash, "given": True},
        **extra,
    }


def decide(client, review_id, decision, reason="checked the two images"):
    return client.post(
        f"/api/v1/reviews/{review_id}/decide/",
        {"decision": decision, "reason": reason},
        format="json",
    )


# --- The zones of the score --------------------------------------------------------------


def test_a_matching_portrait_with_liveness_passed_completes_at_once(
    clerk_api, pictured, consent, inventory
):
    response = post_tx(clerk_api, opening(pictured(), consent, portrait=live(0)))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "completed"
    assert body["line"]["status"] == "active"
    assert body["portrait"] == {"outcome": "passed", "score": 1.0, "liveness": "passed"}
    assert "image" not in str(body)
    portrait = Portrait.objects.get()
    assert portrait.image_enc is not None
    assert portrait.reference_enc is not None


def test_a_score_between_the_thresholds_goes_to_review_holding_the_number(
    clerk_api, compliance_api, pictured, consent, inventory
):
    # 10 bits of 64 differ: 0.84, between refuse (0.70) and pass (0.90).
    response = post_tx(clerk_api, opening(pictured(), consent, portrait=live(10)))
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["state"] == "pending_review"
    assert body["line"] is None
    assert body["portrait"]["score"] == pytest.approx(0.84375)
    tx = Transaction.objects.get()
    assert PhoneNumber.objects.get(reserved_for=tx).status == "reserved"
    assert not Line.objects.exists()
    listed = compliance_api.get("/api/v1/reviews/?state=open").json()["results"]
    assert [r["reference"] for r in listed] == [tx.reference]
    assert listed[0]["cause"] == "score"
    assert listed[0]["clerk"] == tx.staff.username


def test_a_score_below_refuse_is_409_and_stores_no_image(clerk_api, pictured, consent, inventory):
    response = post_tx(clerk_api, opening(pictured(), consent, portrait=live(25)))
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "portrait_mismatch"
    tx = Transaction.objects.get()
    assert tx.state == TransactionState.REJECTED
    assert tx.refusal_code == "portrait_mismatch"
    assert not Portrait.objects.exists()
    assert not PhoneNumber.objects.filter(status="reserved").exists()


def test_liveness_failed_is_refused_even_with_a_perfect_score(
    clerk_api, pictured, consent, inventory
):
    response = post_tx(clerk_api, opening(pictured(), consent, portrait=live(0, "failed")))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "portrait_mismatch"
    assert not Portrait.objects.exists()


def test_liveness_not_checked_goes_to_review(clerk_api, pictured, consent, inventory):
    response = post_tx(clerk_api, opening(pictured(), consent, portrait=live(0, "not_checked")))
    assert response.status_code == 202
    assert PortraitReview.objects.get().cause == "liveness_not_checked"


def test_a_citizen_without_a_reference_goes_to_review(clerk_api, pictured, consent, inventory):
    response = post_tx(clerk_api, opening(pictured(None), consent, portrait=live(0)))
    assert response.status_code == 202
    assert PortraitReview.objects.get().cause == "no_reference"


def test_a_capture_exception_always_goes_to_review(clerk_api, pictured, consent, inventory):
    block = {"exception": "cannot_capture", "reason": "face covered by medical dressing"}
    response = post_tx(clerk_api, opening(pictured(), consent, portrait=block))
    assert response.status_code == 202, response.json()
    review = PortraitReview.objects.get()
    assert review.cause == "exception"
    portrait = Portrait.objects.get()
    assert portrait.exception
    assert portrait.image_enc is None
    assert b"medical" not in bytes(portrait.reason_enc)


def test_the_operators_thresholds_decide(alpha, clerk_api, pictured, consent, inventory):
    alpha.portrait_pass = 0.80
    alpha.save()
    response = post_tx(clerk_api, opening(pictured(), consent, portrait=live(10)))
    assert response.status_code == 201


# --- Policy and bad input ----------------------------------------------------------------


def test_policy_required_without_a_portrait_is_400_portrait_required(
    alpha, clerk_api, pictured, consent, inventory
):
    alpha.portrait_policy = "required"
    alpha.save()
    response = post_tx(clerk_api, opening(pictured(), consent))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "portrait_required"
    assert "portrait" in error["fields"]
    assert not Transaction.objects.exists()
    assert not Person.objects.exists()


def test_policy_off_takes_an_opening_without_a_portrait(clerk_api, pictured, consent, inventory):
    assert post_tx(clerk_api, opening(pictured(), consent)).status_code == 201


def test_a_transfer_takes_the_new_holders_portrait(alpha, clerk_api, pictured, consent, inventory):
    alpha.portrait_policy = "required"
    alpha.save()
    holder = pictured()
    first = post_tx(clerk_api, opening(holder, consent, portrait=live(0)))
    assert first.status_code == 201
    body = {
        "kind": "mobile_transfer",
        "line": first.json()["line"]["number"],
        "holder": api_block(holder),
        "new_holder": api_block(pictured()),
        "consent": {"notice": consent.notice_hash, "given": True},
    }
    assert post_tx(clerk_api, body).json()["error"]["code"] == "portrait_required"
    done = post_tx(clerk_api, {**body, "portrait": live(0)})
    assert done.status_code == 201, done.json()
    tx = Transaction.objects.get(kind="mobile_transfer")
    assert tx.portrait.person_id == tx.new_holder_id


def test_a_kind_that_takes_no_portrait_refuses_one(clerk_api, pictured, consent, inventory):
    identity = pictured()
    line = post_tx(clerk_api, opening(identity, consent)).json()["line"]["number"]
    body = {
        "kind": "line_close",
        "line": line,
        "applicant": api_block(identity),
        "consent": {"notice": consent.notice_hash, "given": True},
        "portrait": live(0),
    }
    response = post_tx(clerk_api, body)
    assert response.status_code == 400
    assert "portrait" in response.json()["error"]["fields"]


def _bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG header claiming a huge image over a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def _too_large() -> bytes:
    image = Image.effect_noise((1100, 1100), 120).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    raw = out.getvalue()
    assert len(raw) > portraits.MAX_IMAGE_BYTES
    return raw


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"GIF89a not really an image at all", id="not-an-image"),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'/>", id="svg"),
        pytest.param(None, id="too-large"),
        pytest.param(_bomb_png(), id="decompression-bomb"),
        pytest.param(pattern_image(BITS)[:200], id="truncated"),
    ],
)
def test_a_bad_image_is_400_on_portrait_image_and_stores_nothing(
    raw, clerk_api, pictured, consent, inventory
):
    raw = _too_large() if raw is None else raw
    block = {"image": b64(raw), "liveness": "passed"}
    response = post_tx(clerk_api, opening(pictured(), consent, portrait=block))
    assert response.status_code == 400, response.json()
    assert "portrait.image" in response.json()["error"]["fields"]
    assert not Transaction.objects.exists()
    assert not Portrait.objects.exists()


def test_a_gif_pretending_to_be_png_is_refused(clerk_api, pictured, consent, inventory):
    out = io.BytesIO()
    Image.new("RGB", (64, 64)).save(out, format="GIF")
    block = {"image": "data:image/png;base64," + b64(out.getvalue()), "liveness": "passed"}
    response = post_tx(clerk_api, opening(pictured(), consent, portrait=block))
    assert response.status_code == 400
    assert "portrait.image" in response.json()["error"]["fields"]


def test_not_base64_and_a_missing_liveness_are_400(clerk_api, pictured, consent, inventory):
    identity = pictured()
    bad = post_tx(
        clerk_api, opening(identity, consent, portrait={"image": "%%%", "liveness": "passed"})
    )
    assert bad.status_code == 400
    assert "portrait.image" in bad.json()["error"]["fields"]
    no_liveness = {"image": live(0)["image"]}
    missing = post_tx(clerk_api, opening(identity, consent, portrait=no_liveness))
    assert missing.status_code == 400
    assert "portrait.liveness" in missing.json()["error"]["fields"]


def test_the_stored_image_has_no_metadata():
    out = io.BytesIO()
    image = Image.new("RGB", (64, 64), (10, 200, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"  # Make
    exif[0x9286] = "near the applicant's home"  # UserComment
    image.save(out, format="JPEG", exif=exif.tobytes())
    assert b"SecretCameraMaker" in out.getvalue()
    clean = portraits.image_clean(out.getvalue())
    assert b"SecretCameraMaker" not in clean
    assert b"Exif" not in clean
    assert Image.open(io.BytesIO(clean)).getexif() == {}


def test_a_retried_request_with_the_same_key_replays_the_review(
    clerk_api, pictured, consent, inventory
):
    body = opening(pictured(), consent, portrait=live(10))
    first = post_tx(clerk_api, body, key="portrait-retry-0001")
    again = post_tx(clerk_api, body, key="portrait-retry-0001")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert Transaction.objects.count() == PortraitReview.objects.count() == 1


# --- The review queue --------------------------------------------------------------------


@pytest.fixture
def in_review(clerk_api, pictured, consent, inventory):
    def make(flipped=10):
        response = post_tx(clerk_api, opening(pictured(), consent, portrait=live(flipped)))
        assert response.status_code == 202, response.json()
        return PortraitReview.objects.get(transaction__uid=response.json()["id"])

    return make


def test_approve_completes_the_transaction_and_activates_the_line(
    in_review, compliance_api, alpha_compliance
):
    review = in_review()
    response = decide(compliance_api, review.uid, "approve")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "approved"
    tx = Transaction.objects.get()
    assert tx.state == TransactionState.COMPLETED
    assert tx.line.status == "active"
    assert tx.portrait_outcome == "approved"
    assert tx.applicant.verification_status == "verified"
    review.refresh_from_db()
    assert review.decided_by == alpha_compliance.user
    assert review.decision_reason == "checked the two images"
    again = decide(compliance_api, review.uid, "refuse")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "review_decided"


def test_refuse_rejects_and_releases_the_number_and_erases_the_image(in_review, compliance_api):
    review = in_review()
    number = review.transaction.number
    assert decide(compliance_api, review.uid, "refuse").status_code == 200
    tx = Transaction.objects.get()
    assert tx.state == TransactionState.REJECTED
    assert tx.refusal_code == "portrait_refused"
    assert PhoneNumber.objects.get(number=number).status == "available"
    assert Portrait.objects.get().image_enc is None
    assert not Line.objects.exists()


def test_a_decision_needs_a_reason(in_review, compliance_api):
    review = in_review()
    response = decide(compliance_api, review.uid, "approve", reason=" ")
    assert response.status_code == 400
    assert PortraitReview.objects.get().state == ReviewState.OPEN


def test_the_store_manager_who_took_it_gets_four_eyes(
    alpha, alpha_clerk, make_staff, api_client_for, pictured, consent, inventory
):
    manager = make_staff(alpha, Role.STORE_MANAGER, store=alpha_clerk.store)
    manager_api = api_client_for(manager)
    response = post_tx(manager_api, opening(pictured(), consent, portrait=live(10)))
    assert response.status_code == 202
    review = PortraitReview.objects.get()
    refused = decide(manager_api, review.uid, "approve")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "four_eyes"
    reveal = manager_api.post(
        f"/api/v1/reviews/{review.uid}/reveal/", {"reason": "my own case"}, format="json"
    )
    assert reveal.status_code == 403
    assert PortraitReview.objects.get().state == ReviewState.OPEN


def test_another_store_manager_of_the_store_may_decide(
    alpha, alpha_clerk, make_staff, api_client_for, in_review
):
    review = in_review()
    manager = make_staff(alpha, Role.STORE_MANAGER, store=alpha_clerk.store)
    assert decide(api_client_for(manager), review.uid, "approve").status_code == 200


def test_a_clerk_cannot_review_at_all(in_review, clerk_api, alpha, make_staff, api_client_for):
    review = in_review()
    other_clerk = api_client_for(make_staff(alpha, Role.CLERK))
    assert other_clerk.get("/api/v1/reviews/").status_code == 403
    assert decide(other_clerk, review.uid, "approve").status_code == 403


def test_another_operators_reviewer_gets_404(in_review, beta, make_staff, api_client_for):
    review = in_review()
    beta_compliance = api_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert beta_compliance.get("/api/v1/reviews/").json()["results"] == []
    assert decide(beta_compliance, review.uid, "approve").status_code == 404
    reveal = beta_compliance.post(
        f"/api/v1/reviews/{review.uid}/reveal/", {"reason": "curious"}, format="json"
    )
    assert reveal.status_code == 404
    assert decide(beta_compliance, uuid.uuid4(), "approve").status_code == 404
    assert PortraitReview.objects.get().state == ReviewState.OPEN


def test_the_reveal_shows_both_images_and_is_in_the_access_log(
    in_review, compliance_api, alpha_compliance
):
    review = in_review()
    response = compliance_api.post(
        f"/api/v1/reviews/{review.uid}/reveal/", {"reason": "portrait review"}, format="json"
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    images = response.json()
    live_hash = portraits.average_hash(base64.b64decode(images["live"]))
    reference_hash = portraits.average_hash(base64.b64decode(images["reference"]))
    assert reference_hash == BITS
    assert portraits.hash_score(live_hash, reference_hash) == pytest.approx(0.84375)
    entry = AccessLogEntry.objects.get(purpose="portrait_review")
    assert entry.actor == alpha_compliance.user
    assert entry.person == review.transaction.applicant
    no_reason = compliance_api.post(
        f"/api/v1/reviews/{review.uid}/reveal/", {"reason": "x"}, format="json"
    )
    assert no_reason.status_code == 400


def test_an_expired_review_rejects_and_releases_the_number(in_review, compliance_api):
    review = in_review()
    number = review.transaction.number
    call_command("expire_portrait_reviews")
    assert PortraitReview.objects.get().state == ReviewState.OPEN  # not due yet
    later = (timezone.now() + dt.timedelta(hours=25)).isoformat()
    call_command("expire_portrait_reviews", "--now", later)
    review.refresh_from_db()
    assert review.state == ReviewState.EXPIRED
    tx = Transaction.objects.get()
    assert tx.state == TransactionState.REJECTED
    assert tx.refusal_code == "portrait_review_expired"
    assert PhoneNumber.objects.get(number=number).status == "available"
    assert Portrait.objects.get().image_enc is None
    assert decide(compliance_api, review.uid, "approve").status_code == 409


def test_the_beat_task_expires_by_the_same_path(in_review):
    from registration.tasks import expire_portrait_reviews

    in_review()
    later = (timezone.now() + dt.timedelta(hours=25)).isoformat()
    assert expire_portrait_reviews(later) == 1
    assert Transaction.objects.get().state == TransactionState.REJECTED


# --- Keeping and shredding ---------------------------------------------------------------


def test_the_portrait_is_sealed_to_its_row_and_shredded_with_the_person(
    clerk_api, pictured, consent, inventory
):
    post_tx(clerk_api, opening(pictured(), consent, portrait=live(0)))
    portrait = Portrait.objects.select_related("person").get()
    blob = bytes(portrait.image_enc)
    image = vault.open_image(portrait.person, context=portrait.context, field="portrait", blob=blob)
    assert portraits.average_hash(image) == BITS
    with pytest.raises(Exception):  # noqa: B017, PT011 - bound to its row: another context fails
        vault.open_image(portrait.person, context="portrait:other", field="portrait", blob=blob)
    person = portrait.person
    Line.objects.filter(holder=person).update(status="closed")
    Person.objects.filter(pk=person.pk).update(lines_held=0)
    person.refresh_from_db()
    services.person_shred(person=person)
    person.refresh_from_db()
    portrait.refresh_from_db()
    assert portrait.image_enc is None
    assert portrait.erased_at is not None
    # A copy of the ciphertext (a backup) is unreadable without the data key.
    with pytest.raises(PersonShredded):
        vault.open_image(person, context=portrait.context, field="portrait", blob=blob)


def test_the_operators_portrait_retention_erases_it_with_the_retention_run(
    alpha, clerk_api, pictured, consent, inventory
):
    alpha.portrait_retention_days = 30
    alpha.save()
    post_tx(clerk_api, opening(pictured(), consent, portrait=live(0)))
    portrait = Portrait.objects.get()
    assert portrait.keep_until is not None
    services.retention_run(now=timezone.now() + dt.timedelta(days=10))
    portrait.refresh_from_db()
    assert portrait.image_enc is not None
    services.retention_run(now=timezone.now() + dt.timedelta(days=31))
    portrait.refresh_from_db()
    assert portrait.image_enc is None
    assert portrait.reference_enc is None
    # The person and the line live on: only the portrait's term ended.
    assert Line.objects.get().status == "active"


# --- The decision at its boundaries ------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "liveness", "decision"),
    [
        (0.90, "passed", "pass"),  # exactly the pass score goes on
        (0.89, "passed", "review"),
        (0.70, "passed", "review"),  # exactly the refuse score is reviewed
        (0.69, "passed", "refuse"),
        (1.00, "not_checked", "review"),
        (1.00, "failed", "refuse"),
        (0.50, "not_checked", "refuse"),
    ],
)
def test_the_decision_at_the_thresholds(alpha, score, liveness, decision):
    from registration.portrait_check import CleanPortrait, decide

    match = portraits.MatchResult(portraits.MatchOutcome.SCORED, score, "test")
    portrait = CleanPortrait(image=b"x", liveness=liveness)
    assert decide(alpha, portrait, match).decision == decision


def test_no_answer_waits_and_an_exception_needs_no_matcher(alpha):
    from registration.portrait_check import CleanPortrait, decide

    down = portraits.MatchResult(portraits.MatchOutcome.UNAVAILABLE, backend="test")
    assert decide(alpha, CleanPortrait(image=b"x", liveness="passed"), down).decision == "wait"
    assert decide(alpha, CleanPortrait(image=None, reason="bandage"), None).decision == "review"
