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


CHANNELS = {"file": FileChannel}


def get_channel(name: str):
    try:
        return CHANNELS[name]()
    except KeyError:
        raise ValueError(f"channel {name} is not available here") from None
