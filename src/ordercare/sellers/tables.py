"""Seller health tables (Alembic revision 0003) and their keyed reads and writes.

* ``seller_books`` — each seller's health *facts* (order placed, shipped, scanned, defect,
  cancellation, buyer message, reply), appended in msgpack chunks: one chunk per seller that
  changed in a batch, so a flush costs what changed, never the whole history. The in-memory
  :class:`~ordercare.sellers.metrics.SellerBook` is a pure function of its set of facts
  (see metrics.py), so loading replays the facts. Each chunk keeps ``max_us``, the latest
  date any of its facts can be counted by: a chunk older than every window still to be
  asked about is not loaded at all (see :func:`horizon`); the chunks a session loaded are
  compacted into one when there are many.
* ``seller_standing`` — the standing the platform recorded (good / at_risk / suspended,
  since when), the reinstatement in force and what it forgave, the open seller case, the
  masked contact-detail counts.
* ``seller_status_log`` — every status change and every reinstatement decision, with the
  figures at that moment: what ``ordercare seller ID`` shows and what ``--at`` reads.
* ``seller_flags`` — orders placed with a suspended seller's items.
* ``buyer_seller_messages`` — the relay log: masked text only, the masked count, and for a
  buyer message when it was answered or which ``seller_unresponsive`` case it opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from sqlalchemy import BigInteger, Column, Connection, Index, Integer, LargeBinary, Table, Text, text

from ordercare.sellers import notices
from ordercare.store.db import insert_many
from ordercare.store.schema import metadata

seller_books = Table(
    "seller_books", metadata,
    Column("seller_id", Text, primary_key=True),
    Column("chunk", Integer, primary_key=True),
    Column("max_us", BigInteger, nullable=False),
    Column("facts", LargeBinary, nullable=False),
)

seller_standing = Table(
    "seller_standing", metadata,
    Column("seller_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("since_us", BigInteger),
    Column("data", Text, nullable=False),
)

seller_status_log = Table(
    "seller_status_log", metadata,
    Column("seller_id", Text, primary_key=True),
    Column("at_us", BigInteger, primary_key=True),
    Column("kind", Text, primary_key=True),  # status | reinstatement
    Column("at", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("previous", Text),
    Column("case_id", Text),
    Column("by", Text),
    Column("note", Text),
    Column("data", Text, nullable=False),
)

seller_flags = Table(
    "seller_flags", metadata,
    Column("order_id", Text, primary_key=True),
    Column("seller_id", Text, primary_key=True),
    Column("at", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("line_ids", Text, nullable=False),
    Index("ix_seller_flags_seller", "seller_id", "at_us"),
)

buyer_seller_messages = Table(
    "buyer_seller_messages", metadata,
    Column("message_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False),
    Column("sender", Text, nullable=False),  # buyer | seller (the contract's `from`)
    Column("seller_ids", Text, nullable=False),  # JSON list: the sellers of the thread
    Column("text", Text, nullable=False),  # masked: the original is never stored
    Column("masked", Integer, nullable=False),
    Column("at", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("answered_us", BigInteger),
    Column("case_id", Text),
    Index("ix_bsm_order", "order_id", "at_us"),
)

# ---- facts ----------------------------------------------------------------------------------

# A fact is a short list whose first item says what it is (msgpack arrays, no field names).
ORDER, CANCEL, DEFECT, SHIPPED, SCAN, DELIVERED, BUYER, REPLY, REMOVED = range(9)
Fact = list[Any]

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[list[Any]]).decode

#: A seller holding more chunks than this (that may still count) has them rewritten as one
#: at its next write, whether its session loaded them or wrote them pass after pass.
COMPACT_AFTER = 32
#: How much later than a fact's own date it may still be counted: a parcel shipped today is
#: judged at its order's deliver-by, a message at its reply deadline (promises are shorter).
_SLACK_US = 30 * 86_400_000_000


def counted_until(f: Fact) -> int:
    """The latest date by which ``f`` can be counted (its attribution dates, see metrics.py)."""
    kind = f[0]
    if kind == ORDER:
        return max(f[2], f[3] or 0, f[4] or 0)
    return int(f[3] if kind in (SHIPPED, BUYER, REPLY) else f[2]) + _SLACK_US


def horizon(at_us: int, longest_window_days: int) -> int:
    """Facts all counted before this cannot weigh on any window ending at or after ``at_us``.

    A later fact about an order whose facts lie beyond the horizon meets a blank order in
    the book and counts nowhere, exactly as it would count nowhere in the full book: every
    measure counts an item by a date of that order, and all of them are past the horizon.
    """
    return at_us - longest_window_days * 86_400_000_000


def load_facts(conn: Connection, sellers: Iterable[str] | None = None, since_us: int | None = None,
               chunks: dict[str, list[int]] | None = None) -> dict[str, list[Fact]]:
    """Stored facts per seller (all sellers, or those named), from the chunks that may still
    count at or after ``since_us`` (all when None); ``chunks`` collects the chunk numbers."""
    sql = "SELECT seller_id, chunk, facts FROM seller_books WHERE 1 = 1"
    params: dict[str, Any] = {}
    if sellers is not None:
        wanted = sorted(set(sellers))
        if not wanted:
            return {}
        sql += " AND seller_id IN ({})".format(", ".join(f":s{i}" for i in range(len(wanted))))
        params = {f"s{i}": s for i, s in enumerate(wanted)}
    if since_us is not None:
        sql += " AND max_us >= :since"
        params["since"] = since_us
    out: dict[str, list[Fact]] = {}
    for seller_id, chunk, blob in conn.execute(text(sql + " ORDER BY seller_id, chunk"), params):
        out.setdefault(seller_id, []).extend(_decode(blob))
        if chunks is not None:
            chunks.setdefault(seller_id, []).append(chunk)
    return out


def chunk_counts(conn: Connection) -> dict[str, int]:
    """Per seller, the next free chunk number."""
    rows = conn.execute(text("SELECT seller_id, MAX(chunk) FROM seller_books GROUP BY seller_id"))
    return {r[0]: int(r[1]) + 1 for r in rows}


def append_facts(conn: Connection, rows: Iterable[tuple[str, int, list[Fact]]]) -> None:
    insert_many(conn, "seller_books", ("seller_id", "chunk", "max_us", "facts"),
                [(s, c, max(map(counted_until, f)), _encode(f)) for s, c, f in rows if f],
                conflict="seller_id, chunk")


def chunk_facts(conn: Connection, seller_id: str, chunks: list[int]) -> list[Fact]:
    """The facts of the seller's ``chunks``, in chunk order."""
    out: list[Fact] = []
    for part in range(0, len(chunks), 500):
        ids = chunks[part:part + 500]
        marks = ", ".join(f":c{i}" for i in range(len(ids)))
        sql = f"SELECT facts FROM seller_books WHERE seller_id = :s AND chunk IN ({marks}) ORDER BY chunk"
        for (blob,) in conn.execute(text(sql), {"s": seller_id, **{f"c{i}": c for i, c in enumerate(ids)}}):
            out.extend(_decode(blob))
    return out


