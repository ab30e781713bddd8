"""Organisations in the console (issue 15): masked in both languages, their
handlers and caps, the cap raised with a reason; organisations' lines with
and without an end user."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from identity.models import Organisation, OrganisationCapChange
from operators.models import Operator
from operators.roles import Role
from registration import organisations as org_lines
from registration import representatives
from tests.test_translations import compiled_catalogue  # noqa: F401

pytestmark = pytest.mark.django_db

CODE = "91110000600037341L"
NAME = "样例物业管理有限公司"


@pytest.fixture
def org_line(submit, citizen, inventory):
    handler = citizen()
    tx = submit(
        "mobile_open",
        subscriber=representatives.OrganisationInput(name=NAME, uscc=CODE),
        handler=handler,
        authorization=representatives.AuthorizationInput(
            reference="AUTH-C", valid_until=timezone.localdate() + dt.timedelta(days=9)
        ),
    )
    return tx, handler


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_organisations_are_listed_masked_with_their_handler_and_cap(
    org_line,
    alpha_compliance,
    web_client_for,
    language,
    compiled_catalogue,  # noqa: F811
):
    _tx, handler = org_line
    Operator.objects.filter(pk=alpha_compliance.operator_id).update(default_language=language)
    client = web_client_for(alpha_compliance)
    org = Organisation.objects.get()
    for url in (
        reverse("console:identity_organisation_changelist"),
        reverse("console:identity_organisation_change", args=[org.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert NAME not in body
        assert CODE not in body
        assert handler.name not in body
        assert "9111**********341L" in body
        assert handler.name[0] + "*" in body
    with translation.override(language):
        heading = str(Organisation._meta.verbose_name)
    assert (
        heading in client.get(reverse("console:identity_organisation_changelist")).content.decode()
    )


def test_a_compliance_officer_raises_the_cap_with_a_reason(
    org_line, alpha_compliance, web_client_for, make_staff, alpha
):
    org = Organisation.objects.get()
    url = reverse("console:identity_organisation_cap", args=[org.pk])
    admin_client = web_client_for(make_staff(alpha, Role.OPERATOR_ADMIN))
    assert admin_client.post(url, {"cap": 80, "reason": "fleet"}).status_code == 403
    client = web_client_for(alpha_compliance)
    refused = client.post(url, {"cap": 80, "reason": "x"})
    assert refused.status_code == 400
    assert not OrganisationCapChange.objects.exists()
    done = client.post(url, {"cap": 80, "reason": "a fleet of vans"})
    assert done.status_code == 302
    change = OrganisationCapChange.objects.get()
    assert (change.cap_before, change.cap_after, change.reason) == (50, 80, "a fleet of vans")


def test_another_operators_compliance_sees_no_organisation(
    org_line, make_staff, beta, web_client_for
):
    client = web_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    org = Organisation.objects.get()
    assert client.get(
        reverse("console:identity_organisation_change", args=[org.pk])
    ).status_code in (
        302,
        404,
    )
    body = client.get(reverse("console:identity_organisation_changelist")).content.decode()
    assert "9111**" not in body


def test_lines_with_and_without_an_end_user(
    org_line, alpha_compliance, web_client_for, alpha_clerk, citizen, consent
):
    tx, handler = org_line
    url = reverse("console:registration_line_changelist")
    client = web_client_for(alpha_compliance)
    without = client.get(url, {"organisation_user": "without_user"}).context["cl"].result_list
    assert [line.pk for line in without] == [tx.line.pk]
    org_lines.line_user_record(
        actor=alpha_clerk.user,
        number=tx.line.number,
        handler=handler,
        user=citizen(),
        consent=consent,
    )
    assert not client.get(url, {"organisation_user": "without_user"}).context["cl"].result_list
    with_user = client.get(url, {"organisation_user": "with_user"}).context["cl"].result_list
    assert [line.pk for line in with_user] == [tx.line.pk]
    assert org_lines.organisation_lines(user=alpha_compliance.user, with_user=True).count() == 1
