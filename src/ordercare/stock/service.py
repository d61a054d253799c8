"""Replenishment from the store: reorder suggestions per (FC, SKU), and the week's milk run.

The forecasting, reorder and routing models are pure (``forecast``, ``reorder``, ``vrp``);
this module only reads the store, shapes their inputs, and turns their answers into the
contract's JSON (CONTRACT §2 ``reorder`` and ``milkrun plan``). Every choice made here
about *which* data feeds them is written down in docs/forecast-reorder.md and
docs/milkrun.md ("From the store").
"""

from __future__ import annotations

import json
import math
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from ordercare.domain.moments import to_us
from ordercare.fulfil import tables as ft
from ordercare.stock import feasibility, purchase_orders
from ordercare.stock.plan_policy import PlanPolicy, load_plan_policy, parse_clock
from ordercare.stock.reorder import ReorderRow, StockPosition, reorder_plan, suggestions
from ordercare.stock.reorder_policy import ReorderPolicy
from ordercare.stock.vrp import (
    GeoSite,
    Instance,
    NoFeasiblePlan,
    Solution,
    haversine_km,
    instance_from_sites,
    obvious_problems,
    solve,
)
from ordercare.store import repo

DAY_US = 86_400_000_000
HISTORY_DAYS = 182
"""Days of demand history fed to the forecast: 26 weeks, enough for every backtest."""
_NOT_DEMAND = ("released",)
"""Line states that are not demand: cancelled while stock was held (the customer changed
their mind; the units never left). A stock-out cancelled later ('cancelled') is a lost
sale, and lost sales are demand."""

Key = tuple[str, str]


# ---- reorder -------------------------------------------------------------------------------

@dataclass
class _Stock:
    on_hand: int = 0
    reserved: int = 0
    backordered: int = 0


def reorder_rows(db: Engine, at: datetime, *, policy: ReorderPolicy | None = None,
                 history_days: int = HISTORY_DAYS, every: bool = False) -> list[dict[str, Any]]:
    """``ordercare reorder --json``: the suggestions (``order_qty > 0``; ``every``: all the
    positions), contract fields first.

    ``available`` is the stock free to promise, net of lines waiting for stock
    (``on_hand - reserved - backordered``); the three parts follow as extra fields.
    """
    rows, stock = _reorder(db, at, policy, history_days)
    out = []
    for row in rows if every else suggestions(rows):
        s = stock.get((row.fc_id, row.sku), _Stock())
        out.append({**row.to_json(), "on_hand": s.on_hand, "reserved": s.reserved,
                    "backordered": s.backordered})
    return out


def _reorder(db: Engine, at: datetime, policy: ReorderPolicy | None,
             history_days: int) -> tuple[list[ReorderRow], dict[Key, _Stock]]:
    """Every position's reorder row (ordered or not), and the stock behind each."""
    offset = at.utcoffset()
    if offset is None:
        raise ValueError("'at' needs a UTC offset: local days are counted in its offset")
    offset_us = offset // timedelta(microseconds=1)
    today = (to_us(at) + offset_us) // DAY_US  # local day number of ``at``
    lo_us, hi_us = (today - history_days) * DAY_US - offset_us, today * DAY_US - offset_us
    with db.connect() as conn:
        skus = _parties(conn, "sku")
        fcs = sorted(_parties(conn, "fc"))
        stock = _stock(conn)
        lines = conn.execute(text(
            f"SELECT order_id, line_id, sku, qty, state, parts, placed_us FROM {ft.LINES} "
            "WHERE fulfilled_by = 'platform' AND placed_us >= :lo AND placed_us < :hi"),
            {"lo": lo_us, "hi": hi_us}).all()
        short = conn.execute(text(f"SELECT sku, qty FROM {ft.LINES} WHERE state = 'short'")).all()
        prices = _prices(conn, lo_us, hi_us)
        on_order = purchase_orders.on_order(conn)
    home = _home_fcs(lines, stock, fcs, {r[2] for r in lines} | {r[0] for r in short})
    for sku, qty in short:  # lines waiting for stock: owed from the next receipt
        if sku in home:
            stock.setdefault((home[sku], sku), _Stock()).backordered += qty
    daily, revenue = _demand(lines, home, prices, offset_us)
    history = {key: _series(days, today - 1) for key, days in daily.items()}
    positions = [_position(key, stock.get(key, _Stock()), skus.get(key[1], {}), on_order.get(key, 0))
                 for key in sorted(stock.keys() | history.keys() | on_order.keys())]
    rows = reorder_plan(history, positions, policy, revenue=revenue or None)
    return rows, stock


