"""What registration puts on the console home (operators.console_home): the
transactions waiting on the authority. One aggregate query, scoped by
operators.tenancy; registered by :meth:`registration.apps.RegistrationConfig.ready`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy

from operators.console_home import HomeCount, count_register
from operators.tenancy import scoped

from .models import Transaction, TransactionState

if TYPE_CHECKING:
    from operators.tenancy import AnyUser


def verifications_pending_count(user: AnyUser) -> int:
    return scoped(
        Transaction.objects.filter(state=TransactionState.PENDING_VERIFICATION), user
    ).count()


count_register(
    HomeCount(
        key="verifications_pending",
        label=gettext_lazy("Transactions waiting for the authority"),
        permission="transaction.view",
        count=verifications_pending_count,
        changelist="console:registration_transaction_changelist",
        query={"state__exact": TransactionState.PENDING_VERIFICATION},
        order=40,
    )
)
