"""Disclosure requests (issue 16): filed by a compliance officer, decided by a
second person (four eyes), released once with one access-log entry per
person, nothing changed or deleted afterwards, legal holds from a request."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from identity.models import AccessLogEntry, AccessPurpose
from operators.roles import Role
from registration import closing, disclosures
from registration.errors import DisclosureReleased, LineOnLegalHold
from registration.models import Disclosure, DisclosureLine, DisclosureState, LegalHold

pytestmark = pytest.mark.django_db

URL = "/api/v1/disclosures/"


def body(numbers, fields=("name", "id_number"), **overrides):
    return {
        "authority": "City Police, Cybercrime Unit",
        "authority_type": "police",
        "legal_basis": "Criminal Procedure Law art. 54",
        "case_reference": "CASE-2026-0042",
        "document_reference": "WARRANT-77",
        "numbers": list(numbers),
        "fields": list(fields),
        **overrides,
    }


@pytest.fixture
def people(alpha, make_staff):
    return {
        "filer": make_staff(alpha, Role.COMPLIANCE_OFFICER),
        "second": make_staff(alpha, Role.COMPLIANCE_OFFICER),
        "admin": make_staff(alpha, Role.OPERATOR_ADMIN),
        "clerk": make_staff(alpha, Role.CLERK),
    }


@pytest.fixture
def two_lines(open_mobile):
    (tx1, id1), (tx2, id2) = open_mobile(), open_mobile()
    return [(tx1.line, id1), (tx2.line, id2)]


@pytest.fixture
def filed(people, two_lines, api_client_for):
    """A request for both lines, filed over the API; returns its id."""
    client = api_client_for(people["filer"])
    response = client.post(
        URL, body([line.number for line, _ in two_lines], ("name", "id_number", "lines")), "json"
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_filing_answers_the_id_and_pending_approval_without_personal_data(
    people, two_lines, api_client_for, filed
):
    client = api_client_for(people["filer"])
    detail = client.get(f"{URL}{filed}/").json()
    assert detail["id"] == filed
    assert detail["state"] == "pending_approval"
    assert detail["number_count"] == 2
    text = str(detail) + str(client.get(URL).json())
    for line, identity in two_lines:
        assert line.number not in text
        assert identity.name not in text
        assert identity.id_number not in text
    assert all("****" in n for n in detail["numbers_masked"])


@pytest.mark.parametrize(
    ("numbers", "why"),
    [
        (["13800138000"], "E.164"),
        (["+8613800"], "not a valid number"),
        (["+8613999999999"], "not a line of this operator"),
        ([], "at least one"),
    ],
)
def test_bad_numbers_are_400_on_numbers_and_store_nothing(
    people, api_client_for, two_lines, numbers, why
):
    response = api_client_for(people["filer"]).post(URL, body(numbers), "json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"numbers"}, response.json()
    reasons = " ".join(response.json()["error"]["fields"]["numbers"])
    assert why.lower() in reasons.lower()
    assert not Disclosure.objects.exists()


def test_a_nul_byte_in_a_number_is_400_on_that_number(people, api_client_for, two_lines):
    response = api_client_for(people["filer"]).post(URL, body(["+86138\x0000138000"]), "json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"numbers.0"}
    assert not Disclosure.objects.exists()


def test_a_number_named_twice_is_400(people, api_client_for, two_lines):
    number = two_lines[0][0].number
    response = api_client_for(people["filer"]).post(URL, body([number, number]), "json")
    assert response.status_code == 400
    assert "numbers" in response.json()["error"]["fields"]


def test_another_operators_line_is_not_a_line_of_this_operator(
    beta, make_staff, api_client_for, two_lines
):
    officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    response = api_client_for(officer).post(URL, body([two_lines[0][0].number]), "json")
    assert response.status_code == 400
    assert "numbers" in response.json()["error"]["fields"]


@pytest.mark.parametrize("fields", [["name", "date_of_birth"], [], ["name", "name"]])
def test_only_name_id_number_address_lines_may_be_asked(people, api_client_for, two_lines, fields):
    response = api_client_for(people["filer"]).post(
        URL, body([two_lines[0][0].number], fields), "json"
    )
    assert response.status_code == 400
    assert "fields" in response.json()["error"]["fields"]


def test_missing_legal_basis_and_huge_authority_are_400_on_their_fields(
    people, api_client_for, two_lines
):
    response = api_client_for(people["filer"]).post(
        URL, body([two_lines[0][0].number], legal_basis="  ", authority="x" * 5000), "json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "legal_basis" in fields
    assert "authority" in fields


def test_clerks_get_403_and_operator_admins_cannot_file(people, api_client_for, two_lines):
    numbers = [two_lines[0][0].number]
    assert api_client_for(people["clerk"]).post(URL, body(numbers), "json").status_code == 403
    assert api_client_for(people["clerk"]).get(URL).status_code == 403
    assert api_client_for(people["admin"]).post(URL, body(numbers), "json").status_code == 403
    assert not Disclosure.objects.exists()


def test_the_filer_cannot_approve_or_refuse_four_eyes(people, api_client_for, filed):
    client = api_client_for(people["filer"])
    for action in ("approve", "refuse"):
        response = client.post(f"{URL}{filed}/{action}/", {}, "json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "four_eyes"
    assert Disclosure.objects.get(pk=filed).state == DisclosureState.PENDING_APPROVAL


def test_the_database_refuses_a_decision_by_the_filer(people, filed):
    disclosure = Disclosure.objects.get(pk=filed)
    disclosure.state = DisclosureState.APPROVED
    disclosure.decided_by = disclosure.filed_by
    disclosure.decided_at = disclosure.filed_at
    with pytest.raises(IntegrityError), transaction.atomic():
        disclosure.save(update_fields=["state", "decided_by", "decided_at"])


def test_release_before_approval_is_409_and_reveals_nothing(people, api_client_for, filed):
    response = api_client_for(people["filer"]).post(f"{URL}{filed}/release/", {}, "json")
    assert response.status_code == 409
    assert not AccessLogEntry.objects.filter(purpose=AccessPurpose.LAW_ENFORCEMENT).exists()


def test_approved_request_is_released_once_with_one_log_entry_per_person(
    people, api_client_for, filed, two_lines
):
    approve = api_client_for(people["admin"]).post(f"{URL}{filed}/approve/", {}, "json")
    assert approve.status_code == 200
    assert approve.json()["state"] == "approved"
    release = api_client_for(people["filer"]).post(f"{URL}{filed}/release/", {}, "json")
    assert release.status_code == 200, release.json()
    assert release["Cache-Control"] == "no-store"
    records = release.json()["records"]
    assert [r["number"] for r in records] == [line.number for line, _ in two_lines]
    for record, (line, identity) in zip(records, two_lines, strict=True):
        assert set(record) == {"number", "name", "id_number", "lines"}
        assert record["name"] == identity.name
        assert record["id_number"] == identity.id_number
        assert record["lines"] == [line.number]
    entries = AccessLogEntry.objects.filter(purpose=AccessPurpose.LAW_ENFORCEMENT)
    assert entries.count() == 2
    assert {e.person_id for e in entries} == {line.holder_id for line, _ in two_lines}
    assert all(e.detail == {"disclosure": filed} for e in entries)
    assert all(e.actor_id == people["filer"].user.pk for e in entries)
    assert sorted(entries[0].fields) == ["id_number", "lines", "name"]

    again = api_client_for(people["second"]).post(f"{URL}{filed}/release/", {}, "json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "disclosure_released"
    assert entries.count() == 2
    assert Disclosure.objects.get(pk=filed).state == DisclosureState.RELEASED


def test_two_numbers_of_one_holder_give_one_entry_and_both_records(
    people, api_client_for, open_mobile, submit
):
    tx, identity = open_mobile()
    second = submit("mobile_open", applicant=identity)
    numbers = [tx.line.number, second.line.number]
    client = api_client_for(people["filer"])
    pk = client.post(URL, body(numbers, ("address",)), "json").json()["id"]
    api_client_for(people["second"]).post(f"{URL}{pk}/approve/", {}, "json")
    records = api_client_for(people["second"]).post(f"{URL}{pk}/release/", {}, "json").json()
    assert [r["number"] for r in records["records"]] == numbers
    assert all(set(r) == {"number", "address"} for r in records["records"])
    assert AccessLogEntry.objects.filter(purpose=AccessPurpose.LAW_ENFORCEMENT).count() == 1


def test_a_refused_request_is_never_released(people, api_client_for, filed):
    refuse = api_client_for(people["second"]).post(
        f"{URL}{filed}/refuse/", {"reason": "No valid warrant attached."}, "json"
    )
    assert refuse.status_code == 200
    assert refuse.json()["state"] == "refused"
    assert refuse.json()["refusal_reason"] == "No valid warrant attached."
    assert (
        api_client_for(people["second"]).post(f"{URL}{filed}/approve/", {}, "json").status_code
        == 409
    )
    release = api_client_for(people["filer"]).post(f"{URL}{filed}/release/", {}, "json")
    assert release.status_code == 409
    assert not AccessLogEntry.objects.filter(purpose=AccessPurpose.LAW_ENFORCEMENT).exists()


def test_operator_admin_approves_but_cannot_release(people, api_client_for, filed):
    api_client_for(people["admin"]).post(f"{URL}{filed}/approve/", {}, "json")
    response = api_client_for(people["admin"]).post(f"{URL}{filed}/release/", {}, "json")
    assert response.status_code == 403
    assert Disclosure.objects.get(pk=filed).state == DisclosureState.APPROVED


def test_another_operators_staff_get_404(beta, make_staff, api_client_for, filed):
    officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    client = api_client_for(officer)
    assert client.get(f"{URL}{filed}/").status_code == 404
    for action in ("approve", "refuse", "release"):
        assert client.post(f"{URL}{filed}/{action}/", {}, "json").status_code == 404
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}999999/").status_code == 404


def test_nothing_changes_after_approval_and_nothing_is_deleted(people, filed):
    disclosure = Disclosure.objects.get(pk=filed)
    disclosures.disclosure_approve(disclosure=disclosure, actor=people["second"].user)
    disclosure = Disclosure.objects.get(pk=filed)
    disclosure.legal_basis = "something else"
    with pytest.raises(PermissionError):
        disclosure.save()
    with pytest.raises(PermissionError):
        disclosure.save(update_fields=["legal_basis"])
    with pytest.raises(PermissionError):
        Disclosure.objects.filter(pk=filed).update(legal_basis="x")
    with pytest.raises(PermissionError):
        disclosure.delete()
    with pytest.raises(PermissionError):
        Disclosure.objects.filter(pk=filed).delete()
    with pytest.raises(PermissionError):
        DisclosureLine.objects.filter(disclosure_id=filed).first().delete()
    assert Disclosure.objects.get(pk=filed).legal_basis == "Criminal Procedure Law art. 54"


def test_a_released_request_cannot_be_moved_back(people, filed):
    disclosure = Disclosure.objects.get(pk=filed)
    disclosures.disclosure_approve(disclosure=disclosure, actor=people["second"].user)
    disclosures.disclosure_release(disclosure=disclosure, actor=people["filer"].user)
    released = Disclosure.objects.get(pk=filed)
    released.state = DisclosureState.APPROVED
    with pytest.raises(PermissionError):
        released.save(update_fields=["state"])


def test_a_hold_from_the_request_stops_closing_its_lines(people, filed, two_lines):
    disclosure = Disclosure.objects.get(pk=filed)
    holds = disclosures.disclosure_holds_set(disclosure=disclosure, actor=people["filer"].user)
    assert len(holds) == 2
    assert set(
        LegalHold.objects.filter(disclosure=disclosure).values_list("line_id", flat=True)
    ) == {line.pk for line, _ in two_lines}
    with pytest.raises(LineOnLegalHold):
        closing.line_close(line=two_lines[0][0], reason="fraud", actor=people["admin"].user)


def test_operator_admins_cannot_set_holds_from_a_request(people, filed):
    from registration.errors import DisclosureNotAllowed

    with pytest.raises(DisclosureNotAllowed):
        disclosures.disclosure_holds_set(
            disclosure=Disclosure.objects.get(pk=filed), actor=people["admin"].user
        )
    assert not LegalHold.objects.exists()


def test_filing_as_a_service_rejects_a_clerk(people, two_lines):
    from registration.errors import DisclosureNotAllowed

    with pytest.raises(DisclosureNotAllowed):
        disclosures.disclosure_file(
            actor=people["clerk"].user,
            data=disclosures.DisclosureInput(
                authority="x",
                legal_basis="y",
                case_reference="z",
                numbers=[two_lines[0][0].number],
                fields=["name"],
            ),
        )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's")
def test_sql_that_bypasses_the_orm_cannot_change_or_delete_a_request(people, filed):
    disclosures.disclosure_approve(
        disclosure=Disclosure.objects.get(pk=filed), actor=people["second"].user
    )
    statements = [
        "UPDATE registration_disclosure SET legal_basis = 'x' WHERE id = %s",
        "UPDATE registration_disclosure SET state = 'pending_approval' WHERE id = %s",
        "UPDATE registration_disclosure SET release_count = 0, state = 'refused' WHERE id = %s",
        "DELETE FROM registration_disclosure WHERE id = %s",
        "DELETE FROM registration_disclosureline WHERE disclosure_id = %s",
        "UPDATE registration_disclosureline SET position = 9 WHERE disclosure_id = %s",
    ]
    for sql in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [filed])
    stored = Disclosure.objects.get(pk=filed)
    assert stored.state == DisclosureState.APPROVED
    assert stored.legal_basis == "Criminal Procedure Law art. 54"


@pytest.mark.django_db(transaction=True)
def test_two_releases_at_once_release_once(people, filed):
    """Real threads on PostgreSQL: the row lock lets one release through."""
    disclosures.disclosure_approve(
        disclosure=Disclosure.objects.get(pk=filed), actor=people["second"].user
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def release(staff):
        try:
            barrier.wait()
            disclosures.disclosure_release(
                disclosure=Disclosure.objects.get(pk=filed), actor=staff.user
            )
            outcomes.append("released")
        except DisclosureReleased:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=release, args=(people[who],)) for who in ("filer", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "released"]
    assert AccessLogEntry.objects.filter(purpose=AccessPurpose.LAW_ENFORCEMENT).count() == 2
