"""Conflicts found at the counter's identity step, before consent and details.

Once the authority has confirmed every identity the clerk typed, the wizard
already knows what ``transaction_submit`` would refuse for: the consenting
party at the per-person cap, a line that is not this operator's or not active,
a party who is not the line's registered holder. Saying so there saves the
subscriber a notice to read and a form to fill for nothing, and keeps refused
transactions from being recorded at all.

What the checks may tell, and to whom: they run only after the authority has
matched the identities typed (a clerk must know a whole identity, not guess a
document number), the line is looked up through the counted and logged
look-up (``registration.lookups``), the person through the blind index with
an access-log entry, and the answer is only a count for this person and a
yes/no for the holder: no name, no other person's data. ``transaction_submit``
still checks everything again under its locks: this is early word, not the
rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext, gettext_lazy

from identity import lookups
from identity import selectors as identity_selectors
from identity.models import AccessPurpose

from . import kinds, selectors
from . import lookups as line_lookups
from .errors import LineNotActive, LineNotFound, LineWrongKind, TransferToSelf
from .models import Line, LineKind, LineStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from identity.types import IdentityData
    from operators.models import Operator, Store

SURFACE = "store.wizard.identity"
NOT_THE_HOLDER = gettext_lazy("This person is not the registered holder of the line.")


def line_kind_text(kind: str) -> str:
    """A line kind inside a sentence, in the reader's language."""
    texts = {LineKind.MOBILE: gettext("mobile"), LineKind.LANDLINE: gettext("landline")}
    return texts.get(kind, kind)


@dataclass(frozen=True)
class Holding:
    """How many lines of a kind the consenting party holds against the cap:
    counts only, nothing else about them."""

    party: str
    count: int
    cap: int
    line_kind: str

    @property
    def at_cap(self) -> bool:
        return self.count >= self.cap

    def as_json(self) -> dict[str, int | str]:
        return {"party": self.party, "count": self.count, "cap": self.cap, "kind": self.line_kind}

    @classmethod
    def from_json(cls, data: dict) -> Holding:
        return cls(
            party=str(data["party"]),
            count=int(data["count"]),
            cap=int(data["cap"]),
            line_kind=str(data["kind"]),
        )

    def text(self) -> str:
        """ "This document holds 5 of 5 mobile lines at this operator", and
        what follows from it when the cap is reached."""
        values = {"count": self.count, "cap": self.cap, "kind": line_kind_text(self.line_kind)}
        if self.at_cap:
            return (
                gettext(
                    "This document holds %(count)d of %(cap)d %(kind)s lines at this "
                    "operator: no more can be registered to it."
                )
                % values
            )
        note = gettext("This document holds %(count)d of %(cap)d %(kind)s lines at this operator.")
        return note % values


@dataclass
class Precheck:
    """What the identity step found: ``problems`` by field key (``line``,
    ``<party>.id_number``), each a reason in the reader's language; an empty
    dict lets the wizard go on. ``holding``: the consenting party's count
    against the cap, when the kind has one; ``holder_confirmed``: the holder
    party is the line's registered holder."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    holding: Holding | None = None
    holder_confirmed: bool = False

    def refuse(self, key: str, reason: str) -> None:
        self.problems.setdefault(key, []).append(str(reason))

    @property
    def ok(self) -> bool:
        return not self.problems


def _open_line(*, user: AbstractBaseUser, operator: Operator, number: str) -> Line | None:
    """The operator's open line with this number, through the counted and
    logged look-up (a line's holder is personal data)."""
    found = line_lookups.line_lookup_by_number(
        user=user,
        number=number,
        purpose=AccessPurpose.REGISTRATION,
        surface=SURFACE,
        open_only=True,
    )
    return next((line for line in found if line.operator_id == operator.pk), None)


def _check_line(check: Precheck, spec: kinds.KindSpec, line: Line | None, identities) -> None:
    """The line named: this operator's, open, of the kind's kind, active; its
    holder party is its registered holder; a transfer's new holder is not."""
    if line is None:
        check.refuse("line", LineNotFound.message)
        return
    if spec.line_kind is not None and line.kind != spec.line_kind:
        check.refuse("line", LineWrongKind.message)
    elif line.status != LineStatus.ACTIVE:
        check.refuse("line", LineNotActive.message)
    holder_party = spec.holder_party
    if not selectors.line_holder_is(line=line, identity=identities[holder_party]):
        check.refuse(f"{holder_party}.id_number", NOT_THE_HOLDER)
        return
    check.holder_confirmed = True
    if spec.transfers and selectors.line_holder_is(line=line, identity=identities[spec.consenting]):
        check.refuse(f"{spec.consenting}.id_number", TransferToSelf.message)


def _holding(
    *,
    actor: AbstractBaseUser,
    operator: Operator,
    store: Store | None,
    party: str,
    identity: IdentityData,
    line_kind: str,
) -> Holding:
    """The party's lines of a kind against the cap. The person is found by the
    blind index and the look-up is written to the access log (found or not)."""
    person = identity_selectors.person_find(
        operator=operator, id_type=identity.id_type, id_number=identity.id_number
    )
    lookups.lookup_record(
        operator=operator,
        actor=actor,
        purpose=AccessPurpose.REGISTRATION,
        surface=SURFACE,
        kind="document",
        person=person,
        store=store,
        extra={"id_type": identity.id_type, "check": "line_cap"},
    )
    count = selectors.lines_held_count(person=person, kind=line_kind) if person else 0
    return Holding(
        party=party,
        count=count,
        cap=selectors.line_cap(operator=operator, kind=line_kind),
        line_kind=line_kind,
    )


def wizard_precheck(
    *,
    actor: AbstractBaseUser,
    operator: Operator,
    store: Store | None,
    kind: str,
    identities: dict[str, IdentityData],
    line_number: str | None,
) -> Precheck:
    """Early conflicts of a transaction whose every identity the authority has
    matched (the caller's duty: never call it otherwise). ``identities`` are
    the normalised ones, by party; ``line_number`` the E.164 line a kind on an
    open line names. Each rule comes from the kind's spec."""
    spec = kinds.get(kind)
    check = Precheck()
    cap_kind = spec.line_kind
    if spec.holder_party is not None and line_number:
        line = _open_line(user=actor, operator=operator, number=line_number)
        _check_line(check, spec, line, identities)
        if line is not None:
            cap_kind = cap_kind or line.kind
    consenting_key = f"{spec.consenting}.id_number"
    if spec.cap_applies and cap_kind and consenting_key not in check.problems:
        check.holding = _holding(
            actor=actor,
            operator=operator,
            store=store,
            party=spec.consenting,
            identity=identities[spec.consenting],
            line_kind=cap_kind,
        )
        if check.holding.at_cap:
            check.refuse(consenting_key, check.holding.text())
    return check
