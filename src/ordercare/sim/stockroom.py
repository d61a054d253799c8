"""The simulated warehouse's stock and purchasing: the same orders played against a
purchasing routine, day by day, to know when each platform line could really be served.

Every morning at 05:00 the buyer sees each replenished SKU's daily demand up to yesterday
and its position (free stock − units owed to waiting lines + on order), and places purchase
orders; on the weekly review day (Monday) the routine reviews every SKU. A purchase order
placed on day *d* from a supplier with lead time *L* arrives at the FC on day *d + L* at
15:00: a Monday order is collected by the Tuesday milk run, this week (*L* = 1) or next
(*L* = 8); between reviews an urgent order comes by the supplier's courier. That is the
date the purchase order gives (``expected_at``); suppliers keep it but for ``SUPPLIER_LATE``
of the orders, which come 1 to 6 days later (the same orders late for every routine), and
half of those late suppliers send the new date two days before (``purchase_order.updated``).

The stock book is the warehouse's own: ``ordercare.fulfil.inventory.Inventory``, the pure
book the engine keeps too, so that the world and ordercare agree on which line waits and
which receipt serves it (first placed, first served). A line no stock can serve at its
order waits; its parcel cannot leave before the receipt that serves it.

Run once per routine on the same orders: ordercare's plan (played: its receipts become
``inventory.received`` events), the plan without its answer to surges, the
spreadsheet rule (with its safety percentage swept, for the comparison at equal stock),
and no purchase at all. Only the first is played through ordercare.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ordercare.domain.events import TYPE_RANK
from ordercare.fulfil.inventory import Backorder, Inventory, Request
from ordercare.sim.clock import DAY, HOUR, START_US
from ordercare.sim.world import Sku
from ordercare.stock.demand_sim import SimStock
from ordercare.stock.forecast import AccuracyVsNaive
from ordercare.stock.replenish import Buyer, PlanBuyer

LOCAL = 2 * HOUR          # the warehouses' offset (+02:00 over the horizon)
REVIEW_HOUR = 5           # the buyer's morning review, local time
ARRIVAL_HOUR = 15         # the milk run (or the courier) is back at the FC
PICK_HOURS = 2            # from a receipt to a parcel ready to leave
PRE_HISTORY_DAYS = 56     # last season's sales the buyer already has
ITEMS_PER_LINE = 1.12     # 88 % of lines are one unit, 12 % two
SUPPLIER_LATE = 0.08      # share of purchase orders a supplier delivers late ...
SUPPLIER_LATE_DAYS = (1, 6)  # ... by this many days (uniform, whole days)
SUPPLIER_WARNS = 0.5      # share of late purchase orders whose supplier gives the new date ...
SUPPLIER_WARNS_DAYS = 2   # ... this many days before the date it had given (never before the order)


def supplier_warns(po_id: str) -> bool:
    """Does the supplier late with this purchase order say so beforehand (a new date)?"""
    return random.Random(f"warns:{po_id}").random() < SUPPLIER_WARNS


@dataclass
class Placement:
    """What the stock needs to know of an order: its managed platform lines."""

    order_id: str
    placed_at: int
    lines: list[tuple[str, Sku, int, int]]  # (line id, SKU, qty, ship-by)
    cancelled_at: int | None = None


@dataclass
class StockRun:
    """One purchasing routine's outcome on the world's orders."""

    name: str
    ready: dict[tuple[str, str], int | None] = field(default_factory=dict)  # short lines: stock reserved at
    short_at: dict[tuple[str, str], int] = field(default_factory=dict)      # lines short at their order
    receipts: list[tuple[int, str, str, str, int, str]] = field(default_factory=list)  # at, fc, sku, seller, qty, po
    purchase_orders: list[dict[str, Any]] = field(default_factory=list)
    stockout_days: set[tuple[str, str, int]] = field(default_factory=set)   # (sku, fc, local day)
    free_units: dict[str, float] = field(default_factory=dict)              # average free stock per SKU
    missed: dict[str, str] = field(default_factory=dict)                    # order -> SKU that made it late
    demand: dict[str, np.ndarray] = field(default_factory=dict)             # daily units, pre-history first
    seconds: float = 0.0


def local_day(us: int) -> int:
    return (us - START_US + LOCAL) // DAY


def stock_ready_too_late(ready: int | None, ship_by: int, end_us: int) -> bool:
    """Did waiting for stock break the ship-by? (Still waiting at the end: only if due.)"""
    if ready is None:
        return ship_by <= end_us
    return ready + PICK_HOURS * HOUR > ship_by


def base_rates(skus: Iterable[Sku], total_weight: float, lines_per_day: float) -> dict[str, float]:
    """Units a SKU usually sells per day, before any craze."""
    return {k.sku: lines_per_day * k.weight / total_weight * ITEMS_PER_LINE for k in skus}


def pre_history(skus: list[Sku], rates: Mapping[str, float], seed: int) -> dict[str, np.ndarray]:
    """Last season's daily sales (the weeks before the horizon), from the usual pace."""
    rng = np.random.default_rng(seed)
    weekly = np.array([1.1, 1.0, 1.0, 1.0, 0.9, 0.85, 1.15])  # the storefront's weekday rhythm
    days = np.arange(-PRE_HISTORY_DAYS, 0)
    out = {}
    for k in skus:
        lines = rng.poisson(rates[k.sku] / ITEMS_PER_LINE * weekly[days % 7])
        out[k.sku] = (lines + rng.binomial(lines, ITEMS_PER_LINE - 1)).astype(float)
    return out