def compact(conn: Connection, seller_id: str, chunks: list[int], into: int,
            facts: list[Fact]) -> None:
    """Replace the seller's ``chunks`` with chunk ``into`` holding ``facts``."""
    for part in range(0, len(chunks), 500):
        ids = chunks[part:part + 500]
        marks = ", ".join(f":c{i}" for i in range(len(ids)))
        conn.execute(text(f"DELETE FROM seller_books WHERE seller_id = :s AND chunk IN ({marks})"),
                     {"s": seller_id, **{f"c{i}": c for i, c in enumerate(ids)}})
    append_facts(conn, [(seller_id, into, facts)])


# ---- standing, log, flags, messages -----------------------------------------------------------

def load_standing(conn: Connection, sellers: Iterable[str] | None = None
                  ) -> dict[str, tuple[str, int | None, dict[str, Any]]]:
    sql = "SELECT seller_id, status, since_us, data FROM seller_standing"
    rows = conn.execute(text(sql)).all()
    wanted = None if sellers is None else set(sellers)
    return {r[0]: (r[1], r[2], json.loads(r[3])) for r in rows if wanted is None or r[0] in wanted}


def write_standing(conn: Connection, rows: Iterable[tuple[str, str, int | None, dict[str, Any]]]
                   ) -> None:
    insert_many(conn, "seller_standing", ("seller_id", "status", "since_us", "data"),
                [(s, st, since, json.dumps(d)) for s, st, since, d in rows],
                conflict="seller_id", update=("status", "since_us", "data"))


