"""A campaign can target organisations' lines without (or with) a recorded
end user (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from registration import organisations as org_lines
from registration import representatives
from reverification import campaigns
from reverification.campaigns import CampaignInput, CampaignInvalid

pytestmark = pytest.mark.django_db


def _campaign(alpha, criteria):
    return campaigns.campaign_create(
        operator=alpha,
        data=CampaignInput(
            name="Organisation lines",
            criteria=criteria,
            deadline=timezone.localdate() + dt.timedelta(days=30),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=None,
    )


def test_organisation_lines_without_a_user_are_targeted(
    alpha, submit, citizen, inventory, alpha_clerk, consent
):
    handler = citizen()
    valid = timezone.localdate() + dt.timedelta(days=30)
    org = representatives.OrganisationInput(name="样例建设有限公司", uscc="91110000600037341L")
    auth = representatives.AuthorizationInput(reference="AUTH-R", valid_until=valid)
    first = submit("mobile_open", subscriber=org, handler=handler, authorization=auth)
    second = submit("mobile_open", subscriber=org, handler=handler, authorization=auth)
    submit("mobile_open", applicant=citizen())  # a person's own line
    org_lines.line_user_record(
        actor=alpha_clerk.user,
        number=second.line.number,
        handler=handler,
        user=citizen(),
        consent=consent,
    )
    without = _campaign(alpha, {"organisation_lines": "without_user"})
    assert list(campaigns.matching_lines(without).values_list("pk", flat=True)) == [first.line.pk]
    with_user = _campaign(alpha, {"organisation_lines": "with_user"})
    assert list(campaigns.matching_lines(with_user).values_list("pk", flat=True)) == [
        second.line.pk
    ]
    assert campaigns.matching_lines(_campaign(alpha, {"organisation_lines": "any"})).count() == 3


@pytest.mark.parametrize("value", ["nobody", 1, None, ["without_user"]])
def test_a_bad_value_is_refused_on_its_field(alpha, value):
    with pytest.raises(CampaignInvalid) as caught:
        _campaign(alpha, {"organisation_lines": value})
    assert "criteria.organisation_lines" in caught.value.fields
