"""Model instances from a few hand-written, per-request SELECTs.

Every API request runs the staff query (and a look-up runs its line query);
building and compiling them through the ORM cost several times what the
database spends answering them. The few statements that need it are written
once per database connection from the models' meta (quoted names only; every
value is a parameter), and their rows become model instances the way the ORM
makes them: the backend's and the fields' converters, then ``Model.from_db``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.db.models.expressions import Col

if TYPE_CHECKING:
    from .tenancy import Scope

M = TypeVar("M", bound=Model)
S = TypeVar("S")


class ModelColumns(Generic[M]):
    """All concrete columns of ``model`` under a table alias, and the way back
    from a row slice to an instance."""

    def __init__(self, connection: BaseDatabaseWrapper, model: type[M], alias: str) -> None:
        qn = connection.ops.quote_name
        fields = model._meta.concrete_fields
        self.connection = connection
        self.model = model
        self.alias = alias
        self.table = f"{qn(model._meta.db_table)} {alias}"
        self.select = ", ".join(f"{alias}.{qn(f.column)}" for f in fields)
        self.attnames = [f.attname for f in fields]
        self.width = len(fields)
        self.pk_index = fields.index(model._meta.pk)
        self.converters: list[tuple[int, list[Callable], Col]] = []
        for index, field in enumerate(fields):
            col = Col(alias, field)
            functions = [
                *connection.ops.get_db_converters(col),
                *col.get_db_converters(connection),
            ]
            if functions:
                self.converters.append((index, functions, col))

    def column(self, name: str) -> str:
        """``alias."column"`` of a field, by field name."""
        field = self.model._meta.get_field(name)
        return f"{self.alias}.{self.connection.ops.quote_name(field.column)}"

    def scope_sql(self, scope: Scope) -> tuple[str, list]:
        """A tenancy scope (operators.tenancy.scope_for) on this model's
        columns, as ``(" AND ...", params)`` to append to a WHERE or ON."""
        if scope.everything or scope.nothing:
            return scope.sql(operator_column="")
        return scope.sql(
            operator_column=self.column(scope.operator_path),
            store_column=self.column(scope.store_path) if scope.store_path else None,
        )

    def build(self, row: Sequence[Any], start: int) -> M | None:
        """The instance in ``row[start:start + width]``; None when its primary
        key is NULL (a LEFT JOIN that found nothing)."""
        values = list(row[start : start + self.width])
        if values[self.pk_index] is None:
            return None
        connection = self.connection
        for index, functions, col in self.converters:
            for function in functions:
                values[index] = function(values[index], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def per_connection(
    factory: Callable[[BaseDatabaseWrapper], S],
) -> Callable[[BaseDatabaseWrapper], S]:
    """``factory(connection)``, made once per connection object (converters are
    bound to their connection's backend, and each thread has its own)."""
    made: WeakKeyDictionary[BaseDatabaseWrapper, S] = WeakKeyDictionary()

    def get(connection: BaseDatabaseWrapper) -> S:
        try:
            return made[connection]
        except KeyError:
            made[connection] = value = factory(connection)
            return value

    return get
