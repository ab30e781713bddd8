"""Sending notices in batches: every request exactly once, whatever happens."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter

import pytest
from django.db.models import F
from django.utils import timezone

from notices.messages import date_for_reading
from operators.roles import Role
from reverification import campaigns, dispatch, tokens
from reverification.models import BatchState, Delivery, DeliveryState, DispatchBatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox" / "file.jsonl"


@pytest.fixture
def campaign(alpha, make_staff, open_mobile):
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    for _ in range(7):
        open_mobile()
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Dispatch",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    campaign.refresh_from_db()
    return campaign


def outbox_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_batches_cover_every_request_once(campaign):
    ids = dispatch.batches_create(campaign=campaign, size=3)
    batches = DispatchBatch.objects.filter(pk__in=ids).order_by("first_request_id")
    assert len(batches) == 3
    covered = []
    for batch in batches:
        covered += list(
            campaign.requests.filter(
                pk__gte=batch.first_request_id, pk__lte=batch.last_request_id
            ).values_list("pk", flat=True)
        )
    assert sorted(covered) == sorted(campaign.requests.values_list("pk", flat=True))
    assert dispatch.batches_create(campaign=campaign, size=3) == ids  # nothing twice


def test_sending_writes_one_line_per_request_in_the_contract_format(campaign, outbox):
    for pk in dispatch.batches_create(campaign=campaign, size=3):
        dispatch.batch_send(batch_id=pk)
    lines = outbox_lines(outbox)
    assert Counter(line["request"] for line in lines) == Counter(
        {pk: 1 for pk in campaign.requests.values_list("pk", flat=True)}
    )
    line = lines[0]
    assert {"channel", "to", "campaign", "request", "kind", "language", "text", "link"} <= set(line)
    assert line["kind"] == "notice"
    assert line["link"].endswith(
        f"/r/{tokens.request_token(line['request'])}?lang={line['language']}"
    )
    assert "****" in line["text"]
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()


def test_a_redelivered_batch_sends_nothing_again(campaign, outbox):
    (pk, *_rest) = dispatch.batches_create(campaign=campaign, size=100)
    assert dispatch.batch_send(batch_id=pk) == 7
    assert dispatch.batch_send(batch_id=pk) == 0
    assert len(outbox_lines(outbox)) == 7


def test_a_worker_killed_between_writing_and_recording_causes_no_duplicate(
    campaign, outbox, monkeypatch
):
    (pk,) = dispatch.batches_create(campaign=campaign, size=100)
    real = dispatch.channels.FileChannel.send_many

    class Killed(BaseException):
        pass

    def write_then_die(self, messages):
        real(self, messages)
        raise Killed

    monkeypatch.setattr(dispatch.channels.FileChannel, "send_many", write_then_die)
    with pytest.raises(Killed):
        dispatch.batch_send(batch_id=pk)
    monkeypatch.undo()
    assert Delivery.objects.filter(state=DeliveryState.INTENT).count() == 7
    assert DispatchBatch.objects.get(pk=pk).state == BatchState.CLAIMED
    # Another worker may not take it while the lease runs...
    assert dispatch.batch_send(batch_id=pk) == 0
    # ...but after the lease expires, beat gives it back and the outbox is reconciled.
    later = timezone.now() + dt.timedelta(minutes=10)
    assert dispatch.batches_requeue_expired(now=later) == [pk]
    assert dispatch.batch_send(batch_id=pk, now=later) == 0
    assert Counter(line["request"] for line in outbox_lines(outbox)).most_common(1)[0][1] == 1
    assert len(outbox_lines(outbox)) == 7
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()


def test_a_paused_campaign_stops_and_resumes_where_it_stopped(
    campaign, outbox, django_capture_on_commit_callbacks
):
    (pk,) = dispatch.batches_create(campaign=campaign, size=100)
    campaigns.campaign_pause(campaign=campaign, actor=None)
    assert dispatch.batch_send(batch_id=pk) == 0
    assert DispatchBatch.objects.get(pk=pk).state == BatchState.QUEUED
    assert outbox_lines(outbox) == []
    with django_capture_on_commit_callbacks() as callbacks:
        campaigns.campaign_resume(campaign=campaign, actor=None)
    assert len(callbacks) == 1  # the queued batch is sent again
    assert dispatch.batch_send(batch_id=pk) == 7


def test_progress_counts_deliveries(campaign, outbox):
    for pk in dispatch.batches_create(campaign=campaign, size=3):
        dispatch.batch_send(batch_id=pk)
    progress = campaigns.campaign_progress(campaign)
    assert progress["requests"] == 7
    assert progress["deliveries"] == {"sent": 7}
    assert progress["send_rate_per_second"] == round(7 / 60, 2)  # sent within the last minute


def test_the_link_in_the_outbox_opens_the_answer_page(campaign, outbox, client):
    (pk,) = dispatch.batches_create(campaign=campaign, size=100)
    dispatch.batch_send(batch_id=pk)
    link = outbox_lines(outbox)[0]["link"]
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200


def test_reminder_of_the_latest_due_stage_is_sent_once(campaign, outbox):
    for pk in dispatch.batches_create(campaign=campaign, size=100):
        dispatch.batch_send(batch_id=pk)
    # Eight days before the deadline: the 7-day reminder is not due yet.
    eight_before = timezone.now() + dt.timedelta(days=12)
    assert campaigns.reverification_cycle(now=eight_before).batches == ()
    six_before = timezone.now() + dt.timedelta(days=14)
    for _ in range(2):  # the cycle runs every few minutes: still once
        for pk in campaigns.reverification_cycle(now=six_before).batches:
            dispatch.batch_send(batch_id=pk, now=six_before)
    kinds = Counter((line["kind"], line["request"]) for line in outbox_lines(outbox))
    assert sum(1 for kind, _ in kinds if kind == "reminder") == 7
    assert set(kinds.values()) == {1}


def test_expiry_tells_the_holder_the_line_is_barred(campaign, outbox):
    after = timezone.now() + dt.timedelta(days=25)
    result = campaigns.reverification_cycle(now=after)
    assert result.expired == 7
    for pk in result.batches:
        dispatch.batch_send(batch_id=pk, now=after)
    expiry = [line for line in outbox_lines(outbox) if line["kind"] == "expiry"]
    assert len(expiry) == 7


def test_suspension_tells_the_holder_a_second_time(campaign, outbox):
    barred_at = timezone.now() + dt.timedelta(days=25)
    for pk in campaigns.reverification_cycle(now=barred_at).batches:
        dispatch.batch_send(batch_id=pk, now=barred_at)
    suspended_at = barred_at + dt.timedelta(days=16)
    result = campaigns.reverification_cycle(now=suspended_at)
    assert result.suspended == 7
    for pk in result.batches:
        dispatch.batch_send(batch_id=pk, now=suspended_at)
    expiry = Counter(line["request"] for line in outbox_lines(outbox) if line["kind"] == "expiry")
    assert set(expiry.values()) == {2}  # barred, then suspended: each once
    assert len(expiry) == 7


def test_a_holder_who_chose_english_gets_the_english_text_whatever_their_document(
    alpha, make_staff, submit, inventory, outbox
):
    import random

    from identity import services as identity_services
    from identity.services import CitizenRow
    from identity.synthetic import synthetic_identity

    identity = synthetic_identity(
        rng=random.Random(99), id_type="cn_resident_id", today=timezone.localdate()
    )
    identity_services.authority_registry_load(
        [
            CitizenRow(
                identity.id_type,
                identity.id_number,
                identity.name,
                identity.date_of_birth,
                identity.sex,
                False,
            )
        ]
    )
    submit("mobile_open", applicant=dataclasses.replace(identity, language="en"))
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Languages",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    for pk in dispatch.batches_create(campaign=campaign):
        dispatch.batch_send(batch_id=pk)
    (message,) = outbox_lines(outbox)
    assert message["language"] == "en"
    assert message["text"].startswith("[Alpha Telecom] Please confirm")
    assert message["link"].endswith("?lang=en")


def test_a_batch_costs_a_few_queries_however_many_requests_it_holds(
    campaign, outbox, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(dispatch, "FILE_CHUNK", 3)
    (pk,) = dispatch.batches_create(campaign=campaign, size=100)
    # Claim, read the batch, intents (three with the savepoint), leftovers;
    # per chunk of three: lease and pause check, read, UPDATE (five with the
    # savepoint); done. Nothing per message.
    with django_assert_max_num_queries(6 + 5 * 3 + 1):
        assert dispatch.batch_send(batch_id=pk) == 7
    assert len(outbox_lines(outbox)) == 7


def test_a_pause_between_chunks_stops_there_and_the_rest_follows_once(
    campaign, outbox, monkeypatch
):
    monkeypatch.setattr(dispatch, "FILE_CHUNK", 3)
    (pk,) = dispatch.batches_create(campaign=campaign, size=100)

    def pause_after_the_first_chunk(sent):
        if sent == 3:
            campaigns.campaign_pause(campaign=campaign, actor=None)

    assert dispatch.batch_send(batch_id=pk, on_chunk=pause_after_the_first_chunk) == 3
    batch = DispatchBatch.objects.get(pk=pk)
    assert (batch.state, batch.sent) == (BatchState.QUEUED, 3)
    campaigns.campaign_resume(campaign=campaign, actor=None)
    assert dispatch.batch_send(batch_id=pk) == 4
    assert Counter(line["request"] for line in outbox_lines(outbox)) == Counter(
        {pk: 1 for pk in campaign.requests.values_list("pk", flat=True)}
    )
    assert DispatchBatch.objects.get(pk=pk).sent == 7


def test_a_worker_whose_range_was_taken_over_stops_at_the_next_chunk(
    campaign, outbox, monkeypatch, caplog
):
    monkeypatch.setattr(dispatch, "FILE_CHUNK", 3)
    (pk,) = dispatch.batches_create(campaign=campaign, size=100)

    def lease_lost(sent):
        # This worker stalled past its lease; beat gave the range to another.
        DispatchBatch.objects.filter(pk=pk).update(claims=F("claims") + 1)

    assert dispatch.batch_send(batch_id=pk, on_chunk=lease_lost) == 3
    assert DispatchBatch.objects.get(pk=pk).state == BatchState.CLAIMED  # not ours to finish
    assert len(outbox_lines(outbox)) == 3
    assert "lease lost" in caplog.text
    assert "+86" not in caplog.text


def test_a_channel_rate_below_the_chunk_size_is_sent_in_chunks_it_admits(
    campaign, outbox, settings, monkeypatch
):
    settings.TELEREG_CHANNEL_RATES = {"file": 3}
    asked = []
    real = dispatch.rate_wait
    monkeypatch.setattr(
        dispatch, "rate_wait", lambda channel, count: asked.append(count) or real(channel, 0)
    )
    (pk,) = dispatch.batches_create(campaign=campaign, size=100)
    assert dispatch.batch_send(batch_id=pk) == 7
    assert asked == [3, 3, 1]


def test_a_killed_worker_is_reconciled_even_without_its_index_entry(campaign, outbox, monkeypatch):
    (pk,) = dispatch.batches_create(campaign=campaign, size=100)
    real = dispatch.channels.FileChannel.send_many

    class Killed(BaseException):
        pass

    def write_then_die(self, messages):
        real(self, messages)
        self.index_path.write_text("")  # the index entry did not reach the disk
        raise Killed

    monkeypatch.setattr(dispatch.channels.FileChannel, "send_many", write_then_die)
    with pytest.raises(Killed):
        dispatch.batch_send(batch_id=pk)
    monkeypatch.undo()
    later = timezone.now() + dt.timedelta(minutes=10)
    assert dispatch.batches_requeue_expired(now=later) == [pk]
    assert dispatch.batch_send(batch_id=pk, now=later) == 0
    assert len(outbox_lines(outbox)) == 7
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()


def test_the_notice_text_is_the_campaign_template_filled_in(campaign, outbox):
    from reverification.models import Campaign

    Campaign.objects.filter(pk=campaign.pk).update(
        notice_text_zh="{operator}|{deadline}|{number}|{link}", notice_text_en="{nope}"
    )
    (pk,) = dispatch.batches_create(campaign=campaign, size=100)
    dispatch.batch_send(batch_id=pk)
    for line in outbox_lines(outbox):
        request = campaign.requests.select_related("line").get(pk=line["request"])
        number = request.line.number
        assert line["link"] == dispatch.link_for(request.pk, language="zh-hans")
        assert line["text"] == (
            f"Alpha Telecom|{date_for_reading(request.deadline, 'zh-hans')}|"
            f"{number[:-8]}****{number[-4:]}|"
            f"{line['link']}"
        )
