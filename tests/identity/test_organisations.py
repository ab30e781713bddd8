"""Organisations (issue 15): the credit code's check character, one per
operator and code through the blind index, fields encrypted under their own
key and bound to the row, masked display, logged reveal, shredding, caps."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection

from identity import crypto, organisations
from identity.errors import IdentityInvalid, RevealNotAllowed
from identity.models import AccessLogEntry, Organisation, OrganisationCapChange
from identity.services import RevealReasonRequired
from operators.roles import Role

pytestmark = pytest.mark.django_db

# Valid GB 32100 codes (check character computed by python-stdnum).
CODE = "91110000600037341L"
OTHER_CODE = "91350100M000100Y43"
NAME = "样例科技有限公司"
ADDRESS = "北京市朝阳区样例大街1号"


def data(code=CODE, name=NAME, address=ADDRESS):
    return organisations.organisation_validate(name=name, uscc=code, address=address)


def test_the_two_sample_codes_are_valid():
    assert organisations.uscc_normalise(CODE) == CODE
    assert organisations.uscc_normalise(OTHER_CODE) == OTHER_CODE
    assert organisations.uscc_normalise(" 9111 0000 6000 3734 1l ") == CODE


@pytest.mark.parametrize(
    "code",
    [CODE[:-1] + "M", CODE[:-1] + "0"],
)
def test_a_wrong_check_character_is_refused_on_uscc(code):
    with pytest.raises(IdentityInvalid) as caught:
        organisations.uscc_normalise(code)
    assert list(caught.value.errors) == ["uscc"]
    assert "check character" in caught.value.errors["uscc"][0]


@pytest.mark.parametrize("code", ["", "123", CODE + "1", "9111000060003734\x001", "x" * 5000])
def test_malformed_codes_are_refused_on_uscc(code):
    with pytest.raises(IdentityInvalid) as caught:
        organisations.uscc_normalise(code)
    assert list(caught.value.errors) == ["uscc"]


def test_validation_reports_every_field():
    with pytest.raises(IdentityInvalid) as caught:
        organisations.organisation_validate(name=" ", uscc="bad", address="a\u200bb")
    assert set(caught.value.errors) == {"name", "uscc", "address"}


def test_one_organisation_per_operator_and_code(alpha, beta):
    first = organisations.organisation_register(operator=alpha, data=data())
    again = organisations.organisation_register(operator=alpha, data=data(name="别的名字"))
    elsewhere = organisations.organisation_register(operator=beta, data=data())
    other = organisations.organisation_register(operator=alpha, data=data(code=OTHER_CODE))
    assert first.pk == again.pk
    assert elsewhere.pk != first.pk
    assert other.pk != first.pk
    assert organisations.organisation_find(operator=alpha, uscc=CODE).pk == first.pk
    assert organisations.organisation_find(operator=alpha, uscc="nonsense") is None
    # The known organisation kept its name: an opening is not a correction.
    assert organisations.organisation_masked(again)["name"] == "样*******"


def test_nothing_is_stored_in_clear_and_ciphertexts_are_bound_to_the_row(alpha):
    org = organisations.organisation_register(operator=alpha, data=data())
    other = organisations.organisation_register(operator=alpha, data=data(code=OTHER_CODE))
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM identity_organisation")
        rows = repr(cursor.fetchall())
    for clear in (NAME, CODE, ADDRESS, CODE.lower()):
        assert clear not in rows
    assert org.uscc_index != CODE
    assert len(org.uscc_index) == 64
    # The name of one organisation copied onto another does not open there.
    other.name_enc = org.name_enc
    with pytest.raises(crypto.DecryptionError):
        organisations.organisation_masked(other)


def test_masked_display(alpha):
    org = organisations.organisation_register(operator=alpha, data=data())
    masked = organisations.organisation_masked(org)
    assert masked["type"] == "organisation"
    assert masked["name"] == "样*******"
    assert masked["uscc"] == "9111**********341L"


def test_reveal_is_logged_and_only_for_compliance_of_the_operator(
    alpha, beta, make_staff, alpha_clerk
):
    org = organisations.organisation_register(operator=alpha, data=data())
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    stranger = make_staff(beta, Role.COMPLIANCE_OFFICER)
    with pytest.raises(RevealNotAllowed):
        organisations.organisation_reveal(org=org, actor=alpha_clerk.user, reason="checking")
    with pytest.raises(RevealNotAllowed):
        organisations.organisation_reveal(org=org, actor=stranger.user, reason="checking")
    with pytest.raises(RevealReasonRequired):
        organisations.organisation_reveal(org=org, actor=officer.user, reason=" ")
    assert not AccessLogEntry.objects.filter(detail__organisation=str(org.uid)).exists()
    values = organisations.organisation_reveal(
        org=org, actor=officer.user, reason="contract dispute"
    )
    assert values == {"name": NAME, "uscc": CODE, "address": ADDRESS}
    entry = AccessLogEntry.objects.get(detail__organisation=str(org.uid))
    assert entry.actor == officer.user
    assert entry.reason == "contract dispute"


def test_shredding_forgets_key_ciphertexts_and_index(alpha):
    org = organisations.organisation_register(operator=alpha, data=data())
    organisations.organisation_shred(org=org)
    org.refresh_from_db()
    assert org.wrapped_key is None
    assert bytes(org.name_enc) == b""
    assert organisations.organisation_masked(org)["name"] == "***"
    assert organisations.organisation_find(operator=alpha, uscc=CODE) is None
    fresh = organisations.organisation_register(operator=alpha, data=data())
    assert fresh.pk != org.pk


def test_retention_shreds_an_organisation_whose_last_line_closed_long_ago(alpha):
    org = organisations.organisation_register(operator=alpha, data=data())
    recent = organisations.organisation_register(operator=alpha, data=data(code=OTHER_CODE))
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=alpha.retention_days + 1)
    organisations.organisation_lines_record(
        organisation_id=org.pk, lines_held=0, last_closed_at=long_ago
    )
    organisations.organisation_lines_record(
        organisation_id=recent.pk, lines_held=0, last_closed_at=dt.datetime.now(dt.UTC)
    )
    assert organisations.organisations_retention_run() == 1
    assert Organisation.objects.get(pk=org.pk).is_shredded
    assert not Organisation.objects.get(pk=recent.pk).is_shredded


def test_cap_raised_by_a_compliance_officer_with_a_reason(alpha, beta, make_staff, alpha_clerk):
    org = organisations.organisation_register(operator=alpha, data=data())
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    assert organisations.organisation_cap(org) == 50
    with pytest.raises(organisations.OrganisationCapNotAllowed):
        organisations.organisation_cap_raise(
            org=org, actor=alpha_clerk.user, cap=80, reason="big fleet"
        )
    with pytest.raises(organisations.OrganisationCapNotAllowed):
        organisations.organisation_cap_raise(
            org=org, actor=make_staff(beta, Role.COMPLIANCE_OFFICER).user, cap=80, reason="fleet"
        )
    with pytest.raises(organisations.OrganisationCapInvalid) as caught:
        organisations.organisation_cap_raise(org=org, actor=officer.user, cap=0, reason="")
    assert set(caught.value.fields) == {"cap", "reason"}
    org = organisations.organisation_cap_raise(
        org=org, actor=officer.user, cap=80, reason="a fleet of delivery vans"
    )
    assert organisations.organisation_cap(org) == 80
    change = OrganisationCapChange.objects.get(organisation=org)
    assert (change.cap_before, change.cap_after, change.actor) == (50, 80, officer.user)


def test_authorization_validity(today):
    with pytest.raises(IdentityInvalid) as caught:
        organisations.authorization_validate(
            reference="AUTH-1", valid_until=today - dt.timedelta(days=1)
        )
    assert list(caught.value.errors) == ["valid_until"]
    ok = organisations.authorization_validate(reference=" AUTH-1 ", valid_until=today)
    assert ok.reference == "AUTH-1"


def test_rotate_keys_rewraps_organisations_and_they_still_read(alpha, settings):
    org = organisations.organisation_register(operator=alpha, data=data())
    assert org.key_id == "t1"
    new_key = base64.b64encode(b"\x05" * 32).decode()
    settings.TELEREG_KEYS = f"{settings.TELEREG_KEYS},t2:{new_key}"
    settings.TELEREG_ACTIVE_KEY = "t2"
    call_command("rotate_keys")
    org.refresh_from_db()
    assert org.key_id == "t2"
    settings.TELEREG_KEYS = settings.TELEREG_KEYS.split(",", 1)[1]  # the old key gone
    assert organisations.organisation_masked(org)["uscc"] == "9111**********341L"
