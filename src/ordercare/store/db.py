"""Opening a database: the URL, SQLite's pragmas, migrations, and driver-level batches.

SQLite (WAL) is the embedded default; PostgreSQL is production. Both go through the same
code: the dialect differences handled here are the driver's placeholder style and, on
PostgreSQL, how a large batch travels. SQLite is in-process: ``executemany`` is its
physical floor. To PostgreSQL, ``executemany`` sends one statement per row (pipelined, but
about 20 µs of driver work each); a keyed batch of ``COPY_FROM`` rows or more is instead
streamed with ``COPY`` into a scratch table and merged by one ``INSERT ... SELECT`` with the
same conflict rule: about 3× cheaper per row raw, 1.4× less time writing in a replay
(``benchmarks/bench_pg_ingest.py``).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError

DEFAULT_URL = "sqlite:///ordercare.db"


class StoreError(RuntimeError):
    """The database cannot be opened or used; the message says which and what to do."""


def resolve_url(url: str | None) -> str:
    """``--db`` first, then ``ORDERCARE_DB``, then ``sqlite:///ordercare.db``."""
    url = url or os.environ.get("ORDERCARE_DB") or DEFAULT_URL
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_pragmas(dbapi_conn: Any, _record: Any = None) -> None:
    """The settings every SQLite connection of the store runs with (and the bench's floor)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=10000")
    # Switching a new store to WAL needs it alone: while another process opens it too (and
    # holds it to create the schema), SQLite may answer "locked" at once, without waiting
    # the busy timeout (it would deadlock otherwise): try again for a minute.
    deadline = time.monotonic() + 60
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    url = resolve_url(url)
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"--db {url!r}: not a usable database URL ({exc})") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", sqlite_pragmas)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent), all of it or none of it.

    On SQLite the driver runs DDL outside any transaction (each ``ALTER TABLE`` would commit
    on its own: an upgrade killed half-way would leave columns the recorded revision does
    not know, and every later open would fail on them), so the upgrade runs in one explicit
    ``BEGIN IMMEDIATE`` transaction: interrupted, it leaves the store as it was; and a second
    process opening a new store at the same moment waits for the first, then finds the
    schema done (PostgreSQL's DDL is transactional already)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("ordercare.store") / "migrations"))
    try:
        with engine.connect() as conn:
            dbapi = conn.connection.dbapi_connection
            sqlite = engine.dialect.name == "sqlite" and dbapi is not None
            if sqlite:
                prior = dbapi.isolation_level  # type: ignore[union-attr]
                dbapi.isolation_level = None  # type: ignore[union-attr]  # (we say where it begins)
            try:
                with conn.begin():  # (its commit or rollback ends the driver's transaction too)
                    if sqlite:
                        # Another process may be creating the store this moment, on a busy machine:
                        # wait for it longer than for an ordinary write.
                        conn.exec_driver_sql("PRAGMA busy_timeout=60000")
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
            finally:
                if sqlite:
                    dbapi.isolation_level = prior  # type: ignore[union-attr]
                    conn.exec_driver_sql("PRAGMA busy_timeout=10000")
    except OperationalError as exc:
        raise StoreError(f"cannot open the database {engine.url!r}: {exc.orig}") from exc


def placeholders(conn: Connection, n: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * n)


def insert_many(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]],
                conflict: str = "", update: Sequence[str] = ()) -> None:
    """Driver-level batched insert; ``conflict`` names the key for an upsert or ignore."""
    rows = list(rows)
    if not rows:
        return
    on_conflict = ""
    if conflict and update:
        sets = ", ".join(f"{c} = excluded.{c}" for c in update)
        on_conflict = f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
    elif conflict:
        on_conflict = f" ON CONFLICT ({conflict}) DO NOTHING"
    if conflict and len(rows) >= COPY_FROM and conn.dialect.name == "postgresql" and _copyable(rows):
        _copy_merge(conn, table, columns, rows, conflict, update, on_conflict)
    else:
        conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) "
                             f"VALUES ({placeholders(conn, len(columns))}){on_conflict}", rows)
    conn.info[ROWS_OFFERED] = conn.info.get(ROWS_OFFERED, 0) + len(rows)


# From how many rows a PostgreSQL batch goes by COPY (below, the scratch table's creation
# costs more than it saves). ``ORDERCARE_PG_COPY_FROM`` overrides it: with 1, every keyed
# write takes this path (the PostgreSQL tests all passed so when it was introduced;
# tests/integration/test_store_batches.py checks it at the default on every run).
COPY_FROM = int(os.environ.get("ORDERCARE_PG_COPY_FROM", "200"))
_scratch = itertools.count()


def _copy_merge(conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]],
                conflict: str, update: Sequence[str], on_conflict: str) -> None:
    """``rows`` into ``table`` through ``COPY`` and a scratch table, exactly as the one
    ``INSERT`` per row of ``executemany`` would leave it.

    Of two rows with the same conflict key (one statement may not touch a row twice), a
    conflict that does nothing keeps the first; one that updates keeps the first row's other
    columns and the last row's ``update`` columns, as successive upserts would. A key with a
    NULL never conflicts, as in PostgreSQL. Only keyed writes come here: each row named by its
    key, the order in which the merge inserts them changes nothing (``rejected``, which
    numbers its rows as they come, is written without a conflict key, row by row)."""
    key_at = [columns.index(c.strip()) for c in conflict.split(",")]
    updated = [i for i, c in enumerate(columns) if c in update]
    kept: dict[Any, tuple[Any, ...]] = {}
    for n, row in enumerate(rows):
        key: Any = tuple([row[i] for i in key_at])
        if None in key:
            key = (None, n)  # (never a conflict: kept whole)
        first = kept.get(key)
        if first is None:
            kept[key] = row
        elif update:
            merged = list(first)
            for i in updated:
                merged[i] = row[i]
            kept[key] = tuple(merged)
    cols = ", ".join(columns)
    scratch = f"_ordercare_copy_{next(_scratch)}"
    # The columns' types, none of the table's constraints; dropped with the transaction too.
    conn.exec_driver_sql(f"CREATE TEMP TABLE {scratch} ON COMMIT DROP AS SELECT {cols} FROM {table} WITH NO DATA")
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cur.copy(f"COPY {scratch} ({cols}) FROM STDIN") as copy:
            for row in kept.values():
                copy.write_row(row)
    finally:
        cur.close()
    conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {scratch}{on_conflict}")
    conn.exec_driver_sql(f"DROP TABLE {scratch}")


_COPY_SAFE = frozenset({str, int, float, bytes, type(None)})


def _copyable(rows: list[tuple[Any, ...]]) -> bool:
    """Would COPY store ``rows`` as ``executemany`` does? COPY's text reaches the server as
    the column's own input syntax where ``executemany`` binds typed parameters: the two agree
    for text, integers, bytes, NULL and floats into float columns (the store's writers put
    floats nowhere else), so a batch holding any other Python type (a bool, a datetime, a
    Decimal) goes row by row."""
    plain = _COPY_SAFE
    for row in rows:
        for value in row:
            if type(value) not in plain:
                return False
    return True


# How many rows ``insert_many`` was given on a connection (``Connection.info``): a writer
# resets it and reads it back to know whether a transaction wrote anything.
ROWS_OFFERED = "ordercare.rows_offered"
