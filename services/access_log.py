"""TorchServe's access log -> one ``(service, status, seconds)`` per answered request.

TorchServe's frontend writes a line per HTTP answer, whoever gave it (a handler, or the frontend
itself: a worker that died, a full queue, a timeout, a bad token)::

    2026-12-06T08:01:02,345 - /127.0.0.1:53422 "POST /predictions/translation HTTP/1.1" 200 12

with the time from request received to answer sent in milliseconds. :class:`AccessLogFollower` tails
that file across rotations (log4j renames it and starts a new one) and truncations, as ``tail -F``
does; ``services.exporter`` turns each line into the request metrics.

    follower = AccessLogFollower(".serve/logs/access_log.log", services={"translation", "face"})
    for service, status, seconds in follower.poll(): ...
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) (?P<ms>\d+)')
# Every inference route TorchServe 0.12 serves for a model (same handler, same token).
ROUTES = (re.compile(r"^/predictions/([^/?]+)"), re.compile(r"^/explanations/([^/?]+)"),
          re.compile(r"^/v1/models/([^/:?]+):(?:predict|explain)"), re.compile(r"^/v2/models/([^/?]+)/infer"))
OTHER = "other"  # any path that is not a served model's: a client picks paths, so labels stay bounded
MAX_LINE = 64 * 1024  # a line longer than this is not TorchServe's (it would be cut and skipped)


def parse_line(line: str, services: set[str] | frozenset[str]) -> tuple[str, int, float] | None:
    """``(service, status, seconds)`` of an inference request's line, else None (ping, metrics, noise)."""
    match = LINE.search(line)
    if match is None:
        return None
    for route in ROUTES:
        found = route.match(match["path"])
        if found:
            service = found[1] if found[1] in services else OTHER
            return service, int(match["status"]), int(match["ms"]) / 1000.0
    return None


class AccessLogFollower:
    """Reads the lines appended to ``path`` since the last :meth:`poll`, following rotation."""

    def __init__(self, path: str | Path, services: set[str] | frozenset[str], from_start: bool = False):
        self.path = Path(path)
        self.services = frozenset(services)
        self._file = None
        self._inode: int | None = None
        self._partial = b""
        # Lines already there when following starts are history (a previous server's), unless asked.
        self._from_start = from_start or not self.path.exists()

    def _open(self) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False
        if not self._from_start:
            handle.seek(0, os.SEEK_END)
        self._from_start = True  # a file that appears later (a rotation) is read from its start
        self._file, self._inode, self._partial = handle, os.fstat(handle.fileno()).st_ino, b""
        return True

    def _rotated(self) -> bool:
        """The path now names another file (renamed away) or ours shrank (truncated)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return False  # renamed away, the new one not yet created: finish reading the old one
        return stat.st_ino != self._inode or stat.st_size < self._file.tell()

    def poll(self) -> Iterator[tuple[str, int, float]]:
        """Yield every complete new inference line as ``(service, status, seconds)``."""
        if self._file is None and not self._open():
            return
        while True:
            yield from self._drain()
            if not self._rotated():
                return
            self._file.close()  # what the old file still held was drained above
            self._file = None
            if not self._open():
                return

    def _drain(self) -> Iterator[tuple[str, int, float]]:
        chunk = self._file.read()
        if not chunk:
            return
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an incomplete last line waits for its end
        if len(self._partial) > MAX_LINE:
            self._partial = b""
        for raw in lines:
            parsed = parse_line(raw[:MAX_LINE].decode("utf-8", "replace"), self.services)
            if parsed is not None:
                yield parsed

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
