"""Failed sign-ins counted per client address, beside django-axes' lock per
username and address.

Axes locks a username at one address after ``AXES_FAILURE_LIMIT`` failures,
so a stranger elsewhere cannot lock a real user out. This counts every
failure from an address, whatever the username, and refuses further
attempts from it after ``TELEREG_SIGN_IN_ADDRESS_LIMIT`` within the cool-off:
trying forty usernames from one place is stopped, while a store's clerks
behind one NAT still have many more tries than any one of them needs.

The refusal sets the flag axes' middleware and the token view already read
(``request.axes_locked_out``), so pages and API answer it as a lockout."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from config import client_ip


def _key(request: HttpRequest) -> str:
    return f"sign-in-failures:{client_ip(request)}"


def _cooloff_seconds() -> int:
    return int(dt.timedelta(hours=settings.AXES_COOLOFF_TIME).total_seconds())


def address_blocked(request: HttpRequest) -> bool:
    return cache.get(_key(request), 0) >= settings.TELEREG_SIGN_IN_ADDRESS_LIMIT


class AddressLimitBackend:
    """An authentication backend that signs nobody in: it refuses every
    attempt from an address over its failure limit (first in
    ``AUTHENTICATION_BACKENDS``, so no password is even checked)."""

    def authenticate(self, request: HttpRequest | None, username=None, password=None, **kwargs):
        if request is not None and address_blocked(request):
            request.axes_locked_out = True
            raise PermissionDenied
        return None

    def get_user(self, user_id):
        return None


@receiver(user_login_failed, dispatch_uid="telereg-sign-in-address-failures")
def count_failure(sender, credentials, request: HttpRequest | None = None, **kwargs) -> None:
    if request is None:
        return
    key = _key(request)
    cache.add(key, 0, timeout=_cooloff_seconds())
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=_cooloff_seconds())
