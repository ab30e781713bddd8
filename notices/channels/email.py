"""E-mail through Django's mail backend."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .base import ChannelError, Message


class EmailChannel:
    """E-mail through Django's mail backend. Registration does not collect
    e-mail addresses, so a message without one fails permanently and the next
    channel is tried."""

    name = "email"
    label = _("E-mail")
    batchable = False

    def send_many(self, messages: Iterable[Message]) -> None:
        for message in messages:
            if "@" not in message.to:
                raise ChannelError("no e-mail address for this subscriber", permanent=True)
            # The subject in the language of the text it carries.
            with translation.override(message.language):
                subject = gettext("About your telephone line")
            send_mail(subject, message.text, None, [message.to])

    def send(self, message: Message) -> None:
        self.send_many([message])

    def already_sent(self, delivery_ids: set[int]) -> set[int]:
        """Mail cannot be asked what it already took."""
        return set()
