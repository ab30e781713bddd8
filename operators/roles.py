"""Roles and the permission matrix: the one place that says who may do what.

Every surface (console, store pages, API) asks :func:`can`; nothing else
grants access. The README reproduces this table.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CLERK = "clerk", _("Clerk")
    STORE_MANAGER = "store_manager", _("Store manager")
    COMPLIANCE_OFFICER = "compliance_officer", _("Compliance officer")
    OPERATOR_ADMIN = "operator_admin", _("Operator admin")


ALL = frozenset(Role)
HEAD_OFFICE = frozenset({Role.COMPLIANCE_OFFICER, Role.OPERATOR_ADMIN})
STORE = frozenset({Role.CLERK, Role.STORE_MANAGER})
# Roles given only through a role grant that a second person approves.
PRIVILEGED = frozenset({Role.COMPLIANCE_OFFICER, Role.OPERATOR_ADMIN})
# Roles that sign in with a second factor (TOTP) after the password, on every
# surface; platform admins (superusers) do too.
SECOND_FACTOR = HEAD_OFFICE

# permission -> roles that hold it. Superusers (platform admins) hold all.
MATRIX: dict[str, frozenset[Role]] = {
    # The admin console at /console/.
    "console.access": HEAD_OFFICE,
    "operator.view": ALL,
    "operator.change": frozenset({Role.OPERATOR_ADMIN}),
    "store.view": ALL,
    "store.change": frozenset({Role.OPERATOR_ADMIN}),
    "staff.view": frozenset({Role.STORE_MANAGER, *HEAD_OFFICE}),
    "staff.change": frozenset({Role.OPERATOR_ADMIN}),
    # Request, approve or refuse privileged role grants (never one's own).
    "role_grant.manage": frozenset({Role.OPERATOR_ADMIN}),
    # Store work.
    "transaction.create": STORE,
    "transaction.view": ALL,
    "line.lookup": ALL,
    # Personal data and compliance.
    "person.reveal": frozenset({Role.COMPLIANCE_OFFICER}),
    "person.correction_request": frozenset({*STORE, Role.COMPLIANCE_OFFICER}),
    "access_log.view": frozenset({Role.COMPLIANCE_OFFICER}),
    "privacy_notice.manage": frozenset({Role.COMPLIANCE_OFFICER}),
    "campaign.manage": frozenset({Role.COMPLIANCE_OFFICER}),
    "inventory.manage": frozenset({Role.OPERATOR_ADMIN}),
    # CSV exports of the console's masked lists (each also needs the list's own
    # view permission); every export is written to the access log.
    "console.export": HEAD_OFFICE,
    # Close a line for the operator (fraud, non-payment, a court order...).
    "line.close": HEAD_OFFICE,
    # Set and lift a line's legal hold (no closing, no shredding meanwhile).
    "line.legal_hold": frozenset({Role.COMPLIANCE_OFFICER}),
    # See the operator's partners (banks, apps on /api/camara/) and their calls.
    "partner.view": HEAD_OFFICE,
    # Disclosure requests (law enforcement, courts): filed and released by
    # compliance officers, decided by a second person (never the filer).
    "disclosure.view": HEAD_OFFICE,
    "disclosure.file": frozenset({Role.COMPLIANCE_OFFICER}),
    "disclosure.decide": HEAD_OFFICE,
    "disclosure.release": frozenset({Role.COMPLIANCE_OFFICER}),
    # The transparency and regulator reports (counts only).
    "report.view": HEAD_OFFICE,
    # Decide a portrait the counter's check sent to review (never one's own).
    "portrait.review": frozenset({Role.COMPLIANCE_OFFICER, Role.STORE_MANAGER}),
    # Raise and lift risk flags on lines; suspend or blacklist a store.
    "risk_flag.manage": frozenset({Role.COMPLIANCE_OFFICER}),
    "store.suspend": frozenset({Role.COMPLIANCE_OFFICER}),
    # Organisations (issue 15): see them (masked) and raise one's line cap.
    "organisation.view": HEAD_OFFICE,
    "organisation.cap_raise": frozenset({Role.COMPLIANCE_OFFICER}),
}


def role_can(role: str | None, permission: str) -> bool:
    """Whether a role holds a permission. Unknown permissions are refused, so
    a typo denies instead of granting."""
    if role is None:
        return False
    return role in MATRIX.get(permission, frozenset())
