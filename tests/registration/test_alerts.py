"""Holder alerts: a holder's other lines are told of a new line, a transfer to
them or a service under their document — each (transaction, line) at most
once, whatever happens (a duplicate message, a lost one, a killed worker).
Each message has its own row in registration; none is a ``Delivery``.

Time is controlled with the sweeps' ``now=`` argument; publishing is recorded
instead of reaching a broker."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from notices import channels
from registration import alerts, services, tasks
from registration.models import (
    AlertMessageState,
    HolderAlert,
    HolderAlertMessage,
    TransactionState,
)
from reverification.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox" / "file.jsonl"


def outbox_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def alert_lines(path) -> list[dict]:
    return [line for line in outbox_lines(path) if line["kind"] == "alert"]


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, tuple]]:
    """What would have been published, as (task name, args), in order."""
    sent: list[tuple[str, tuple]] = []

    def record(task, *args, **options) -> bool:
        sent.append((task.name.rsplit(".", 1)[-1], args))
        return True

    monkeypatch.setattr(tasks, "enqueue", record)
    monkeypatch.setattr(services, "enqueue", record)
    return sent


def later(settings, seconds_past_overdue: int = 1) -> dt.datetime:
    overdue = settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS
    return timezone.now() + dt.timedelta(seconds=overdue + seconds_past_overdue)


def of(published, name: str) -> list[tuple]:
    return [args for task, args in published if task == name]


@pytest.fixture
def second_line(
    alpha_clerk, consent, citizen, inventory, published, django_capture_on_commit_callbacks
):
    """A holder with a line who opens a second one: the alert's message is out."""
    identity = citizen()

    def open_line():
        return services.transaction_submit(
            actor=alpha_clerk.user,
            request=services.TransactionRequest(
                kind="mobile_open", consent=consent, applicant=identity
            ),
        )

    open_line()
    with django_capture_on_commit_callbacks(execute=True):
        tx = open_line()
    assert tx.state == TransactionState.COMPLETED
    return tx


# --- sending -----------------------------------------------------------------------------


def test_a_new_line_alerts_the_holders_other_lines_once(
    open_mobile, outbox, django_capture_on_commit_callbacks
):
    first, holder = open_mobile()
    with django_capture_on_commit_callbacks() as callbacks:
        second, _ = open_mobile(holder)
    assert len(callbacks) == 1  # the alert task, queued after commit
    assert alerts.holder_alert_send(transaction_id=second.pk) == 1
    sent = alert_lines(outbox)
    assert len(sent) == 1
    assert sent[0]["to"] == first.line.number
    assert second.line.number[-4:] in sent[0]["text"]
    assert sent[0]["link"].endswith("/my-lines/?operator=alpha&lang=zh-hans")
    assert alerts.holder_alert_send(transaction_id=second.pk) == 0  # redelivered: nothing twice
    assert len(alert_lines(outbox)) == 1


def test_the_alert_link_opens_my_lines_in_the_holders_operator_and_language(
    open_mobile, outbox, client, alpha
):
    first, holder = open_mobile()
    second, _ = open_mobile(holder)
    alerts.holder_alert_send(transaction_id=second.pk)
    (message,) = alert_lines(outbox)
    path = message["link"].split("://", 1)[1].split("/", 1)[1]
    body = client.get("/" + path).content.decode()
    assert alpha.display_name("zh-hans") in body  # the operator's brand
    assert '<option value="alpha" selected>' in body  # and its look-up
    assert '<html lang="zh-hans"' in body


def test_each_alert_message_has_its_own_row_and_no_delivery_is_written(open_mobile, outbox):
    first, holder = open_mobile()
    second, _ = open_mobile(holder)
    deliveries = Delivery.objects.count()
    assert alerts.holder_alert_send(transaction_id=second.pk) == 1
    assert Delivery.objects.count() == deliveries  # an alert is not a request delivery
    message = HolderAlertMessage.objects.get(alert__transaction=second)
    assert message.line_id == first.line_id
    assert message.state == AlertMessageState.SENT
    assert message.sent_at is not None
    assert message.channel == "file"
    # The channel knows the message by its own key, apart from the deliveries'.
    ((line,),) = [alert_lines(outbox)]
    assert line["delivery"] == message.channel_key < 0
    assert set(line) == {
        "delivery",
        "channel",
        "to",
        "campaign",
        "request",
        "kind",
        "language",
        "text",
        "link",
    }
    assert (line["campaign"], line["request"], line["kind"], line["language"]) == (
        None,
        None,
        "alert",
        "zh-hans",
    )


