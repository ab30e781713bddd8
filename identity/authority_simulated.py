"""The simulated authority: a local registry of synthetic citizens in the
database (loaded with ``load_authority_registry`` or by ``seed_demo``).

Unknown document → not_found; a citizen marked ``unavailable`` → no answer
(``unavailable``, as when the real registry is unreachable, so the waiting
flow can be tried); revoked → revoked; name, birth date or sex differing →
mismatch; otherwise match. The registry holds keyed digests only.
"""

from __future__ import annotations

import uuid

from .authority import AuthorityResult, Outcome, unavailable, utc_now
from .types import IdentityData


class SimulatedBackend:
    name = "simulated"

    def verify(self, identity: IdentityData) -> AuthorityResult:
        from . import documents, services, vault
        from .models import CitizenRecord

        number = documents.normalise_document(identity.id_type, identity.id_number)
        record = CitizenRecord.objects.filter(
            doc_index=vault.document_index(identity.id_type, number)
        ).first()
        if record is not None and record.unavailable:
            return unavailable(self.name)
        if record is None:
            outcome = Outcome.NOT_FOUND
        elif record.revoked:
            outcome = Outcome.REVOKED
        elif record.name_digest != services.citizen_name_digest(identity.name):
            outcome = Outcome.MISMATCH
        elif record.birth_digest != services.citizen_birth_digest(
            identity.date_of_birth, identity.sex
        ):
            outcome = Outcome.MISMATCH
        else:
            outcome = Outcome.MATCH
        return AuthorityResult(
            outcome=outcome,
            reference=f"SIM-{uuid.uuid4().hex[:16].upper()}",
            checked_at=utc_now(),
            backend=self.name,
        )
