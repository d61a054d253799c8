"""The live watch: deadlines fire from the store's due-time index on the wall clock."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from ordercare import services
from ordercare.sim.builder import EventBuilder, at, line
from ordercare.store.db import resolve_url
from tests.e2e.cli import ordercare

PLACED = "2026-05-28T09:14:00+02:00"


def shop(n: int) -> EventBuilder:
    b = EventBuilder()
    b.customer("c-1", lang="en").seller("s-1", handling_days=2).sku("k", "Kettle")
    for i in range(n):
        b.order(f"o-{i}", "c-1", at(PLACED, hours=i), [line("l1", "k", "s-1", 30.0)])
    return b


def test_a_tick_handles_what_fell_due_and_only_that(db_url):
    db = services.open_store(db_url)
    b = shop(30)  # ship-by 1 June for the first orders, later for the rest
    services.replay(db, "shop", b.lines())
    assert services.list_cases(db) == [], "time has not passed yet"
    fired = services.tick(db, datetime.fromisoformat("2026-06-02T00:00:00+02:00"))
    cases = [c for c in services.list_cases(db) if c["origin"] != "seller"]
    assert fired == len(cases) > 0
    assert {c["reason"] for c in cases} == {"late_shipment"}
    engine = sa.create_engine(resolve_url(db_url))
    with engine.connect() as conn:
        due_left = conn.execute(sa.text("SELECT count(*) FROM orders WHERE next_due_us <= :t"),
                                {"t": 1780351200000000}).scalar_one()
    engine.dispose()
    assert due_left == 0, "every order due by then was handled and re-armed"
    # a second tick at the same moment does nothing more
    assert services.tick(db, datetime.fromisoformat("2026-06-02T00:00:00+02:00")) == 0
    assert len([c for c in services.list_cases(db) if c["origin"] != "seller"]) == len(cases)


def test_watch_once_follows_an_events_file(sqlite_url, tmp_path):
    path = tmp_path / "live.jsonl"
    path.write_text(shop(3).jsonl())
    ordercare("watch", "--once", "--events", str(path), "--db", sqlite_url)
    cases = [c for c in json.loads(ordercare("cases", "--json", "--db", sqlite_url)) if c["origin"] != "seller"]
    # the wall clock is long past these May promises: every order is late
    assert sorted(c["order_id"] for c in cases) == ["o-0", "o-1", "o-2"]


def test_watch_reads_whole_lines_only_and_carries_on_where_it_stopped(db_url, tmp_path):
    """A producer mid-way through writing a line: the watch takes the whole lines, leaves
    the torn one for its next tick, and a restarted watch carries on from where the last one
    stopped. A bad line is a dead letter under its line number in the file."""
    lines = shop(3).jsonl().splitlines(keepends=True)  # 3 registrations, then 3 orders
    path = tmp_path / "live.jsonl"
    torn = lines[4][:40]
    path.write_text("".join(lines[:4]) + torn)
    ordercare("watch", "--once", "--events", str(path), "--db", db_url)
    orders = {c["order_id"] for c in json.loads(ordercare("cases", "--json", "--db", db_url)) if c["order_id"]}
    assert orders == {"o-0"}  # the torn line waits: nothing rejected
    assert json.loads(ordercare("rejected", "--json", "--db", db_url)) == []

    with path.open("a") as fh:  # the producer finishes its line, writes a bad one and another order
        fh.write(lines[4][40:] + '{"id": "x", "type": "order.placed"}\n' + lines[5])
    ordercare("watch", "--once", "--events", str(path), "--db", db_url)  # a new process: restored
    orders = {c["order_id"] for c in json.loads(ordercare("cases", "--json", "--db", db_url)) if c["order_id"]}
    assert orders == {"o-0", "o-1", "o-2"}
    [dead] = json.loads(ordercare("rejected", "--json", "--db", db_url))
    assert dead["line"] == 6 and dead["source"] == "live.jsonl"
    db = services.open_store(db_url)
    with db.connect() as conn:  # every line was read once: the registrations were no duplicates
        stored = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
    db.dispose()
    assert stored == 6


def test_a_line_stamped_ahead_of_the_clock_waits_and_is_not_lost(db_url, tmp_path):
    """A producer whose clock runs ahead: its line is not applied before its time, is kept
    (across a restart of the watch too), and is applied at the first tick after its time."""
    from ordercare.follow import Follower, follow_once

    path = tmp_path / "live.jsonl"
    path.write_text(shop(2).jsonl())  # the last line: o-1, placed an hour after o-0
    db = services.open_store(db_url)
    o1_at = datetime.fromisoformat(at(PLACED, hours=1))
    first = Follower(path)
    report = follow_once(db, first, o1_at.replace(minute=o1_at.minute - 1))
    assert report is not None and report.deferred == 1 and len(first.pending) == 1
    restarted = Follower(path)
    restarted.restore(db)  # a new watch process
    assert follow_once(db, restarted, o1_at.replace(minute=o1_at.minute - 1)).deferred == 1  # still early
    report = follow_once(db, restarted, o1_at)
    assert report.applied == 1 and report.deferred == 0 and restarted.pending == []
    with db.connect() as conn:
        placed = conn.execute(sa.text("SELECT order_id FROM orders WHERE placed_us IS NOT NULL ORDER BY 1")).all()
    assert [r[0] for r in placed] == ["o-0", "o-1"]
    assert follow_once(db, restarted, o1_at) is None  # nothing new, nothing pending
    db.dispose()
