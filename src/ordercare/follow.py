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
tick until their time has come.

Log rotation loses nothing the old file got since the last tick. A file replaced by another
(a new inode: renamed away, a new one created) is read from its start after the rest of its
predecessor: through the handle the follower keeps open, or, for a ``watch`` restarted since,
from the file in the same directory that still has the old inode. A file emptied in place
(``copytruncate``), even one written again past where the follower stood, is told by the
bytes just before that place (kept as its mark, in the store too); the rest is read from the
copy beside it (a file named after it whose bytes at that place are the mark), then the
emptied file from its start.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import msgspec
from sqlalchemy import Engine

from ordercare import services
from ordercare.store import repo

MARK = 64  # how many bytes just before the follower's place tell the file it follows
TORN_PATIENCE = 10  # ticks a last line that is not whole JSON waits for the rest of it


def _whole_json(raw: bytes) -> bool:
    try:
        msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return False
    return True


class Follower:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.key = f"follow:{self.path.resolve()}"
        self.inode: int | None = None
        self.offset = 0
        self.line_no = 0
        self.mark = b""  # the bytes just before ``offset`` in the file followed (at most MARK)
        self._tail_size = -1  # the file's size when an unterminated last line was last seen
        self._tail_ticks = 0  # the ticks since, the file not growing
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
        if stat.st_ino != self.inode or not self._still_ours(stat.st_size):
            if self.inode is not None and self.offset > 0:
                rotated = self._rest_of_old_file(renamed=stat.st_ino != self.inode)
            self._close()
            self.inode, self.offset, self.line_no, self._tail_size, self.mark = stat.st_ino, 0, 0, -1, b""
        if stat.st_size == self.offset:
            return list(kept) + rotated
        fh = self._handle(stat.st_ino)
        fh.seek(self.offset)
        data = fh.read(stat.st_size - self.offset)
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a last line without its newline (yet)
            if self._tail_size != stat.st_size:
                self._tail_size, self._tail_ticks = stat.st_size, 0
            else:
                # The file stopped growing a tick ago: a last line that is whole JSON is
                # complete; half a line waits for the producer (a stalled writer's event is
                # not torn into two dead letters), but not for ever.
                self._tail_ticks += 1
                if self._tail_ticks >= TORN_PATIENCE or _whole_json(data[end:]):
                    end = len(data)
        chunk = data[:end]
        lines = chunk.split(b"\n") if chunk else []  # (nothing whole yet: no line, not an empty one)
        if chunk.endswith(b"\n"):
            lines.pop()  # split leaves an empty piece after the last newline
        numbered = list(enumerate(lines, start=self.line_no + 1))
        self.offset += end
        self.line_no += len(lines)
        self.mark = (self.mark + chunk)[-MARK:]
        return kept + rotated + numbered

    def _still_ours(self, size: int) -> bool:
        """Is the file under the name (same inode) still the one read up to ``offset``? Not
        if it is shorter, or if the bytes before the offset are no longer the mark: emptied
        in place, and maybe written again past it."""
        if self.offset == 0:
            return True
        if size < self.offset:
            return False
        return self._marked(self._handle(self.inode))  # type: ignore[arg-type]  # (same inode: the caller checked)

    def _marked(self, fh: BinaryIO) -> bool:
        """Does ``fh`` hold the mark just before the follower's place (what it read last)?"""
        return os.pread(fh.fileno(), len(self.mark), self.offset - len(self.mark)) == self.mark

    def _handle(self, inode: int) -> BinaryIO:
        """The file, kept open between ticks: when it is renamed away (log rotation), what was
        written to it after the last tick can still be read through this handle."""
        if self._fh is None or self._fh_inode != inode:
            self._close()
            self._fh = self.path.open("rb")
            self._fh_inode = os.fstat(self._fh.fileno()).st_ino
        return self._fh

    def _rest_of_old_file(self, renamed: bool) -> list[tuple[int, bytes]]:
        """The lines the file we followed got since the last tick, before it was rotated: all
        of them, the last one too (a file rotated away is finished). Read through the handle
        kept open on it, else from the file beside it that holds it still (renamed: the one
        with its inode; emptied in place: the copy with the mark at our place). Nothing when
        none is found (rotated and compressed, or removed)."""
        data = None
        fh = self._fh
        if renamed and fh is not None and self._fh_inode == self.inode:
            fh.seek(self.offset)
            data = fh.read()
        else:
            found = self._old_copy(renamed)
            if found is not None:
                with found.open("rb") as old:
                    old.seek(self.offset)
                    data = old.read()
        if not data:
            return []
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()
        return list(enumerate(lines, start=self.line_no + 1))

    def _old_copy(self, renamed: bool) -> Path | None:
        """The file beside ours holding what we followed, up to our place and beyond."""
        here = self.path.parent
        try:
            entries = list(os.scandir(here))
        except OSError:
            return None
        candidates = []
        for entry in entries:
            if entry.name == self.path.name or not entry.is_file(follow_symlinks=False):
                continue
            if renamed:
                if entry.inode() == self.inode:
                    candidates.append(entry)
            elif self.mark and entry.name.startswith(self.path.name):  # (no mark: a store of an older version)
                candidates.append(entry)
        for entry in sorted(candidates, key=lambda e: e.stat().st_mtime, reverse=True):
            try:
                with open(entry.path, "rb") as fh:
                    if self._marked(fh):
                        return Path(entry.path)
            except OSError:
                continue
        return None

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
            self.mark = bytes.fromhex(saved.get("mark", ""))
            self.pending = [(n, raw.encode()) for n, raw in saved.get("pending", [])]

    def save(self, db: Engine) -> None:
        value = json.dumps({"inode": self.inode, "offset": self.offset, "line_no": self.line_no,
                            "mark": self.mark.hex(),
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
