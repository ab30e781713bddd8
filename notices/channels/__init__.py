"""The channels that carry notices: one module each, one registry.

A new channel is one module with a class following ``base.Channel`` and one
line in ``REGISTRY`` below; campaigns accept every registered name and
dispatch treats them all alike."""

from __future__ import annotations

from .base import Channel, ChannelError, Message
from .email import EmailChannel
from .file import FileChannel
from .sms import SmsGatewayChannel

__all__ = [
    "CHANNELS",
    "Channel",
    "ChannelError",
    "EmailChannel",
    "FileChannel",
    "Message",
    "choices",
    "SmsGatewayChannel",
    "get_channel",
    "names",
    "register",
]

REGISTRY: dict[str, type[Channel]] = {}
# The old name of the registry, kept for callers (and tests) that read it.
CHANNELS = REGISTRY


def register(channel: type[Channel]) -> type[Channel]:
    """Register a channel class under its ``name`` (usable as a decorator)."""
    REGISTRY[channel.name] = channel
    return channel


for _channel in (FileChannel, SmsGatewayChannel, EmailChannel):
    register(_channel)


def names() -> tuple[str, ...]:
    """The registered channels' names, in registration order."""
    return tuple(REGISTRY)


def choices() -> list[tuple[str, str]]:
    """(name, label) of the registered channels, in registration order: what a
    form offers people (labels in the reader's language, never the names)."""
    return [(name, channel.label) for name, channel in REGISTRY.items()]


def get_channel(name: str) -> Channel:
    try:
        return REGISTRY[name]()
    except KeyError:
        raise ValueError(f"channel {name} is not available here") from None
