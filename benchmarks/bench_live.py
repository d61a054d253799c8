"""Benchmark: a pass of a long-running process (``watch``, ``serve``) on a grown store, with a
fresh session each time (the baseline) versus the session kept between passes
(``services.Live``).

A store is built from the core benchmark's stream (not timed): orders, parcels and carrier
scans from 300 sellers, so seller health and the warehouse have real history to load. Then,
measured in the same run, ``--passes`` times each:

* an idle watch tick (nothing falls due): what ``watch`` pays every minute;
* a one-event pass (a customer registering: the smallest engine pass there is): what a
  self-service click costs beyond its own work.

Run: ``python benchmarks/bench_live.py [--events N] [--passes K]``. The last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ordercare import services
from ordercare.sim.stream import generate


def _median_ms(runs: list[float]) -> float:
    return sorted(runs)[len(runs) // 2] * 1000


def measure(db: object, passes: int, live: services.Live | None, start: datetime) -> dict[str, float]:
    ticks, clicks = [], []
    now = start
    for i in range(passes):
        now += timedelta(seconds=1)
        began = time.perf_counter()
        services.tick(db, now, live=live)  # type: ignore[arg-type]
        ticks.append(time.perf_counter() - began)
        line = json.dumps({"id": f"bench-live-{live is not None}-{i}", "type": "customer.registered",
                           "at": now.isoformat(), "data": {"customer_id": f"new-{i}",
                                                           "email": f"new-{i}@example.com", "lang": "fr"}})
        began = time.perf_counter()
        services.replay(db, "bench-live", [(1, line.encode())], now, live=live)  # type: ignore[arg-type]
        clicks.append(time.perf_counter() - began)
    return {"tick_ms": _median_ms(ticks), "pass_ms": _median_ms(clicks)}


def run(events: int, passes: int, say: Callable[[str], None] = print) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ordercare-live-") as tmp:
        db = services.open_store(f"sqlite:///{tmp}/store.db")
        say(f"building a store from {events:,} events (not timed)...")
        report = services.replay(db, "history", list(enumerate(generate(events), 1)))
        start = datetime.fromisoformat(report.clock or "2026-06-01T00:00:00+00:00") + timedelta(minutes=1)
        fresh = measure(db, passes, None, start)
        say(f"  fresh session each pass: tick {fresh['tick_ms']:.0f} ms, one-event pass {fresh['pass_ms']:.0f} ms")
        live = services.Live(db)
        kept = measure(db, passes, live, start + timedelta(hours=1))
        say(f"  session kept between passes: tick {kept['tick_ms']:.0f} ms, one-event pass "
            f"{kept['pass_ms']:.0f} ms ({live.started} session built)")
        db.dispose()
    return {"events": events, "passes": passes,
            "fresh_tick_ms": fresh["tick_ms"], "fresh_pass_ms": fresh["pass_ms"],
            "kept_tick_ms": kept["tick_ms"], "kept_pass_ms": kept["pass_ms"],
            "sessions_built": live.started,
            "tick_speedup": fresh["tick_ms"] / kept["tick_ms"], "pass_speedup": fresh["pass_ms"] / kept["pass_ms"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(run(args.events, args.passes)))


if __name__ == "__main__":
    main()