def initial_stock(skus: list[Sku], rates: Mapping[str, float], review_days: int) -> dict[str, int]:
    """What the season starts with: cover for the lead time and a review period at the usual
    pace, plus 20 % (the same for every routine)."""
    return {k.sku: math.ceil(rates[k.sku] * ((k.lead_time_days or 0) + review_days) * 1.2) for k in skus}


def supplier_delay(seed: int) -> Callable[[str], int]:
    """Days a supplier is late with each purchase order (most are on time), drawn from the
    order's id: every routine meets the same late supplier for the same order."""
    low, high = SUPPLIER_LATE_DAYS

    def late(po_id: str) -> int:
        u = random.Random(f"late:{seed}:{po_id}").random()  # (a string seed: the same in every run)
        return low + int(u / SUPPLIER_LATE * (high - low + 1)) if u < SUPPLIER_LATE else 0
    return late


def run(name: str, buyer: Buyer, skus: list[Sku], placements: list[Placement], *, days: int, end_us: int,
        history: Mapping[str, np.ndarray], initial: Mapping[str, int],
        late: Callable[[str], int] = lambda po_id: 0) -> StockRun:
    """Play the orders against ``buyer``; the book, the receipts and who waited for what."""
    out = StockRun(name)
    by_sku = {k.sku: k for k in skus}
    inv = Inventory()
    for k in skus:
        inv.receive(k.fc_id or "", k.sku, k.seller_id, initial[k.sku])
    demand = {s: np.concatenate([history[s], np.zeros(days)]) for s in by_sku}
    offset = PRE_HISTORY_DAYS
    on_order: dict[str, int] = defaultdict(int)
    free_sum: dict[str, float] = defaultdict(float)
    queue: list[tuple[int, int, int, str, Any]] = []
    seq = 0

    def push(at: int, rank: int, kind: str, payload: Any) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (at, rank, seq, kind, payload))

    for p in placements:
        push(p.placed_at, TYPE_RANK["order.placed"], "place", p)
        if p.cancelled_at is not None:
            push(p.cancelled_at, TYPE_RANK["order.cancelled"], "cancel", p)
    for d in range(days):
        push(START_US + d * DAY + REVIEW_HOUR * HOUR - LOCAL, -1, "review", d)
    state: dict[tuple[str, str], str] = {}
    started = time.perf_counter()
    while queue:
        at, _rank, _seq, kind, payload = heapq.heappop(queue)
        if kind == "review":
            d = payload
            stock = {}
            for s, k in by_sku.items():
                owed = sum(b.qty for b in inv.backorders.get((s, k.seller_id), []))
                free = inv.get(k.fc_id or "", s, k.seller_id).available
                free_sum[s] += free
                stock[s] = SimStock(free - owed, on_order[s], k.lead_time_days or 0)
            seen = {s: demand[s][: offset + d] for s in by_sku}
            for s, qty in buyer(d, d % 7 == 0, seen, stock).items():
                k = by_sku[s]
                expected = START_US + (d + (k.lead_time_days or 0)) * DAY + ARRIVAL_HOUR * HOUR - LOCAL
                po_id = f"PO-{d}-{s}"
                arrive = expected + late(po_id) * DAY
                out.purchase_orders.append({"day": d, "sku": s, "qty": int(qty), "arrives": arrive,
                                            "expected": expected,
                                            "weekly": d % 7 == 0, "po_id": po_id, "at": at,
                                            "fc_id": k.fc_id or "", "supplier_id": k.supplier_id})
                on_order[s] += int(qty)
                if arrive < end_us:
                    push(arrive, TYPE_RANK["inventory.received"], "receive", (k, int(qty), po_id))
        elif kind == "receive":
            k, qty, po_id = payload
            on_order[k.sku] -= qty
            out.receipts.append((at, k.fc_id or "", k.sku, k.seller_id, qty, po_id))
            for item, _parts in inv.receive(k.fc_id or "", k.sku, k.seller_id, qty):
                state[item.ref] = "reserved"
                out.ready[item.ref] = at
        elif kind == "place":
            p = payload
            day = local_day(at)
            got = inv.reserve_order([Request((p.order_id, lid), k.sku, k.seller_id, qty)
                                     for lid, k, qty, _ in p.lines])
            for lid, k, qty, _ship_by in p.lines:
                ref = (p.order_id, lid)
                demand[k.sku][offset + day] += qty
                if got[ref] is None:
                    inv.backorder(Backorder(at, ref, k.sku, k.seller_id, qty))
                    state[ref] = "short"
                    out.short_at[ref] = at
                    out.ready[ref] = None
                    out.stockout_days.add((k.sku, k.fc_id or "", day))
                else:
                    state[ref] = "reserved"
        else:  # the customer changed their mind
            p = payload
            for lid, k, qty, _ in p.lines:
                ref = (p.order_id, lid)
                if state.get(ref) == "reserved":
                    for item, _parts in inv.release(k.sku, k.seller_id, [(k.fc_id or "", qty)]):
                        state[item.ref] = "reserved"  # (the units freed go to the lines waiting first)
                        out.ready[item.ref] = at
                    demand[k.sku][offset + local_day(p.placed_at)] -= qty  # not demand (the store's reading)
                elif state.get(ref) == "short":
                    inv.drop_backorder(k.sku, k.seller_id, ref)
                state[ref] = "cancelled"
    out.seconds = time.perf_counter() - started
    out.demand = demand
    out.free_units = {s: v / max(days, 1) for s, v in free_sum.items()}
    for p in placements:
        if p.cancelled_at is not None:
            continue
        for lid, k, _qty, ship_by in p.lines:
            ref = (p.order_id, lid)
            if ref in out.short_at and stock_ready_too_late(out.ready.get(ref), ship_by, end_us):
                out.missed.setdefault(p.order_id, k.sku)
                break
    return out


