"""Seeded synthetic demand per SKU, and a tiny inventory simulation to score reorder rules.

Why synthetic: the forecast and the reorder plan must be judged on demand whose truth we
know — regular sellers with a weekly rhythm, intermittent slow movers, and hot items whose
demand jumps (the toy everyone wants in December). The marketplace simulator can draw its
order lines from the same profiles.

Why the inventory simulation: a better WAPE is only worth something if fewer customers
hit "out of stock". ``simulate_inventory`` replays demand day by day against a reorder rule
(our plan, a naive fixed rule, or none) with lead times, and counts stock-out days and
missed orders, together with the stock held, so a rule cannot win by simply hoarding.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

from ordercare.stock.forecast import SeriesForecast, SeriesKey, forecast_demand
from ordercare.stock.reorder import StockPosition, is_surging, plan_reorders
from ordercare.stock.reorder_policy import ReorderPolicy, SkuClass

WEEKEND_HEAVY = (0.85, 0.8, 0.85, 0.9, 1.1, 1.4, 1.1)
"""Monday..Sunday multipliers: online retail peaks at the weekend."""


class SkuKind(StrEnum):
    REGULAR = "regular"
    INTERMITTENT = "intermittent"
    HOT = "hot"


@dataclass(frozen=True)
class DemandProfile:
    """How one SKU sells. Units per day; a day's demand is also its number of order lines."""

    sku: str
    kind: SkuKind
    rate: float
    weekly: tuple[float, ...] = WEEKEND_HEAVY
    dispersion: float = 8.0
    demand_probability: float = 1.0
    spike_day: int | None = None
    spike_factor: float = 1.0
    spike_decay_days: float = 30.0


