"""One definition of what a staff member may see: operators.tenancy.scope_for
gives both scoped() (querysets) and the hand-written SQL of the hot paths
their operator and store filter."""

from __future__ import annotations

import pytest
from django.db import connection

from operators.roles import Role
from operators.sqlrows import ModelColumns
from operators.tenancy import scope_for, scoped
from registration import selectors
from registration.models import Line, Transaction
from tests.factories import StoreFactory
from tests.registration.test_api import opening, post_tx

pytestmark = pytest.mark.django_db


def _unverified(user):
    """The user as a web session that has not passed the second factor."""
    user.is_verified = lambda: False
    return user


def test_raw_sql_look_up_by_number_follows_scoped_for_a_session_without_second_factor(
    alpha, make_staff, api_client_for, alpha_clerk, citizen, consent, inventory
):
    number = post_tx(api_client_for(alpha_clerk), opening(citizen(), consent)).json()["number"]
    officer = _unverified(make_staff(alpha, Role.COMPLIANCE_OFFICER).user)
    assert not scoped(Line.objects.all(), officer).exists()
    assert selectors.lines_by_number(user=officer, number=number) == []


def test_raw_sql_person_lines_follow_scoped_for_a_session_without_second_factor(
    alpha, make_staff, api_client_for, alpha_clerk, citizen, consent, inventory
):
    identity = citizen()
    post_tx(api_client_for(alpha_clerk), opening(identity, consent))
    officer = _unverified(make_staff(alpha, Role.COMPLIANCE_OFFICER).user)
    person, lines = selectors.person_lines(
        user=officer, id_type=identity.id_type, id_number=identity.id_number
    )
    assert person is not None
    assert lines == []


def _raw_ids(user, model) -> list[int]:
    """The model's rows ``user`` may see, by hand-written SQL with the scope's
    condition (as the hot paths write it)."""
    columns = ModelColumns(connection, model, "t")
    condition, params = columns.scope_sql(scope_for(user, model))
    sql = f"SELECT {columns.column('id')} FROM {columns.table} WHERE 1 = 1{condition}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql + f" ORDER BY {columns.column('id')}", params)
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("role", [Role.CLERK, Role.STORE_MANAGER, Role.OPERATOR_ADMIN])
def test_scope_as_sql_shows_what_scoped_shows_store_by_store(
    role, alpha, beta, make_staff, api_client_for, citizen, consent, inventory
):
    here = make_staff(alpha, Role.CLERK)
    there = make_staff(alpha, Role.CLERK, store=StoreFactory(operator=alpha))
    for clerk in (here, there):
        post_tx(api_client_for(clerk), opening(citizen(), consent))
    viewer = make_staff(alpha, role, store=here.store).user
    outsider = make_staff(beta, Role.OPERATOR_ADMIN).user
    for user in (viewer, outsider):
        expected = list(
            scoped(Transaction.objects.order_by("pk"), user).values_list("pk", flat=True)
        )
        assert _raw_ids(user, Transaction) == expected
    seen = _raw_ids(viewer, Transaction)
    assert len(seen) == (2 if role == Role.OPERATOR_ADMIN else 1)
    assert _raw_ids(outsider, Transaction) == []


def test_scope_fails_closed_for_a_model_without_tenancy_paths(alpha_clerk):
    from django.contrib.auth.models import Group

    scope = scope_for(alpha_clerk.user, Group)
    assert scope.nothing
    assert scope.sql(operator_column="x") == (" AND 1 = 0", [])