def forecast_accuracy(buyer: PlanBuyer, demand: Mapping[str, np.ndarray], offset: int, last_day: int,
                      hot: set[str], horizon: int = 7) -> dict[str, Any]:
    """The plan's weekly forecasts of the next ``horizon`` days against what the world then
    ordered, and the seasonal-naive forecast of the same days: WAPE (pooled) and MASE (mean
    over series, scaled by the in-sample seasonal-naive error)."""
    score = AccuracyVsNaive()
    for day, forecasts in sorted(buyer.weekly_forecasts.items()):
        if day + horizon > last_day:
            continue
        for (_fc, sku), f in forecasts.items():
            score.add(demand[sku][: offset + day], demand[sku][offset + day: offset + day + horizon], f.mean,
                      ("all", "hot" if sku in hot else "other"))
    mase = score.mean_mase()
    out: dict[str, Any] = {"horizon_days": horizon, "forecasts": len(score.mase),
                           "mase": round(mase[0], 3) if mase else None,
                           "mase_seasonal_naive": round(mase[1], 3) if mase else None}
    for group in ("all", "hot", "other"):
        wape = score.wape(group)
        if wape is not None:
            key = "" if group == "all" else f"_{group}"
            out[f"wape{key}"], out[f"wape_seasonal_naive{key}"] = round(wape[0], 3), round(wape[1], 3)
    return out


def summary(r: StockRun, skus: list[Sku], hot: set[str]) -> dict[str, Any]:
    """Figures of one routine for the scorecard, all SKUs and hot items apart."""
    def part(wanted: set[str]) -> dict[str, Any]:
        return {"stockout_days": sum(1 for s, _, _ in r.stockout_days if s in wanted),
                "missed_promises": sum(1 for s in r.missed.values() if s in wanted),
                "avg_free_units": round(sum(v for s, v in r.free_units.items() if s in wanted)),
                "purchase_orders": sum(1 for po in r.purchase_orders if po["sku"] in wanted),
                "units_bought": sum(po["qty"] for po in r.purchase_orders if po["sku"] in wanted)}

    every = {k.sku for k in skus}
    return {"name": r.name, **part(every), "short_lines": len(r.short_at),
            "short_orders": len({o for o, _ in r.short_at}), "hot": part(hot & every),
            "other": part(every - hot), "seconds": round(r.seconds, 2)}


NAIVE_SWEEP = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)  # the naive rule's safety percentages, for equal stock
LINES_PER_ORDER = 1.38    # the storefront's baskets: 72 % one line, 20 % two, 6 % three, 2 % four


