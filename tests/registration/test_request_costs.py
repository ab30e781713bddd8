"""The hot API paths stay cheap: query counts per request (a regression shows
here before it shows in ``make bench``), and the precompiled reads answer
exactly what their ORM forms would."""

from __future__ import annotations

import pytest
from django.db import connection

from identity.models import Person
from operators.roles import Role
from operators.tenancy import scoped
from registration import selectors
from registration.models import Line, NumberStatus, PhoneNumber, Transaction, TransactionState
from tests.registration.test_api import opening, post_tx

pytestmark = pytest.mark.django_db

LOOKUP_URL = "/api/v1/persons/lookup/"


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


def _warm(clerk_api, citizen, consent):
    # The first opening of the day also starts the access-log chain.
    response = post_tx(clerk_api, opening(citizen(), consent))
    assert response.status_code == 201, response.content
    return response.json()


def test_an_opening_for_a_new_person_costs_at_most_28_queries(
    clerk_api, citizen, consent, inventory, django_assert_max_num_queries
):
    _warm(clerk_api, citizen, consent)
    body = opening(citizen(), consent)
    # token, staff, idempotency claim, notices, authority, access log (lock,
    # entry, head), person (lock, insert), consent, number, line, count,
    # transaction, events, holding, holder alert intent (the row a lost
    # message leaves for the sweep), idempotency answer; and the transaction
    # brackets. 25 under gunicorn on PostgreSQL; here the test's own
    # transaction adds a savepoint around the claim, and SQLite claims a
    # number in two statements.
    with django_assert_max_num_queries(28):
        response = post_tx(clerk_api, body)
    assert response.status_code == 201, response.content


def test_an_opening_for_a_returning_holder_costs_at_most_28_queries(
    clerk_api, citizen, consent, inventory, django_assert_max_num_queries
):
    identity = citizen()
    assert post_tx(clerk_api, opening(identity, consent)).status_code == 201
    with django_assert_max_num_queries(28):
        response = post_tx(clerk_api, opening(identity, consent))
    assert response.status_code == 201, response.content
    assert Person.objects.get().lines_held == 2


def test_an_opening_at_once_assigns_its_number_without_a_reservation(
    clerk_api, citizen, consent, inventory
):
    body = _warm(clerk_api, citizen, consent)
    number = PhoneNumber.objects.get(number=body["number"])
    assert number.status == NumberStatus.ASSIGNED
    assert number.reserved_for_id is None
    tx = Transaction.objects.get(uid=body["id"])
    assert tx.state == TransactionState.COMPLETED
    assert tx.next_verification_at is None
    assert tx.pending_address_enc is None
    events = [(e.from_state, e.to_state, e.note) for e in tx.events.all()]
    assert events == [
        ("", "pending_verification", "submitted"),
        ("pending_verification", "completed", "completed"),
    ]
    assert tx.line.holder_id == tx.applicant_id
    assert tx.applicant.verification_status == "verified"
    assert tx.applicant.verified_at is not None


def test_a_line_look_up_by_number_costs_three_queries(
    clerk_api, citizen, consent, inventory, django_assert_max_num_queries
):
    number = _warm(clerk_api, citizen, consent)["number"]
    with django_assert_max_num_queries(3):  # token, staff, lines
        response = clerk_api.get(f"/api/v1/lines/?number={number}")
    assert response.status_code == 200
    [line] = response.json()["results"]
    assert line["number"] == number
    assert set(line["holder"]) == {"id", "id_type", "name", "id_number"}


def test_a_person_look_up_costs_fourteen_queries(
    clerk_api, citizen, consent, inventory, django_assert_max_num_queries
):
    identity = citizen()
    number = post_tx(clerk_api, opening(identity, consent)).json()["number"]
    document = {"id_type": identity.id_type, "id_number": identity.id_number}
    # A look-up by document is a counted, logged read (identity.lookups): token,
    # staff; the hourly limit (savepoint, upsert, lock, update, release); the
    # person; the access-log entry (savepoint, lock head, insert, update head,
    # release); the person with lines. Savepoints are the test's transaction.
    with django_assert_max_num_queries(14):
        response = clerk_api.post(LOOKUP_URL, document, format="json")
    assert response.status_code == 200
    assert [line["number"] for line in response.json()["lines"]] == [number]


def _line_fields(line: Line) -> tuple:
    return (
        [getattr(line, f.attname) for f in Line._meta.concrete_fields],
        [getattr(line.holder, f.attname) for f in Person._meta.concrete_fields],
        line.store.code,
    )


@pytest.mark.parametrize("who", ["clerk", "admin", "other_operator", "platform_admin"])
def test_lines_by_number_answers_what_the_scoped_queryset_answers(
    who, alpha, beta, make_staff, clerk_api, citizen, consent, inventory, django_user_model
):
    number = _warm(clerk_api, citizen, consent)["number"]
    Line.objects.filter(number=number).update(status="closed")
    user = {
        "clerk": lambda: make_staff(alpha, Role.CLERK).user,
        "admin": lambda: make_staff(alpha, Role.OPERATOR_ADMIN).user,
        "other_operator": lambda: make_staff(beta, Role.OPERATOR_ADMIN).user,
        "platform_admin": lambda: django_user_model.objects.create_superuser(
            "root", password="x-unused-pass"
        ),
    }[who]()
    expected = list(
        scoped(Line.objects.select_related("holder", "store"), user)
        .filter(number=number)
        .order_by("number")
    )
    got = selectors.lines_by_number(user=user, number=number)
    assert [_line_fields(line) for line in got] == [_line_fields(line) for line in expected]
    assert (len(got) == 0) == (who == "other_operator")


def test_person_lines_leave_out_closed_lines_and_other_operators_persons(
    alpha, beta, make_staff, clerk_api, citizen, consent, inventory
):
    identity = citizen()
    first = post_tx(clerk_api, opening(identity, consent)).json()["number"]
    second = post_tx(clerk_api, opening(identity, consent)).json()["number"]
    Line.objects.filter(number=first).update(status="closed")
    clerk = make_staff(alpha, Role.CLERK).user
    person, lines = selectors.person_lines(
        user=clerk, id_type=identity.id_type, id_number=identity.id_number
    )
    assert person == Person.objects.get()
    assert [line.number for line in lines] == [second]
    assert lines[0].store.code
    outsider = make_staff(beta, Role.OPERATOR_ADMIN).user
    assert selectors.person_lines(
        user=outsider, id_type=identity.id_type, id_number=identity.id_number
    ) == (None, [])


def test_a_person_without_lines_is_found_with_none(alpha, make_staff, register, citizen):
    identity = citizen()
    person = register(identity)
    clerk = make_staff(alpha, Role.CLERK).user
    assert selectors.person_lines(
        user=clerk, id_type=identity.id_type, id_number=identity.id_number
    ) == (person, [])
    assert connection.vendor in ("sqlite", "postgresql")