def make_profiles(
    n_skus: int, *, days: int, seed: int, mix: tuple[float, float, float] = (0.55, 0.35, 0.10)
) -> list[DemandProfile]:
    """A seeded catalogue: ``mix`` shares of regular, intermittent and hot SKUs.

    Hot items spike somewhere in the second half of ``days`` so that a forecast made on the
    first half has not seen it coming.
    """
    rng = np.random.default_rng(seed)
    order = list(SkuKind)
    picks = rng.choice(len(order), size=n_skus, p=np.asarray(mix) / sum(mix))
    profiles: list[DemandProfile] = []
    for i, pick in enumerate(picks):
        kind = order[int(pick)]
        sku = f"SKU-{i:04d}"
        if kind is SkuKind.INTERMITTENT:
            profiles.append(
                DemandProfile(
                    sku=sku,
                    kind=kind,
                    rate=float(rng.uniform(1.0, 4.0)),
                    demand_probability=float(rng.uniform(0.05, 0.4)),
                    dispersion=2.0,
                )
            )
            continue
        weekly = np.asarray(WEEKEND_HEAVY) * rng.uniform(0.9, 1.1, size=7)
        hot = kind is SkuKind.HOT
        profiles.append(
            DemandProfile(
                sku=sku,
                kind=kind,
                rate=float(rng.lognormal(mean=1.3, sigma=0.7)),
                weekly=tuple(float(v) for v in weekly / weekly.mean()),
                dispersion=float(rng.uniform(4.0, 20.0)),
                spike_day=int(rng.integers(days // 2, days - 7)) if hot else None,
                spike_factor=float(rng.uniform(3.0, 8.0)) if hot else 1.0,
                spike_decay_days=float(rng.uniform(15.0, 60.0)),
            )
        )
    return profiles


def expected_rate(profile: DemandProfile, days: int, start_weekday: int = 0) -> np.ndarray:
    """Expected units per day (the truth the forecast is after), day 0 a ``start_weekday``."""
    t = np.arange(days)
    if profile.kind is SkuKind.INTERMITTENT:
        return np.full(days, profile.rate * profile.demand_probability)
    rate = profile.rate * np.asarray(profile.weekly)[(t + start_weekday) % 7]
    if profile.spike_day is not None:
        since = t - profile.spike_day
        ramp = np.clip((since + 1) / 3.0, 0.0, 1.0)  # the craze builds over three days
        decay = np.exp(-np.clip(since, 0, None) / profile.spike_decay_days)
        rate = rate * (1.0 + (profile.spike_factor - 1.0) * ramp * decay)
    return rate


def generate_demand(
    profiles: Sequence[DemandProfile], *, days: int, seed: int, start_weekday: int = 0
) -> dict[str, np.ndarray]:
    """Daily unit demand per SKU: negative binomial around the expected rate.

    Intermittent SKUs sell on a day with ``demand_probability``, then a size of at least 1.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for p in profiles:
        if p.kind is SkuKind.INTERMITTENT:
            occurs = rng.random(days) < p.demand_probability
            size = 1 + _negbin(rng, np.full(days, max(p.rate - 1.0, 0.01)), p.dispersion)
            out[p.sku] = np.where(occurs, size, 0)
        else:
            out[p.sku] = _negbin(rng, expected_rate(p, days, start_weekday), p.dispersion)
    return out


def _negbin(rng: np.random.Generator, mean: np.ndarray, dispersion: float) -> np.ndarray:
    """Overdispersed counts: variance = mean + mean²/dispersion (Poisson-gamma mixture)."""
    lam = rng.gamma(shape=dispersion, scale=np.maximum(mean, 1e-9) / dispersion)
    counts: np.ndarray = rng.poisson(lam).astype(np.int64)
    return counts


@dataclass(frozen=True)
class SimStock:
    """What a reorder rule may see on a review day."""

    on_hand: int
    on_order: int
    lead_time_days: int


class ReorderRule(Protocol):
    """Called on each review day with demand up to yesterday; returns units to order."""

    def __call__(
        self, day: int, history: Mapping[str, np.ndarray], stock: Mapping[str, SimStock]
    ) -> Mapping[str, int]: ...


def no_reorder(
    day: int, history: Mapping[str, np.ndarray], stock: Mapping[str, SimStock]
) -> Mapping[str, int]:
    """Never reorder: what the initial stock alone achieves."""
    return {}


@dataclass(frozen=True)
class NaiveFixedRule:
    """The spreadsheet rule: trailing average demand times (lead time + review period),
    plus a fixed percentage as safety; order up to that level."""

    review_period_days: int
    window_days: int = 28
    safety_pct: float = 0.2

    def __call__(
        self, day: int, history: Mapping[str, np.ndarray], stock: Mapping[str, SimStock]
    ) -> Mapping[str, int]:
        orders: dict[str, int] = {}
        for sku, st in stock.items():
            recent = history[sku][-self.window_days :]
            rate = float(recent.mean()) if recent.size else 0.0
            level = rate * (st.lead_time_days + self.review_period_days) * (1 + self.safety_pct)
            position = st.on_hand + st.on_order
            if position < level:
                orders[sku] = int(np.ceil(level - position))
        return orders


@dataclass
class PlanRule:
    """Our plan: per-series forecast, then ``plan_reorders`` (safety stock from CV error).

    ``forecast_cache`` may be shared between rules that differ only in service levels or
    order units: the simulated history does not depend on the rule, so neither do the
    forecasts, and a service-level sweep then costs one forecasting pass.
    """

    policy: ReorderPolicy
    fc_id: str = "FC-SIM"
    sku_classes: Mapping[str, SkuClass] | None = None
    hot: frozenset[str] = frozenset()
    forecast_cache: dict[tuple[int, int], dict[SeriesKey, SeriesForecast]] = field(
        default_factory=dict
    )
    forecast_seconds: list[float] = field(default_factory=list)

    def __call__(
        self, day: int, history: Mapping[str, np.ndarray], stock: Mapping[str, SimStock]
    ) -> Mapping[str, int]:
        keyed: dict[SeriesKey, np.ndarray] = {(self.fc_id, s): history[s] for s in stock}
        horizon = max(st.lead_time_days for st in stock.values()) + self.policy.review_period_days
        forecasts = self.forecast_cache.setdefault((day, horizon), {})
        missing = {key: y for key, y in keyed.items() if key not in forecasts}
        if missing:  # each series' forecast depends on its own history only
            started = time.perf_counter()
            forecasts.update(forecast_demand(missing, self.policy.forecast, horizon_days=horizon))
            self.forecast_seconds.append(time.perf_counter() - started)
        positions = [
            StockPosition(
                fc_id=self.fc_id,
                sku=sku,
                available=st.on_hand,
                on_order=st.on_order,
                lead_time_days=st.lead_time_days,
                hot=sku in self.hot,
            )
            for sku, st in stock.items()
        ]
        rows = plan_reorders(
            positions, forecasts, self.policy, sku_classes=self.sku_classes, history=keyed
        )
        return {row.sku: row.order_qty for row in rows if row.order_qty > 0}

    def between_reviews(
        self, day: int, history: Mapping[str, np.ndarray], stock: Mapping[str, SimStock]
    ) -> Mapping[str, int]:
        """The days between reviews: only the surging SKUs, when the policy reviews them daily."""
        response = self.policy.surge_response
        if not (response.enabled and response.review_daily):
            return {}
        rule = self.policy.surge_detection
        surging = {s: st for s, st in stock.items() if is_surging(history[s], rule)}
        return self(day, history, surging) if surging else {}


@dataclass(frozen=True)
class SimResult:
    """Totals over the simulated days for one SKU (or summed over all of them)."""

    stockout_days: int
    missed_orders: int
    demand: int
    orders_placed: int
    avg_on_hand: float

    @property
    def fill_rate(self) -> float:
        return 1.0 - self.missed_orders / self.demand if self.demand else 1.0


def simulate_inventory(
    demand: Mapping[str, np.ndarray],
    rule: ReorderRule,
    *,
    start_day: int,
    lead_time_days: Mapping[str, int],
    review_period_days: int,
    initial_stock: Mapping[str, int],
) -> dict[str, SimResult]:
    """Play days ``start_day``.. end of ``demand`` against ``rule``; unmet demand is lost.

    Each day: receive what arrives, review (every ``review_period_days`` from the start,
    with demand up to yesterday; on the other days a rule with ``between_reviews`` is asked
    too, for the SKUs it watches daily), then serve the day's demand from stock. A stock-out day is
    a day with at least one unit of demand that could not be served.
    """
    skus = list(demand)
    on_hand = {s: int(initial_stock.get(s, 0)) for s in skus}
    arrivals: dict[int, dict[str, int]] = {}
    stats = {s: [0, 0, 0, 0, 0.0] for s in skus}  # stockout days, missed, demand, orders, stock
    end = min(len(v) for v in demand.values())
    for day in range(start_day, end):
        for sku, qty in arrivals.pop(day, {}).items():
            on_hand[sku] += qty
        review = (day - start_day) % review_period_days == 0
        between = getattr(rule, "between_reviews", None)
        if review or between is not None:
            pending = {s: sum(a.get(s, 0) for a in arrivals.values()) for s in skus}
            view = {s: SimStock(on_hand[s], pending[s], int(lead_time_days[s])) for s in skus}
            history = {s: demand[s][:day] for s in skus}
            wanted = rule(day, history, view) if review else between(day, history, view)  # type: ignore[misc]
            for sku, qty in wanted.items():
                if qty > 0:
                    due = arrivals.setdefault(day + int(lead_time_days[sku]), {})
                    due[sku] = due.get(sku, 0) + int(qty)
                    stats[sku][3] += 1
        for sku in skus:
            want = int(demand[sku][day])
            served = min(want, on_hand[sku])
            on_hand[sku] -= served
            st = stats[sku]
            st[0] += int(want > served)
            st[1] += want - served
            st[2] += want
            st[4] += on_hand[sku]
    days = max(end - start_day, 1)
    return {
        s: SimResult(int(a), int(b), int(c), int(d), float(e) / days)
        for s, (a, b, c, d, e) in stats.items()
    }


def total(results: Mapping[str, SimResult]) -> SimResult:
    """Sum per-SKU results (average stock is summed too: units held across the catalogue)."""
    values = list(results.values())
    return SimResult(
        stockout_days=sum(r.stockout_days for r in values),
        missed_orders=sum(r.missed_orders for r in values),
        demand=sum(r.demand for r in values),
        orders_placed=sum(r.orders_placed for r in values),
        avg_on_hand=sum(r.avg_on_hand for r in values),
    )