@dataclass
class StockStory:
    """The stockroom over the horizon: each routine's run on the same orders (``played`` is
    the one whose receipts ordercare sees), the stock they all started with, and the plan's
    forecast accuracy on the world's demand."""

    played: StockRun
    runs: dict[str, StockRun]
    skus: list[Sku]
    hot: set[str]
    initial: dict[str, int]
    accuracy: dict[str, Any]
    seconds: float
    sweep: dict[float, StockRun] = field(default_factory=dict)  # the naive rule, safety % swept

    def figures(self) -> dict[str, Any]:
        routines = {name: summary(r, self.skus, self.hot) for name, r in self.runs.items()}
        return {"routines": routines, "played": self.played.name, "managed_skus": len(self.skus),
                "hot_skus": sorted(self.hot), "initial_units": sum(self.initial.values()),
                "naive_at_plan_stock": self.at_plan_stock(routines["plan"]),
                "forecast_accuracy": self.accuracy, "seconds": round(self.seconds, 2)}

    def at_plan_stock(self, plan: dict[str, Any]) -> dict[str, Any]:
        """The naive rule with more safety stock, interpolated at the plan's average free
        stock (all SKUs, then hot items alone): holding more stock always buys fewer
        stock-outs, so this is the fair comparison."""
        out: dict[str, Any] = {}
        for part in ("all", "hot"):
            rows = [summary(r, self.skus, self.hot) for r in self.sweep.values()]
            rows = [r if part == "all" else r["hot"] for r in rows]
            target = plan if part == "all" else plan["hot"]
            rows.sort(key=lambda r: r["avg_free_units"])
            xs = [float(r["avg_free_units"]) for r in rows]
            out[part] = {"avg_free_units": target["avg_free_units"],
                         **{f: round(float(np.interp(target["avg_free_units"], xs, [float(r[f]) for r in rows])))
                            for f in ("stockout_days", "missed_promises")},
                         "within_sweep": xs[0] <= target["avg_free_units"] <= xs[-1]}
        out["safety_pcts"] = sorted(self.sweep)
        return out


def play_all(skus: list[Sku], placements: list[Placement], *, orders: int, days: int, place_days: float,
             total_weight: float, end_us: int, seed: int) -> StockStory:
    """Every routine on the same orders; the plan's run is the one played."""
    from ordercare.stock.demand_sim import NaiveFixedRule
    from ordercare.stock.reorder_policy import SurgeResponse, abc_classes, load_reorder_policy
    from ordercare.stock.replenish import WeeklyRule

    started = time.perf_counter()
    policy = load_reorder_policy()
    review = policy.review_period_days
    rates = base_rates(skus, total_weight, orders * LINES_PER_ORDER / place_days)
    history = pre_history(skus, rates, random_seed(seed))
    initial = initial_stock(skus, rates, review)
    classes = abc_classes({k.sku: float(history[k.sku].sum()) * k.price for k in skus}, policy)
    horizon = max((k.lead_time_days or 0 for k in skus), default=0) + review
    fc_of = {k.sku: k.fc_id or "" for k in skus}
    plan = PlanBuyer(policy, fc_of, horizon, classes)
    buyers: dict[str, Buyer] = {
        "plan": plan,
        # The plan as it was before it answered surges (the previous release's behaviour).
        "plan_no_surge": PlanBuyer(policy.model_copy(update={"surge_response": SurgeResponse(enabled=False)}),
                                   fc_of, horizon, classes, cache=plan.cache),
        "naive": WeeklyRule(NaiveFixedRule(review)),
        "none": lambda day, weekly, history, stock: {},
    }
    late = supplier_delay(seed)
    runs = {name: run(name, buyer, skus, placements, days=days, end_us=end_us, history=history,
                      initial=initial, late=late) for name, buyer in buyers.items()}
    sweep = {pct: run(f"naive+{pct:.0%}", WeeklyRule(NaiveFixedRule(review, safety_pct=pct)), skus, placements,
                      days=days, end_us=end_us, history=history, initial=initial, late=late) for pct in NAIVE_SWEEP}
    hot = {k.sku for k in skus if k.spike is not None}
    accuracy = forecast_accuracy(plan, runs["plan"].demand, PRE_HISTORY_DAYS, int(place_days), hot)
    return StockStory(runs["plan"], runs, skus, hot, initial, accuracy, time.perf_counter() - started, sweep)


def random_seed(seed: int) -> int:
    """The stockroom's own stream (last season's sales), apart from the stories'."""
    return (seed * 7919 + 17) % (2**31)
