"""Behind PgBouncer in transaction mode (TELEREG_DB_DISABLE_SERVER_SIDE_CURSORS)
no server-side cursor is opened: the hot paths (an opening through the API, a
campaign planned and dispatched, the access log verified with ``.iterator()``)
run with them disabled on PostgreSQL and open none. TELEREG_DB_POOL turns on
Django 5.2's psycopg pool."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from identity import access_log
from operators.roles import Role
from reverification import campaigns, dispatch
from reverification.models import Delivery
from tests.registration.conftest import api_block

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="server-side cursors are PostgreSQL's"
    ),
]


@pytest.fixture
def cursor_names(monkeypatch):
    """The name of every cursor the connection creates (None: client-side).
    Django creates a named (server-side) cursor for .iterator() unless the
    setting disables it; this records and passes every call through."""
    names: list[str | None] = []
    original = connection.create_cursor

    def recording(name=None):
        names.append(name)
        return original(name)

    monkeypatch.setattr(connection, "create_cursor", recording)
    return names


@pytest.fixture
def server_side_cursors_disabled():
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True
    yield
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = False


def test_the_iterator_opens_a_server_side_cursor_unless_disabled(alpha, cursor_names):
    # The control: without the setting, the recorder sees a named cursor.
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = False
    list(type(alpha).objects.all().iterator(chunk_size=10))
    assert any(name for name in cursor_names)


def test_the_hot_paths_open_no_server_side_cursor_when_disabled(
    server_side_cursors_disabled,
    cursor_names,
    alpha,
    alpha_clerk,
    make_staff,
    api_client_for,
    citizen,
    consent,
    inventory,
    open_mobile,
    settings,
    tmp_path,
):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    # An opening through the API.
    api = api_client_for(alpha_clerk)
    response = api.post(
        "/api/v1/transactions/",
        {
            "kind": "mobile_open",
            "applicant": api_block(citizen()),
            "consent": {"notice": consent.notice_hash, "given": True},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 201, response.json()
    for _ in range(4):
        open_mobile()

    # A campaign planned and dispatched.
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Pooled",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    assert campaigns.campaign_plan(campaign=campaign, chunk_size=2) == 5
    sent = sum(
        dispatch.batch_send(batch_id=pk)
        for pk in dispatch.batches_create(campaign=campaign, size=2)
    )
    assert sent == 5
    assert Delivery.objects.filter(request__campaign=campaign).count() == 5
    assert len((tmp_path / "file.jsonl").read_text().splitlines()) == 5

    # The access log verified chain by chain with .iterator().
    report = access_log.verify_report(chunk_size=2)
    assert report.intact, report.breaks
    assert report.entries > 0

    assert cursor_names, "the recorder saw no cursor at all"
    assert [name for name in cursor_names if name] == []


def _settings_in_subprocess(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import django, json; django.setup(); from django.db import connection; "
        "d = connection.settings_dict; "
        "with_cursor = connection.cursor(); with_cursor.execute('SELECT 1'); "
        "print(json.dumps({'pool': d.get('OPTIONS', {}).get('pool'), "
        "'disable': d.get('DISABLE_SERVER_SIDE_CURSORS'), 'age': d['CONN_MAX_AGE'], "
        "'pooled': connection.pool is not None}))"
    )
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    if s.get("PASSWORD"):
        url = url.replace("@", f":{s['PASSWORD']}@", 1)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": url,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_settings_turn_on_the_pool_and_disable_server_side_cursors():
    result = _settings_in_subprocess(
        TELEREG_DB_POOL="1:3", TELEREG_DB_DISABLE_SERVER_SIDE_CURSORS="1"
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "pool": {"min_size": 1, "max_size": 3, "timeout": 10},
        "disable": True,
        "age": 0,
        "pooled": True,
    }


def test_without_the_settings_there_is_no_pool_and_cursors_stay_server_side():
    result = _settings_in_subprocess()
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["pool"] is None
    assert seen["disable"] is False
    assert seen["pooled"] is False


@pytest.mark.parametrize("value", ["0", "abc", "5:2", "-1", "1:2:3"])
def test_a_wrong_pool_size_is_refused_naming_the_variable(value):
    result = _settings_in_subprocess(TELEREG_DB_POOL=value)
    assert result.returncode != 0
    assert "TELEREG_DB_POOL" in result.stderr.strip().splitlines()[-1]
