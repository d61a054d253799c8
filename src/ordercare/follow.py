"""Following a growing JSON Lines file (``ordercare watch --events FILE``).

Each tick takes the lines added since the last one, and only whole lines: a producer that
appends a line in several writes is read once the line's newline is there, never as a torn
line that would be rejected (and its second half with it). A last line without a newline is
taken once the file has stopped growing for a whole tick. Lines keep their number in the
file, so a dead letter names the line an operator will find in it.

Where the follower stands (the file's identity, the byte offset and the line count) is kept
in the store after each tick's events are recorded, so a restarted ``watch`` carries on
instead of reading the whole file again. Should it stop between recording the events and
recording its place, it reads those lines again: they are stored already, and duplicates
are harmless. Lines stamped after the tick's moment (a producer whose clock runs ahead) are
not applied yet: the follower keeps them, in the store too, and offers them again at every
tick until their time has come. A file replaced by another (a new inode: log rotation) is read from its
start, after the lines its predecessor got since the last tick (the follower keeps the file open
to read them); one truncated below where the follower stood is read from its start.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from ordercare import services
from ordercare.store import repo


class Follower:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.key = f"follow:{self.path.resolve()}"
        self.inode: int | None = None
        self.offset = 0
        self.line_no = 0
        self._tail_size = -1  # the file's size when an unterminated last line was last seen
        self.pending: list[tuple[int, bytes]] = []  # lines read but not yet due (see ``keep``)
        self._fh: BinaryIO | None = None  # the followed file, kept open (see ``_handle``)
        self._fh_inode: int | None = None

    def new_lines(self) -> list[tuple[int, bytes]]:
        """The lines kept for later, then the whole lines added since the last call, each
        with its line number in the file."""
        kept = self.pending
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return list(kept)
        rotated: list[tuple[int, bytes]] = []
        if stat.st_ino != self.inode or stat.st_size < self.offset:
            if stat.st_ino != self.inode:
                rotated = self._rest_of_old_file()
            self._close()
            self.inode, self.offset, self.line_no, self._tail_size = stat.st_ino, 0, 0, -1
        if stat.st_size == self.offset:
            return list(kept) + rotated
        fh = self._handle(stat.st_ino)
        fh.seek(self.offset)
        data = fh.read(stat.st_size - self.offset)
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a last line without its newline (yet)
            if self._tail_size == stat.st_size:
                end = len(data)  # the file stopped growing a tick ago: the line is complete
            else:
                self._tail_size = stat.st_size
        chunk = data[:end]
        lines = chunk.split(b"\n")
        if chunk.endswith(b"\n"):
            lines.pop()  # split leaves an empty piece after the last newline
        numbered = list(enumerate(lines, start=self.line_no + 1))
        self.offset += end
        self.line_no += len(lines)
        return kept + rotated + numbered

    def _handle(self, inode: int) -> BinaryIO:
        """The file, kept open between ticks: when it is renamed away (log rotation), what was
        written to it after the last tick can still be read through this handle."""
        if self._fh is None or self._fh_inode != inode:
            self._close()
            self._fh = self.path.open("rb")
            self._fh_inode = os.fstat(self._fh.fileno()).st_ino
        return self._fh

    def _rest_of_old_file(self) -> list[tuple[int, bytes]]:
        """The lines the file we followed got since the last tick, before another took its
        name: all of them, the last one too (a file rotated away is finished). Unknown when
        the old file was never open in this process (a restart after the rotation)."""
        fh = self._fh
        if fh is None or self._fh_inode != self.inode:
            return []
        fh.seek(self.offset)
        data = fh.read()
        lines = data.split(b"\n")
        if not data or data.endswith(b"\n"):
            lines.pop()
        return list(enumerate(lines, start=self.line_no + 1))

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh, self._fh_inode = None, None

    def close(self) -> None:
        """Let go of the file (the watch is over)."""
        self._close()

    def keep(self, lines: list[tuple[int, bytes]]) -> None:
        """What the last pass left for later (its deferred lines): offered again next time."""
        self.pending = list(lines)

    # ---- where it stands, in the store -------------------------------------------------------

    def restore(self, db: Engine) -> None:
        with db.connect() as conn:
            stored = repo.engine_state(conn, self.key).get(self.key)
        if stored is not None:
            saved = json.loads(stored)
            self.inode, self.offset, self.line_no = saved["inode"], saved["offset"], saved["line_no"]
            self.pending = [(n, raw.encode()) for n, raw in saved.get("pending", [])]

    def save(self, db: Engine) -> None:
        value = json.dumps({"inode": self.inode, "offset": self.offset, "line_no": self.line_no,
                            "pending": [(n, raw.decode("utf-8", "replace")) for n, raw in self.pending]})
        with db.begin() as conn:
            repo.put_engine_state(conn, self.key, value)


def follow_once(db: Engine, follower: Follower, now: datetime,
                live: services.Live | None = None) -> services.ReplayReport | None:
    """One tick's events: replay the lines the follower offers up to ``now``, keep those not
    due yet, record where it stands. Returns the replay's report (``None``: nothing new)."""
    lines = follower.new_lines()
    if not lines:
        return None
    report = services.replay(db, follower.path.name, lines, now, live=live)
    follower.keep(report.deferred_lines)
    follower.save(db)
    return report
