"""The core benchmark: ingest throughput against the physical insert floor, and the cost
of a watch tick as a function of what falls due (not of how much is open).

Everything is measured in the same run, on one core, so the ratios hold whatever the
machine: ``ingest_events_per_s / raw_insert_rows_per_s`` and ``tick_ms / tick_small_ms``.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ordercare import services
from ordercare.domain.moments import to_us
from ordercare.domain.order import DAY_US, Line, Order
from ordercare.intake import decode_lines
from ordercare.sim.stream import generate
from ordercare.store import repo
from ordercare.store.db import insert_many, sqlite_pragmas
from ordercare.watch.detectors import evaluate

Say = Callable[[str], None]


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def measure_ingest(lines: list[bytes], workdir: Path, core_only: bool = False) -> dict[str, float]:
    """The real path end to end; ``core_only`` leaves out the capabilities (seller health,
    warehouse) to show what the core engine alone costs."""
    numbered = list(enumerate(lines, 1))
    db = services.open_store(f"sqlite:///{workdir}/ingest{'-core' if core_only else ''}.db")
    gc.collect()
    started = time.perf_counter()
    report = services.replay(db, "bench", numbered, capabilities=[] if core_only else None)
    seconds = time.perf_counter() - started
    db.dispose()
    if core_only:
        return {"ingest_core_events_per_s": len(lines) / seconds}
    return {"ingest_seconds": seconds, "ingest_events_per_s": len(lines) / seconds,
            "applied": report.applied, "duplicates": report.duplicates,
            "rejected": len(report.rejected), "deadlines_fired": report.deadlines_fired}


def measure_raw_floor(lines: list[bytes], workdir: Path, name: str = "raw") -> dict[str, float]:
    """The same event rows into an identical table with plain ``executemany``: the floor.
    The connection runs with the store's own settings (WAL, page cache): a floor measured
    on a handicapped connection would flatter the ratio."""
    intake = decode_lines(enumerate(lines, 1))
    rows = [(a.event.id, a.event.__struct_config__.tag, a.at_us, None, a.payload)
            for a in intake.accepted]
    conn = sqlite3.connect(workdir / f"{name}.db")
    sqlite_pragmas(conn)
    conn.execute("CREATE TABLE events (event_id TEXT PRIMARY KEY, type TEXT NOT NULL, at_us BIGINT NOT NULL, "
                 "order_id TEXT, payload TEXT NOT NULL)")
    gc.collect()
    started = time.perf_counter()
    for i in range(0, len(rows), 100_000):
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows[i:i + 100_000])
        conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    for leftover in workdir.glob(f"{name}.db*"):  # (measured up to three times: no need to keep)
        leftover.unlink()
    return {"raw_insert_rows_per_s": len(rows) / seconds}


def _open_order(i: int, ship_by: int, placed: int) -> Order:
    return Order(f"o{i}", f"c{i % 5000}", placed_us=placed, tz_min=120, currency="EUR",
                 lines=[Line("l1", f"k{i % 3000}", f"s{i % 300}", 1, 20.0, "seller", ship_by_us=ship_by)],
                 ship_by_us=ship_by, deliver_by_us=ship_by + 3 * DAY_US, paid_us=placed, paid_amount=20.0,
                 next_due_us=ship_by)


def build_open_orders(url: str, n_open: int, n_due: int, now: int) -> None:
    """``n_open`` unshipped orders, of which ``n_due`` reach their ship-by at ``now``."""
    db = services.open_store(url)
    placed = now - 2 * DAY_US
    with db.begin() as conn:
        insert_many(conn, "parties", ("kind", "party_id", "data"),
                    [("customer", f"c{c}", '{"lang": "en", "name": "Sam"}') for c in range(5000)])
        for start in range(0, n_open, 100_000):
            batch = [_open_order(i, now if i < n_due else now + (1 + i % 20) * DAY_US, placed)
                     for i in range(start, min(n_open, start + 100_000))]
            repo.write_orders(conn, batch)
    db.dispose()


def measure_tick(url: str, now: datetime) -> tuple[float, int]:
    db = services.open_store(url)  # a watch loop keeps its store open: not part of a tick
    with db.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM orders").all()
    gc.collect()
    started = time.perf_counter()
    fired = services.tick(db, now)
    seconds = time.perf_counter() - started
    db.dispose()
    return seconds * 1000, fired


def measure_naive_scan(url: str, now_us: int) -> tuple[float, int]:
    """What a tick costs without a deadline index: read every open order, ask each."""
    db = services.open_store(url)
    policies = services.load_policies()
    gc.collect()
    started = time.perf_counter()
    due = 0
    with db.connect() as conn:
        for (state,) in conn.exec_driver_sql("SELECT state FROM orders"):
            order = repo.decode_order(state)
            findings, _ = evaluate(order, now_us, policies.watch)
            due += bool(findings)
    seconds = time.perf_counter() - started
    db.dispose()
    return seconds * 1000, due


def run(events: int = 1_000_000, open_orders: int = 1_000_000, small_orders: int = 10_000,
        due: int = 1_000, say: Say = print) -> dict[str, Any]:
    _pin_one_core()
    result: dict[str, Any] = {"events": events, "open_orders": open_orders,
                              "small_open_orders": small_orders, "due": due}
    with tempfile.TemporaryDirectory(prefix="ordercare-bench-") as tmp:
        work = Path(tmp)
        say(f"generating {events:,} events (not timed)...")
        lines = generate(events)
        # The floor is measured before, between and after the two ingests and the median
        # taken: on a shared machine the speed of a core drifts by ±25 % within minutes, and
        # a single floor measured at another moment than the ingest would skew the ratio.
        floors: list[float] = []

        def floor(lines: list[bytes]) -> None:
            floors.append(measure_raw_floor(lines, work, f"raw-{len(floors)}")["raw_insert_rows_per_s"])
            say(f"  raw executemany floor, same rows, same table: {floors[-1]:,.0f} rows/s")

        floor(lines)
        say("ingesting through the real path (decode, validate, dedupe, apply, detect, persist)...")
        result.update(measure_ingest(lines, work))
        say(f"  {result['ingest_events_per_s']:,.0f} events/s")
        floor(lines)
        say("the same through the core engine alone (no seller health, no warehouse)...")
        result.update(measure_ingest(lines, work, core_only=True))
        say(f"  {result['ingest_core_events_per_s']:,.0f} events/s")
        floor(lines)
        del lines
        result["raw_insert_rows_per_s"] = statistics.median(floors)
        result["raw_insert_runs"] = [round(f) for f in floors]
        result["ingest_vs_floor"] = result["ingest_events_per_s"] / result["raw_insert_rows_per_s"]
        result["core_vs_floor"] = result["ingest_core_events_per_s"] / result["raw_insert_rows_per_s"]

        now = datetime(2026, 6, 15, 12, tzinfo=UTC)
        for key, n in (("tick_ms", open_orders), ("tick_small_ms", small_orders)):
            url = f"sqlite:///{work}/tick-{n}.db"
            say(f"building {n:,} open orders, {due:,} falling due (not timed)...")
            build_open_orders(url, n, due, to_us(now))
            result[key], fired = measure_tick(url, now)
            result[key.replace("_ms", "_handled")] = fired
            say(f"  tick handled {fired:,} due orders in {result[key]:.1f} ms")
            if n == open_orders:
                result["naive_scan_ms"], seen = measure_naive_scan(url, to_us(now + timedelta(seconds=1)))
                say(f"  naive scan of {n:,} open orders: {result['naive_scan_ms']:.0f} ms ({seen:,} due)")
        result["tick_vs_small"] = result["tick_ms"] / result["tick_small_ms"]
        result["naive_vs_tick"] = result["naive_scan_ms"] / result["tick_ms"]
    return result
