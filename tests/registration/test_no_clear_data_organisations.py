"""After organisations' openings, an end user, an agent and a minor with a
guardian, raw SQL over every table finds no organisation name, credit code
or address, and no handler, user, agent or guardian identity in clear."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from identity.services import ConsentInput
from identity.synthetic import synthetic_gb11643
from registration import organisations, representatives
from tests.conftest import years_ago
from tests.helpers import all_text_in_database

pytestmark = pytest.mark.django_db

CODE = "91110000600037341L"
ORG_NAME = "样例清扫服务有限公司"
ORG_ADDRESS = "天津市和平区样例南路66号"


def test_raw_sql_over_every_table_after_organisations_agents_and_guardians(
    submit, citizen, inventory, alpha_clerk, consent, rng, today
):
    valid = timezone.localdate() + dt.timedelta(days=60)
    handler, successor, user, agent, parent, holder = (citizen() for _ in range(6))
    subscriber = representatives.OrganisationInput(name=ORG_NAME, uscc=CODE, address=ORG_ADDRESS)
    first = submit(
        "mobile_open",
        subscriber=subscriber,
        handler=handler,
        authorization=representatives.AuthorizationInput(reference="AUTH-A", valid_until=valid),
    )
    submit(
        "mobile_open",
        subscriber=subscriber,
        handler=successor,
        authorization=representatives.AuthorizationInput(reference="AUTH-B", valid_until=valid),
    )
    organisations.line_user_record(
        actor=alpha_clerk.user,
        number=first.line.number,
        handler=successor,
        user=user,
        consent=ConsentInput(consent.notice_hash, True),
    )
    submit(
        "mobile_open",
        applicant=holder,
        agent=agent,
        authorization=representatives.AuthorizationInput(reference="POA-1", valid_until=valid),
    )
    born = years_ago(today, 11)
    minor = citizen(
        date_of_birth=born,
        sex="M",
        id_number=synthetic_gb11643(prefix6="110105", birth_date=born, sex="M", rng=rng),
    )
    opened = submit("mobile_open", applicant=minor, guardian=parent, guardian_relation="guardian")
    assert opened.guardian is not None
    dump = all_text_in_database()
    for clear in (ORG_NAME, CODE, ORG_ADDRESS, CODE.lower()):
        assert clear not in dump
    for identity in (handler, successor, user, agent, parent, holder, minor):
        assert identity.name not in dump
        assert identity.id_number not in dump
        assert identity.address not in dump
        assert identity.date_of_birth.isoformat() not in dump
