"""API tokens that expire and die with the rights they were issued under.

* A token is valid for ``TELEREG_TOKEN_TTL_HOURS`` after it was issued; then
  it answers 401 ``token_expired`` (and is deleted). Checking costs nothing
  beyond DRF's own token query: the age is a column of the row it reads.
* A token is revoked (deleted) when its user's password changes, when the user
  or their staff profile is deactivated, made superuser, or given another role
  or operator: a clerk's token must not become a compliance officer's token
  that never passed the second factor. The receivers below only detect those
  changes; :func:`tokens_revoke` does the work.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from .models import Partner, StaffMember

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

User = get_user_model()

_REVOKE_ATTR = "_telereg_revoke_tokens"


def token_ttl() -> dt.timedelta:
    return dt.timedelta(hours=settings.TELEREG_TOKEN_TTL_HOURS)


class TokenExpired(exceptions.AuthenticationFailed):
    default_detail = _("This token has expired: sign in again for a new one.")
    default_code = "token_expired"


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing tokens older than the TTL."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token.created <= timezone.now() - token_ttl():
            Token.objects.filter(pk=token.pk).delete()
            raise TokenExpired()
        return user, token


@dataclass(frozen=True)
class IssuedToken:
    key: str
    expires_at: dt.datetime


def token_issue(*, user: AbstractBaseUser) -> IssuedToken:
    """The user's API token: the current one while it lasts, else a new one.

    The caller has checked the password (and the second factor where the role
    needs one)."""
    Token.objects.filter(user=user, created__lte=timezone.now() - token_ttl()).delete()
    token, _created = Token.objects.get_or_create(user=user)
    return IssuedToken(key=token.key, expires_at=token.created + token_ttl())


def tokens_revoke(*, user_id: int, reason: str) -> int:
    """Delete every API token of the user; the number deleted."""
    deleted, _ = Token.objects.filter(user_id=user_id).delete()
    if deleted:
        logger.info("API token of user %s revoked: %s", user_id, reason)
    return deleted


@receiver(pre_save, sender=User, dispatch_uid="telereg_user_token_revocation")
def _user_changes(sender: type, instance: Any, update_fields=None, **kwargs: Any) -> None:
    watched = {"password", "is_active", "is_superuser"}
    if instance.pk is None or (update_fields is not None and not watched & set(update_fields)):
        return
    old = sender._default_manager.filter(pk=instance.pk).values(*watched).first()
    if old is None:
        return
    if old["password"] != instance.password:
        setattr(instance, _REVOKE_ATTR, "password changed")
    elif old["is_active"] and not instance.is_active:
        setattr(instance, _REVOKE_ATTR, "user deactivated")
    elif instance.is_superuser and not old["is_superuser"]:
        setattr(instance, _REVOKE_ATTR, "made platform admin")


@receiver(pre_save, sender=StaffMember, dispatch_uid="telereg_staff_token_revocation")
def _staff_changes(sender: type, instance: StaffMember, **kwargs: Any) -> None:
    if instance.pk is None:
        setattr(instance, _REVOKE_ATTR, "staff profile created")
        return
    old = sender._default_manager.filter(pk=instance.pk).values("role", "active", "operator_id")
    old = old.first()
    if old is None:
        return
    if old["active"] and not instance.active:
        setattr(instance, _REVOKE_ATTR, "staff member deactivated")
    elif old["role"] != instance.role or old["operator_id"] != instance.operator_id:
        setattr(instance, _REVOKE_ATTR, "role changed")


@receiver(pre_save, sender=Partner, dispatch_uid="telereg_partner_token_revocation")
def _partner_changes(sender: type, instance: Partner, **kwargs: Any) -> None:
    """A partner's token dies with its deactivation or a move to another
    operator, like a staff member's."""
    if instance.pk is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).values("active", "operator_id").first()
    if old is None:
        return
    if (old["active"] and not instance.active) or old["operator_id"] != instance.operator_id:
        setattr(instance, _REVOKE_ATTR, "partner changed")


@receiver(post_save, sender=User, dispatch_uid="telereg_user_token_revoke")
@receiver(post_save, sender=StaffMember, dispatch_uid="telereg_staff_token_revoke")
@receiver(post_save, sender=Partner, dispatch_uid="telereg_partner_token_revoke")
def _revoke_after_save(sender: type, instance: Any, **kwargs: Any) -> None:
    reason = instance.__dict__.pop(_REVOKE_ATTR, None)
    if reason:
        user_id = instance.pk if sender is User else instance.user_id
        tokens_revoke(user_id=user_id, reason=reason)


@receiver(post_delete, sender=StaffMember, dispatch_uid="telereg_staff_deleted_token_revoke")
def _revoke_after_delete(sender: type, instance: StaffMember, **kwargs: Any) -> None:
    tokens_revoke(user_id=instance.user_id, reason="staff profile deleted")
