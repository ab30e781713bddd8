"""Every state of the subscriber pages, reached as a subscriber reaches them:
shared by the page tests, the translation checks and the 360 px browser test."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from django.test import Client
from django.utils import timezone

from operators.roles import Role
from reverification import campaigns, dispatch

MY_LINES_STATES = ("ask", "code", "lines", "dispute", "reported", "correct", "corrected")


def answer_link(operator, make_staff, open_mobile, outbox: Path):
    """A launched campaign's notice for one fresh line: (the /r/<token> path, the line)."""
    tx, _ = open_mobile()
    officer = make_staff(operator, Role.COMPLIANCE_OFFICER)
    campaign = campaigns.campaign_create(
        operator=operator,
        data=campaigns.CampaignInput(
            name="Subscriber pages",
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
    messages = [json.loads(line) for line in outbox.read_text().splitlines()]
    (message,) = [m for m in messages if m.get("request")]
    return urlsplit(message["link"]).path, tx.line


def last_code(outbox: Path) -> str:
    message = json.loads(outbox.read_text().splitlines()[-1])
    return re.search(r"\d{6}", message["text"]).group(0)


def my_lines_pages(holder, line_uid: str, outbox: Path, *, lang: str) -> dict[str, str]:
    """/my-lines/ in each of its states, in ``lang``, for ``holder`` (who holds
    the line ``line_uid``): state → HTML."""
    client = Client()
    url = f"/my-lines/?lang={lang}"
    pages: dict[str, str] = {}

    def post(state: str, expected: int = 200, **fields) -> None:
        response = client.post(url, fields)
        assert response.status_code == expected, (state, response.status_code)
        pages[state] = response.content.decode()

    pages["ask"] = client.get(url).content.decode()
    post(
        "code",
        step="start",
        operator="alpha",
        id_type=holder.id_type,
        id_number=holder.id_number,
        name=holder.name,
    )
    post("lines", step="code", code=last_code(outbox))
    post("dispute", step="dispute", line=line_uid)
    post("dispute refused", 400, step="report", line=line_uid, reason="")
    post("reported", step="report", line=line_uid, reason="never_registered")
    post("correct", step="correct")
    post("correct refused", 400, step="correction", date_of_birth="not a date")
    post("corrected", step="correction", address="Room 5, 1 Harbour Road, Test City")
    return pages
