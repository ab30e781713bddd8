"""What every channel offers, and the message it carries.

A channel is one module of this package with one class that follows
``Channel`` and is registered once in ``notices.channels`` (``REGISTRY``).
Dispatch asks only what the protocol offers: it never names a channel nor
asks ``hasattr``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol


@dataclass(frozen=True)
class Message:
    """One message to send. ``delivery`` is the channel's idempotency key: a
    request delivery's id (positive), or minus a holder-alert message's id
    (negative), so the two row kinds never share a key in one outbox."""

    delivery: int
    channel: str
    to: str
    campaign: int | None
    request: int | None
    kind: str
    language: str
    text: str
    link: str

    def __repr__(self) -> str:
        return f"Message(delivery={self.delivery}, kind={self.kind!r})"


class ChannelError(Exception):
    """A message the channel could not take. ``permanent`` ones are not retried
    (the next channel of the campaign is tried); the others are retried."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


class Channel(Protocol):
    """The contract of a channel.

    - ``name``: how campaigns, settings and delivery rows name it.
    - ``label``: what people read for it (the console's channel choices), a
      lazy translation.
    - ``batchable``: True if ``send_many`` takes a whole chunk at once and
      ``already_sent`` can tell what a killed worker wrote (dispatch then
      sends a chunk in one call inside the transaction that marks it sent);
      False if each message's outcome must be recorded as it happens.
    - ``send(message)``: send one; raise ``ChannelError`` (``permanent`` or
      not) when the channel cannot take it.
    - ``send_many(messages)``: send several, in order; the same errors.
    - ``already_sent(delivery_ids)``: which of these deliveries the channel
      already holds (reconciliation after a crash); a channel that cannot be
      asked answers the empty set.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    batchable: ClassVar[bool]

    def send(self, message: Message) -> None: ...

    def send_many(self, messages: Iterable[Message]) -> None: ...

    def already_sent(self, delivery_ids: set[int]) -> set[int]: ...
