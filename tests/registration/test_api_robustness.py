"""Bad input of any shape is a 400 with the field named, never a 500."""

from __future__ import annotations

import uuid

import pytest

from registration.models import Transaction

pytestmark = pytest.mark.django_db

GOOD_CONSENT = {"notice": "0" * 64, "given": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "teleport", "consent": GOOD_CONSENT}, "kind"),
        ({"kind": "mobile_open"}, "consent"),
        ({"kind": "mobile_open", "consent": "yes"}, "consent.non_field_errors"),
        ({"kind": "mobile_open", "consent": GOOD_CONSENT, "applicant": "me"}, "applicant"),
        ({"kind": "mobile_open", "consent": GOOD_CONSENT, "applicant": []}, "applicant"),
        (
            {"kind": "mobile_open", "consent": GOOD_CONSENT, "applicant": {"id_type": "x"}},
            "applicant.id_type",
        ),
        (
            {
                "kind": "mobile_open",
                "consent": GOOD_CONSENT,
                "applicant": {
                    "id_type": "cn_resident_id",
                    "id_number": "1",
                    "name": "n",
                    "date_of_birth": "not-a-date",
                    "sex": "X",
                },
            },
            "applicant.date_of_birth",
        ),
        ({"kind": "mobile_transfer", "consent": GOOD_CONSENT, "line": 12345}, "holder"),
        ({"kind": "service_add", "consent": GOOD_CONSENT, "line": ["a"]}, "line"),
        ([1, 2, 3], "non_field_errors"),
    ],
)
def test_malformed_transaction_bodies_are_400_naming_the_field(
    alpha_clerk, api_client_for, alpha_notice, inventory, body, field
):
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert any(name == field or name.startswith(field) for name in fields), fields
    assert not Transaction.objects.exists()
