"""access_log.append_many (issue 17: a re-encrypting key rotation logs a batch of
persons in one INSERT): the same chains as appending one by one."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from identity import access_log
from identity.models import AccessLogEntry, AccessPurpose

pytestmark = pytest.mark.django_db


def test_append_many_chains_each_operator_as_one_by_one_appends_would(
    alpha, beta, alpha_compliance
):
    access_log.append(operator=alpha, actor=None, purpose=AccessPurpose.MAINTENANCE, reason="a0")
    written = access_log.append_many(
        [
            {
                "operator": alpha,
                "actor": None,
                "purpose": AccessPurpose.MAINTENANCE,
                "reason": "a1",
            },
            {"operator": beta, "actor": None, "purpose": AccessPurpose.MAINTENANCE, "reason": "b1"},
            {
                "operator": alpha,
                "actor": alpha_compliance.user,
                "purpose": AccessPurpose.MAINTENANCE,
                "fields": ["name", "id_number", "name"],
                "reason": "a2",
            },
        ]
    )
    assert [e.reason for e in written] == ["a1", "b1", "a2"]
    access_log.append(operator=alpha, actor=None, purpose=AccessPurpose.MAINTENANCE, reason="a3")
    alpha_chain = list(AccessLogEntry.objects.filter(operator=alpha).order_by("seq"))
    assert [(e.seq, e.reason) for e in alpha_chain] == [(1, "a0"), (2, "a1"), (3, "a2"), (4, "a3")]
    for before, after in zip(alpha_chain, alpha_chain[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    assert alpha_chain[2].fields == ["id_number", "name"]
    assert alpha_chain[2].actor_label == alpha_compliance.user.get_username()
    beta_chain = list(AccessLogEntry.objects.filter(operator=beta))
    assert [(e.seq, e.prev_hash) for e in beta_chain] == [(1, access_log.GENESIS)]
    assert list(access_log.verify()) == []
    call_command("verify_access_log")
    assert access_log.append_many([]) == []
