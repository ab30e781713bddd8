"""The business kinds, as a registry: one :class:`KindSpec` per kind says
everything the rest of the code asks about it (as identity.documents does for
document types). ``transaction_submit``, the API input serializer, the store
wizard and the holder alerts read these specs and never name a kind.

Adding a kind = one spec here (with its rule functions in kind_rules, when
its behaviour truly differs) + a migration for the model's choice. Tests register a kind of
their own with :func:`register` and remove it with :func:`unregister`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from . import kind_rules
from .models import LineKind, TransactionKind

if TYPE_CHECKING:
    import datetime as dt

    from .models import Transaction

PARTY_APPLICANT = ("applicant",)
PARTIES_TRANSFER = ("holder", "new_holder")
# The detail fields a request may carry, in the order the wizard asks them.
DETAIL_FIELD_ORDER = (
    "number",
    "line",
    "installation_address",
    "service",
    "iccid",
    "eid",
    "stay_until",
)
# A SIM is named by one of these (registration.sims): a card's ICCID or an eSIM's EID.
SIM_FIELDS = frozenset({"iccid", "eid"})
WIZARD_STEPS = ("identity", "notice", "details", "confirm")
KIND_MAX_LENGTH = 24  # Transaction.kind's column


class LineEffect(enum.StrEnum):
    OPENS = "opens"  # a new line, its number taken from the inventory
    CHANGES = "changes"  # an open line lives on, changed (holder, address, a service)
    CLOSES = "closes"  # an open line ends
    NONE = "none"  # an open line is named; the transaction only records


@dataclass(frozen=True)
class Prepared:
    """What a kind's ``prepare`` rule sees while a transaction is taken (inside
    the atomic block, the line locked): it may refuse (raise a
    RegistrationRefused) or set fields of ``tx`` before it is saved."""

    tx: Transaction
    request: Any  # services.TransactionRequest
    operator: Any
    line: Any  # the locked Line, or None for an opening
    person: Any  # the consenting party's Person


@dataclass(frozen=True)
class KindSpec:
    """One business kind.

    ``parties``: the identity blocks it takes; ``consenting``: whose consent
    and identity are stored; ``holder_party``: the party who must be the
    registered holder of the line named (None: a new line); ``fields``: the
    detail fields it takes (``required``: those it cannot do without);
    ``line_effect``; ``line_kind`` (None: any kind of line); ``cap_applies``:
    the consenting party's per-person cap of lines is checked;
    ``alerts_holder``: the holder is told of the completed transaction on their
    other lines (``alerts_line_itself``: on the line named too), with the
    message ``alert_message`` (a notices template); ``sim_required``: one of
    the SIM fields must be given (otherwise a kind with them takes one or
    none); ``identity_address_required``; ``prepare`` (take-time rules)
    and ``apply`` (what completion changes) rule functions; ``steps``: the
    store wizard's steps."""

    kind: str
    label: Any
    parties: tuple[str, ...] = PARTY_APPLICANT
    consenting: str = "applicant"
    holder_party: str | None = "applicant"
    fields: frozenset[str] = frozenset({"line"})
    required: frozenset[str] = frozenset({"line"})
    line_effect: LineEffect = LineEffect.CHANGES
    line_kind: str | None = None
    cap_applies: bool = False
    alerts_holder: bool = True
    alerts_line_itself: bool = False
    alert_message: str = "alert"
    sim_required: bool = False
    identity_address_required: bool = False
    prepare: Callable[[Prepared], None] | None = None
    apply: Callable[[Transaction, dt.datetime], None] | None = None
    steps: tuple[str, ...] = WIZARD_STEPS

    @property
    def opens_line(self) -> bool:
        return self.line_effect is LineEffect.OPENS

    @property
    def transfers(self) -> bool:
        """The consenting party becomes the line's holder in place of another."""
        return self.holder_party is not None and self.holder_party != self.consenting

    @property
    def detail_fields(self) -> list[str]:
        return [name for name in DETAIL_FIELD_ORDER if name in self.fields]


_REGISTRY: dict[str, KindSpec] = {}


def _check(spec: KindSpec) -> None:
    """A spec the services can walk, or ValueError (at start, not mid-request)."""
    if len(spec.kind) > KIND_MAX_LENGTH:
        raise ValueError(f"business kind {spec.kind!r} is longer than {KIND_MAX_LENGTH}")
    if spec.consenting not in spec.parties:
        raise ValueError(f"{spec.kind}: the consenting party is not one of its parties")
    if spec.opens_line:
        if spec.holder_party is not None or spec.line_kind is None:
            raise ValueError(f"{spec.kind}: an opening has no holder and one kind of line")
    elif spec.holder_party not in spec.parties or "line" not in spec.required:
        raise ValueError(f"{spec.kind}: a kind on an open line names it and its holder")
    unknown = (spec.fields | spec.required) - set(DETAIL_FIELD_ORDER)
    if unknown or not spec.required <= spec.fields:
        raise ValueError(f"{spec.kind}: unknown or unrequested fields {sorted(unknown)}")
    if spec.sim_required and not SIM_FIELDS <= spec.fields:
        raise ValueError(f"{spec.kind}: a kind that requires a SIM takes both SIM fields")
    if not set(spec.steps) <= set(WIZARD_STEPS):
        raise ValueError(f"{spec.kind}: unknown wizard steps")


