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
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

# The advisory lock's key: a fixed number derived from the name, so that any process agrees.
_PG_KEY = zlib.crc32(b"ordercare.writer")
_held = threading.local()  # per thread: how deep this thread holds each store's lock
_thread_locks: dict[str, threading.RLock] = {}
_guard = threading.Lock()
_POLL = 0.05  # seconds between tries when waiting with a time limit


def _key(db: Engine) -> str:
    return db.url.render_as_string(hide_password=False)


class StoreBusy(TimeoutError):
    """Another engine pass held the store's writer lock for longer than the caller would wait."""


@contextmanager
def writer(db: Engine, timeout: float | None = None) -> Iterator[None]:
    """Hold ``db``'s writer lock for the block: wait for another pass to finish, at most
    ``timeout`` seconds if given (then ``StoreBusy``)."""
    key = _key(db)
    depth: dict[str, int] = _held.__dict__.setdefault("depth", {})
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    deadline = None if timeout is None else time.monotonic() + timeout
    with _guard:
        local = _thread_locks.setdefault(key, threading.RLock())
    if not local.acquire(timeout=-1 if timeout is None else timeout):
        raise StoreBusy(f"another engine pass of this process held the store for over {timeout:g} s")
    try:
        with _across_processes(db, deadline):
            depth[key] = 1
            try:
                yield
            finally:
                depth[key] = 0
    finally:
        local.release()


def _busy(deadline: float) -> None:
    if time.monotonic() >= deadline:
        raise StoreBusy("another process holds the store's writer lock (a replay, a watch tick): try again shortly")
    time.sleep(_POLL)


@contextmanager
def _across_processes(db: Engine, deadline: float | None) -> Iterator[None]:
    if db.dialect.name == "postgresql":
        yield from _advisory(db, deadline)
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
        if deadline is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    _busy(deadline)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _advisory(db: Engine, deadline: float | None) -> Iterator[None]:
    """The advisory lock on a connection of its own. Should anything go wrong between taking
    and giving it back (an interrupt, a failed unlock), the connection is discarded, not
    returned to the pool: closing it is what makes the server let go of the lock."""
    conn = db.connect()
    clean = False
    try:
        if deadline is None:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_KEY})
        else:
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}).scalar_one():
                conn.commit()
                _busy(deadline)
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
