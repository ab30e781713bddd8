"""Channels that carry notices, behind one interface.

``file`` (the default for `make run`) appends one JSON object per line to
``$TELEREG_OUTBOX_DIR/<channel>.jsonl`` so a person can open the link. Each
message carries its delivery id: the channel's idempotency key, which lets a
restarted worker find out what a killed one already wrote.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class Message:
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


class FileChannel:
    name = "file"

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory or settings.TELEREG_OUTBOX_DIR)

    @property
    def path(self) -> Path:
        return self.directory / f"{self.name}.jsonl"

    def send_many(self, messages: Iterable[Message]) -> None:
        """Append the messages and fsync once: after this returns they are on
        disk. An exclusive lock keeps lines of concurrent workers whole."""
        lines = "".join(json.dumps(asdict(m), ensure_ascii=False) + "\n" for m in messages)
        if not lines:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(lines)
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def already_sent(self, delivery_ids: set[int]) -> set[int]:
        """Which of these deliveries are already in the outbox (reconciliation
        after a worker died between writing and recording)."""
        if not delivery_ids or not self.path.exists():
            return set()
        found: set[int] = set()
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    delivery = json.loads(line).get("delivery")
                except ValueError:
                    continue  # a line torn by a crash mid-write is not a delivery
                if delivery in delivery_ids:
                    found.add(delivery)
        return found


class ChannelError(Exception):
    """A message the channel could not take. ``permanent`` ones are not retried
    (the next channel of the campaign is tried); the others are retried."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


class SmsGatewayChannel:
    """A generic SMS gateway: JSON POST of {to, text, reference} with an API key.
    The delivery id is sent as the reference, which gateways use to drop a
    message they already took (their idempotency)."""

    name = "sms"

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
        import urllib.error
        import urllib.request

        if not self.url.startswith(("http://", "https://")):
            raise ChannelError("sms gateway not configured", permanent=True)
        body = json.dumps(
            {"to": message.to, "text": message.text, "reference": f"telereg-{message.delivery}"}
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


class EmailChannel:
    """E-mail through Django's mail backend. Registration does not collect
    e-mail addresses, so a message without one fails permanently and the next
    channel is tried."""

    name = "email"

    def send_many(self, messages: Iterable[Message]) -> None:
        for message in messages:
            if "@" not in message.to:
                raise ChannelError("no e-mail address for this subscriber", permanent=True)
            from django.core.mail import send_mail

            send_mail("telereg", message.text, None, [message.to])


CHANNELS = {"file": FileChannel, "sms": SmsGatewayChannel, "email": EmailChannel}


def get_channel(name: str):
    try:
        return CHANNELS[name]()
    except KeyError:
        raise ValueError(f"channel {name} is not available here") from None
