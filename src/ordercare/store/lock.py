"""One engine pass at a time per store, across threads and processes.

An engine pass loads orders, applies events in memory and writes the orders back at the end
of each batch (write-behind). Two passes at once on the same store, say ``ordercare watch``
ticking while ``ordercare serve`` records a click, or two ``replay`` runs, would each load
the same order, change it, and write it back in turn: the second write would silently undo
the first (a lost update), although both events are in the event log. So every pass that
writes engine state (``replay``, ``tick``, ``resubmit``, a seller's reinstatement) holds the
store's writer lock for its whole length:

* **PostgreSQL**: a session-level advisory lock (``pg_advisory_lock``) on a connection kept
  for the pass; it is released when the pass ends, or by the server if the process dies.
* **SQLite**: an exclusive ``flock`` on ``<database file>.lock`` beside the database file
  (the real one, whatever URL or link names it); the kernel releases it if the process
  dies, so a crash never leaves the store locked.
* **In-memory SQLite** lives in one process only: a thread lock suffices.

The lock is re-entrant within a thread (``resubmit`` runs ``replay``), and readers never
take it: the CLI's reads, the web pages and the outbox sender (which has leases of its own)
run beside a pass.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

# The advisory lock's key: a fixed number derived from the name, so that any process agrees.
_PG_KEY = zlib.crc32(b"ordercare.writer")
_held = threading.local()  # per thread: how deep this thread holds each store's lock
_thread_locks: dict[str, threading.Lock] = {}  # per store: this process's passes queue here first
_guard = threading.Lock()
_POLL = 0.05  # seconds between tries when waiting with a time limit


def _key(db: Engine) -> str:
    return db.url.render_as_string(hide_password=False)


class StoreBusy(TimeoutError):
    """Another engine pass held the store's writer lock for longer than the caller would wait."""


@contextmanager
def writer(db: Engine, timeout: float | None = None,
           on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold ``db``'s writer lock for the block: wait for another pass to finish, at most
    ``timeout`` seconds if given (then ``StoreBusy``). ``on_wait`` is called once if the lock
    is not free at once (a command line says what it is waiting for)."""
    key = _key(db)
    depth: dict[str, int] = _held.__dict__.setdefault("depth", {})
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    wait = _Wait(timeout, on_wait)
    with _guard:
        local = _thread_locks.setdefault(key, threading.Lock())  # re-entry is the depth count's
    if not local.acquire(blocking=False):
        wait.begins()
        if not local.acquire(timeout=wait.left()):
            raise StoreBusy(f"another engine pass of this process held the store for over {timeout:g} s")
    try:
        with _across_processes(db, wait):
            depth[key] = 1
            try:
                yield
            finally:
                depth[key] = 0
    finally:
        local.release()


class _Wait:
    """How long a caller would still wait, and the one notice that it waits."""

    def __init__(self, timeout: float | None, on_wait: Callable[[], None] | None) -> None:
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.on_wait = on_wait

    def begins(self) -> None:
        if self.on_wait is not None:
            self.on_wait()
            self.on_wait = None

    def left(self) -> float:
        """Seconds left (-1: without limit, as ``Lock.acquire`` takes it)."""
        return -1 if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def poll(self) -> None:
        """Between two tries with a time limit: give up once it has passed."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise StoreBusy("another process holds the store's writer lock (a replay, a watch tick): "
                            "try again shortly")
        time.sleep(_POLL)


@contextmanager
def _across_processes(db: Engine, wait: _Wait) -> Iterator[None]:
    if db.dialect.name == "postgresql":
        yield from _advisory(db, wait)
        return
    path = _sqlite_file(db) if db.dialect.name == "sqlite" else ""
    if not path:  # in memory (or a temporary database): this process is the only one
        yield
        return
    try:
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:  # made by another account: a shared lock needs only to read it
        fd = os.open(f"{path}.lock", os.O_RDONLY)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                wait.begins()
                if wait.deadline is None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    break
                wait.poll()
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _advisory(db: Engine, wait: _Wait) -> Iterator[None]:
    """The advisory lock on a connection of its own. Should anything go wrong between taking
    and giving it back (an interrupt, a failed unlock), the connection is discarded, not
    returned to the pool: closing it is what makes the server let go of the lock."""
    conn = db.connect()
    clean = False
    try:
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}).scalar_one():
            conn.commit()
            wait.begins()
            if wait.deadline is None:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_KEY})
                break
            wait.poll()
        conn.commit()  # the lock belongs to the session: no transaction stays open
        yield
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_KEY})
        conn.commit()
        clean = True
    finally:
        if not clean:
            conn.invalidate()
        conn.close()


_files: dict[str, str] = {}


def _sqlite_file(db: Engine) -> str:
    """The database file as SQLite itself opened it (a ``file:`` URI, a relative path or a
    symbolic link all name one real file, so every process agrees on the lock beside it);
    "" for a database in memory."""
    key = _key(db)
    found = _files.get(key)
    if found is None:
        with db.connect() as conn:
            rows = conn.exec_driver_sql("PRAGMA database_list").all()
        name = next((str(r[2] or "") for r in rows if r[1] == "main"), "")
        found = _files[key] = os.path.realpath(name) if name else ""
    return found
