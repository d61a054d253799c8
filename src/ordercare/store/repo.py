"""The repository: loads the state the engine needs and flushes what it changed.

Every write is keyed (event id, order id, case id, message id), and one batch is one
transaction that also records the engine clock: a crash mid-way rolls back to the last
batch, and re-running the same input finds those events already there (duplicates), so
nothing is lost and nothing happens twice.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, text

from ordercare.domain.cases import Case, Message
from ordercare.domain.order import Order, request_promise, request_state
from ordercare.notify.render import iso_local
from ordercare.store.db import ROWS_OFFERED, insert_many, placeholders

_encode_order = msgspec.msgpack.Encoder().encode
decode_order = msgspec.msgpack.Decoder(Order).decode  # an order's stored state
CHUNK = 500


def iso(at_us: int | None, tz_min: int) -> str | None:
    return None if at_us is None else iso_local(at_us, tz_min)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _in(conn: Connection, sql: str, keys: Iterable[str]) -> Iterator[Any]:
    """Run ``sql`` (with ``{keys}``) over ``keys`` in chunks; yield the rows. At the driver:
    a textual statement with a thousand named parameters costs SQLAlchemy more to parse
    than the database to answer (an incremental replay asks this of every event id)."""
    keys = list(dict.fromkeys(keys))
    for part in _chunks(keys):
        yield from conn.exec_driver_sql(sql.format(keys=placeholders(conn, len(part))), tuple(part))


# ---- reads -------------------------------------------------------------------------------

def engine_state(conn: Connection, *keys: str) -> dict[str, str]:
    """The values of ``keys`` in the engine's own key-value table (those stored)."""
    marks = ", ".join(f":k{i}" for i in range(len(keys)))
    rows = conn.execute(text(f"SELECT key, value FROM engine_state WHERE key IN ({marks})"),
                        {f"k{i}": k for i, k in enumerate(keys)})
    return {r[0]: r[1] for r in rows}


def put_engine_state(conn: Connection, key: str, value: str) -> None:
    insert_many(conn, "engine_state", ("key", "value"), [(key, value)], conflict="key", update=("value",))


def clock(conn: Connection) -> int | None:
    return clock_and_generation(conn)[0]


def existing_events(conn: Connection, ids: Iterable[str]) -> dict[str, str]:
    if conn.execute(text("SELECT 1 FROM events LIMIT 1")).first() is None:
        return {}
    sql = "SELECT event_id, payload FROM events WHERE event_id IN ({keys})"
    return {r[0]: r[1] for r in _in(conn, sql, ids)}


def known_orders(conn: Connection, ids: Iterable[str]) -> set[str]:
    if conn.execute(text("SELECT 1 FROM orders LIMIT 1")).first() is None:
        return set()  # (a first replay into a new store asks of every order it places)
    sql = "SELECT order_id FROM orders WHERE order_id IN ({keys}) AND placed_us IS NOT NULL"
    return {r[0] for r in _in(conn, sql, ids)}


def known_lines(conn: Connection, ids: Iterable[str]) -> dict[str, set[str]]:
    """The line ids of each stored order of ``ids``."""
    return {o.order_id: {ln.line_id for ln in o.lines} for o in load_orders(conn, ids) if o.placed_us is not None}


def known_sellers(conn: Connection, ids: Iterable[str]) -> dict[str, set[str]]:
    """The sellers of each stored order of ``ids`` (those of its lines)."""
    return {o.order_id: {ln.seller_id for ln in o.lines} for o in load_orders(conn, ids) if o.placed_us is not None}


def known_shipments(conn: Connection, ids: Iterable[str]) -> dict[str, str]:
    sql = "SELECT shipment_id, order_id FROM shipments WHERE shipment_id IN ({keys})"
    return {r[0]: r[1] for r in _in(conn, sql, ids)}


def known_trackings(conn: Connection, trackings: Iterable[str]) -> dict[str, str]:
    sql = "SELECT tracking, shipment_id FROM shipments WHERE tracking IN ({keys})"
    return {r[0]: r[1] for r in _in(conn, sql, trackings)}


def load_orders(conn: Connection, ids: Iterable[str]) -> list[Order]:
    return [decode_order(r[0]) for r in _in(conn, "SELECT state FROM orders WHERE order_id IN ({keys})", ids)]


