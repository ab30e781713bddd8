"""Channels: an SMS gateway (against a local fake), fallback, and the shared rate limit."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from notices import channels, messages
from operators.roles import Role
from registration import alerts
from registration.models import HolderAlertMessage
from reverification import campaigns, dispatch
from reverification.models import BatchState, Delivery, DeliveryState, DispatchBatch

pytestmark = pytest.mark.django_db


class FakeGateway:
    """A local SMS gateway: answers each POST with the next scripted status."""

    def __init__(self, statuses: list[int], api_key: str = "k-test") -> None:
        self.statuses, self.api_key, self.received = list(statuses), api_key, []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                if self.headers.get("X-Api-Key") != gateway.api_key:
                    status = 401
                if status == 200:
                    gateway.received.append(body)
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    return tmp_path / "file.jsonl"


@pytest.fixture
def make_campaign(alpha, make_staff, open_mobile):
    def make(channel_names, lines=3):
        officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
        for _ in range(lines):
            open_mobile()
        campaign = campaigns.campaign_create(
            operator=alpha,
            data=campaigns.CampaignInput(
                name="Channels",
                criteria={"line_kind": "mobile"},
                deadline=timezone.localdate() + dt.timedelta(days=20),
                reminder_days=[7],
                channels=channel_names,
            ),
            actor=officer.user,
        )
        campaigns.campaign_launch(campaign=campaign, actor=officer.user)
        campaigns.campaign_plan(campaign=campaign)
        return campaign

    return make


def test_sms_gateway_gets_each_notice_with_its_delivery_reference(make_campaign, settings):
    with FakeGateway([]) as gateway:
        settings.TELEREG_SMS_URL, settings.TELEREG_SMS_API_KEY = gateway.url, gateway.api_key
        campaign = make_campaign(["sms"])
        for pk in dispatch.batches_create(campaign=campaign):
            dispatch.batch_send(batch_id=pk)
    assert len(gateway.received) == 3
    references = {m["reference"] for m in gateway.received}
    assert references == {f"telereg-{d.pk}" for d in Delivery.objects.all()}
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"sms"}


def test_a_permanent_refusal_falls_back_to_the_next_channel(make_campaign, settings, outbox):
    with FakeGateway([400, 200, 400]) as gateway:
        settings.TELEREG_SMS_URL, settings.TELEREG_SMS_API_KEY = gateway.url, gateway.api_key
        campaign = make_campaign(["sms", "file"])
        for pk in dispatch.batches_create(campaign=campaign):
            dispatch.batch_send(batch_id=pk)
    used = sorted(Delivery.objects.values_list("channel", flat=True))
    assert used == ["file", "file", "sms"]
    assert len(outbox.read_text().splitlines()) == 2
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()


def test_refused_by_every_channel_is_recorded_as_failed_with_the_reasons(make_campaign, settings):
    with FakeGateway([400, 400, 400]) as gateway:
        settings.TELEREG_SMS_URL, settings.TELEREG_SMS_API_KEY = gateway.url, gateway.api_key
        campaign = make_campaign(["sms", "email"])
        for pk in dispatch.batches_create(campaign=campaign):
            dispatch.batch_send(batch_id=pk)
    failed = Delivery.objects.filter(state=DeliveryState.FAILED)
    assert failed.count() == 3
    assert "sms: gateway answered 400" in failed.first().error
    assert "email: no e-mail address" in failed.first().error
    assert campaigns.campaign_progress(campaign)["deliveries"] == {"failed": 3}


def test_an_unreachable_gateway_gives_the_batch_back_for_a_retry(make_campaign, settings):
    settings.TELEREG_SMS_URL = "http://127.0.0.1:9/send"  # nothing listens on the discard port
    campaign = make_campaign(["sms"])
    (pk,) = dispatch.batches_create(campaign=campaign)
    with pytest.raises(channels.ChannelError) as info:
        dispatch.batch_send(batch_id=pk)
    assert not info.value.permanent
    assert DispatchBatch.objects.get(pk=pk).state == BatchState.QUEUED
    assert not Delivery.objects.filter(state=DeliveryState.SENT).exists()
    with FakeGateway([]) as gateway:
        settings.TELEREG_SMS_URL = gateway.url
        settings.TELEREG_SMS_API_KEY = gateway.api_key
        assert dispatch.batch_send(batch_id=pk) == 3
    assert len(gateway.received) == 3


def test_rate_limit_is_shared_through_the_cache_and_waits_for_the_next_second(settings):
    settings.TELEREG_CHANNEL_RATES = {"sms": 3}
    now = [1000.2]
    waits = []

    def clock():
        return now[0]

    def sleep(seconds):
        waits.append(round(seconds, 3))
        now[0] += seconds

    for _ in range(3):
        messages.rate_wait("sms", 1, clock=clock, sleep=sleep)
    assert waits == []
    messages.rate_wait("sms", 1, clock=clock, sleep=sleep)  # the fourth waits for second 1001
    assert waits == [0.8]
    messages.rate_wait("file", 1000, clock=clock, sleep=sleep)  # no limit set for file
    assert waits == [0.8]


def test_a_gateway_that_times_out_is_a_transient_failure(settings):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        settings.TELEREG_SMS_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/send"
        settings.TELEREG_SMS_TIMEOUT = 0.3
        message = channels.Message(1, "sms", "+8613800138000", 1, 1, "notice", "en", "hi", "")
        with pytest.raises(channels.ChannelError) as info:
            channels.get_channel("sms").send_many([message])
    finally:
        listener.close()
    assert not info.value.permanent
    assert "unreachable" in info.value.reason


# --- The file channel's outbox and its index ----------------------------------------


def message(delivery: int, text: str = "通知 notice") -> channels.Message:
    return channels.Message(
        delivery, "file", "+8613800138000", 1, delivery, "notice", "zh-hans", text, "https://x/r/1"
    )


def test_each_outbox_line_is_the_message_as_json(outbox):
    import dataclasses

    sent = [message(1), message(2, text='quote " and 【brackets】')]
    channels.FileChannel().send_many(sent)
    assert outbox.read_text(encoding="utf-8") == "".join(
        json.dumps(dataclasses.asdict(m), ensure_ascii=False) + "\n" for m in sent
    )


def test_reconciliation_reads_only_the_appends_that_may_hold_the_deliveries(outbox):
    channel = channels.FileChannel()
    for first in (1, 101, 201):
        channel.send_many([message(n) for n in range(first, first + 100)])
    size = outbox.stat().st_size
    entries = [e[1:] for e in channel._index_entries() if e[0] == outbox.stat().st_ino]
    ranges = channel._ranges_to_read(entries, size, 150, 160)
    assert len(ranges) == 1
    start, end = ranges[0]
    assert 0 < start < end < size
    assert channel.already_sent({150, 160, 999}) == {150, 160}


def test_an_outbox_without_index_entries_is_read_in_full(outbox):
    channel = channels.FileChannel()
    channel.send_many([message(1), message(2)])
    channel.send_many([message(3)])
    lines = channel.index_path.read_text().splitlines()
    # The entry of the last append was lost (killed before writing it, or the
    # machine went down before the index reached the disk).
    channel.index_path.write_text(lines[0] + "\n")
    assert channel.already_sent({3}) == {3}
    # A torn or damaged entry counts as missing, not as a range to skip.
    channel.index_path.write_text(lines[0].rsplit(" ", 1)[0] + " 0\n" + lines[1][:9])
    assert channel.already_sent({1, 3}) == {1, 3}
    # An outbox written before there was an index.
    channel.index_path.unlink()
    assert channel.already_sent({2, 3}) == {2, 3}


def test_the_index_of_a_replaced_outbox_is_not_trusted(outbox):
    channel = channels.FileChannel()
    channel.send_many([message(n) for n in range(1, 50)])
    index = channel.index_path.read_text()
    outbox.unlink()
    channel.send_many([message(n) for n in range(100, 120)])
    # Whether or not the new file got the old one's inode, the old entries
    # must not make reconciliation skip what the new file holds.
    channel.index_path.write_text(index + channel.index_path.read_text())
    assert channel.already_sent({105, 10}) == {105}
    outbox.write_text("")  # truncated in place: entries point past its end
    assert channel.already_sent({105}) == set()


def test_a_line_torn_by_a_crash_does_not_hide_the_next_append(outbox):
    channel = channels.FileChannel()
    channel.send_many([message(1)])
    with outbox.open("a", encoding="utf-8") as handle:
        handle.write('{"delivery": 2, "chan')  # killed mid-write, no index entry
    channel.send_many([message(3), message(4)])
    assert channel.already_sent({1, 2, 3, 4}) == {1, 3, 4}
    # The torn line stays on a line of its own; readers of the outbox skip it.
    assert outbox.read_text(encoding="utf-8").splitlines()[1] == '{"delivery": 2, "chan'
    channel.index_path.unlink()
    assert channel.already_sent({1, 2, 3, 4}) == {1, 3, 4}


def test_sms_gateway_gets_a_holder_alert_under_a_reference_of_its_own(open_mobile, settings):
    first, holder = open_mobile()
    second, _ = open_mobile(holder)
    with FakeGateway([]) as gateway:
        settings.TELEREG_SMS_URL, settings.TELEREG_SMS_API_KEY = gateway.url, gateway.api_key
        settings.TELEREG_ALERT_CHANNEL = "sms"
        assert alerts.holder_alert_send(transaction_id=second.pk) == 1
    message = HolderAlertMessage.objects.get(alert__transaction=second)
    assert [m["reference"] for m in gateway.received] == [f"telereg-alert-{message.pk}"]
    assert [m["to"] for m in gateway.received] == [first.line.number]
