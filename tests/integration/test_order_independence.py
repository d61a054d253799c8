"""Property: the state does not depend on arrival order, and duplicates are harmless.

Any permutation of a valid event stream, with duplicates sprinkled in, yields the same
cases, messages and order state as the stream in event-time order: on SQLite, and on
PostgreSQL (where it must also be what SQLite holds).
"""

from __future__ import annotations

import json
import random
import tempfile
from datetime import datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordercare import services
from ordercare.sim.builder import EventBuilder, at, line
from tests.conftest import _drop_pg_database, _new_pg_database

UNTIL = datetime.fromisoformat("2026-07-15T00:00:00+02:00")
FATES = ("delivered", "never_shipped", "no_scan", "stalled", "exception", "seller_cancel",
         "late_delivered", "partial")


def world(fates: list[str], seed: int) -> EventBuilder:
    rng = random.Random(seed)
    b = EventBuilder()
    b.customer("c-1", lang="fr", name="Anne").customer("c-2", lang="en")
    b.seller("s-1", handling_days=1).seller("s-2", handling_days=3)
    b.sku("k1", "Livre").sku("k2", "Étui")
    for i, fate in enumerate(fates):
        oid, placed = f"o-{i}", at("2026-06-01T08:00:00+02:00", hours=rng.randint(0, 200))
        lines = [line("l1", "k1", "s-1", 10.0)]
        if fate == "partial":
            lines.append(line("l2", "k2", "s-2", 5.0))
        b.order(oid, f"c-{1 + i % 2}", placed, lines, prime=rng.random() < 0.3)
        b.pay(oid, at(placed, minutes=3), 15.0 if fate == "partial" else 10.0)
        if fate == "never_shipped":
            continue
        if fate == "seller_cancel":
            b.cancel(oid, at(placed, hours=5), "seller", "out_of_stock")
            continue
        b.create_shipment(f"{oid}-s", oid, "s-1", ["l1"], at(placed, hours=2))
        b.ship(f"{oid}-s", at(placed, hours=3), f"T{i}")
        if fate == "no_scan":
            continue
        b.scan(f"T{i}", at(placed, hours=6), "accepted", "Paris")
        if fate == "stalled":
            continue
        if fate == "exception":
            b.scan(f"T{i}", at(placed, hours=30), "exception", "Hub")
            continue
        late = fate == "late_delivered"
        b.scan(f"T{i}", at(placed, days=8 if late else 1), "delivered", "Home")
    return b


def snapshot(url: str) -> tuple[object, ...]:
    db = services.open_store(url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        states = sorted(conn.execute(sa.text("SELECT order_id, next_due_us, state FROM orders")).all())
    engine.dispose()
    return (json.dumps(services.list_cases(db), sort_keys=True),
            json.dumps(services.list_messages(db), sort_keys=True), states)


def run(lines: list[str], pg_server: str | None = None) -> tuple[object, ...]:
    """Replay ``lines`` into a fresh store (SQLite, or a new database on ``pg_server``)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = _new_pg_database(pg_server) if pg_server else f"sqlite:///{tmp}/p.db"
        try:
            db = services.open_store(url)
            report = services.replay(db, "p", [(i, x.encode()) for i, x in enumerate(lines, 1)], UNTIL)
            db.dispose()
            assert report.rejected == []
            return snapshot(url)
        finally:
            if pg_server:
                _drop_pg_database(pg_server, url)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fates=st.lists(st.sampled_from(FATES), min_size=1, max_size=6), seed=st.integers(0, 10_000),
       data=st.data())
def test_any_permutation_with_duplicates_gives_the_same_cases_and_state(fates, seed, data):
    b = world(fates, seed)
    canonical = sorted(b.jsonl().splitlines(), key=lambda x: json.loads(x)["at"])
    shuffled = data.draw(st.permutations(canonical))
    extra = data.draw(st.lists(st.sampled_from(canonical), max_size=5))
    assert run(list(shuffled) + extra) == run(canonical)


@pytest.mark.postgres
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fates=st.lists(st.sampled_from(FATES), min_size=1, max_size=6), seed=st.integers(0, 10_000),
       data=st.data())
def test_on_postgresql_any_permutation_gives_what_sqlite_gives(pg_server, fates, seed, data):
    b = world(fates, seed)
    canonical = sorted(b.jsonl().splitlines(), key=lambda x: json.loads(x)["at"])
    shuffled = data.draw(st.permutations(canonical))
    extra = data.draw(st.lists(st.sampled_from(canonical), max_size=5))
    assert run(list(shuffled) + extra, pg_server) == run(canonical)