def due_orders(conn: Connection, until_us: int, limit: int | None = None,
               known: Container[str] = frozenset()) -> list[Order]:
    """Orders with a deadline at or before ``until_us``: an index range, never a scan. Those
    in ``known`` (already in memory) are not decoded."""
    sql = "SELECT order_id, state FROM orders WHERE next_due_us <= :until ORDER BY next_due_us"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [decode_order(r[1]) for r in conn.execute(text(sql), {"until": until_us}) if r[0] not in known]


def customer_orders(conn: Connection, customer_id: str, known: Container[str] = frozenset()) -> list[Order]:
    """A customer's stored orders, but those in ``known`` (already in memory)."""
    rows = conn.execute(text("SELECT order_id, state FROM orders WHERE customer_id = :c"), {"c": customer_id})
    return [decode_order(r[1]) for r in rows if r[0] not in known]


def load_party(conn: Connection, kind: str, party_id: str) -> dict[str, Any] | None:
    row = conn.execute(text("SELECT data FROM parties WHERE kind = :k AND party_id = :p"),
                       {"k": kind, "p": party_id}).first()
    return json.loads(row[0]) if row else None


def load_parties(conn: Connection, kind: str, party_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored data of the parties of ``kind`` among ``party_ids`` (those stored), by id."""
    if not kind.isidentifier():  # (a kind is a word of ours, written into the statement)
        raise ValueError(f"not a party kind: {kind!r}")
    return {party_id: json.loads(data) for party_id, data in _in(
        conn, f"SELECT party_id, data FROM parties WHERE kind = '{kind}' AND party_id IN ({{keys}})", party_ids)}


def titles(conn: Connection, skus: Iterable[str]) -> dict[str, str]:
    """The name of each SKU as the catalogue gives it (the SKU itself when it gives none)."""
    skus = set(skus)  # (read twice: a generator would be spent by the query)
    named = load_parties(conn, "sku", skus)
    return {sku: named.get(sku, {}).get("title") or sku for sku in skus}


# ---- writes ------------------------------------------------------------------------------

def write_events(conn: Connection, rows: list[tuple[str, str, int, str | None, str]]) -> None:
    """The event log: each event as received (its ``at`` is in the payload), keyed by id."""
    insert_many(conn, "events", ("event_id", "type", "at_us", "order_id", "payload"), rows,
                conflict="event_id")


def write_orders(conn: Connection, orders: Iterable[Order]) -> None:
    rows = [(o.order_id, o.customer_id, o.placed_us, o.next_due_us, _encode_order(o)) for o in orders]
    insert_many(conn, "orders", ("order_id", "customer_id", "placed_us", "next_due_us", "state"), rows,
                conflict="order_id", update=("customer_id", "placed_us", "next_due_us", "state"))


def write_shipments(conn: Connection, rows: Iterable[tuple[str, str, str | None]]) -> None:
    insert_many(conn, "shipments", ("shipment_id", "order_id", "tracking"), rows,
                conflict="shipment_id", update=("order_id", "tracking"))


def write_parties(conn: Connection, rows: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
    insert_many(conn, "parties", ("kind", "party_id", "data"),
                [(k, p, json.dumps(d, default=str)) for k, p, d in rows],
                conflict="kind, party_id", update=("data",))


def case_row(case: Case, tz_min: int) -> tuple[Any, ...]:
    actions = []
    for a in case.actions:
        item: dict[str, Any] = {"type": a.type, "at": iso(a.at_us, tz_min)}
        for key in ("line_ids", "shipment_ids", "amount", "return_required", "rule", "note"):
            value = getattr(a, key)
            if value is not None:
                item[key] = value
        actions.append(item)
    data = {"reasons": case.reasons, "line_ids": case.line_ids, "shipment_ids": case.shipment_ids,
            "actions": actions, "escalations": case.escalations,
            "first_contact_at": iso(case.first_contact_us, tz_min),
            "channel": case.channel, "priority": case.priority, "csat": case.csat,
            "service_level": {
                "first_response_due": iso(case.first_response_due_us, tz_min),
                "resolution_due": iso(None if case.resolution_due_us is None
                                      else case.resolution_due_us + case.paused_us, tz_min),
                "paused_hours": round(case.paused_us / 3_600_000_000, 2),
                "breached": [e for e in case.escalations if e.startswith("sla_")]}}
    if case.expected_us is not None:  # a stock-out: when we said new stock was expected
        data["restock_expected_at"] = iso(case.expected_us, tz_min)
    return (case.id, case.order_id, case.reason, case.origin, case.status, iso(case.opened_us, tz_min),
            case.opened_us, iso(case.first_customer_message_us, tz_min), iso(case.resolved_us, tz_min),
            json.dumps(data))


def write_cases(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    cols = ("case_id", "order_id", "reason", "origin", "status", "opened_at", "opened_us",
            "first_customer_message_at", "resolved_at", "data")
    insert_many(conn, "cases", cols, rows, conflict="case_id", update=cols[2:])


def delete_cases(conn: Connection, case_ids: Iterable[str]) -> None:
    """Cases taken back whole (``Casework.withdraw``): nothing else refers to them."""
    for part in _chunks(sorted(case_ids)):
        conn.info[ROWS_OFFERED] = conn.info.get(ROWS_OFFERED, 0) + len(part)
        conn.exec_driver_sql(f"DELETE FROM cases WHERE case_id IN ({placeholders(conn, len(part))})", tuple(part))


def write_messages(conn: Connection, messages: Iterable[Message]) -> None:
    rows = [(m.id, m.customer_id, m.order_id, m.case_id, m.kind, m.channel, m.lang,
             iso_local(m.at_us, m.tz_min), m.at_us, m.subject, m.text) for m in messages]  # at_us: never None
    insert_many(conn, "messages", ("message_id", "customer_id", "order_id", "case_id", "kind", "channel",
                                   "lang", "at", "at_us", "subject", "text"), rows, conflict="message_id")


def request_rows(order: Order, now: int) -> list[tuple[Any, ...]]:
    """The order's requests to send lines again, each with where it stands at ``now``."""
    rows = []
    tz = order.tz_min
    address = json.dumps(order.address) if order.address else None
    for rq in order.requests:
        lines = [ln for lid in rq.line_ids if (ln := order.line(lid)) is not None]
        ship_by, deliver_by = request_promise(lines, rq)
        status, parcels = request_state(order, rq, now)
        rows.append((rq.request_id, order.order_id, rq.case_id, rq.kind, rq.to, order.customer_id,
                     json.dumps([{"line_id": ln.line_id, "sku": ln.sku, "qty": ln.qty, "seller_id": ln.seller_id,
                                  "fulfilled_by": ln.fulfilled_by} for ln in lines]),
                     address, iso_local(rq.at_us, tz), rq.at_us, iso_local(ship_by, tz), ship_by,
                     iso(deliver_by, tz), status, json.dumps(parcels), iso_local(now, tz)))
    return rows


REQUEST_COLUMNS = ("request_id", "order_id", "case_id", "kind", "addressed_to", "customer_id", "lines", "ship_to",
                   "requested_at", "requested_us", "ship_by", "ship_by_us", "deliver_by", "status", "shipment_ids",
                   "updated_at")


def write_requests(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Requests to send lines again: written whole each time their order changed (a handful
    of orders have any): the address follows the order's (a new one reaches the sender)."""
    insert_many(conn, "fulfil_requests", REQUEST_COLUMNS, rows, conflict="request_id",
                update=REQUEST_COLUMNS[6:])


def read_requests(conn: Connection, status: str | None = None, to: str | None = None,
                  order_id: str | None = None) -> list[dict[str, Any]]:
    """Stored requests to send lines again, oldest first, optionally filtered."""
    where, params = [], {}
    for col, value in (("status", status), ("addressed_to", to), ("order_id", order_id)):
        if value is not None:
            where.append(f"{col} = :{col}")
            params[col] = value
    sql = ("SELECT request_id, order_id, case_id, kind, addressed_to, customer_id, lines, ship_to, requested_at, "
           "ship_by, deliver_by, status, shipment_ids, updated_at FROM fulfil_requests")
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = conn.execute(text(sql + " ORDER BY requested_us, request_id"), params).all()
    return [{"id": r[0], "order_id": r[1], "case_id": r[2], "kind": r[3], "to": r[4], "customer_id": r[5],
             "lines": json.loads(r[6]), "ship_to": json.loads(r[7]) if r[7] else None, "requested_at": r[8],
             "ship_by": r[9], "deliver_by": r[10], "status": r[11], "shipment_ids": json.loads(r[12]),
             "updated_at": r[13]} for r in rows]


def write_callbacks(conn: Connection, rows: Iterable[tuple[str, str | None, str, str | None, int, str]]) -> None:
    # A case books again once its callback was made: the row is due again, for the new time.
    insert_many(conn, "callbacks", ("case_id", "order_id", "customer_id", "due_at", "due_us", "rule", "status"),
                [(*row, "due") for row in rows], conflict="case_id", update=("due_at", "due_us", "rule", "status"))


def close_callbacks(conn: Connection, closed: dict[str, str]) -> None:
    """The callbacks no longer due: ``done`` (a person made it) or ``withdrawn`` (the case
    resolved before anyone had to call), by case."""
    for status in ("done", "withdrawn"):
        case_ids = [case_id for case_id, how in closed.items() if how == status]
        if case_ids:
            conn.execute(text("UPDATE callbacks SET status = :s WHERE case_id IN :ids").bindparams(
                bindparam("ids", expanding=True)), {"s": status, "ids": case_ids})
    if closed:
        conn.info[ROWS_OFFERED] = conn.info.get(ROWS_OFFERED, 0) + len(closed)


def write_rejected(conn: Connection, source: str,
                   rows: Iterable[tuple[int, str | None, str, str, bytes | None]]) -> None:
    """Keep each rejected line whole (byte for byte when its text cannot be), once per
    (source, line, content)."""
    fresh = []
    for line_no, event_id, raw, reason, raw_bytes in rows:
        seen = conn.execute(text("SELECT raw_bytes FROM rejected WHERE source = :s AND line_no = :n AND raw = :r"),
                            {"s": source, "n": line_no, "r": raw}).all()
        if not any((bytes(b) if b is not None else None) == raw_bytes for (b,) in seen):
            fresh.append((source, line_no, event_id, raw, reason, raw_bytes))
    insert_many(conn, "rejected", ("source", "line_no", "event_id", "raw", "reason", "raw_bytes"), fresh)


def generation(conn: Connection) -> str | None:
    """The generation of the store's engine state (see ``new_generation``)."""
    return clock_and_generation(conn)[1]


def clock_and_generation(conn: Connection) -> tuple[int | None, str | None]:
    """The engine clock and the generation of its state, in one read."""
    found = engine_state(conn, "clock_us", "generation")
    clock_us = found.get("clock_us")
    return (int(clock_us) if clock_us is not None else None), found.get("generation")


class ConcurrentWrite(RuntimeError):
    """Someone else wrote engine state while this pass ran (its writer lock was lost): the
    pass is rolled back rather than written over the other's work."""


def new_generation(conn: Connection, previous: str | None) -> str:
    """Mark the store's engine state as changed, in the writer's transaction: the generation
    after ``previous``, the one this writer read when its pass began. A compare-and-set: if
    the stored generation is no longer ``previous``, another writer got in (say a PostgreSQL
    connection holding the advisory lock was cut), and this raises instead of writing over
    its work. A process keeping a session between passes (``services.Live``) compares the
    stored generation with its own to know whether someone else wrote since. A counter, not
    a random token, so that the same input gives the same store."""
    token = str(int(previous) + 1 if previous else 1)
    if previous is None:
        done = conn.execute(text("INSERT INTO engine_state (key, value) VALUES ('generation', :new) "
                                 "ON CONFLICT (key) DO NOTHING"), {"new": token})
    else:
        done = conn.execute(text("UPDATE engine_state SET value = :new WHERE key = 'generation' AND value = :old"),
                            {"new": token, "old": previous})
    if done.rowcount != 1:
        raise ConcurrentWrite("another process wrote to this store during this pass (generation "
                              f"{generation(conn)!r}, expected {previous!r}); nothing of this pass was written")
    return token


def set_clock(conn: Connection, clock_us: int) -> None:
    put_engine_state(conn, "clock_us", str(clock_us))

