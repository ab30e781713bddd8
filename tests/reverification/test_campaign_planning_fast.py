"""Campaign planning in ranges: resumable, nothing twice, other live campaigns'
pending lines left out in every range, and the ON CONFLICT fallback when the
anti-join on the campaign's own requests did not see another run's rows."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.db.models import OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from identity.models import Person, VerificationStatus
from operators.roles import Role
from reverification import campaigns
from reverification.models import Campaign, CampaignState, RequestState, ReverificationRequest

pytestmark = pytest.mark.django_db


class Interrupted(Exception):
    """Stands for a worker lost in the middle of planning."""


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def lines(open_mobile):
    """Six mobile lines; the holders of the first two never verified."""
    made = [open_mobile()[0].line for _ in range(6)]
    Person.objects.filter(pk__in=[made[0].holder_id, made[1].holder_id]).update(
        verification_status=VerificationStatus.NEVER, verified_at=None
    )
    return made


def launched(alpha, officer, **criteria) -> Campaign:
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Legacy prepaid",
            criteria={"line_kind": "mobile", **criteria},
            deadline=timezone.localdate() + dt.timedelta(days=30),
            reminder_days=[14, 7, 2],
            channels=["file"],
        ),
        actor=officer.user,
    )
    return campaigns.campaign_launch(campaign=campaign, actor=officer.user)


def interrupt_after_first_range(campaign: Campaign, chunk_size: int) -> None:
    def progress(_high: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        campaigns.campaign_plan(campaign=campaign, chunk_size=chunk_size, progress=progress)


def planned_lines(campaign: Campaign) -> list[int]:
    return sorted(campaign.requests.values_list("line_id", flat=True))


def test_planning_twice_in_small_ranges_creates_nothing_twice(alpha, officer, lines):
    campaign = launched(alpha, officer)
    assert campaigns.campaign_plan(campaign=campaign, chunk_size=2) == 6
    assert campaigns.campaign_plan(campaign=campaign, chunk_size=4) == 6
    assert planned_lines(campaign) == sorted(line.pk for line in lines)
    campaign.refresh_from_db()
    assert campaign.planned_count == 6


def test_an_interrupted_planning_resumes_with_only_the_missing_lines(alpha, officer, lines):
    campaign = launched(alpha, officer)
    interrupt_after_first_range(campaign, chunk_size=2)
    assert campaign.requests.count() == 2
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.PLANNING  # not running until every range is done
    assert campaigns.campaign_plan(campaign=campaign, chunk_size=2) == 6
    assert planned_lines(campaign) == sorted(line.pk for line in lines)
    campaign.refresh_from_db()
    assert (campaign.state, campaign.planned_count) == (CampaignState.RUNNING, 6)


def test_progress_is_told_the_upper_bound_of_each_range(alpha, officer, lines):
    campaign = launched(alpha, officer)
    seen: list[int] = []
    campaigns.campaign_plan(campaign=campaign, chunk_size=2, progress=seen.append)
    first = min(line.pk for line in lines)
    assert seen == list(range(first + 1, first + 7, 2))


def test_a_range_planned_meanwhile_by_another_run_is_done_again_with_on_conflict(
    alpha, officer, lines, monkeypatch
):
    campaign = launched(alpha, officer)
    interrupt_after_first_range(campaign, chunk_size=2)
    # As if another run committed those two requests after this run's
    # statement took its snapshot: the anti-join does not see them.
    monkeypatch.setattr(
        campaigns,
        "_planned_already",
        lambda campaign, *, low, high: ReverificationRequest.objects.filter(
            pk__lt=0, line=OuterRef("pk")
        ),
    )
    with CaptureQueriesContext(connection) as queries:
        assert campaigns.campaign_plan(campaign=campaign, chunk_size=6) == 6
    assert any("ON CONFLICT" in q["sql"] for q in queries.captured_queries)
    assert planned_lines(campaign) == sorted(line.pk for line in lines)


def test_a_range_without_conflict_needs_no_on_conflict(alpha, officer, lines):
    campaign = launched(alpha, officer)
    with CaptureQueriesContext(connection) as queries:
        campaigns.campaign_plan(campaign=campaign)
    assert not any("ON CONFLICT" in q["sql"] for q in queries.captured_queries)


def test_lines_pending_in_another_live_campaign_are_left_out_in_every_range(alpha, officer, lines):
    first = launched(alpha, officer, holder_verification="never")
    assert campaigns.campaign_plan(campaign=first) == 2
    campaigns.campaign_pause(campaign=first, actor=officer.user)  # paused is still live
    second = launched(alpha, officer)
    assert campaigns.campaign_plan(campaign=second, chunk_size=1) == 4
    assert not set(planned_lines(first)) & set(planned_lines(second))


def test_lines_of_another_campaign_no_longer_pending_are_planned_again(alpha, officer, lines):
    first = launched(alpha, officer, holder_verification="never")
    campaigns.campaign_plan(campaign=first)
    first.requests.filter(line_id=lines[0].pk).update(state=RequestState.VERIFIED)
    second = launched(alpha, officer)
    assert campaigns.campaign_plan(campaign=second, chunk_size=2) == 5
    for finished in (first, second):  # closing cancels what was still pending
        campaigns.campaign_close(campaign=finished, actor=officer.user)
    assert campaigns.campaign_plan(campaign=launched(alpha, officer), chunk_size=2) == 6


@pytest.mark.django_db(transaction=True)
def test_runs_of_one_campaign_racing_each_other_plan_each_line_once(alpha, officer, lines):
    campaign = launched(alpha, officer)
    runs = 4
    barrier = threading.Barrier(runs)
    results: list[object] = [None] * runs

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = campaigns.campaign_plan(campaign=campaign, chunk_size=3)
        except Exception as exc:  # the outcome under test, recorded per run
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert planned_lines(campaign) == sorted(line.pk for line in lines)
    campaign.refresh_from_db()
    assert (campaign.state, campaign.planned_count) == (CampaignState.RUNNING, 6)


def test_on_postgresql_the_anti_joins_are_planned_as_index_probes(alpha, officer, lines):
    """With the request table's statistics still saying "empty", PostgreSQL
    would answer the anti-joins with a sequential scan per line over the rows
    the same statement inserts (quadratic); each range forbids that first."""
    campaign = launched(alpha, officer)
    Campaign.objects.filter(pk=campaign.pk).update(state=CampaignState.PLANNING)
    ReverificationRequest.objects.filter(campaign=campaign).delete()
    with CaptureQueriesContext(connection) as captured:
        campaigns.campaign_plan(campaign=campaign, chunk_size=2)
    statements = [q["sql"] for q in captured.captured_queries]
    inserts = [n for n, sql in enumerate(statements) if sql.startswith("INSERT INTO")]
    assert inserts
    assert ReverificationRequest.objects.filter(campaign=campaign).count() == len(lines)
    guarded = [n for n in inserts if statements[n - 1] == "SET LOCAL enable_seqscan = off"]
    assert guarded == (inserts if connection.vendor == "postgresql" else [])
