"""Races with real threads, each on its own database connection: a grant is
decided once and only one grant waits per staff member, however many admins
click at the same moment."""

from __future__ import annotations

from collections import Counter

import pytest

from identity import access_log
from identity.models import AccessLogEntry, AccessPurpose
from operators import services
from operators.models import RoleGrant, RoleGrantState, StaffMember
from operators.roles import Role
from tests import helpers

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def race(worker, count: int = THREADS) -> list[object]:
    return helpers.race(worker, count)


def outcome(result: object) -> str:
    return type(result).__name__ if isinstance(result, Exception) else "ok"


def test_eight_admins_approving_one_grant_at_once_decide_it_once(alpha, make_staff):
    manager = make_staff(alpha, Role.STORE_MANAGER)
    requester = make_staff(alpha, Role.OPERATOR_ADMIN)
    approvers = [make_staff(alpha, Role.OPERATOR_ADMIN).user for _ in range(THREADS)]
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=requester.user
    )

    def approve(i: int):
        return services.role_grant_decide(grant=grant, actor=approvers[i], approve=True)

    counts = Counter(outcome(r) for r in race(approve))
    assert counts == {"ok": 1, "GrantNotPending": THREADS - 1}, counts
    assert RoleGrant.objects.get(pk=grant.pk).state == RoleGrantState.APPROVED
    assert StaffMember.objects.get(pk=manager.pk).role == Role.COMPLIANCE_OFFICER
    approvals = AccessLogEntry.objects.filter(
        purpose=AccessPurpose.ROLE_CHANGE, detail__event="grant_approved"
    )
    assert approvals.count() == 1
    assert list(access_log.verify()) == []


def test_eight_requests_for_one_staff_member_at_once_leave_one_pending_grant(alpha, make_staff):
    manager = make_staff(alpha, Role.STORE_MANAGER)
    requesters = [make_staff(alpha, Role.OPERATOR_ADMIN).user for _ in range(THREADS)]

    def request(i: int):
        return services.role_grant_request(
            staff=manager, role=Role.OPERATOR_ADMIN, actor=requesters[i]
        )

    counts = Counter(outcome(r) for r in race(request))
    assert counts == {"ok": 1, "GrantAlreadyPending": THREADS - 1}, counts
    assert RoleGrant.objects.filter(staff=manager, state=RoleGrantState.PENDING).count() == 1
    requested = AccessLogEntry.objects.filter(
        purpose=AccessPurpose.ROLE_CHANGE, detail__event="grant_requested"
    )
    assert requested.count() == 1
