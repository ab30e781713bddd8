"""SIM cards and eSIMs: checking an ICCID (ITU-T E.118: 19–20 digits, ``89``
first, a Luhn check digit) or an EID (GSMA SGP.29: 32 digits, ISO 7064
mod 97-10), with python-stdnum's checks, and keeping a line's SIM history.

The identifier in clear lives only while the request is checked: the
transaction and the line's :class:`SimCard` keep its kind, last 4 digits and
a keyed digest. Opening a line installs its first SIM (no SIM change);
``sim_replace`` installs a new one in place of the one in use (a change,
with ``changed_at``), which the partner SIM-swap API reads through
``selectors.sim_last_changed_at``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.iso7064 import mod_97_10

from identity import selectors as identity_selectors

from .models import Line, SimCard, SimKind, Transaction

SIM_FIELDS = ("iccid", "eid")
KIND_OF_FIELD = {"iccid": SimKind.PHYSICAL, "eid": SimKind.ESIM}
ICCID_LENGTHS = (19, 20)
ICCID_PREFIX = "89"  # the telecom industry identifier (ITU-T E.118)
EID_LENGTH = 32
DIGEST_PURPOSE = "sim-identifier"


@dataclass(frozen=True)
class SimIdentity:
    """A checked SIM identifier, as it may be kept: never in clear."""

    kind: str
    last4: str
    digest: str

    def __repr__(self) -> str:
        return f"SimIdentity(kind={self.kind!r}, last4={self.last4!r})"


def _compact(value: str) -> str:
    """Spaces a clerk types between digit groups are not part of the number."""
    return "".join(value.split())


def iccid_problem(value: str) -> str | None:
    """Why an ICCID is refused, or None."""
    value = _compact(value)
    if not value.isascii() or not value.isdigit():
        return gettext("An ICCID has digits only.")
    if len(value) not in ICCID_LENGTHS:
        return gettext("An ICCID has 19 or 20 digits.")
    if not value.startswith(ICCID_PREFIX):
        return gettext("An ICCID starts with 89.")
    try:
        luhn.validate(value)
    except StdnumError:
        return gettext("The ICCID's check digit is wrong: check the number on the card.")
    return None


def eid_problem(value: str) -> str | None:
    """Why an EID is refused, or None."""
    value = _compact(value)
    if not value.isascii() or not value.isdigit():
        return gettext("An EID has digits only.")
    if len(value) != EID_LENGTH:
        return gettext("An EID has 32 digits.")
    try:
        mod_97_10.validate(value)
    except StdnumError:
        return gettext("The EID's check digits are wrong: check the number on the device.")
    return None


PROBLEM_OF_FIELD = {"iccid": iccid_problem, "eid": eid_problem}


@sensitive_variables()
def sim_errors(values: dict[str, str | None], *, required: bool) -> dict[str, list[str]]:
    """The errors of a request's SIM fields, by field: at most one of them
    (exactly one when ``required``), and that one well formed."""
    given = [name for name in SIM_FIELDS if values.get(name)]
    if len(given) > 1:
        message = gettext("Give either an ICCID or an EID, not both.")
        return {name: [message] for name in given}
    if not given:
        if required:
            message = gettext("Give the new SIM's ICCID or the eSIM's EID.")
            return {name: [message] for name in SIM_FIELDS}
        return {}
    name = given[0]
    problem = PROBLEM_OF_FIELD[name](values[name] or "")
    return {name: [problem]} if problem else {}


@sensitive_variables()
def sim_identity(values: dict[str, str | None]) -> SimIdentity | None:
    """The SIM a checked request names, as it may be kept (None: none)."""
    for name in SIM_FIELDS:
        if raw := values.get(name):
            value = _compact(raw)
            return SimIdentity(
                kind=KIND_OF_FIELD[name],
                last4=value[-4:],
                digest=identity_selectors.keyed_digest(DIGEST_PURPOSE, value),
            )
    return None


def transaction_sim_set(tx: Transaction, sim: SimIdentity | None) -> None:
    """Hold the SIM on the transaction until it completes (not saved)."""
    if sim is not None:
        tx.sim_kind, tx.sim_last4, tx.sim_digest = sim.kind, sim.last4, sim.digest


def sim_install(*, line: Line, tx: Transaction, now: dt.datetime, change: bool) -> SimCard | None:
    """The transaction's SIM becomes the line's SIM in use; the one before
    it (if any) is replaced now. ``change``: a replacement (``changed_at``
    set), not a line's first SIM. Runs inside the caller's atomic block;
    a transaction without a SIM installs nothing."""
    if not tx.sim_digest:
        return None
    SimCard.objects.filter(line=line, replaced_at__isnull=True).update(replaced_at=now)
    return SimCard.objects.create(
        line=line,
        kind=tx.sim_kind,
        last4=tx.sim_last4,
        digest=tx.sim_digest,
        transaction=tx,
        installed_at=now,
        changed_at=now if change else None,
    )