def test_a_worker_killed_between_sending_and_recording_does_not_send_twice(
    open_mobile, outbox, monkeypatch
):
    first, holder = open_mobile()
    second, _ = open_mobile(holder)

    def killed(message_ids):
        raise RuntimeError("worker killed")  # after the channel took it, before the row says so

    monkeypatch.setattr(alerts, "_mark_sent", killed)
    with pytest.raises(RuntimeError, match="worker killed"):
        alerts.holder_alert_send(transaction_id=second.pk)
    assert len(alert_lines(outbox)) == 1
    message = HolderAlertMessage.objects.get(alert__transaction=second)
    assert message.state == AlertMessageState.INTENT  # the trace left behind
    monkeypatch.undo()

    # The message again (the sweep's, or the task's retry): reconciled, not resent.
    assert alerts.holder_alert_send(transaction_id=second.pk) == 0
    assert len(alert_lines(outbox)) == 1
    message.refresh_from_db()
    assert message.state == AlertMessageState.SENT
    assert HolderAlert.objects.get(transaction=second).done_at is not None


def test_an_intent_the_channel_never_took_is_sent_on_the_next_attempt(
    open_mobile, outbox, monkeypatch
):
    first, holder = open_mobile()
    second, _ = open_mobile(holder)
    file_channel = channels.get_channel("file")

    class Down:
        name = "file"
        batchable = True

        def send_many(self, messages):
            raise channels.ChannelError("disk unavailable", permanent=False)

        def already_sent(self, delivery_ids):
            return file_channel.already_sent(delivery_ids)

    monkeypatch.setattr(alerts.channels, "get_channel", lambda name: Down())
    with pytest.raises(channels.ChannelError):
        alerts.holder_alert_send(transaction_id=second.pk)
    assert alert_lines(outbox) == []
    monkeypatch.undo()
    assert alerts.holder_alert_send(transaction_id=second.pk) == 1
    assert [line["to"] for line in alert_lines(outbox)] == [first.line.number]


def test_a_permanent_refusal_is_recorded_on_the_message_and_not_retried(
    open_mobile, outbox, monkeypatch
):
    first, holder = open_mobile()
    second, _ = open_mobile(holder)

    class Refuses:
        name = "file"
        batchable = True

        def send_many(self, messages):
            raise channels.ChannelError("number unreachable", permanent=True)

        def already_sent(self, delivery_ids):
            return set()

    monkeypatch.setattr(alerts.channels, "get_channel", lambda name: Refuses())
    assert alerts.holder_alert_send(transaction_id=second.pk) == 0
    message = HolderAlertMessage.objects.get(alert__transaction=second)
    assert (message.state, message.error) == (AlertMessageState.FAILED, "number unreachable")
    assert HolderAlert.objects.get(transaction=second).done_at is not None


# --- the sweep ---------------------------------------------------------------------------


def test_an_opening_records_its_holder_alert_before_publishing_it(second_line, published):
    alert = HolderAlert.objects.get(transaction=second_line)
    assert alert.done_at is None
    assert (second_line.pk,) in of(published, "send_holder_alert")


def test_a_holder_alert_whose_message_was_lost_is_sent_once_by_the_sweep(
    second_line, published, settings, outbox
):
    published.clear()
    tasks.requeue_overdue_alerts(now=timezone.now())
    assert of(published, "send_holder_alert") == []
    at = later(settings)
    tasks.requeue_overdue_alerts(now=at)
    assert (second_line.pk,) in of(published, "send_holder_alert")
    before = len(of(published, "send_holder_alert"))
    tasks.requeue_overdue_alerts(now=at + dt.timedelta(seconds=1))
    assert len(of(published, "send_holder_alert")) == before

    assert tasks.send_holder_alert(second_line.pk) == 1
    assert tasks.send_holder_alert(second_line.pk) == 0  # the lost message, delivered late
    sent = alert_lines(outbox)
    assert len(sent) == 1
    message = HolderAlertMessage.objects.get(alert__transaction=second_line)
    assert sent[0]["delivery"] == message.channel_key
    assert message.state == AlertMessageState.SENT
    assert HolderAlert.objects.get(transaction=second_line).done_at is not None
    assert second_line.pk not in alerts.alerts_requeue_overdue(now=later(settings, 3600))


def test_a_failed_holder_alert_shows_why_on_its_row_and_is_swept_again(
    second_line, published, settings, monkeypatch
):
    def refuse(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(alerts, "_alert_send", refuse)
    with pytest.raises(OSError, match="disk full"):
        tasks.send_holder_alert(second_line.pk)
    alert = HolderAlert.objects.get(transaction=second_line)
    assert alert.error == "OSError"
    assert alert.done_at is None
    assert second_line.pk in alerts.alerts_requeue_overdue(now=later(settings))


# --- the console -------------------------------------------------------------------------


def test_the_transaction_page_lists_the_alerts_messages_with_masked_numbers(
    open_mobile, outbox, alpha_compliance, web_client_for
):
    first, holder = open_mobile()
    second, _ = open_mobile(holder)
    alerts.holder_alert_send(transaction_id=second.pk)
    page = web_client_for(alpha_compliance).get(
        reverse("console:registration_transaction_change", args=[second.pk])
    )
    content = page.content.decode()
    assert page.status_code == 200
    number = first.line.number
    assert f"{number[3:6]} **** {number[-4:]}" in content  # masked, grouped for reading
    assert "holder alert messages" in content.lower()
    assert content.count(number) == 0
