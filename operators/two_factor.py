"""The second factor of the privileged roles: their TOTP devices (django-otp)
and the one code check that the sign-in pages and the API token view share.

Who needs it is :func:`operators.tenancy.second_factor_required`; what an
unverified session may do (nothing privileged) is decided where every access
is decided, in :func:`operators.tenancy.can` and the staff gate. Here:

* a user has at most one TOTP device: setting one up replaces the old one,
  so a lost phone's codes stop working at once;
* a wrong code counts against the device (``throttling_failure_count``) and,
  like a wrong password, toward django-axes' lockout of the username;
  ``TELEREG_OTP_FAILURE_LIMIT`` wrong codes in a row lock the code step for
  ``TELEREG_OTP_LOCKOUT_MINUTES``. A password success does not reset that
  count (axes resets its own on success), only a right code does;
* a code is accepted once (django-otp remembers the last time step used), and
  the device row is locked while a code is checked, so parallel guesses queue.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.api import DomainError

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger(__name__)

# Six digits (eight for devices set up so); ASCII only, so int() never sees
# other scripts' digits, signs or blanks.
CODE_RE = re.compile(r"[0-9]{6,8}", re.ASCII)


class SecondFactorRequired(DomainError):
    code = "otp_required"
    message = _("This account signs in with a code from its authenticator app: send it as otp.")


class SecondFactorNotSetUp(SecondFactorRequired):
    message = _(
        "This account needs a code from an authenticator app, but none is set up yet. "
        "Ask your operator admin to set one up for you."
    )


class SecondFactorInvalid(DomainError):
    code = "otp_invalid"
    message = _("The code is not correct. After 5 wrong codes the sign-in is locked.")


class SecondFactorLocked(DomainError):
    code = "account_locked"
    message = _(
        "This account is locked after too many wrong codes. "
        "Try again later or ask your operator admin to unlock it."
    )


class _Outcome(Enum):
    VERIFIED = "verified"
    WRONG = "wrong"
    LOCKED = "locked"
    NO_DEVICE = "no_device"


@dataclass(frozen=True)
class NewDevice:
    """A device just set up, with what the staff member enters in their app.
    Shown once, to the person who set it up."""

    device: TOTPDevice
    config_url: str
    secret: str


def device_of(*, user: AbstractBaseUser) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if one is set up."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def device_secret(device: TOTPDevice) -> str:
    """The device's secret as authenticator apps take it (base32, no padding)."""
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def _locked(device: TOTPDevice, now: dt.datetime) -> bool:
    if device.throttling_failure_count < settings.TELEREG_OTP_FAILURE_LIMIT:
        return False
    since = device.throttling_failure_timestamp
    return since is not None and now - since < dt.timedelta(
        minutes=settings.TELEREG_OTP_LOCKOUT_MINUTES
    )


@transaction.atomic
def _check(user: AbstractBaseUser, code: str) -> tuple[_Outcome, bool, TOTPDevice | None]:
    """The outcome, whether this code was checked (and so counted), the device."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=True)
        .order_by("-id")
        .first()
    )
    if device is None:
        return _Outcome.NO_DEVICE, False, None
    if _locked(device, timezone.now()):
        return _Outcome.LOCKED, False, device
    if CODE_RE.fullmatch(code):
        if device.verify_token(code):
            return _Outcome.VERIFIED, True, device
    else:
        # verify_token counts its own failures; a malformed code counts too.
        device.throttle_increment(commit=True)
    outcome = _Outcome.LOCKED if _locked(device, timezone.now()) else _Outcome.WRONG
    return outcome, True, device


def second_factor_verify(
    *, user: AbstractBaseUser, code: str, request: HttpRequest | None
) -> TOTPDevice:
    """Check ``code`` against the user's device; return the device when it is right.

    Raises :class:`SecondFactorNotSetUp` when the user has no device,
    :class:`SecondFactorRequired` for an empty code (nothing is counted),
    :class:`SecondFactorInvalid` for a wrong one and :class:`SecondFactorLocked`
    once the wrong codes reached the limit. A wrong code is recorded before the
    error leaves (the count survives the error) and is reported to django-axes
    as a failed sign-in of this username."""
    if not code:
        if device_of(user=user) is None:
            raise SecondFactorNotSetUp()
        raise SecondFactorRequired()
    outcome, counted, device = _check(user, code)
    if outcome is _Outcome.NO_DEVICE:
        raise SecondFactorNotSetUp()
    if outcome is _Outcome.VERIFIED:
        return device
    if counted:
        logger.info("wrong second-factor code for user %s", user.pk)
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username()}, request=request
        )
    if outcome is _Outcome.LOCKED:
        raise SecondFactorLocked()
    raise SecondFactorInvalid()


@transaction.atomic
def device_set_up(
    *, user: AbstractBaseUser, actor: AbstractBaseUser | None, name: str = "authenticator"
) -> NewDevice:
    """Give ``user`` a new confirmed TOTP device with a fresh random secret,
    replacing any device they had (its codes stop working, and a session it
    verified loses its second factor). ``actor`` is who set it up."""
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name=name[:64], confirmed=True)
    logger.info("TOTP device set up for user %s by user %s", user.pk, actor.pk if actor else None)
    return NewDevice(device=device, config_url=device.config_url, secret=device_secret(device))


def device_unlock(*, device: TOTPDevice, actor: AbstractBaseUser | None) -> None:
    """Clear a device's wrong-code count, lifting its lock."""
    device.throttle_reset(commit=True)
    logger.info(
        "TOTP device of user %s unlocked by user %s", device.user_id, actor.pk if actor else None
    )
