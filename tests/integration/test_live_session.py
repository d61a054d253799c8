"""A session kept between passes (``watch``, ``serve``) gives what fresh sessions give, and is
dropped as soon as somebody else writes to the store.

The stream is the benchmark's generator (orders from 300 sellers, parcels, faults, duplicates
and late arrivals), cut into a day's worth of events at a time, each followed by watch ticks,
as a live process would see it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import text

from ordercare import services
from ordercare.sim.builder import EventBuilder, at
from ordercare.sim.stream import generate
from ordercare.store import repo

_at = msgspec.json.Decoder(dict[str, Any])


def _days(n_events: int) -> list[tuple[datetime, list[bytes]]]:
    """The stream in arrival order, cut at each midnight (UTC) of event time."""
    by_day: dict[datetime, list[bytes]] = {}
    for raw in generate(n_events, days=6):
        moment = datetime.fromisoformat(_at.decode(raw)["at"])
        day = datetime(moment.year, moment.month, moment.day, tzinfo=moment.tzinfo) + timedelta(days=1)
        by_day.setdefault(day, []).append(raw)
    return sorted(by_day.items())


def _play(db_url: str, live: bool) -> tuple[Any, ...]:
    db = services.open_store(db_url)
    kept = services.Live(db) if live else None
    for day_end, lines in _days(20_000):
        services.replay(db, f"day-{day_end:%m%d}", list(enumerate(lines, 1)), day_end, live=kept)
        for hours in (6, 12, 18):
            services.tick(db, day_end + timedelta(hours=hours), live=kept)
    with db.connect() as conn:
        states = conn.execute(text("SELECT order_id, next_due_us, state FROM orders ORDER BY order_id")).all()
        sellers = conn.execute(text("SELECT seller_id, status FROM seller_standing ORDER BY seller_id")).all()
    result = (services.list_cases(db), services.list_messages(db), [tuple(r) for r in states],
              [tuple(r) for r in sellers], kept.started if kept else None)
    db.dispose()
    return result


def test_a_kept_session_gives_what_fresh_sessions_give(db_url: str, twin_url: str) -> None:
    *kept, started = _play(db_url, live=True)
    *fresh, _ = _play(twin_url, live=False)
    assert started == 1  # nobody else wrote: one session served every pass
    assert len(kept[0]) > 20 and len(kept[1]) > 1000  # cases and messages worth comparing
    assert kept == fresh


def test_a_write_by_someone_else_makes_the_kept_session_reload(db_url: str) -> None:
    """Another process pays the order between two passes of the kept session: the kept
    session must not write back its stale copy of the order (which had no payment)."""
    placed = "2026-06-01T09:00:00+02:00"
    db = services.open_store(db_url)
    kept = services.Live(db)
    first = EventBuilder("a-").customer("c1").seller("s1").sku("k1", "Kettle")
    first.order("o1", "c1", placed, [{"line_id": "l1", "sku": "k1", "seller_id": "s1", "qty": 1,
                                     "unit_price": 30.0, "fulfilled_by": "seller"}])
    services.replay(db, "first", first.lines(), live=kept)
    services.replay(db, "elsewhere", EventBuilder("b-").pay("o1", at(placed, minutes=5), 30.0).lines())
    later = EventBuilder("c-").create_shipment("sh1", "o1", "s1", ["l1"], at(placed, hours=2))
    services.replay(db, "later", later.lines(), live=kept)
    with db.connect() as conn:
        [order] = repo.load_orders(conn, ["o1"])
    assert order.paid_amount == 30.0 and "sh1" in order.shipments
    assert kept.started == 2  # rebuilt once, after the write it did not make
    services.tick(db, datetime.fromisoformat(placed) + timedelta(hours=3), live=kept)
    assert kept.started == 2  # its own writes do not invalidate it
    db.dispose()


def test_two_long_running_processes_keep_their_sessions_across_idle_ticks(db_url: str) -> None:
    """``watch`` and ``serve`` on one store: an idle tick (it only moves the clock) leaves the
    other's session valid; a pass that changes engine state makes the other reload."""
    db = _one_order(db_url)
    watch, serve = services.Live(db), services.Live(db)
    moment = datetime.fromisoformat(PLACED) + timedelta(hours=1)
    for minutes in range(3):
        services.tick(db, moment + timedelta(minutes=minutes), live=watch)
        services.tick(db, moment + timedelta(minutes=minutes, seconds=30), live=serve)
    assert (watch.started, serve.started) == (1, 1)
    services.replay(db, "click", EventBuilder("k-").pay("o1", at(PLACED, minutes=70), 30.0).lines(),
                    moment + timedelta(minutes=10), live=serve)
    services.tick(db, moment + timedelta(minutes=11), live=watch)
    assert (watch.started, serve.started) == (2, 1)  # watch reloaded after serve's write
    with db.connect() as conn:
        [order] = repo.load_orders(conn, ["o1"])
    assert order.paid_amount == 30.0
    db.dispose()


