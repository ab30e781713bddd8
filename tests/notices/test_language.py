"""Messages to a subscriber are written in the language the person chose."""

from __future__ import annotations

import dataclasses
import json

import pytest
from django.core import mail

from notices import channels
from registration import services, tasks
from reverification import my_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    return tmp_path / "file.jsonl"


def _messages(outbox) -> list[dict]:
    return [json.loads(line) for line in outbox.read_text().splitlines()]


@pytest.mark.parametrize(
    ("language", "start"),
    [("en", "[Alpha Telecom] Your code: "), ("zh-hans", "【Alpha Telecom】您的验证码：")],
)
def test_the_code_of_my_lines_is_written_in_the_holders_language(
    alpha, open_mobile, citizen, outbox, language, start
):
    _, holder = open_mobile(dataclasses.replace(citizen(), language=language))
    my_lines.challenge_start(
        operator=alpha,
        id_type=holder.id_type,
        id_number=holder.id_number,
        name=holder.name,
        address="192.0.2.1",
    )
    (message,) = _messages(outbox)
    assert message["kind"] == "code"
    assert message["language"] == language
    assert message["text"].startswith(start)


def test_a_holder_alert_is_written_in_the_holders_language_and_links_in_it(
    settings, alpha_clerk, consent, citizen, inventory, outbox, monkeypatch
):
    settings.TELEREG_ALERT_CHANNEL = "file"
    monkeypatch.setattr(services, "enqueue", lambda *args, **kwargs: True)
    identity = dataclasses.replace(citizen(), language="en")
    request = services.TransactionRequest(kind="mobile_open", consent=consent, applicant=identity)
    services.transaction_submit(actor=alpha_clerk.user, request=request)
    second = services.transaction_submit(actor=alpha_clerk.user, request=request)
    assert tasks.send_holder_alert(second.pk) == 1
    (message,) = _messages(outbox)
    assert message["kind"] == "alert"
    assert message["language"] == "en"
    assert message["text"].startswith("[Alpha Telecom] A line ending ")
    assert message["link"].endswith("/my-lines/?operator=alpha&lang=en")


@pytest.mark.parametrize(
    ("language", "subject"), [("en", "About your telephone line"), ("zh-hans", "关于您的电话号码")]
)
def test_an_email_has_its_subject_in_the_language_of_its_text(language, subject):
    from tests.catalogues import compile_catalogues

    compile_catalogues()
    message = channels.Message(
        delivery=1,
        channel="email",
        to="subscriber@example.invalid",
        campaign=None,
        request=None,
        kind="notice",
        language=language,
        text="t",
        link="",
    )
    channels.get_channel("email").send(message)
    assert mail.outbox[-1].subject == subject
