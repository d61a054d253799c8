"""Opening a database: the URL, SQLite's pragmas, migrations, and driver-level batches.

SQLite (WAL) is the embedded default; PostgreSQL is production. Both go through the same
code: the only dialect difference handled here is the driver's placeholder style for the
batched ``executemany`` writes that keep the hot path near the physical insert floor.
"""

from __future__ import annotations

import os
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
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
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
    """Bring the schema to the newest Alembic revision (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("ordercare.store") / "migrations"))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
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
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(conn, len(columns))})"
    if conflict and update:
        sets = ", ".join(f"{c} = excluded.{c}" for c in update)
        sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
    elif conflict:
        sql += f" ON CONFLICT ({conflict}) DO NOTHING"
    conn.exec_driver_sql(sql, rows)
    conn.info[ROWS_OFFERED] = conn.info.get(ROWS_OFFERED, 0) + len(rows)


# How many rows ``insert_many`` was given on a connection (``Connection.info``): a writer
# resets it and reads it back to know whether a transaction wrote anything.
ROWS_OFFERED = "ordercare.rows_offered"
