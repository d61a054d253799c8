"""A large keyed batch lands exactly as one INSERT per row would leave it, on both stores.

On PostgreSQL a batch of ``COPY_FROM`` rows or more travels by ``COPY`` into a scratch
table and one merge (``store/db.py``); these batches are that large, so the PostgreSQL run
checks that path against what SQLite's row-by-row ``executemany`` gives: the first of two
rows with one key kept when a conflict does nothing, the last when it updates; awkward text
and bytes whole; NULLs as NULLs; rows already stored kept or updated by the same rule.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ordercare import services
from ordercare.store import db as store_db
from ordercare.store.db import insert_many

# What COPY's text format must escape, and what a careless CSV would mangle.
AWKWARD = ["tab\there", "new\nline", "back\\slash", "\\N", "quote ' and \"", "é à ç ß 漢字 🚚", "", "a,b;c|d"]


def _rows(n: int, tag: str) -> list[tuple[str, str, str]]:
    return [("sku", f"P{i:05d}", f'{{"title": "{tag} {i}", "x": {AWKWARD[i % len(AWKWARD)]!r}}}') for i in range(n)]


def test_a_keyed_batch_by_copy_keeps_the_row_by_row_rules(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    n = store_db.COPY_FROM + 60
    copied: list[str] = []
    merge = store_db._copy_merge

    def spy(conn, table, *args):  # type: ignore[no-untyped-def]
        copied.append(table)
        merge(conn, table, *args)

    monkeypatch.setattr(store_db, "_copy_merge", spy)
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
        # A key booked twice in one batch, only some columns updated: the first row's others stay.
        calls = [(f"C{i:05d}", f"O{i}", f"first-{i}", f"at-{i}", i, "prime_late", "due") for i in range(n)]
        calls += [(f"C{i:05d}", f"O{i}-again", f"second-{i}", f"again-{i}", -i, "stale", "due") for i in range(0, n, 7)]
        assert min(len(updates), len(ignored), len(states), len(calls)) >= store_db.COPY_FROM
        with engine.begin() as conn:
            insert_many(conn, "callbacks", ("case_id", "order_id", "customer_id", "due_at", "due_us", "rule",
                                            "status"), calls, conflict="case_id",
                        update=("due_at", "due_us", "rule", "status"))
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
            booked = {r[0]: tuple(r[1:]) for r in conn.execute(
                text("SELECT case_id, order_id, customer_id, due_at, due_us, rule FROM callbacks"))}
    finally:
        engine.dispose()

    if db_url.startswith("postgresql"):  # every batch above went by COPY, none fell back
        assert set(copied) == {"callbacks", "events", "orders", "parties"}
    assert booked == {f"C{i:05d}": (f"O{i}", f"first-{i}") + ((f"again-{i}", -i, "stale") if i % 7 == 0
                                                             else (f"at-{i}", i, "prime_late")) for i in range(n)}

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


def test_a_batch_copy_would_read_otherwise_goes_row_by_row(db_url: str) -> None:
    """A bool is ``t`` to COPY's text and ``true`` to a bound parameter: such a batch is not
    sent by COPY, and lands as it always did."""
    n = store_db.COPY_FROM + 5
    engine = services.open_store(db_url)
    try:
        with engine.begin() as conn:
            rows = [(f"k{i}", True if i == 3 else f"v{i}") for i in range(n)]
            insert_many(conn, "engine_state", ("key", "value"), rows, conflict="key", update=("value",))
        with engine.connect() as conn:
            values = dict(conn.execute(text("SELECT key, value FROM engine_state WHERE key LIKE 'k%'")).all())
    finally:
        engine.dispose()
    assert len(values) == n and values["k4"] == "v4"
    assert values["k3"] in ("1", "true")  # (what each driver binds a bool as: as row by row always did)
