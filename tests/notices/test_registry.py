"""The channel registry and the message templates: a channel registered once is
one campaigns accept and dispatch sends through by what it offers (never by
its name); texts render from templates exactly as they always read."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from notices import channels
from notices.apps import NoticesConfig
from notices.messages import render_message
from operators.roles import Role
from registration import services, tasks
from registration.models import HolderAlertMessage, TransactionState
from reverification import campaigns, dispatch
from reverification.models import Delivery, DeliveryState, NoticeKind

pytestmark = pytest.mark.django_db


class RecordingChannel:
    """A channel that keeps what it is given (one list per call)."""

    name = "fake"
    batchable = False
    calls: list[list[channels.Message]]

    def send(self, message: channels.Message) -> None:
        self.send_many([message])

    def send_many(self, messages: Iterable[channels.Message]) -> None:
        type(self).calls.append(list(messages))

    def already_sent(self, delivery_ids: set[int]) -> set[int]:
        return set()


@pytest.fixture
def fake_channel(monkeypatch):
    """Registers a fresh recording channel (batchable or not) for one test."""

    def register(*, batchable: bool) -> type[RecordingChannel]:
        channel = type("Fake", (RecordingChannel,), {"batchable": batchable, "calls": []})
        monkeypatch.setitem(channels.REGISTRY, "fake", channel)
        return channel

    return register


@pytest.fixture
def launch(alpha, make_staff, open_mobile):
    def make(channel_names: list[str], *, lines: int = 3):
        officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
        for _ in range(lines):
            open_mobile()
        campaign = campaigns.campaign_create(
            operator=alpha,
            data=campaigns.CampaignInput(
                name="Registry",
                criteria={"line_kind": "mobile"},
                deadline=timezone.localdate() + dt.timedelta(days=20),
                reminder_days=[7],
                channels=channel_names,
            ),
            actor=officer.user,
        )
        campaigns.campaign_launch(campaign=campaign, actor=officer.user)
        campaigns.campaign_plan(campaign=campaign)
        for pk in dispatch.batches_create(campaign=campaign):
            dispatch.batch_send(batch_id=pk)
        return campaign

    return make


def test_a_channel_registered_once_is_accepted_by_campaigns_and_sent_one_by_one(
    fake_channel, launch
):
    channel = fake_channel(batchable=False)
    campaign = launch(["fake"])
    assert [len(call) for call in channel.calls] == [1, 1, 1]
    assert {m.channel for call in channel.calls for m in call} == {"fake"}
    deliveries = Delivery.objects.filter(request__campaign=campaign)
    assert set(deliveries.values_list("state", "channel")) == {(DeliveryState.SENT, "fake")}


def test_a_batchable_channel_other_than_file_gets_the_whole_chunk_in_one_call(fake_channel, launch):
    channel = fake_channel(batchable=True)
    launch(["fake"])
    assert [len(call) for call in channel.calls] == [3]
    assert not Delivery.objects.exclude(state=DeliveryState.SENT).exists()


def test_an_unregistered_channel_is_refused_with_the_registered_names(alpha):
    data = campaigns.CampaignInput(
        name="Unknown",
        criteria={"line_kind": "mobile"},
        deadline=timezone.localdate() + dt.timedelta(days=20),
        reminder_days=[7],
        channels=["pigeon"],
    )
    with pytest.raises(campaigns.CampaignInvalid) as info:
        campaigns.campaign_input_check(operator=alpha, data=data)
    assert "file, sms, email" in info.value.fields["channels"][0]


def test_holder_alerts_go_through_the_configured_channel(
    fake_channel,
    settings,
    alpha_clerk,
    consent,
    citizen,
    inventory,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    channel = fake_channel(batchable=False)
    settings.TELEREG_ALERT_CHANNEL = "fake"
    monkeypatch.setattr(services, "enqueue", lambda *args, **kwargs: True)
    identity = dataclasses.replace(citizen(), language="zh-hans")
    request = services.TransactionRequest(kind="mobile_open", consent=consent, applicant=identity)
    services.transaction_submit(actor=alpha_clerk.user, request=request)
    second = services.transaction_submit(actor=alpha_clerk.user, request=request)
    assert second.state == TransactionState.COMPLETED
    assert tasks.send_holder_alert(second.pk) == 1
    ((message,),) = channel.calls
    assert message.kind == NoticeKind.ALERT
    assert message.channel == "fake"
    assert f"尾号{second.line.number[-4:]}的号码已于{second.store.name}登记在您的证件下" in (
        message.text
    )
    assert HolderAlertMessage.objects.get(pk=-message.delivery).channel == "fake"


def test_a_setting_naming_an_unregistered_channel_is_refused_at_start(settings):
    settings.TELEREG_ALERT_CHANNEL = "pigeon"
    config = NoticesConfig("notices", __import__("notices"))
    with pytest.raises(ImproperlyConfigured, match="TELEREG_ALERT_CHANNEL"):
        config.ready()


def test_notice_texts_render_as_they_always_read_without_html_escaping():
    context = {
        "operator": "A&B <Telecom>",
        "deadline": "2027-01-31",
        "number": "+86138****0001",
        "link": "http://127.0.0.1:8000/r/1.abc?x=1&y=2",
    }
    for kind in ("notice", "reminder", "expiry"):
        assert render_message(kind=kind, language="zh-hans", context=context) == (
            "【A&B <Telecom>】根据实名登记规定，请于2027-01-31前核验号码+86138****0001的登记身份："
            "http://127.0.0.1:8000/r/1.abc?x=1&y=2"
        )
        assert render_message(kind=kind, language="en", context=context) == (
            "[A&B <Telecom>] Please confirm the registered identity of +86138****0001 before "
            "2027-01-31: http://127.0.0.1:8000/r/1.abc?x=1&y=2"
        )


def test_alert_and_code_texts_read_in_one_language_each():
    context = {"operator": "Alpha", "last4": "0001", "store": "Main St", "link": "L"}
    assert render_message(kind="alert", language="zh-hans", context=context) == (
        "【Alpha】尾号0001的号码已于Main St登记在您的证件下；如非本人办理，请访问 L"
    )
    assert render_message(kind="alert", language="en", context=context) == (
        "[Alpha] A line ending 0001 was registered under your ID at Main St. Not you? L"
    )
    code = {"operator": "Alpha", "code": "123456"}
    assert render_message(kind="code", language="zh-hans", context=code) == (
        "【Alpha】您的验证码：123456（10分钟内有效）"
    )
    assert render_message(kind="code", language="en", context=code) == (
        "[Alpha] Your code: 123456 (valid for 10 minutes)"
    )


def test_every_kind_has_a_text_in_every_language():
    from django.template.loader import get_template

    from notices.messages import KINDS, LANGUAGES

    for kind in KINDS:
        for language in LANGUAGES:
            assert get_template(f"notices/{kind}.{language}.txt")


def test_an_unknown_kind_or_language_is_refused():
    with pytest.raises(ValueError, match="unknown"):
        render_message(kind="../secret", language="en", context={})
    with pytest.raises(ValueError, match="unknown"):
        render_message(kind="notice", language="fr", context={})


def test_a_campaign_text_that_does_not_format_falls_back_to_the_template(
    fake_channel, alpha, make_staff, open_mobile
):
    channel = fake_channel(batchable=False)
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    open_mobile()
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Broken text",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["fake"],
            notice_text_zh="{unknown} {",
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    for pk in dispatch.batches_create(campaign=campaign):
        dispatch.batch_send(batch_id=pk)
    ((message,),) = channel.calls
    assert message.text.startswith(f"【{alpha.name}】根据实名登记规定")
