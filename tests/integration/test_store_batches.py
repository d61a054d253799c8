"""A large keyed batch lands exactly as one INSERT per row would leave it, on both stores.

On PostgreSQL a batch of ``COPY_FROM`` rows or more travels by ``COPY`` into a scratch
table and one merge (``store/db.py``); these batches are that large, so the PostgreSQL run
checks that path against what SQLite's row-by-row ``executemany`` gives: the first of two
rows with one key kept when a conflict does nothing, the last when it updates; awkward text
and bytes whole; NULLs as NULLs; rows already stored kept or updated by the same rule.
"""

from __future__ import annotations

from sqlalchemy import text

from ordercare import services
from ordercare.store import db as store_db
from ordercare.store.db import insert_many

# What COPY's text format must escape, and what a careless CSV would mangle.
AWKWARD = ["tab\there", "new\nline", "back\\slash", "\\N", "quote ' and \"", "é à ç ß 漢字 🚚", "", "a,b;c|d"]


def _rows(n: int, tag: str) -> list[tuple[str, str, str]]:
    return [("sku", f"P{i:05d}", f'{{"title": "{tag} {i}", "x": {AWKWARD[i % len(AWKWARD)]!r}}}') for i in range(n)]


def test_a_keyed_batch_by_copy_keeps_the_row_by_row_rules(db_url: str) -> None:
    n = store_db.COPY_FROM + 60
    engine = services.open_store(db_url)
    try:
        with engine.begin() as conn:  # rows already there: 0..19
            insert_many(conn, "parties", ("kind", "party_id", "data"), _rows(20, "stored"),
                        conflict="kind, party_id", update=("data",))

        updates = _rows(n, "first")
        updates += [(k, p, d.replace("first", "second")) for k, p, d in updates[10:30]]  # the same keys again
        ignored = [(f"E{i:05d}", "order.placed", i, None if i % 3 else f"O{i}", AWKWARD[i % len(AWKWARD)] + str(i))
                   for i in range(n)]
        ignored += [(f"E{i:05d}", "order.paid", -i, "X", "later, ignored") for i in range(5, 25)]
        states = [(f"O{i:05d}", None, i, None if i % 2 else i * 7, bytes([0, 92, 9, 10, i % 256, 255]))
                  for i in range(n)]
        assert min(len(updates), len(ignored), len(states)) >= store_db.COPY_FROM
        with engine.begin() as conn:
            insert_many(conn, "parties", ("kind", "party_id", "data"), updates,
                        conflict="kind, party_id", update=("data",))
            insert_many(conn, "events", ("event_id", "type", "at_us", "order_id", "payload"), ignored,
                        conflict="event_id")
            insert_many(conn, "events", ("event_id", "type", "at_us", "order_id", "payload"),
                        [("E00000", "order.paid", 1, "Y", "stored first, kept")], conflict="event_id")
            insert_many(conn, "orders", ("order_id", "customer_id", "placed_us", "next_due_us", "state"), states,
                        conflict="order_id", update=("customer_id", "placed_us", "next_due_us", "state"))

        with engine.connect() as conn:
            parties = dict(conn.execute(text("SELECT party_id, data FROM parties WHERE kind = 'sku'")).all())
            events = {r[0]: tuple(r[1:]) for r in conn.execute(
                text("SELECT event_id, type, at_us, order_id, payload FROM events"))}
            orders = {r[0]: (r[1], r[2], r[3], bytes(r[4])) for r in conn.execute(
                text("SELECT order_id, customer_id, placed_us, next_due_us, state FROM orders"))}
    finally:
        engine.dispose()

    assert len(parties) == n
    for i in range(n):
        tag = "second" if 10 <= i < 30 else "first"  # the last row of a key wins an update ...
        assert parties[f"P{i:05d}"] == f'{{"title": "{tag} {i}", "x": {AWKWARD[i % len(AWKWARD)]!r}}}'
    assert len(events) == n  # ... the first one a conflict that does nothing
    for i in range(n):
        assert events[f"E{i:05d}"] == ("order.placed", i, None if i % 3 else f"O{i}",
                                       AWKWARD[i % len(AWKWARD)] + str(i))
    assert orders == {f"O{i:05d}": (None, i, None if i % 2 else i * 7, bytes([0, 92, 9, 10, i % 256, 255]))
                      for i in range(n)}
