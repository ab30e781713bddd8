"""The ``file`` channel (the default for `make run`): appends one JSON object per line to
``$TELEREG_OUTBOX_DIR/<channel>.jsonl`` so a person can open the link. Each
message carries its delivery id: the channel's idempotency key, which lets a
restarted worker find out what a killed one already wrote.
"""

from __future__ import annotations

import fcntl
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .base import Message

_FIELDS = tuple(f.name for f in fields(Message))
_VALUES = attrgetter(*_FIELDS)
# One encoder for every line: json.dumps(..., ensure_ascii=False) builds a new
# one per call. Same output as json.dumps(asdict(message), ensure_ascii=False).
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _json_line(message: Message) -> str:
    return _ENCODE(dict(zip(_FIELDS, _VALUES(message), strict=True))) + "\n"


class FileChannel:
    """Appends to ``<name>.jsonl``. Beside it, ``<name>.jsonl.idx`` holds one
    line per append (outbox inode, byte range, lowest and highest delivery id,
    checksum) so that reconciliation reads only the appends that may hold the
    deliveries it asks about. The index is a hint, never the truth: it is
    written after the outbox is on disk, and any byte range no valid entry
    covers (an entry lost in a crash, an outbox older than the index) is read
    in full."""

    name = "file"
    label = _("Outbox file (testing and demo)")
    batchable = True
    READ_BLOCK = 1 << 20

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory or settings.TELEREG_OUTBOX_DIR)

    @property
    def path(self) -> Path:
        return self.directory / f"{self.name}.jsonl"

    @property
    def index_path(self) -> Path:
        return self.directory / f"{self.name}.jsonl.idx"

    def send(self, message: Message) -> None:
        self.send_many([message])

    def send_many(self, messages: Iterable[Message]) -> None:
        """Append the messages and fsync once: after this returns they are on
        disk. An exclusive lock keeps lines of concurrent workers whole."""
        messages = list(messages)
        if not messages:
            return
        data = "".join(map(_json_line, messages)).encode()
        ids = [m.delivery for m in messages]
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                status = os.fstat(handle.fileno())
                start = status.st_size
                if start and os.pread(handle.fileno(), 1, start - 1) != b"\n":
                    # A line torn by a crash: ours start on a line of their own.
                    data = b"\n" + data
                    start += 1
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                # Under the same lock, so entries follow the appends' order.
                # Not fsynced: an entry lost with the machine leaves a range
                # that reconciliation reads in full.
                entry = f"{status.st_ino} {start} {status.st_size + len(data)} "
                entry += f"{min(ids)} {max(ids)}"
                with self.index_path.open("a", encoding="ascii") as index:
                    index.write(f"{entry} {zlib.crc32(entry.encode())}\n")
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def already_sent(self, delivery_ids: set[int]) -> set[int]:
        """Which of these deliveries are already in the outbox (reconciliation
        after a worker died between writing and recording)."""
        if not delivery_ids or not self.path.exists():
            return set()
        lowest, highest = min(delivery_ids), max(delivery_ids)
        # The index before the outbox's size: every entry read then describes
        # bytes that were on disk before it, so none may point past the end.
        entries = self._index_entries()
        found: set[int] = set()
        with self.path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            ranges = self._ranges_to_read(
                [e[1:] for e in entries if e[0] == status.st_ino], status.st_size, lowest, highest
            )
            for start, end in ranges:
                for line in self._lines(handle, start, end):
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue  # a line torn by a crash mid-write is not a delivery
                    delivery = record.get("delivery") if isinstance(record, dict) else None
                    if delivery in delivery_ids:
                        found.add(delivery)
        return found

    @staticmethod
    def _ranges_to_read(
        entries: list[tuple[int, int, int, int]], size: int, lowest: int, highest: int
    ) -> list[tuple[int, int]]:
        """Byte ranges of the outbox that may hold deliveries lowest..highest:
        the indexed appends whose ids overlap, and everything not indexed."""
        ranges: list[tuple[int, int]] = []
        covered = 0
        for start, end, first, last in sorted(entries):
            if start < covered or end > size:
                # Not an index of this file as it is now (truncated, rewritten):
                # read it all.
                return [(0, size)]
            if start > covered:
                ranges.append((covered, start))
            if first <= highest and last >= lowest:
                ranges.append((start, end))
            covered = end
        if covered < size:
            ranges.append((covered, size))
        # Not merged: each range starts on a line of its own, even after a
        # line that a crash left without its end.
        return ranges

    def _index_entries(self) -> list[tuple[int, int, int, int, int]]:
        """(outbox inode, start, end, lowest id, highest id) of each whole entry."""
        try:
            index = self.index_path.open("rb")
        except FileNotFoundError:
            return []
        entries = []
        with index:
            for line in index:
                entry, _, checksum = line.strip().rpartition(b" ")
                try:
                    if zlib.crc32(entry) != int(checksum):
                        continue  # torn or damaged: its range counts as not indexed
                    inode, start, end, first, last = map(int, entry.split())
                except ValueError:
                    continue
                if 0 <= start < end:
                    entries.append((inode, start, end, first, last))
        return entries

    def _lines(self, handle: BinaryIO, start: int, end: int) -> Iterator[bytes]:
        handle.seek(start)
        remaining, tail = end - start, b""
        while remaining > 0:
            block = handle.read(min(self.READ_BLOCK, remaining))
            if not block:
                break
            remaining -= len(block)
            *lines, tail = (tail + block).split(b"\n")
            yield from lines
        if tail:
            yield tail