def register(spec: KindSpec) -> KindSpec:
    """Add a kind (ValueError if its name is taken or its spec is inconsistent)."""
    if spec.kind in _REGISTRY:
        raise ValueError(f"business kind {spec.kind!r} is registered already")
    _check(spec)
    _REGISTRY[spec.kind] = spec
    return spec


def unregister(kind: str) -> None:
    _REGISTRY.pop(kind, None)


def get(kind: str) -> KindSpec:
    """The spec of a kind; KeyError for an unknown one."""
    return _REGISTRY[kind]


def known(kind: str) -> bool:
    return kind in _REGISTRY


def all_specs() -> list[KindSpec]:
    return list(_REGISTRY.values())


def values() -> list[str]:
    return list(_REGISTRY)


def choices() -> list[tuple[str, Any]]:
    return [(spec.kind, spec.label) for spec in _REGISTRY.values()]


def label(kind: str) -> Any:
    spec = _REGISTRY.get(kind)
    return spec.label if spec is not None else kind


def with_(predicate: Callable[[KindSpec], bool]) -> list[str]:
    return [spec.kind for spec in _REGISTRY.values() if predicate(spec)]


def kinds_that_alert() -> list[str]:
    return with_(lambda spec: spec.alerts_holder)


def kinds_that_transfer() -> list[str]:
    return with_(lambda spec: spec.transfers)


def kinds_that_open() -> list[str]:
    return with_(lambda spec: spec.opens_line)


# --- The kinds of the product ------------------------------------------------------------

for _spec in (
    KindSpec(
        kind=TransactionKind.MOBILE_OPEN,
        label=_("Mobile account opening"),
        holder_party=None,
        # stay_until: a visitor's (foreign passport) last day of stay.
        fields=frozenset({"number", "stay_until"}) | SIM_FIELDS,
        required=frozenset(),
        line_effect=LineEffect.OPENS,
        line_kind=LineKind.MOBILE,
        cap_applies=True,
        identity_address_required=True,
        apply=kind_rules.apply_open,
    ),
    KindSpec(
        kind=TransactionKind.LANDLINE_INSTALL,
        label=_("Landline installation"),
        holder_party=None,
        fields=frozenset({"number", "installation_address"}) | SIM_FIELDS,
        required=frozenset({"installation_address"}),
        line_effect=LineEffect.OPENS,
        line_kind=LineKind.LANDLINE,
        cap_applies=True,
        identity_address_required=True,
        apply=kind_rules.apply_open,
    ),
    KindSpec(
        kind=TransactionKind.LANDLINE_RELOCATE,
        label=_("Landline relocation"),
        fields=frozenset({"line", "installation_address"}),
        required=frozenset({"line", "installation_address"}),
        line_kind=LineKind.LANDLINE,
        alerts_holder=False,
        apply=kind_rules.apply_relocate,
    ),
    KindSpec(
        kind=TransactionKind.LANDLINE_TRANSFER,
        label=_("Landline transfer"),
        parties=PARTIES_TRANSFER,
        consenting="new_holder",
        holder_party="holder",
        line_kind=LineKind.LANDLINE,
        cap_applies=True,
        apply=kind_rules.apply_transfer,
    ),
    KindSpec(
        kind=TransactionKind.MOBILE_TRANSFER,
        label=_("Mobile account transfer"),
        parties=PARTIES_TRANSFER,
        consenting="new_holder",
        holder_party="holder",
        line_kind=LineKind.MOBILE,
        cap_applies=True,
        apply=kind_rules.apply_transfer,
    ),
    KindSpec(
        kind=TransactionKind.SERVICE_ADD,
        label=_("Added service item"),
        fields=frozenset({"line", "service"}),
        required=frozenset({"line", "service"}),
        prepare=kind_rules.prepare_service,
        apply=kind_rules.apply_service,
    ),
    KindSpec(
        kind=TransactionKind.LINE_CLOSE,
        label=_("Line closing"),
        line_effect=LineEffect.CLOSES,
        # The closing's own alert tells the holder, on this line too
        # (registration.closing), instead of the transaction's.
        alerts_holder=False,
        prepare=kind_rules.prepare_close,
        apply=kind_rules.apply_close,
    ),
    KindSpec(
        kind=TransactionKind.SIM_REPLACE,
        label=_("SIM replacement"),
        fields=frozenset({"line"}) | SIM_FIELDS,
        sim_required=True,
        # The classic account theft: the holder hears of it on every line
        # of theirs, this one included, with what to do if it was not them.
        alerts_line_itself=True,
        alert_message="sim_replaced",
        apply=kind_rules.apply_sim_replace,
    ),
):
    register(_spec)