def _demand(lines: Iterable[Any], home: dict[str, str], prices: dict[Key, float],
            offset_us: int) -> tuple[dict[Key, dict[int, float]], dict[str, float]]:
    """Units per (fc, sku) per local day, at the FC each line was reserved at (a split line
    at each of its FCs, a line no FC could reserve at the SKU's home FC); revenue per SKU."""
    daily: dict[Key, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    revenue: dict[str, float] = defaultdict(float)
    for order_id, line_id, sku, qty, state, parts, placed_us in lines:
        if state in _NOT_DEMAND:
            continue
        day = (placed_us + offset_us) // DAY_US
        for fc, units in json.loads(parts) or ([[home[sku], qty]] if sku in home else []):
            daily[(fc, sku)][day] += units
        revenue[sku] += qty * prices.get((order_id, line_id), 0.0)
    return daily, dict(revenue)


def _parties(conn: Connection, kind: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(text("SELECT party_id, data FROM parties WHERE kind = :k"), {"k": kind})
    return {r[0]: json.loads(r[1]) for r in rows}


def _stock(conn: Connection) -> dict[Key, _Stock]:
    """Stock per (fc, sku), summed over the sellers who own units on the shelf."""
    out: dict[Key, _Stock] = {}
    for fc, sku, _seller, on_hand, reserved in ft.stock_rows(conn):
        s = out.setdefault((fc, sku), _Stock())
        s.on_hand += on_hand
        s.reserved += reserved
    return out


def _prices(conn: Connection, lo_us: int, hi_us: int) -> dict[Key, float]:
    """Unit price of each platform line placed in the window (for the ABC classes)."""
    rows = conn.execute(text("SELECT state FROM orders WHERE placed_us >= :lo AND placed_us < :hi"),
                        {"lo": lo_us, "hi": hi_us})
    out: dict[Key, float] = {}
    for (blob,) in rows:
        order = repo.decode_order(blob)
        for ln in order.lines:
            if ln.fulfilled_by == "platform":
                out[(order.order_id, ln.line_id)] = ln.unit_price
    return out


def _home_fcs(lines: Iterable[Any], stock: dict[Key, _Stock], fcs: list[str],
              skus: Iterable[str]) -> dict[str, str]:
    """The FC that normally serves each SKU, for demand that no FC could reserve.

    The FC that served the most of its units in the window; else the FC whose shelf holds
    the most of it (an empty shelf still says where it is stocked); else the first
    registered FC by id. Ties go to the smaller fc_id.
    """
    served: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for *_ids, sku, _qty, _state, parts, _placed in lines:
        for fc, qty in json.loads(parts):
            served[sku][fc] += qty
    shelf: dict[str, dict[str, float]] = defaultdict(dict)
    for (fc, sku), s in stock.items():
        shelf[sku][fc] = s.on_hand
    home = {}
    for sku in skus:
        ranked = served.get(sku) or shelf.get(sku)
        if ranked:
            home[sku] = min(ranked, key=lambda fc: (-ranked[fc], fc))
        elif fcs:
            home[sku] = fcs[0]
    return home


def _series(days: dict[int, float], last: int) -> np.ndarray:
    """Daily units from the series' first sale day to ``last`` (inclusive), zeros filled."""
    first = min(days)
    y = np.zeros(last - first + 1)
    for day, qty in days.items():
        y[day - first] = qty
    return y


def _position(key: Key, s: _Stock, sku: dict[str, Any], on_order: int) -> StockPosition:
    return StockPosition(key[0], key[1], s.on_hand - s.reserved - s.backordered,
                         supplier_id=sku.get("supplier_id"), lead_time_days=sku.get("lead_time_days"),
                         on_order=on_order)


def clock_after(db: Engine, at: datetime) -> str | None:
    """The engine clock when it is later than ``at``: stock is as of the clock, not ``at``."""
    with db.connect() as conn:
        now = repo.clock(conn)
    return repo.iso(now, 0) if now is not None and now > to_us(at) else None


# ---- milk run ------------------------------------------------------------------------------

@dataclass
class _Pickup:
    """What one supplier hands over on this run, and why it is urgent."""

    supplier_id: str | None
    skus: dict[str, int] = field(default_factory=dict)
    grams: float = 0.0
    cover: float = math.inf  # the lowest days of cover among its SKUs
    site: GeoSite | None = None

    @property
    def qty(self) -> int:
        return sum(self.skus.values())

    def as_json(self) -> dict[str, Any]:
        return {"supplier_id": self.supplier_id, "qty": self.qty,
                "weight_kg": round(self.grams / 1000, 3),
                "skus": [{"sku": s, "qty": q} for s, q in sorted(self.skus.items())]}


def milkrun_plans(db: Engine, at: datetime, *, policy: PlanPolicy | None = None,
                  reorder_policy: ReorderPolicy | None = None, seconds: float | None = None,
                  seed: int = 0, fc_id: str | None = None) -> list[dict[str, Any]]:
    """One plan per FC (registered, or with something to reorder), sorted by fc_id."""
    pol = policy or load_plan_policy()
    rows, _ = _reorder(db, at, reorder_policy, HISTORY_DAYS)
    with db.connect() as conn:
        skus, suppliers, fcs = (_parties(conn, k) for k in ("sku", "supplier", "fc"))
    wanted = suggestions(rows)
    ids = sorted(fcs.keys() | {r.fc_id for r in wanted})
    if fc_id is not None:
        if fc_id not in ids:
            raise ValueError(f"unknown FC {fc_id!r}; known: {', '.join(ids) or 'none'}")
        ids = [fc_id]
    leave = pol.departure(at)
    budget = seconds if seconds is not None else pol.solver_seconds
    return [_plan_fc(fc, fcs.get(fc), [r for r in wanted if r.fc_id == fc], skus, suppliers,
                     pol, leave, budget, seed) for fc in ids]


def milkrun_plan(db: Engine, at: datetime, **options: Any) -> dict[str, Any]:
    """The plan of the one FC (``fc_id=`` chooses when the store has several)."""
    plans = milkrun_plans(db, at, **options)
    if len(plans) != 1:
        names = ", ".join(p["fc_id"] for p in plans) or "none"
        raise ValueError(f"{len(plans)} FCs have a plan ({names}): choose one with fc_id")
    return plans[0]


def _plan_fc(fc_id: str, fc: dict[str, Any] | None, rows: list[ReorderRow],
             skus: dict[str, dict[str, Any]], suppliers: dict[str, dict[str, Any]],
             pol: PlanPolicy, leave: datetime, seconds: float, seed: int) -> dict[str, Any]:
    pickups = _pickups(rows, skus)
    notes = sorted({f"{r.sku}: no weight_g on sku.registered, counted as 0 kg"
                    for r in rows if not skus.get(r.sku, {}).get("weight_g")})
    unserved: list[dict[str, Any]] = []
    depot = GeoSite(fc_id, float(fc["lat"]), float(fc["lon"])) if fc else None
    ready: list[_Pickup] = []
    for p in pickups:
        reason = _why_not(p, depot, fc_id, suppliers, pol, leave)
        if reason:
            unserved.append({**p.as_json(), "reason": reason})
        else:
            ready.append(p)
    solved: _Solved = (ready, None, None)
    if depot is not None and ready:
        solved = _fit(depot, ready, pol, seconds, seed, f"milk run {fc_id} {leave.date()}", unserved)
    ready, instance, solution = solved
    routes: list[dict[str, Any]] = []
    if solution is not None and instance is not None:
        if problems := feasibility.check(instance, solution.as_lists()):
            raise RuntimeError("the solver's plan fails the independent check: " + "; ".join(problems))
        routes = [_route(k, route, ready, leave) for k, route in enumerate(solution.routes, 1)]
    return {"fc_id": fc_id, "date": leave.date().isoformat(), "vehicles": len(routes),
            "distance_km": round(solution.distance, 3) if solution else 0.0, "routes": routes,
            "unserved": sorted(unserved, key=lambda u: u["supplier_id"] or ""),
            "leave_at": leave.isoformat(), "trucks": pol.trucks,
            "capacity": pol.capacity.model_dump(exclude_none=True), "checked": bool(routes),
            "warnings": notes}


def _pickups(rows: list[ReorderRow], skus: dict[str, dict[str, Any]]) -> list[_Pickup]:
    """Suggestions grouped by supplier: quantity, weight, and the most urgent cover."""
    by: dict[str | None, _Pickup] = {}
    for r in rows:
        p = by.setdefault(r.supplier_id, _Pickup(r.supplier_id))
        p.skus[r.sku] = p.skus.get(r.sku, 0) + r.order_qty
        p.grams += r.order_qty * float(skus.get(r.sku, {}).get("weight_g") or 0.0)
        p.cover = min(p.cover, r.days_of_cover if r.days_of_cover is not None else math.inf)
    return sorted(by.values(), key=lambda p: p.supplier_id or "")


_Solved = tuple[list[_Pickup], Instance | None, Solution | None]


def _fit(depot: GeoSite, ready: list[_Pickup], pol: PlanPolicy, seconds: float, seed: int,
         name: str, unserved: list[dict[str, Any]]) -> _Solved:
    """Route as many pickups as the fleet can take, the most urgent (fewest days of cover) first.

    First the fleet's total capacity: the least urgent pickups that would overflow it wait
    (no solver needed). Then, if the solver finds no plan for the rest (windows, or loads
    that do not pack into the trucks), a binary search over the urgency order finds the
    longest list it can plan: at most 1 + log2(n) solves, not one per dropped supplier.
    Last, each pickup left out, the most urgent first, is tried once more beside those kept:
    one that fits (a pickup dropped for a window clash with another left out, or for room
    that the left-out ones were holding) is collected after all. Those still left out go to
    ``unserved`` with the reason.
    """
    ranked = sorted(ready, key=lambda p: (p.cover, p.grams, p.supplier_id or ""))
    fleet = pol.trucks * _capacity(pol)
    room = fleet
    kept: list[_Pickup] = []
    left: list[_Pickup] = []
    for p in ranked:
        demand = p.site.demand if p.site else 0
        if demand <= room:
            kept.append(p)
            room -= demand
        else:
            left.append(p)

    def attempt(pickups: list[_Pickup]) -> tuple[Instance, Solution] | None:
        instance = instance_from_sites(
            depot, [p.site for p in pickups if p.site], trucks=pol.trucks,
            capacity=_capacity(pol), speed_kmh=pol.speed_kmh, shift_minutes=pol.shift.minutes,
            road_factor=pol.road_factor, name=name)
        try:
            with warnings.catch_warnings():  # PyVRP's penalty warning: said in words instead
                warnings.filterwarnings("ignore", message=r"\s*A penalty parameter")
                return instance, solve(instance, seconds=seconds, seed=seed)
        except NoFeasiblePlan:
            return None

    found = attempt(kept) if kept else None
    no_plan: set[int] = set()
    if found is None and kept:
        lo, hi = 0, len(kept)  # kept[:lo] can be planned (found), kept[:hi] cannot
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if (probe := attempt(kept[:mid])) is not None:
                lo, found = mid, probe
            else:
                hi = mid
        no_plan = {id(p) for p in kept[lo:]}
        left = sorted(left + kept[lo:], key=ranked.index)
        kept = kept[:lo]
    if left and (found is not None or not kept):
        load = sum(p.site.demand for p in kept if p.site)
        for p in list(left):
            demand = p.site.demand if p.site else 0
            if load + demand > fleet:
                continue
            if (probe := attempt([*kept, p])) is not None:
                kept, found, load = [*kept, p], probe, load + demand
                left.remove(p)
    solver = f"the solver found no plan with it and the more urgent pickups in {seconds:g} s"
    unserved += [{**p.as_json(), "reason": _no_room(p, pol, solver if id(p) in no_plan else
                                                    "together the more urgent pickups fill the fleet")}
                 for p in left]
    return (kept, *found) if found is not None else (kept, None, None)


def _no_room(p: _Pickup, pol: PlanPolicy, why: str) -> str:
    cover = "no forecast demand" if math.isinf(p.cover) else f"{p.cover:g} days of cover"
    return (f"no room on the {pol.trucks} truck(s) ({_capacity_words(pol)}): {why}; this one is "
            f"less urgent ({cover}); add a truck or a departure day, or collect it next run")


def _capacity(pol: PlanPolicy) -> int:
    """Truck capacity in the demand's integer unit: grams, or units."""
    cap = pol.capacity
    return math.floor(cap.kg * 1000) if cap.kg is not None else int(cap.units or 0)


def _why_not(p: _Pickup, depot: GeoSite | None, fc_id: str, suppliers: dict[str, dict[str, Any]],
             pol: PlanPolicy, leave: datetime) -> str | None:
    """Why no truck can serve this pickup, in words; ``None`` when it can go in the plan.

    Sets ``p.site`` (the supplier on the map, its window in minutes from the shift start).
    """
    if p.supplier_id is None:
        return "no supplier_id on sku.registered: nobody to collect from"
    s = suppliers.get(p.supplier_id)
    if s is None:
        return f"supplier {p.supplier_id} is not registered (no supplier.registered)"
    if depot is None:
        return f"FC {fc_id} has no location (no fc.registered)"
    stated = s.get("dock_minutes")
    dock = float(stated if stated is not None else pol.default_dock_minutes)
    try:
        opens = _minutes(s.get("ready_from"), "ready_from", pol, leave)
        closes = _minutes(s.get("ready_until"), "ready_until", pol, leave)
    except ValueError as exc:
        return f"supplier {p.supplier_id}: {exc}"
    window = f"{s.get('ready_from') or pol.shift.start}-{s.get('ready_until') or pol.shift.end}"
    ready = max(0.0, opens or 0.0)
    due = None if closes is None else closes - dock
    if due is not None and due < ready:
        return f"its pickup window {window} leaves less than its {dock:g} dock minutes on the shift"
    demand = math.ceil(p.grams) if pol.capacity.kg is not None else p.qty
    if demand > _capacity(pol):
        load = f"{p.grams / 1000:g} kg" if pol.capacity.kg is not None else f"{p.qty} units"
        return f"{load} to collect is more than one truck carries ({_capacity_words(pol)})"
    p.site = GeoSite(p.supplier_id, float(s["lat"]), float(s["lon"]), demand=demand, ready=ready,
                     due=due, dock_minutes=dock)
    alone = instance_from_sites(depot, [p.site], trucks=pol.trucks, capacity=_capacity(pol),
                                speed_kmh=pol.speed_kmh, shift_minutes=pol.shift.minutes,
                                road_factor=pol.road_factor)
    if problems := obvious_problems(alone):
        drive = haversine_km(depot, p.site) * pol.road_factor / pol.speed_kmh * 60
        said = "; ".join(q.split(": ", 1)[-1] for q in problems)
        return (f"{said} (window {window}, {dock:g} dock minutes, {drive:.0f} min from the FC, "
                f"trucks out {pol.shift.start}-{pol.shift.end}, {_capacity_words(pol)})")
    return None


def _capacity_words(pol: PlanPolicy) -> str:
    cap = pol.capacity
    return f"{cap.kg:g} kg a truck" if cap.kg is not None else f"{cap.units} units a truck"


def _minutes(value: Any, what: str, pol: PlanPolicy, leave: datetime) -> float | None:
    """A supplier's local HH:MM on the run day, in minutes after the trucks leave."""
    if value is None or value == "":
        return None
    local = pol.local(leave.date(), parse_clock(value, what))
    return (local.astimezone(UTC) - leave.astimezone(UTC)).total_seconds() / 60  # real minutes


def _route(k: int, route: Any, sites: list[_Pickup], leave: datetime) -> dict[str, Any]:
    """One truck's loop in local ISO times; stops carry what to collect."""
    def clock(minutes: float) -> str:  # in UTC, then local: right across a clock change
        moment = leave.astimezone(UTC) + timedelta(seconds=round(minutes * 60))
        return moment.astimezone(leave.tzinfo).isoformat()

    stops = []
    for stop in route.stops:
        p = sites[stop.site - 1]
        stops.append({"supplier_id": p.supplier_id, "arrive": clock(stop.arrival),
                      "start": clock(stop.start), "depart": clock(stop.departure),
                      **{key: v for key, v in p.as_json().items() if key != "supplier_id"}})
    return {"truck": k, "stops": stops, "return_at": clock(route.back_at_depot),
            "leave_at": clock(route.leave_depot), "distance_km": round(route.distance, 3),
            "qty": sum(s["qty"] for s in stops),
            "weight_kg": round(sum(s["weight_kg"] for s in stops), 3)}
