"""The one tenancy mechanism: every queryset a person sees passes through
:func:`scoped`. Staff see only their operator's rows (and clerks and store
managers only their store's, where a model names a store path); platform
admins see everything; anyone else sees nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet

from .roles import SECOND_FACTOR, Role, role_can
from .sqlrows import ModelColumns, per_connection

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.backends.base.base import BaseDatabaseWrapper

    from .models import StaffMember

    AnyUser = AbstractBaseUser | AnonymousUser

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_telereg_staff"
_PARTNER_ATTR = "_telereg_is_partner_account"


def staff_of(user: AnyUser | None) -> StaffMember | None:
    """The active staff profile of a user, or None (cached on the user object,
    which lives for one request: a deactivation counts from the next one).

    The profile comes with its operator and store, and says in
    ``undertaking_accepted`` whether the user accepted the newest
    confidentiality undertaking, so the gate every request passes costs this
    one query."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if not hasattr(user, _CACHE_ATTR):
        setattr(user, _CACHE_ATTR, _staff_query(connections[DEFAULT_DB_ALIAS]).fetch(user.pk))
    return getattr(user, _CACHE_ATTR)


class _StaffQuery:
    """The staff query, written once per database connection (operators.sqlrows).

    The SQL is the ORM's ``StaffMember.objects.select_related("operator",
    "store").annotate(undertaking_accepted=Exists(UndertakingAcceptance.objects
    .filter(user=OuterRef("user"), undertaking=Subquery(newest)))).filter(
    user=user, active=True)``, where ``newest`` is the undertaking with the
    latest ``published_at``."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        from .models import (
            ConfidentialityUndertaking,
            Operator,
            StaffMember,
            Store,
            StoreStatus,
            UndertakingAcceptance,
        )

        self.store_active = StoreStatus.ACTIVE.value

        s = self.staff = ModelColumns(connection, StaffMember, "s")
        o = self.operator = ModelColumns(connection, Operator, "o")
        st = self.store = ModelColumns(connection, Store, "st")
        u = ModelColumns(connection, ConfidentialityUndertaking, "u")
        a = ModelColumns(connection, UndertakingAcceptance, "a")
        self.connection = connection
        newest = (
            f"SELECT {u.column('id')} FROM {u.table}"  # noqa: S608
            f" ORDER BY {u.column('published_at')} DESC LIMIT 1"
        )
        accepted = (
            f"SELECT 1 FROM {a.table} WHERE {a.column('user')} = {s.column('user')}"  # noqa: S608
            f" AND {a.column('undertaking')} = ({newest})"
        )
        self.sql = (
            f"SELECT {s.select}, {o.select}, {st.select}, EXISTS({accepted})"  # noqa: S608
            f" FROM {s.table}"
            f" INNER JOIN {o.table} ON {s.column('operator')} = {o.column('id')}"
            f" LEFT OUTER JOIN {st.table} ON {s.column('store')} = {st.column('id')}"
            f" WHERE {s.column('user')} = %s AND {s.column('active')} = %s"
            # A suspended or blacklisted store's staff are nobody's staff.
            f" AND ({s.column('store')} IS NULL OR {st.column('status')} = %s)"
        )
        self.operator_field = StaffMember._meta.get_field("operator")
        self.store_field = StaffMember._meta.get_field("store")

    def fetch(self, user_id: int) -> StaffMember | None:
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, [user_id, True, self.store_active])
            row = cursor.fetchone()
        if row is None:
            return None
        staff = self.staff.build(row, 0)
        start = self.staff.width
        self.operator_field.set_cached_value(staff, self.operator.build(row, start))
        start += self.operator.width
        self.store_field.set_cached_value(staff, self.store.build(row, start))
        staff.undertaking_accepted = bool(row[start + self.store.width])
        return staff


_staff_query = per_connection(_StaffQuery)


def session_unverified(user: AnyUser | None) -> bool:
    """Whether ``user`` came from a web session that has not (yet) passed the
    second factor. django-otp's middleware gives every session user
    ``is_verified``; users from an API token (issued only with the code, see
    :mod:`operators.tokens`), a task or a command carry none."""
    is_verified = getattr(user, "is_verified", None)
    return is_verified is not None and not is_verified()


def second_factor_required(user: AnyUser | None) -> bool:
    """Whether ``user`` signs in with a second factor: platform admins and the
    roles in :data:`operators.roles.SECOND_FACTOR`."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    staff = staff_of(user)
    return staff is not None and staff.role in SECOND_FACTOR


