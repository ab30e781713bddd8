"""A generic SMS gateway (JSON over HTTP)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .base import ChannelError, Message


class SmsGatewayChannel:
    """A generic SMS gateway: JSON POST of {to, text, reference} with an API key.
    The delivery id is sent as the reference, which gateways use to drop a
    message they already took (their idempotency)."""

    name = "sms"
    label = _("SMS")
    batchable = False

    def __init__(
        self, url: str | None = None, api_key: str | None = None, timeout: float | None = None
    ):
        self.url = url or settings.TELEREG_SMS_URL
        self.api_key = api_key or settings.TELEREG_SMS_API_KEY
        self.timeout = timeout or settings.TELEREG_SMS_TIMEOUT

    def send_many(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.send(message)

    def send(self, message: Message) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ChannelError("sms gateway not configured", permanent=True)
        body = json.dumps(
            {"to": message.to, "text": message.text, "reference": _reference(message.delivery)}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            self.url,
            data=body,
            headers={"Content-Type": "application/json", "X-Api-Key": self.api_key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read(1024)
        except urllib.error.HTTPError as exc:
            # 4xx: the gateway refuses this message for good (bad number, no credit).
            permanent = 400 <= exc.code < 500 and exc.code != 429
            raise ChannelError(f"gateway answered {exc.code}", permanent=permanent) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ChannelError(
                f"gateway unreachable: {type(exc).__name__}", permanent=False
            ) from None

    def already_sent(self, delivery_ids: set[int]) -> set[int]:
        """A gateway cannot be asked: it drops a reference it already took."""
        return set()


def _reference(delivery: int) -> str:
    """The gateway's idempotency reference: ``telereg-<id>`` for a request's
    delivery, ``telereg-alert-<id>`` for a holder-alert message (negative keys)."""
    return f"telereg-{delivery}" if delivery > 0 else f"telereg-alert-{-delivery}"