LOG_COLUMNS = ("seller_id", "at_us", "kind", "at", "status", "previous", "case_id", "by", "note",
               "data")


def write_log(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Record changes of standing; each is also a notice to its seller (``notices.py``)."""
    rows = list(rows)
    insert_many(conn, "seller_status_log", LOG_COLUMNS,
                [tuple(json.dumps(r[c]) if c == "data" else r.get(c) for c in LOG_COLUMNS)
                 for r in rows], conflict="seller_id, at_us, kind")
    notices.write(conn, notices.standing_notices(rows))


def load_log(conn: Connection, seller_id: str | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT {', '.join(LOG_COLUMNS)} FROM seller_status_log"
    params = {}
    if seller_id is not None:
        sql += " WHERE seller_id = :s"
        params = {"s": seller_id}
    out = []
    for r in conn.execute(text(sql + " ORDER BY at_us, kind"), params):
        row = dict(zip(LOG_COLUMNS, r, strict=True))
        row["data"] = json.loads(row["data"])
        out.append(row)
    return out


FLAG_COLUMNS = ("order_id", "seller_id", "at", "at_us", "reason", "line_ids")


def write_flags(conn: Connection, rows: Iterable[tuple[str, str, str | None, int, str, list[str]]]
                ) -> None:
    insert_many(conn, "seller_flags", FLAG_COLUMNS,
                [(o, s, at, at_us, why, json.dumps(lines)) for o, s, at, at_us, why, lines in rows],
                conflict="order_id, seller_id")


def load_flags(conn: Connection, seller_id: str | None = None,
               until_us: int | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT {', '.join(FLAG_COLUMNS)} FROM seller_flags WHERE 1 = 1"
    params: dict[str, Any] = {}
    if seller_id is not None:
        sql += " AND seller_id = :s"
        params["s"] = seller_id
    if until_us is not None:
        sql += " AND at_us <= :u"
        params["u"] = until_us
    out = []
    for r in conn.execute(text(sql + " ORDER BY at_us, order_id"), params):
        row = dict(zip(FLAG_COLUMNS, r, strict=True))
        row["line_ids"] = json.loads(row["line_ids"])
        out.append(row)
    return out


MESSAGE_COLUMNS = ("message_id", "order_id", "sender", "seller_ids", "text", "masked", "at",
                   "at_us", "answered_us", "case_id")


def write_messages(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Upsert relay rows (a buyer message is written again when answered or claimed)."""
    insert_many(conn, "buyer_seller_messages", MESSAGE_COLUMNS,
                [tuple(json.dumps(r[c]) if c == "seller_ids" else r.get(c)
                       for c in MESSAGE_COLUMNS) for r in rows],
                conflict="message_id", update=("answered_us", "case_id"))


def _message_rows(conn: Connection, where: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    sql = f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM buyer_seller_messages WHERE {where}"
    for r in conn.execute(text(sql + " ORDER BY at_us, message_id"), params):
        row = dict(zip(MESSAGE_COLUMNS, r, strict=True))
        row["seller_ids"] = json.loads(row["seller_ids"])
        yield row


def awaiting_reply(conn: Connection) -> list[dict[str, Any]]:
    """Buyer messages neither answered nor yet taken over by the guarantee."""
    return list(_message_rows(
        conn, "sender = 'buyer' AND answered_us IS NULL AND case_id IS NULL", {}))


def relay_message(conn: Connection, message_id: str) -> dict[str, Any] | None:
    """One relayed message, by its id."""
    return next(_message_rows(conn, "message_id = :m", {"m": message_id}), None)


def messages_of(conn: Connection, seller_id: str) -> list[dict[str, Any]]:
    """The relay log of a seller's threads (the seller id is inside a JSON list)."""
    like = "%" + json.dumps(seller_id) + "%"
    return [r for r in _message_rows(conn, "seller_ids LIKE :p", {"p": like})
            if seller_id in r["seller_ids"]]
