"""Benchmark: seller health metrics kept incrementally versus recomputed from the raw facts.

A seeded synthetic marketplace: 5,000 sellers of long-tailed sizes (log-normal weights) and
5,000,000 orders placed uniformly over 90 days. Each seller has its own habits, drawn
log-normally around marketplace-like means: defects 0.5 % of orders, late shipments 1.5 %,
seller cancellations 0.8 % (plus 1 % buyer cancellations), lost first scans 1 %, late
deliveries 1.5 %; 8 % of orders carry a buyer message, 95 % answered within 23 h.
Facts are the ones the engine hands the book: order placed (with ship-by and deliver-by),
shipped, carrier scan, delivered, cancellation, defect, buyer message, seller reply. They
arrive sorted by event time except 3 % that come late (up to 3 days), so the book takes
late facts as it would in production.

Measured in the same run:

* **incremental**: every fact applied to a :class:`SellerBook` through its public API, with
  times as engine microseconds (events/s); a sample of the first facts again with datetime
  arguments, to show the conversion cost; then the query set — every seller's metrics as of
  5 times (day 60, 67, 74, 81, 88) — answered from the book;
* **full recompute**: the same query set answered from the raw facts alone, vectorised with
  numpy (filter the facts dated up to ``at``, fold them per order, then count per seller
  with the same rules and name the orders against each seller) — a strong baseline, not a
  Python loop.

Both answers are compared for every seller, metric and time (``agree``). Run:
``python benchmarks/bench_seller_metrics.py [--orders N] [--sellers S] [--seed S]``;
``--orders 200000`` gives a quick run. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np

from ordercare.sellers.metrics import SellerBook
from ordercare.sellers.policy import SellerPolicy, load_seller_policy

US = 1_000_000
HOUR = 3600 * US
DAY = 24 * HOUR
T0 = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp()) * US
HORIZON_DAYS = 90
QUERY_DAYS = (60, 67, 74, 81, 88)
NEVER = np.iinfo(np.int64).max
LATE_FACT_SHARE = 0.03
KINDS = ("order", "shipped", "scan", "delivered", "cancel", "defect", "message", "reply")
DEFECT_KINDS = ("negative_feedback", "guarantee_claim", "chargeback")
T = TypeVar("T")


@dataclass
class Facts:
    """The raw facts, one row per event, in arrival order."""

    kind: np.ndarray  # int8 index into KINDS
    order: np.ndarray  # int32 order index
    at: np.ndarray  # int64 event time, µs
    extra: np.ndarray  # int64: ship_by (order), by_seller (cancel), kind (defect), masked (reply)
    seller_of_order: np.ndarray  # int32
    deliver_by: np.ndarray  # int64 per order


def _between(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    return rng.integers(lo, hi, size=n, dtype=np.int64)


def _habit(rng: np.random.Generator, mean: float, sellers: int) -> np.ndarray:
    return np.clip(rng.lognormal(np.log(mean), 0.9, sellers), 0.0, 0.25)


def generate(orders: int, sellers: int, seed: int) -> Facts:
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 1.0, sellers)
    seller = rng.choice(sellers, size=orders, p=weights / weights.sum()).astype(np.int32)
    placed = np.sort(T0 + _between(rng, 0, HORIZON_DAYS * DAY, orders))
    ship_by = placed + 2 * DAY
    deliver_by = placed + 5 * DAY

    def coin(p: np.ndarray | float) -> np.ndarray:
        return rng.random(orders) < (p[seller] if isinstance(p, np.ndarray) else p)

    seller_cancel = np.where(coin(_habit(rng, 0.008, sellers)), placed + _between(rng, HOUR // 6, DAY, orders), NEVER)
    buyer_cancel = np.where(
        coin(0.01) & (seller_cancel == NEVER),
        placed + _between(rng, HOUR // 6, 12 * HOUR, orders),
        NEVER,
    )
    cancelled = (seller_cancel != NEVER) | (buyer_cancel != NEVER)
    late = coin(_habit(rng, 0.015, sellers))
    shipped = np.where(
        late,
        ship_by + _between(rng, HOUR, 3 * DAY, orders),
        placed + _between(rng, 2 * HOUR, 40 * HOUR, orders),
    )
    shipped[cancelled] = NEVER
    sent = shipped != NEVER
    lost = coin(_habit(rng, 0.01, sellers)) & sent
    scan = np.where(sent, shipped + _between(rng, HOUR, 30 * HOUR, orders), NEVER)
    scan[lost] = np.where(coin(0.5)[lost], shipped[lost] + _between(rng, 4 * DAY, 6 * DAY, int(lost.sum())), NEVER)
    late_delivery = coin(_habit(rng, 0.015, sellers))
    delivered = np.where(
        late_delivery,
        deliver_by + _between(rng, HOUR, 4 * DAY, orders),
        shipped + _between(rng, DAY, 3 * DAY, orders),
    )
    delivered[~sent | (lost & (scan == NEVER))] = NEVER
    defect = np.where(coin(_habit(rng, 0.005, sellers)), placed + _between(rng, 3 * DAY, 30 * DAY, orders), NEVER)
    defect_kind = rng.integers(0, 3, size=orders)
    message = np.where(coin(0.08), placed + _between(rng, 0, 5 * DAY, orders), NEVER)
    answer = rng.random(orders)
    reply = np.where(
        (message != NEVER) & (answer < 0.95),
        message + _between(rng, HOUR // 6, 23 * HOUR, orders),
        np.where(
            (message != NEVER) & (answer < 0.98),
            message + _between(rng, 25 * HOUR, 72 * HOUR, orders),
            NEVER,
        ),
    )
    by_seller = (seller_cancel != NEVER).astype(np.int64)
    cancel = np.minimum(seller_cancel, buyer_cancel)
    # A few sellers' replies hold contact details the relay masks (an attempt to take the sale
    # off the platform): how many were masked.
    masked = np.where(coin(_habit(rng, 0.01, sellers)), rng.integers(1, 3, size=orders), 0).astype(np.int64)

    columns = [  # (kind, time per order, extra per order)
        (0, placed, ship_by),
        (1, shipped, np.zeros(orders, np.int64)),
        (2, scan, np.zeros(orders, np.int64)),
        (3, delivered, np.zeros(orders, np.int64)),
        (4, cancel, by_seller),
        (5, defect, defect_kind),
        (6, message, np.zeros(orders, np.int64)),
        (7, reply, masked),
    ]
    kinds, idx, ats, extras = [], [], [], []
    for k, when, extra in columns:
        present = np.nonzero(when != NEVER)[0].astype(np.int32)
        kinds.append(np.full(present.size, k, np.int8))
        idx.append(present)
        ats.append(when[present])
        extras.append(extra[present])
    kind, order, at, extra = (np.concatenate(a) for a in (kinds, idx, ats, extras))
    delay = np.where(rng.random(at.size) < LATE_FACT_SHARE, _between(rng, 0, 3 * DAY, at.size), 0)
    arrival = np.argsort(at + delay, kind="stable")
    return Facts(kind[arrival], order[arrival], at[arrival], extra[arrival], seller, deliver_by)


# -- incremental ---------------------------------------------------------------------------------


def apply_all(
    book: SellerBook,
    facts: Facts,
    seller_ids: list[str],
    order_ids: list[str],
    chunk: int = 500_000,
    as_datetime: bool = False,
    limit: int | None = None,
) -> tuple[int, float, float]:
    """Apply the facts in arrival order: (events, wall seconds, CPU seconds) inside the book."""
    total = facts.kind.size if limit is None else min(limit, facts.kind.size)
    record_order, record_shipped = book.record_order, book.record_shipped
    record_scan, record_delivered = book.record_scan, book.record_delivered
    record_cancel, record_defect = book.record_cancel, book.record_defect
    record_message, record_reply = book.record_buyer_message, book.record_seller_reply
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    spent = cpu = 0.0
    for start in range(0, total, chunk):  # convert a chunk to Python objects, untimed
        sl = slice(start, min(start + chunk, total))
        orders = facts.order[sl]
        sellers = [seller_ids[s] for s in facts.seller_of_order[orders].tolist()]
        oids = [order_ids[o] for o in orders.tolist()]
        ats = facts.at[sl].tolist()
        extras = facts.extra[sl].tolist()
        seconds = facts.deliver_by[orders].tolist()
        if as_datetime:
            ats = [epoch + timedelta(microseconds=t) for t in ats]
            extras = [
                epoch + timedelta(microseconds=x) if k == 0 else x
                for k, x in zip(facts.kind[sl].tolist(), extras, strict=True)
            ]
            seconds = [epoch + timedelta(microseconds=x) for x in seconds]
        kinds = facts.kind[sl].tolist()
        started, cpu_started = time.perf_counter(), time.process_time()
        for k, s, o, t, x, y in zip(kinds, sellers, oids, ats, extras, seconds, strict=True):
            if k == 0:
                record_order(s, o, t, ship_by=x, deliver_by=y)
            elif k == 1:
                record_shipped(s, o, o, t)  # one parcel per order, named like it
            elif k == 2:
                record_scan(s, o, t)
            elif k == 3:
                record_delivered(s, o, t)
            elif k == 4:
                record_cancel(s, o, t, by_seller=x == 1)
            elif k == 5:
                record_defect(s, o, t, DEFECT_KINDS[x])  # type: ignore[arg-type]
            elif k == 6:
                record_message(s, o, "m" + o, t)
            else:
                record_reply(s, o, "r" + o, t, x)
        spent += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
    return total, spent, cpu


def query_incremental(book: SellerBook, seller_ids: list[str], at: int) -> dict[str, dict[str, tuple[int, int]]]:
    out = {}
    for sid in seller_ids:
        metrics = book.metrics(sid, at)
        out[sid] = {v.name: (v.numerator, v.denominator) for v in metrics.values}
    return out


# -- full recompute --------------------------------------------------------------------------------


def _first(facts: Facts, mask: np.ndarray, n: int) -> np.ndarray:
    """Earliest time per order among the facts in ``mask`` (NEVER when none)."""
    out = np.full(n, NEVER, np.int64)
    np.minimum.at(out, facts.order[mask], facts.at[mask])
    return out


def full_recompute(facts: Facts, policy: SellerPolicy, sellers: int, at: int) -> dict[str, tuple]:
    """Every seller's metrics as of ``at`` from the raw facts: per metric (num, den, ids)."""
    n = facts.seller_of_order.size
    known = facts.at <= at
    kind = facts.kind
    placed = _first(facts, known & (kind == 0), n)
    ship_by = np.full(n, NEVER, np.int64)
    is_order = known & (kind == 0)
    ship_by[facts.order[is_order]] = facts.extra[is_order]
    shipped = _first(facts, known & (kind == 1), n)
    first_scan = _first(facts, known & ((kind == 2) | (kind == 3)), n)
    delivered = _first(facts, known & (kind == 3), n)
    cancels = known & (kind == 4)
    whole_cancel = _first(facts, cancels, n)
    seller_cancel = _first(facts, cancels & (facts.extra == 1), n)
    defect = _first(facts, known & (kind == 5), n)
    message = _first(facts, known & (kind == 6), n)
    reply = _first(facts, known & (kind == 7), n)
    reply_masked = np.zeros(n, np.int64)
    replied = known & (kind == 7)
    reply_masked[facts.order[replied]] = facts.extra[replied]
    deliver_by = np.where(placed != NEVER, facts.deliver_by, NEVER)
    grace = round(policy.conventions.scan_grace_hours * HOUR)
    within = round(policy.conventions.reply_within_hours * HOUR)
    seller = facts.seller_of_order

    out = {}
    for rule in policy.metrics:
        lo = at - rule.window_days * DAY
        if rule.measure in ("order_defects", "seller_cancellations"):
            due = (placed > lo) & (placed <= at)
            bad = due & ((defect if rule.measure == "order_defects" else seller_cancel) <= at)
        elif rule.measure == "late_shipments":
            due = (ship_by > lo) & (ship_by <= at) & ~(whole_cancel <= ship_by)
            bad = due & (shipped > ship_by)
        elif rule.measure == "valid_tracking":
            due = (shipped > lo) & (shipped <= at)
            bad = due & (shipped + grace <= at) & (first_scan > at)
        elif rule.measure == "on_time_deliveries":
            due = (deliver_by > lo) & (deliver_by <= at) & (shipped <= at)
            bad = due & (delivered > deliver_by)
        elif rule.measure == "contact_attempts":
            due = (reply > lo) & (reply <= at)
            bad = due & (reply_masked > 0)
        else:
            deadline = np.where(message != NEVER, message + within, NEVER)
            due = (deadline > lo) & (deadline <= at)
            bad = due & ~(reply <= deadline)
        dens = np.bincount(seller[due], minlength=sellers)
        fails = np.bincount(seller[bad], minlength=sellers)
        nums = fails if rule.lower_is_better else dens - fails
        bad_orders = np.nonzero(bad)[0]
        by_seller = bad_orders[np.argsort(seller[bad_orders], kind="stable")]
        ids = np.split(by_seller, np.cumsum(np.bincount(seller[bad_orders], minlength=sellers))[:-1])
        out[rule.name] = (nums, dens, ids)
    return out