def test_a_pass_that_lost_the_race_writes_nothing(db_url: str) -> None:
    """Should two passes ever run at once (a lock lost with its connection), the one that
    flushes second finds the generation moved and is rolled back whole, not written over
    the other's work."""
    db = _one_order(db_url)
    stale = services.Session(db)  # began before the other pass, without the lock (the fault)
    stale.load(["o1"], None)
    services.replay(db, "other", EventBuilder("p-").pay("o1", at(PLACED, minutes=5), 30.0).lines())
    stale.engine.apply(_cancel("o1", at(PLACED, minutes=6)), stale.engine.now + 1)
    with pytest.raises(repo.ConcurrentWrite):
        stale.flush([])
    stale.close()
    with db.connect() as conn:
        [order] = repo.load_orders(conn, ["o1"])
    assert order.paid_amount == 30.0 and all(ln.cancelled_us is None for ln in order.lines)
    db.dispose()


PLACED = "2026-06-01T09:00:00+02:00"


def _one_order(db_url: str) -> Any:
    """A store holding one kettle ordered from seller s1 at ``PLACED``, not paid yet."""
    db = services.open_store(db_url)
    story = EventBuilder().customer("c1").seller("s1").sku("k1", "Kettle")
    story.order("o1", "c1", PLACED, [{"line_id": "l1", "sku": "k1", "seller_id": "s1", "qty": 1,
                                     "unit_price": 30.0, "fulfilled_by": "seller"}])
    services.replay(db, "shop", story.lines())
    return db


def _cancel(order_id: str, moment: str) -> Any:
    from ordercare.domain import events as ev
    raw = EventBuilder("x-").cancel(order_id, moment, "customer", "changed_mind").jsonl().strip()
    return msgspec.json.decode(raw, type=ev.Event)


def test_a_kept_session_keeps_compacting_seller_books(db_url: str) -> None:
    """Each pass writes a chunk of facts per seller it touched; a session kept for a hundred
    passes still merges them, so the next fresh start reads a few rows, not a hundred."""
    from ordercare.sellers.tables import COMPACT_AFTER

    placed = datetime.fromisoformat("2026-06-01T09:00:00+02:00")
    db = services.open_store(db_url)
    services.replay(db, "shop", EventBuilder().customer("c1").seller("s1").sku("k1", "Kettle").lines())
    kept = services.Live(db)
    for i in range(100):
        order = EventBuilder(f"o{i}-").order(f"o{i}", "c1", (placed + timedelta(minutes=i)).isoformat(), [
            {"line_id": "l1", "sku": "k1", "seller_id": "s1", "qty": 1, "unit_price": 30.0, "fulfilled_by": "seller"}])
        services.replay(db, f"pass-{i}", order.lines(), live=kept)
    assert kept.started == 1
    with db.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM seller_books WHERE seller_id = 's1'")).scalar_one()
    assert rows <= COMPACT_AFTER + 1
    fresh = services.Session(db)  # and what was merged is all there
    assert fresh.engine.capabilities[-1].book.metrics("s1", placed + timedelta(days=1)).orders == 100
    fresh.close()
    db.dispose()
