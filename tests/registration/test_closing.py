"""Closing a line (issue 13): the holder's ``line_close`` and the operator's
``POST /api/v1/lines/{number}/close/`` reach one service whose effects are
checked here one by one; the number's quarantine and release with a
controlled clock (``--now``); the retention clock and ``--dry-run``; legal
holds. On PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from config.api import InvalidInput
from identity import authority
from identity.authority import AuthorityResult, Outcome, utc_now
from identity.errors import PersonHeld
from identity.models import AccessLogEntry, Person
from identity.services import person_shred
from operators.roles import Role
from registration import alerts, closing, services, tasks
from registration.errors import HolderMismatch, LineOnLegalHold, NoLegalHold
from registration.models import (
    CloseReason,
    HolderAlert,
    LegalHold,
    Line,
    LineClosure,
    LineHolding,
    LineService,
    LineStatus,
    NumberStatus,
    PhoneNumber,
    Transaction,
    TransactionState,
)
from reverification.models import (
    Campaign,
    CampaignState,
    Dispute,
    DisputeState,
    RequestState,
    ReverificationRequest,
)
from tests.registration.conftest import api_block

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox" / "file.jsonl"


def outbox_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, tuple]]:
    """What would have been published after commits, as (task name, args)."""
    sent: list[tuple[str, tuple]] = []

    def record(task, *args, **options) -> bool:
        sent.append((task.name.rsplit(".", 1)[-1], args))
        return True

    for module in (closing, services, tasks):
        monkeypatch.setattr(module, "enqueue", record)
    return sent


@pytest.fixture
def officer_api(alpha_compliance, api_client_for):
    return api_client_for(alpha_compliance)


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


def close_api(client, number: str, body: dict, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"/api/v1/lines/{number}/close/", body, format="json", **headers)


def consent_block(consent) -> dict:
    return {"notice": consent.notice_hash, "given": True}


@pytest.fixture
def held_line(open_mobile, published):
    """A completed mobile opening: (line, identity of its holder)."""
    tx, identity = open_mobile()
    return tx.line, identity


# --- The holder's line_close -------------------------------------------------------------


def test_the_holder_closes_their_line_through_the_service(held_line, submit, settings):
    line, identity = held_line
    tx = submit("line_close", line=line.number, applicant=identity)
    assert tx.state == TransactionState.COMPLETED
    line.refresh_from_db()
    assert line.status == LineStatus.CLOSED
    assert line.close_reason == CloseReason.HOLDER_REQUEST
    assert line.closed_at is not None
    closure = LineClosure.objects.get(line=line)
    assert closure.transaction == tx
    assert closure.actor == tx.staff
    number = PhoneNumber.objects.get(number=line.number)
    assert number.status == NumberStatus.QUARANTINED
    assert number.quarantined_until == line.closed_at + settings.TELEREG_QUARANTINE_DAYS * DAY
    assert closure.number_available_at == number.quarantined_until


def test_line_close_by_someone_who_is_not_the_holder_is_refused(held_line, submit, citizen):
    line, _ = held_line
    with pytest.raises(HolderMismatch):
        submit("line_close", line=line.number, applicant=citizen())
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert not LineClosure.objects.exists()
    refused = Transaction.objects.get(kind="line_close")
    assert refused.state == TransactionState.REJECTED
    assert refused.refusal_code == "holder_mismatch"


def test_line_close_through_the_api_answers_201_with_the_closed_line(held_line, clerk_api, consent):
    line, identity = held_line
    body = {
        "kind": "line_close",
        "line": line.number,
        "applicant": api_block(identity),
        "consent": consent_block(consent),
    }
    response = clerk_api.post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "line_close"
    assert response.json()["line"]["status"] == "closed"
    assert identity.name not in response.content.decode()


def test_line_close_through_the_api_by_the_wrong_person_is_409_holder_mismatch(
    held_line, clerk_api, consent, citizen
):
    line, _ = held_line
    body = {
        "kind": "line_close",
        "line": line.number,
        "applicant": api_block(citizen()),
        "consent": consent_block(consent),
    }
    response = clerk_api.post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "holder_mismatch"
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


def test_line_close_without_consent_stores_nothing_and_closes_nothing(
    held_line, clerk_api, consent
):
    line, identity = held_line
    body = {
        "kind": "line_close",
        "line": line.number,
        "applicant": api_block(identity),
        "consent": {"notice": consent.notice_hash, "given": False},
    }
    response = clerk_api.post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "consent_refused"
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


# --- The operator's closing --------------------------------------------------------------


def test_a_compliance_officer_closes_a_line_with_a_reason(held_line, officer_api):
    line, identity = held_line
    response = close_api(officer_api, line.number, {"reason": "fraud", "note": "case 2026-17"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "closed"
    assert body["close_reason"] == "fraud"
    assert body["closed_at"] is not None
    assert identity.name not in response.content.decode()
    closure = LineClosure.objects.get(line=line)
    assert closure.reason == CloseReason.FRAUD
    assert closure.note == "case 2026-17"
    assert closure.transaction is None
    assert closure.actor.staff.role == Role.COMPLIANCE_OFFICER


def test_an_operator_admin_may_close_a_line_too(held_line, alpha, make_staff, api_client_for):
    line, _ = held_line
    client = api_client_for(make_staff(alpha, Role.OPERATOR_ADMIN))
    response = close_api(client, line.number, {"reason": "non_payment"})
    assert response.status_code == 200
    assert response.json()["close_reason"] == "non_payment"


@pytest.mark.parametrize("role", [Role.CLERK, Role.STORE_MANAGER])
def test_store_staff_get_403_on_the_operators_closing(
    held_line, alpha, make_staff, api_client_for, role
):
    line, _ = held_line
    response = close_api(api_client_for(make_staff(alpha, role)), line.number, {"reason": "fraud"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_not_allowed"
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


def test_another_operators_line_answers_404(held_line, beta, make_staff, api_client_for):
    line, _ = held_line
    client = api_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    response = close_api(client, line.number, {"reason": "fraud"})
    assert response.status_code == 404
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "bored"}, "reason"),
        ({"reason": "holder_request"}, "reason"),
        ({}, "reason"),
        ({"reason": "fraud", "note": "a\x00b"}, "note"),
        ({"reason": "fraud", "note": "x" * 301}, "note"),
        ({"reason": "fraud", "note": "zero\u200bwidth"}, "note"),
    ],
)
def test_a_bad_closing_is_400_on_its_field_and_changes_nothing(held_line, officer_api, body, field):
    line, _ = held_line
    response = close_api(officer_api, line.number, body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert not LineClosure.objects.exists()


def test_a_bad_number_is_400_and_an_unknown_one_404(officer_api, inventory):
    assert close_api(officer_api, "not-a-number", {"reason": "fraud"}).status_code == 400
    assert close_api(officer_api, "+8613800138019", {"reason": "fraud"}).status_code == 404


def test_a_replayed_closing_answers_the_same_and_closes_once(held_line, officer_api, published):
    line, _ = held_line
    first = close_api(officer_api, line.number, {"reason": "fraud"}, key="close-0001")
    second = close_api(officer_api, line.number, {"reason": "fraud"}, key="close-0001")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    reused = close_api(officer_api, line.number, {"reason": "other"}, key="close-0001")
    assert reused.status_code == 422
    assert LineClosure.objects.count() == 1
    assert HolderAlert.objects.filter(closure__line=line).count() == 1


def test_closing_a_closed_line_again_keeps_the_first_closing(held_line, officer_api):
    line, _ = held_line
    close_api(officer_api, line.number, {"reason": "fraud"})
    again = close_api(officer_api, line.number, {"reason": "deceased"})
    assert again.status_code == 200
    assert again.json()["close_reason"] == "fraud"
    assert LineClosure.objects.count() == 1


def test_a_closed_line_stays_readable_until_its_number_is_given_again(
    held_line, officer_api, open_mobile, settings
):
    line, _ = held_line
    close_api(officer_api, line.number, {"reason": "court_order"})
    shown = officer_api.get(f"/api/v1/lines/{line.number}/")
    assert shown.status_code == 200
    assert shown.json()["status"] == "closed"
    assert shown.json()["close_reason"] == "court_order"
    # Rested and given back: the number now names the new line.
    closing.numbers_release_due(now=timezone.now() + (settings.TELEREG_QUARANTINE_DAYS + 1) * DAY)
    new_tx, _ = open_mobile(number=line.number)
    shown = officer_api.get(f"/api/v1/lines/{line.number}/")
    assert shown.json()["status"] == "active"
    assert shown.json()["closed_at"] is None
    assert shown.json()["close_reason"] is None
    assert new_tx.line.pk != line.pk


# --- The effects, each -------------------------------------------------------------------


def test_closing_ends_the_lines_services_and_holding(held_line, submit, catalog):
    line, identity = held_line
    submit("service_add", line=line.number, applicant=identity, service="intl_roaming")
    closure = closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
    assert not LineService.objects.filter(line=line, deactivated_at__isnull=True).exists()
    assert LineService.objects.get(line=line).deactivated_at == closure.closed_at
    assert LineHolding.objects.get(line=line).ended_at == closure.closed_at


def test_closing_cancels_open_requests_and_disputes_of_that_line_only(
    held_line, open_mobile, alpha
):
    line, identity = held_line
    other_tx, _ = open_mobile()
    campaign = Campaign.objects.create(
        operator=alpha, name="Legacy", deadline=timezone.localdate() + 30 * DAY,
        state=CampaignState.RUNNING,
    )  # fmt: skip
    now = timezone.now()

    def request_for(target, state):
        return ReverificationRequest.objects.create(
            campaign=campaign,
            line=target,
            person_id=target.holder_id,
            operator=alpha,
            state=state,
            deadline=campaign.deadline,
            created_at=now,
        )

    waiting = request_for(line, RequestState.PENDING)
    elsewhere = request_for(other_tx.line, RequestState.PENDING)
    dispute = Dispute.objects.create(operator=alpha, line=line, person_id=line.holder_id)
    other_dispute = Dispute.objects.create(
        operator=alpha, line=other_tx.line, person_id=line.holder_id
    )
    closing.line_close(line=line, reason=CloseReason.FRAUD, actor=None)
    for row in (waiting, elsewhere, dispute, other_dispute):
        row.refresh_from_db()
    assert waiting.state == RequestState.CANCELLED
    assert elsewhere.state == RequestState.PENDING
    assert dispute.state == DisputeState.CANCELLED
    assert dispute.resolved_at is not None
    assert other_dispute.state == DisputeState.OPEN


def test_closing_rejects_transactions_still_waiting_on_the_line(held_line, alpha_clerk):
    line, _ = held_line
    waiting = Transaction.objects.create(
        reference="ALPHA-WAITING-1",
        kind="service_add",
        state=TransactionState.PENDING_VERIFICATION,
        operator=line.operator,
        store=alpha_clerk.store,
        staff=alpha_clerk.user,
        line=line,
        line_kind=line.kind,
        number=line.number,
        applicant_identity_enc=b"sealed",
        next_verification_at=timezone.now(),
    )
    closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
    waiting.refresh_from_db()
    assert waiting.state == TransactionState.REJECTED
    assert waiting.refusal_code == "line_closed"
    assert waiting.applicant_identity_enc is None
    assert waiting.next_verification_at is None


def test_closing_starts_the_retention_clock_only_with_the_last_line(
    open_mobile, citizen, published
):
    identity = citizen()
    first, _ = open_mobile(identity)
    second, _ = open_mobile(identity)
    person = Person.objects.get(pk=first.applicant_id)
    closing.line_close(line=first.line, reason=CloseReason.OTHER, actor=None)
    person.refresh_from_db()
    assert person.lines_held == 1
    assert person.last_line_closed_at is None
    last = closing.line_close(line=second.line, reason=CloseReason.OTHER, actor=None)
    person.refresh_from_db()
    assert person.lines_held == 0
    assert person.last_line_closed_at == last.closed_at


def test_the_holder_is_told_on_the_closed_line_and_their_other_lines(
    open_mobile, citizen, outbox, published, django_capture_on_commit_callbacks
):
    identity = citizen()
    first, _ = open_mobile(identity)
    second, _ = open_mobile(identity)
    stranger, _ = open_mobile()
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        closure = closing.line_close(line=first.line, reason=CloseReason.FRAUD, actor=None)
    assert published == [("send_closure_alert", (closure.pk,))]
    assert alerts.closure_alert_send(closure_id=closure.pk) == 2
    told = [line for line in outbox_lines(outbox) if line["kind"] == "alert"]
    assert sorted(line["to"] for line in told) == sorted([first.line.number, second.line.number])
    assert stranger.line.number not in {line["to"] for line in told}
    text = told[0]["text"]
    assert first.line.number[-4:] in text
    assert "银行" in text or "bank" in text
    assert identity.name not in text
    assert alerts.closure_alert_send(closure_id=closure.pk) == 0  # redelivered: nothing twice
    assert HolderAlert.objects.get(closure=closure).done_at is not None


def test_the_closing_alert_speaks_the_holders_language(
    open_mobile, citizen, outbox, published, settings
):
    first, _ = open_mobile(citizen(language="en"))
    closure = closing.line_close(line=first.line, reason=CloseReason.OTHER, actor=None)
    alerts.closure_alert_send(closure_id=closure.pk)
    (told,) = outbox_lines(outbox)
    assert told["language"] == "en"
    assert "bank" in told["text"]
    assert told["link"].endswith("/my-lines/?operator=alpha&lang=en")


def test_a_lost_closing_alert_is_swept_and_sent_once(open_mobile, outbox, published, settings):
    tx, _ = open_mobile()
    closure = closing.line_close(line=tx.line, reason=CloseReason.OTHER, actor=None)
    later = timezone.now() + dt.timedelta(seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS + 1)
    published.clear()
    tasks.requeue_overdue_alerts(now=later)
    assert ("send_closure_alert", (closure.pk,)) in published
    assert tasks.send_closure_alert(closure.pk) == 1
    assert tasks.send_closure_alert(closure.pk) == 0
    assert alerts.closure_alerts_requeue_overdue(now=later + DAY) == []


# --- Quarantine and release ----------------------------------------------------------------


def test_release_numbers_gives_a_number_back_only_after_its_quarantine(held_line, settings):
    line, _ = held_line
    closure = closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
    before = (closure.number_available_at - dt.timedelta(minutes=1)).isoformat()
    after = (closure.number_available_at + dt.timedelta(minutes=1)).isoformat()
    out = StringIO()
    call_command("release_numbers", "--now", before, stdout=out)
    assert "released 0 number(s)" in out.getvalue()
    assert PhoneNumber.objects.get(number=line.number).status == NumberStatus.QUARANTINED
    out = StringIO()
    call_command("release_numbers", "--now", after, stdout=out)
    assert "released 1 number(s)" in out.getvalue()
    number = PhoneNumber.objects.get(number=line.number)
    assert number.status == NumberStatus.AVAILABLE
    assert number.quarantined_until is None


def test_a_quarantine_of_zero_days_makes_the_number_available_at_the_next_run(held_line, settings):
    settings.TELEREG_QUARANTINE_DAYS = 0
    line, _ = held_line
    closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
    assert PhoneNumber.objects.get(number=line.number).status == NumberStatus.QUARANTINED
    assert tasks.release_numbers() == 1
    assert PhoneNumber.objects.get(number=line.number).status == NumberStatus.AVAILABLE


def test_the_operators_quarantine_term_wins_over_the_default(held_line, alpha, settings):
    settings.TELEREG_QUARANTINE_DAYS = 0
    alpha.quarantine_days = 3
    alpha.save()
    line, _ = held_line
    closure = closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
    assert closure.number_available_at == closure.closed_at + 3 * DAY
    assert tasks.release_numbers() == 0
    assert tasks.release_numbers(now=(closure.closed_at + 3 * DAY).isoformat()) == 1


def test_the_old_task_name_and_beat_run_the_same_release(held_line, settings):
    assert (
        settings.CELERY_BEAT_SCHEDULE["quarantine-release"]["task"]
        == "registration.tasks.release_numbers"
    )
    settings.TELEREG_QUARANTINE_DAYS = 0
    line, _ = held_line
    closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
    assert tasks.release_quarantined_numbers() == 1


def test_release_leaves_numbers_in_use_and_reserved_alone(inventory, open_mobile):
    tx, _ = open_mobile()
    assert closing.numbers_release_due(now=timezone.now() + 1000 * DAY) == 0
    assert PhoneNumber.objects.get(number=tx.line.number).status == NumberStatus.ASSIGNED


@pytest.mark.parametrize("value", ["yesterday", "2027-13-01T00:00", "2027-01-01\x00"])
def test_a_bad_now_is_refused_cleanly(value, db):
    with pytest.raises(CommandError):
        call_command("release_numbers", "--now", value)
    with pytest.raises(CommandError):
        call_command("run_retention", "--now", value)


# --- Retention ----------------------------------------------------------------------------


def test_run_retention_dry_run_lists_who_is_due_and_changes_nothing(held_line, alpha, settings):
    line, identity = held_line
    closure = closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
    person = Person.objects.get(pk=line.holder_id)
    logged = AccessLogEntry.objects.count()
    past = (closure.closed_at + (alpha.retention_days + 1) * DAY).isoformat()
    out = StringIO()
    call_command("run_retention", "--now", past, "--dry-run", stdout=out)
    output = out.getvalue()
    assert f"person {person.pk} ({person.uid})" in output
    assert "last line closed" in output
    assert f"{alpha.retention_days} days" in output
    assert "would erase 1 person(s); nothing was changed" in output
    assert identity.name not in output
    assert identity.id_number not in output
    person.refresh_from_db()
    assert not person.is_shredded
    assert AccessLogEntry.objects.count() == logged
    early = StringIO()
    call_command("run_retention", "--now", closure.closed_at.isoformat(), "--dry-run", stdout=early)
    assert "would erase 0 person(s)" in early.getvalue()


# --- Legal holds --------------------------------------------------------------------------


def test_a_held_line_cannot_be_closed_from_either_side(
    held_line, alpha_compliance, officer_api, clerk_api, consent
):
    line, identity = held_line
    hold = closing.legal_hold_set(line=line, reason="Disclosure D-17", actor=alpha_compliance.user)
    assert hold.set_by == alpha_compliance.user
    assert hold.set_at is not None
    response = close_api(officer_api, line.number, {"reason": "fraud"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "legal_hold"
    body = {
        "kind": "line_close",
        "line": line.number,
        "applicant": api_block(identity),
        "consent": consent_block(consent),
    }
    response = clerk_api.post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "legal_hold"
    with pytest.raises(LineOnLegalHold):
        closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    lifted = closing.legal_hold_lift(line=line, reason="Case closed", actor=alpha_compliance.user)
    assert lifted.lifted_by == alpha_compliance.user
    assert lifted.lifted_at is not None
    assert close_api(officer_api, line.number, {"reason": "fraud"}).status_code == 200


def test_a_held_holder_is_not_shredded_until_the_hold_is_lifted(held_line, alpha, alpha_compliance):
    line, _ = held_line
    closure = closing.line_close(line=line, reason=CloseReason.DECEASED, actor=None)
    closing.legal_hold_set(line=line, reason="Court order 88", actor=alpha_compliance.user)
    person = Person.objects.get(pk=line.holder_id)
    past = (closure.closed_at + (alpha.retention_days + 1) * DAY).isoformat()
    out = StringIO()
    call_command("run_retention", "--now", past, "--dry-run", stdout=out)
    assert "would erase 0 person(s)" in out.getvalue()
    call_command("run_retention", "--now", past, stdout=StringIO())
    person.refresh_from_db()
    assert not person.is_shredded
    with pytest.raises(PersonHeld):
        person_shred(person=person)
    closing.legal_hold_lift(line=line, reason="Released", actor=alpha_compliance.user)
    out = StringIO()
    call_command("run_retention", "--now", past, stdout=out)
    assert "erased 1 person(s)" in out.getvalue()
    person.refresh_from_db()
    assert person.is_shredded


def test_a_second_hold_keeps_the_first_and_lifting_nothing_is_refused(held_line, alpha_compliance):
    line, _ = held_line
    first = closing.legal_hold_set(line=line, reason="D-1", actor=alpha_compliance.user)
    again = closing.legal_hold_set(line=line, reason="D-2", actor=alpha_compliance.user)
    assert again.pk == first.pk
    assert LegalHold.objects.count() == 1
    closing.legal_hold_lift(line=line, reason="done", actor=alpha_compliance.user)
    with pytest.raises(NoLegalHold):
        closing.legal_hold_lift(line=line, reason="again", actor=alpha_compliance.user)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301, "nul\x00here"])
def test_a_hold_needs_a_clean_reason(held_line, alpha_compliance, reason):
    line, _ = held_line
    with pytest.raises(InvalidInput) as refused:
        closing.legal_hold_set(line=line, reason=reason, actor=alpha_compliance.user)
    assert "reason" in refused.value.fields
    assert not LegalHold.objects.exists()


def test_a_held_persons_other_lines_closing_keeps_them_held(
    open_mobile, citizen, alpha_compliance, published
):
    identity = citizen()
    first, _ = open_mobile(identity)
    second, _ = open_mobile(identity)
    closing.legal_hold_set(line=first.line, reason="D-9", actor=alpha_compliance.user)
    closing.line_close(line=second.line, reason=CloseReason.OTHER, actor=None)
    assert Person.objects.get(pk=first.applicant_id).retention_held is True
    assert Line.objects.get(pk=first.line.pk).status == LineStatus.ACTIVE


# --- A holder's closing that waits for the authority ---------------------------------------


class _Unavailable:
    name = "test-down"

    def verify(self, identity):
        return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-x", utc_now(), self.name)


@pytest.fixture
def switch(monkeypatch):
    """The simulated authority, unreachable while ``switch.down`` is true."""
    state = SimpleNamespace(down=True)
    real = authority.get_backend
    monkeypatch.setattr(authority, "get_backend", lambda: _Unavailable() if state.down else real())
    return state


def test_a_waiting_line_close_closes_through_the_same_service_once_verified(
    held_line, submit, switch
):
    line, identity = held_line
    tx = submit("line_close", line=line.number, applicant=identity)
    assert tx.state == TransactionState.PENDING_VERIFICATION
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert PhoneNumber.objects.get(number=line.number).status == NumberStatus.ASSIGNED
    switch.down = False
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.COMPLETED
    line.refresh_from_db()
    assert line.status == LineStatus.CLOSED
    closure = LineClosure.objects.get(line=line)
    assert closure.transaction_id == tx.pk
    assert closure.reason == CloseReason.HOLDER_REQUEST
    assert PhoneNumber.objects.get(number=line.number).status == NumberStatus.QUARANTINED


def test_a_waiting_line_close_waits_while_a_hold_is_set_meanwhile(
    held_line, submit, switch, alpha_compliance
):
    line, identity = held_line
    tx = submit("line_close", line=line.number, applicant=identity)
    closing.legal_hold_set(line=line, reason="D-3", actor=alpha_compliance.user)
    switch.down = False
    with pytest.raises(LineOnLegalHold):
        services.transaction_verify_pending(transaction_id=tx.pk)
    tx.refresh_from_db()
    line.refresh_from_db()
    assert tx.state == TransactionState.PENDING_VERIFICATION
    assert line.status == LineStatus.ACTIVE
    closing.legal_hold_lift(line=line, reason="done", actor=alpha_compliance.user)
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.COMPLETED