def is_platform_admin(user: AnyUser | None) -> bool:
    # A superuser's session holds nothing until the second factor is passed;
    # a partner's account is never staff, even if someone made it a superuser.
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and user.is_superuser
        and not session_unverified(user)
        and not _is_partner_account(user)
    )


def _is_partner_account(user: AnyUser) -> bool:
    """Whether the account is a partner's (active or not), cached on the user
    object for its request."""
    if not hasattr(user, _PARTNER_ATTR):
        partner = apps.get_model("operators", "Partner")
        setattr(user, _PARTNER_ATTR, partner.objects.filter(user_id=user.pk).exists())
    return getattr(user, _PARTNER_ATTR)


def can(user: AnyUser | None, permission: str) -> bool:
    """The permission matrix applied to a signed-in user. A privileged role's
    session that has not passed the second factor holds no permission."""
    if is_platform_admin(user):
        return True
    staff = staff_of(user)
    if staff is None or not role_can(staff.role, permission):
        return False
    return staff.role not in SECOND_FACTOR or not session_unverified(user)


@dataclass(frozen=True)
class Scope:
    """What a user may see of one model: every row (``everything``), no row
    (``nothing``), or the rows of one operator and, where the model names a
    store path and the role works in one store, of one store. The one
    definition both :func:`scoped` (querysets) and hand-written SQL
    (:meth:`sql`) apply."""

    everything: bool = False
    nothing: bool = False
    operator_id: int | None = None
    store_id: int | None = None
    operator_path: str | None = None
    store_path: str | None = None

    def apply(self, queryset: QuerySet[M]) -> QuerySet[M]:
        if self.everything:
            return queryset
        if self.nothing:
            return queryset.none()
        queryset = queryset.filter(**{self.operator_path: self.operator_id})
        if self.store_id is not None:
            queryset = queryset.filter(**{self.store_path: self.store_id})
        return queryset

    def sql(self, *, operator_column: str, store_column: str | None = None) -> tuple[str, list]:
        """The scope as a condition to AND onto a hand-written WHERE (or ON):
        ``(" AND <column> = %s ...", params)``; ``("", [])`` for everything.
        The columns are the ones the model's tenancy paths name."""
        if self.everything:
            return "", []
        if self.nothing:
            return " AND 1 = 0", []
        clause, params = f" AND {operator_column} = %s", [self.operator_id]
        if self.store_id is not None:
            if store_column is None:
                # A store-bound scope the statement cannot express: nothing.
                return " AND 1 = 0", []
            clause += f" AND {store_column} = %s"
            params.append(self.store_id)
        return clause, params


def scope_for(
    user: AnyUser | None,
    model: type[Model],
    *,
    operator_path: str | None = None,
    store_path: str | None = None,
) -> Scope:
    """What ``user`` may see of ``model``, by the model's tenancy paths (or the
    given ones, for models we do not own such as ``auth.User``). Fails closed."""
    if is_platform_admin(user):
        return Scope(everything=True)
    staff = staff_of(user)
    if staff is None or (staff.role in SECOND_FACTOR and session_unverified(user)):
        return Scope(nothing=True)
    operator_path = operator_path or getattr(model, "TENANT_OPERATOR_PATH", None)
    if operator_path is None:
        # A model that does not say how it is scoped is never shown to tenants.
        return Scope(nothing=True)
    store_path = store_path or getattr(model, "TENANT_STORE_PATH", None)
    if store_path and staff.role in (Role.CLERK, Role.STORE_MANAGER):
        # Clerks and store managers work in one store and see only its rows;
        # head-office roles (no store) see the operator's.
        if staff.store_id is None:
            return Scope(nothing=True)
        return Scope(
            operator_id=staff.operator_id,
            store_id=staff.store_id,
            operator_path=operator_path,
            store_path=store_path,
        )
    return Scope(operator_id=staff.operator_id, operator_path=operator_path)


def scoped(
    queryset: QuerySet[M],
    user: AnyUser | None,
    *,
    operator_path: str | None = None,
    store_path: str | None = None,
) -> QuerySet[M]:
    """Restrict a queryset to what ``user`` may see (:func:`scope_for`)."""
    return scope_for(
        user, queryset.model, operator_path=operator_path, store_path=store_path
    ).apply(queryset)