# -- main ------------------------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--sellers", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    policy = load_seller_policy()
    # how fast this machine runs plain Python right now (about 10 µs on a quiet laptop core)
    calibration_us = min(timeit.repeat("sum(range(1000))", number=200, repeat=5)) / 200 * 1e6
    load = os.getloadavg()[0]

    facts, gen_s, _ = timed(lambda: generate(args.orders, args.sellers, args.seed))
    seller_ids = [f"s{i:05d}" for i in range(args.sellers)]
    order_ids = [f"o{i:08d}" for i in range(args.orders)]
    print(
        f"generated {facts.kind.size:,} facts, {args.orders:,} orders, {args.sellers:,} sellers "
        f"in {gen_s:.1f} s (load average {load:.1f}, sum(range(1000)) {calibration_us:.1f} µs)"
    )

    sample = min(200_000, facts.kind.size)
    _, _, dt_cpu = apply_all(SellerBook(policy), facts, seller_ids, order_ids, as_datetime=True, limit=sample)
    gc.collect()
    book = SellerBook(policy)
    events, wall, cpu = apply_all(book, facts, seller_ids, order_ids)
    per_event = cpu / events
    print(
        f"incremental: {events:,} facts in {cpu:.1f} s CPU ({wall:.1f} s wall) = "
        f"{events / cpu:,.0f} facts/s, {per_event * 1e6:.2f} µs each "
        f"({dt_cpu / sample * 1e6:.2f} µs with datetime arguments)"
    )

    ats = [T0 + d * DAY for d in QUERY_DAYS]
    incremental, query_wall, query_cpu = timed(lambda: [query_incremental(book, seller_ids, at) for at in ats])
    recomputed, full_wall, full_cpu = timed(lambda: [full_recompute(facts, policy, args.sellers, at) for at in ats])
    agree = all(
        inc[sid][name] == (int(nums[i]), int(dens[i]))
        for inc, full in zip(incremental, recomputed, strict=True)
        for name, (nums, dens, _) in full.items()
        for i, sid in enumerate(seller_ids)
    )
    for at, full in zip(ats, recomputed, strict=True):  # the orders named, on a sample
        for i in range(0, args.sellers, max(1, args.sellers // 200)):
            for value in book.metrics(seller_ids[i], at).values:
                want = {order_ids[o] for o in full[value.name][2][i].tolist()}
                agree &= value.order_ids == tuple(sorted(want))

    query_s = query_cpu / len(ats)
    full_s = full_cpu / len(ats)
    print(
        f"query set, {len(ats)} times x {args.sellers:,} sellers: incremental "
        f"{query_s * 1000:.0f} ms per time, full recompute {full_s:.2f} s per time (CPU)"
    )
    print(
        f"ratio: full recompute / incremental query = {full_s / query_s:.1f}x; "
        f"fresh after every fact: {per_event * 1e6:.2f} µs incrementally versus "
        f"{full_s:.2f} s recomputed = {full_s / per_event:,.0f}x"
    )
    print(f"incremental and recomputed answers agree: {agree}")
    result = {
        "sellers": args.sellers,
        "orders": args.orders,
        "facts": events,
        "late_fact_share": LATE_FACT_SHARE,
        "incremental_events_per_s": round(events / cpu),
        "incremental_us_per_event": round(per_event * 1e6, 3),
        "incremental_us_per_event_datetime_args": round(dt_cpu / sample * 1e6, 3),
        "incremental_apply_s": round(cpu, 2),
        "incremental_apply_wall_s": round(wall, 2),
        "query_times": len(ats),
        "query_all_sellers_ms": round(query_s * 1000, 1),
        "full_recompute_s": round(full_cpu, 2),
        "full_recompute_per_query_s": round(full_s, 3),
        "query_ratio": round(full_s / query_s, 1),
        "fresh_after_each_fact_ratio": round(full_s / per_event),
        "agree": agree,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "timing": "CPU seconds of this process (one core)",
        "load_average": round(load, 1),
        "calibration_sum_range_1000_us": round(calibration_us, 1),
        "wall_s": round(query_wall + full_wall + wall + gen_s, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
