"""The subscriber's own access history on /my-lines/ (issue 16): every access
to their data from the access log, newest first, with purpose, role and store
and never a staff member's name; releases to an authority shown as such,
after the operator's delay and never while a legal hold is in force."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from identity import access_log
from identity import services as identity_services
from identity.models import AccessLogEntry, AccessPurpose
from operators.models import Operator
from operators.roles import Role
from registration import closing
from reverification import my_lines
from reverification.models import MyLinesChallenge
from tests.catalogues import compile_catalogues
from tests.reverification.subscriber_states import last_code

pytestmark = pytest.mark.django_db

PAGE = "/my-lines/"


@pytest.fixture(autouse=True)
def catalogues():
    compile_catalogues()


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    return tmp_path / "file.jsonl"


def open_page(client: Client, holder, outbox, *, lang: str = "en") -> str:
    client.post(
        f"{PAGE}?lang={lang}",
        {
            "step": "start",
            "operator": "alpha",
            "id_type": holder.id_type,
            "id_number": holder.id_number,
            "name": holder.name,
        },
    )
    response = client.post(f"{PAGE}?lang={lang}", {"step": "code", "code": last_code(outbox)})
    assert response.status_code == 200
    return response.content.decode()


def purposes(body: str) -> list[str]:
    table = body.split('id="access-history"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'class="access-entry" data-purpose="([a-z_]+)"', table)


def release(person, operator, officer, disclosure_id: int = 7):
    """A release to an authority as the disclosure flow writes it."""
    return access_log.append(
        operator=operator,
        actor=officer.user,
        purpose=AccessPurpose.LAW_ENFORCEMENT,
        person=person,
        fields=["name", "id_number"],
        reason="case 2026/17",
        detail={"disclosure": disclosure_id},
    )


def test_a_compliance_reveal_shows_with_role_and_purpose_but_no_staff_name(
    client, open_mobile, outbox, alpha, make_staff
):
    tx, holder = open_mobile()
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    identity_services.person_reveal(
        person=tx.line.holder, actor=officer.user, reason="Checking a complaint file"
    )
    # A clerk's read at the counter, as the store surfaces record it.
    access_log.append(
        operator=alpha,
        actor=tx.staff,
        purpose=AccessPurpose.REGISTRATION,
        person=tx.line.holder,
        store=tx.store,
        reason="counter",
    )
    body = open_page(client, holder, outbox)
    found = purposes(body)
    assert found[0] == "customer_request"  # this very look-up, newest first
    assert "compliance_review" in found
    assert "registration" in found
    row = re.search(r'data-purpose="compliance_review">(.*?)</tr>', body, re.S).group(1)
    assert "Compliance review" in row
    assert "Compliance officer" in row
    assert "Head office" in row
    opening = re.search(r'data-purpose="registration">(.*?)</tr>', body, re.S).group(1)
    assert "Clerk" in opening
    assert tx.store.name in opening
    for user in (officer.user, tx.staff):
        assert user.get_username() not in body
    assert holder.name not in body
    assert holder.id_number not in body


def test_another_persons_entries_never_show(client, open_mobile, outbox, alpha, make_staff):
    tx, holder = open_mobile()
    other, _ = open_mobile()
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    for _ in range(3):
        identity_services.person_reveal(
            person=other.line.holder, actor=officer.user, reason="Another person's file"
        )
    release(other.line.holder, alpha, officer)
    body = open_page(client, holder, outbox)
    found = purposes(body)
    assert "compliance_review" not in found
    assert "law_enforcement" not in found
    mine = AccessLogEntry.objects.filter(person=tx.line.holder).count()
    assert len(found) == mine


def test_a_release_to_an_authority_shows_as_such_with_its_date_only(
    client, open_mobile, outbox, alpha, make_staff
):
    tx, holder = open_mobile()
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    entry = release(tx.line.holder, alpha, officer)
    body = open_page(client, holder, outbox)
    assert "law_enforcement" in purposes(body)
    row = re.search(r'data-purpose="law_enforcement">(.*?)</tr>', body, re.S).group(1)
    assert "Released to an authority under a legal basis" in row
    assert "Compliance officer" not in row
    assert "case 2026/17" not in body  # the case reference is not the subscriber's to read
    local = timezone.localtime(entry.created_at)
    assert str(local.year) in row


def test_a_release_waits_for_the_operators_delay(client, open_mobile, outbox, alpha, make_staff):
    tx, holder = open_mobile()
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    Operator.objects.filter(pk=alpha.pk).update(disclosure_notice_delay_days=30)
    release(tx.line.holder, alpha, officer)
    body = open_page(client, holder, outbox)
    assert "law_enforcement" not in purposes(body)
    assert "compliance_review" not in purposes(body)
    # 31 days later the delay has passed.
    challenge = MyLinesChallenge.objects.get()
    later = timezone.now() + dt.timedelta(days=31)
    MyLinesChallenge.objects.filter(pk=challenge.pk).update(verified_at=later)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(my_lines.timezone, "now", lambda: later)
        history = my_lines.access_history(challenge=MyLinesChallenge.objects.get())
    assert "law_enforcement" in [e.purpose for e in history.entries]


def test_a_release_stays_hidden_while_a_legal_hold_is_in_force(
    client, open_mobile, outbox, alpha, make_staff
):
    tx, holder = open_mobile()
    second, _ = open_mobile(holder)
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    release(tx.line.holder, alpha, officer)
    # The hold is on the person's other line: every release of theirs waits.
    closing.legal_hold_set(line=second.line, reason="Court order 17", actor=officer.user)
    body = open_page(client, holder, outbox)
    assert "law_enforcement" not in purposes(body)
    closing.legal_hold_lift(line=second.line, reason="Case closed", actor=officer.user)
    body = client.get(f"{PAGE}?lang=en").content.decode()
    assert "law_enforcement" in purposes(body)


def test_viewing_the_history_writes_no_entry_of_its_own(client, open_mobile, outbox):
    tx, holder = open_mobile()
    open_page(client, holder, outbox)
    count = AccessLogEntry.objects.filter(person=tx.line.holder).count()
    for _ in range(3):
        client.get(f"{PAGE}?lang=en")
    assert AccessLogEntry.objects.filter(person=tx.line.holder).count() == count


def test_the_history_is_capped_newest_first_and_says_how_many_are_left(
    client, open_mobile, outbox, alpha, make_staff
):
    tx, holder = open_mobile()
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    for n in range(my_lines.HISTORY_LIMIT + 2):
        access_log.append(
            operator=alpha,
            actor=officer.user,
            purpose=AccessPurpose.COMPLIANCE_REVIEW,
            person=tx.line.holder,
            reason=f"review {n}",
        )
    body = open_page(client, holder, outbox)
    assert len(purposes(body)) == my_lines.HISTORY_LIMIT
    assert 'id="history-more"' in body
    challenge = MyLinesChallenge.objects.get()
    history = my_lines.access_history(challenge=challenge)
    times = [e.at for e in history.entries]
    assert times == sorted(times, reverse=True)


def test_no_history_without_the_code(client, open_mobile, outbox, alpha, make_staff):
    tx, holder = open_mobile()
    client.post(
        f"{PAGE}?lang=en",
        {
            "step": "start",
            "operator": "alpha",
            "id_type": holder.id_type,
            "id_number": holder.id_number,
            "name": holder.name,
        },
    )
    body = client.get(f"{PAGE}?lang=en").content.decode()
    assert 'id="access-history"' not in body
    assert my_lines.access_history(challenge=MyLinesChallenge.objects.get()).entries == []


@pytest.mark.parametrize(
    ("lang", "label"), [("en", "Who accessed my data"), ("zh-hans", "谁访问了我的数据")]
)
def test_the_history_speaks_the_pages_language(client, open_mobile, outbox, lang, label):
    _, holder = open_mobile()
    body = open_page(client, holder, outbox, lang=lang)
    assert label in body
    assert f'lang="{lang}"' in body


def test_the_history_costs_the_same_few_queries_however_many_entries(
    client, open_mobile, outbox, alpha, make_staff, django_assert_max_num_queries
):
    tx, holder = open_mobile()
    open_page(client, holder, outbox)
    challenge = MyLinesChallenge.objects.get()
    for n in range(30):
        officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
        access_log.append(
            operator=alpha,
            actor=officer.user,
            purpose=AccessPurpose.COMPLIANCE_REVIEW,
            person=tx.line.holder,
            reason=f"review {n}",
        )
    with django_assert_max_num_queries(7):
        history = my_lines.access_history(challenge=challenge)
    assert len(history.entries) >= 31
