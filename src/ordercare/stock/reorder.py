"""Reorder points and order quantities per (fc_id, sku), from forecasts and their errors.

The policy is a periodic review, order-up-to policy (R, S): every review period R we look
at the inventory position (available + on order); an order placed now arrives after the
lead time L, and the next chance to order is R days away, so stock must cover L + R days.

    reorder point S = expected demand over L + R  +  safety stock
    safety stock    = z(service level) × forecast error sd over L + R

Why the error and not a percentage: 20 % extra is far too much for a steady seller and far
too little for a lumpy one. The forecast's own backtest error (``SeriesForecast``) says how
wrong it is on *this* series, which is exactly what safety stock has to absorb.

When the position is below S we order S − position, raised to the minimum order and
rounded up to whole packs. Pure: positions and forecasts in, rows out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from ordercare.stock.forecast import (
    DemandClass,
    SeriesForecast,
    SeriesKey,
    forecast_demand,
)
from ordercare.stock.reorder_policy import (
    ReorderPolicy,
    SkuClass,
    SurgeDetection,
    abc_classes,
    load_reorder_policy,
)

CONTRACT_FIELDS = (
    "fc_id",
    "sku",
    "supplier_id",
    "available",
    "forecast_per_day",
    "reorder_point",
    "order_qty",
    "days_of_cover",
)
"""The fields ``ordercare reorder --json`` promises (CONTRACT §2), in order."""


@dataclass(frozen=True)
class StockPosition:
    """One SKU at one FC as the engine sees it at ``at``.

    ``lead_time_days`` and ``supplier_id`` come from ``sku.registered``; ``on_order`` is
    stock ordered but not yet received (0 until purchase orders are tracked).
    """

    fc_id: str
    sku: str
    available: int
    supplier_id: str | None = None
    lead_time_days: int | None = None
    on_order: int = 0
    hot: bool = False


@dataclass(frozen=True)
class ReorderRow:
    """A reorder suggestion: the contract's fields first, then why."""

    fc_id: str
    sku: str
    supplier_id: str | None
    available: int
    forecast_per_day: float
    reorder_point: int
    order_qty: int
    days_of_cover: float | None
    model: str
    demand_class: str
    sku_class: SkuClass
    hot: bool
    surging: bool
    service_level: float
    safety_stock: float
    order_up_to: int
    lead_time_days: int
    review_period_days: int
    on_order: int
    cv_wape: float | None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict; ``days_of_cover`` is null when nothing is forecast to sell."""
        return asdict(self)


def is_surging(y: np.ndarray, rule: SurgeDetection) -> bool:
    """Has demand surged lately? Recent pace versus the pace in the weeks before it.

    Raising the service level of a surging SKU only added stock after the peak (see
    docs/forecast-reorder.md); what the policy's ``surge_response`` does instead is floor
    its forecast at the recent pace (``_surge_pace``) and, for a purchasing routine that
    honours ``review_daily``, review it every day.
    """
    recent = y[-rule.recent_days :]
    before = y[-(rule.recent_days + rule.baseline_days) : -rule.recent_days]
    if recent.sum() < rule.min_recent_units or before.size == 0:
        return False
    return float(recent.mean()) >= rule.surge_ratio * max(float(before.mean()), 1e-9)


def plan_reorders(
    positions: Iterable[StockPosition],
    forecasts: Mapping[SeriesKey, SeriesForecast],
    policy: ReorderPolicy,
    *,
    sku_classes: Mapping[str, SkuClass] | None = None,
    history: Mapping[SeriesKey, np.ndarray] | None = None,
) -> list[ReorderRow]:
    """One row per position, in order; ``order_qty`` is 0 when no order is needed.

    ``sku_classes`` (see ``abc_classes``) picks the service level, raised to the hot level
    for SKUs flagged hot; ``history`` (the counts the forecasts came from) only feeds the
    informational ``surging`` flag.
    """
    rows: list[ReorderRow] = []
    for pos in positions:
        key = (pos.fc_id, pos.sku)
        y = history.get(key) if history is not None else None
        surging = y is not None and is_surging(y, policy.surge_detection)
        sku_class = _sku_class(pos.sku, policy, sku_classes)
        pace = _surge_pace(y, policy) if surging and y is not None else None
        rows.append(_row(pos, forecasts.get(key), policy, sku_class, _hot(pos, policy), surging, pace))
    return rows


def _surge_pace(y: np.ndarray, policy: ReorderPolicy) -> float | None:
    """Units per day over the last ``pace_days`` of a surging series (None: no response)."""
    response = policy.surge_response
    if not response.enabled or y.size == 0:
        return None
    return float(np.mean(y[-response.pace_days:]))


def reorder_plan(
    history: Mapping[SeriesKey, Sequence[float] | np.ndarray],
    positions: Sequence[StockPosition],
    policy: ReorderPolicy | None = None,
    *,
    revenue: Mapping[str, float] | None = None,
) -> list[ReorderRow]:
    """The engine's one call: forecast every position's series, then plan.

    ``history`` holds daily demand per (fc_id, sku) up to the day before ``at``; a position
    without history is treated as selling nothing yet. ``revenue`` per SKU (any window)
    gives the ABC classes; without it every SKU is ``default_class``.
    """
    pol = policy or load_reorder_policy()
    series = {
        (p.fc_id, p.sku): np.asarray(history.get((p.fc_id, p.sku), ()), dtype=float)
        for p in positions
    }
    horizon = max([_lead_time(p, pol) for p in positions], default=0) + pol.review_period_days
    forecasts = forecast_demand(series, pol.forecast, horizon_days=horizon)
    classes = abc_classes(revenue, pol) if revenue is not None else None
    return plan_reorders(positions, forecasts, pol, sku_classes=classes, history=series)


def suggestions(rows: Iterable[ReorderRow]) -> list[ReorderRow]:
    """Only the rows that ask for an order: what ``ordercare reorder`` lists."""
    return [row for row in rows if row.order_qty > 0]


def _lead_time(pos: StockPosition, policy: ReorderPolicy) -> int:
    """A planner's override wins over the supplier's stated lead time, then the default."""
    override = policy.sku_overrides.get(pos.sku)
    if override is not None and override.lead_time_days is not None:
        return override.lead_time_days
    if pos.lead_time_days is not None:
        return pos.lead_time_days
    return policy.default_lead_time_days


def _sku_class(sku: str, policy: ReorderPolicy, classes: Mapping[str, SkuClass] | None) -> SkuClass:
    override = policy.sku_overrides.get(sku)
    if override is not None and override.sku_class is not None:
        return override.sku_class
    if classes is not None and sku in classes:
        return classes[sku]
    return policy.default_class


def _hot(pos: StockPosition, policy: ReorderPolicy) -> bool:
    """Hot is a planner's foresight (the policy file) or the caller's flag, never a guess."""
    override = policy.sku_overrides.get(pos.sku)
    if override is not None and override.hot is not None:
        return override.hot
    return pos.hot


def _row(
    pos: StockPosition,
    fc: SeriesForecast | None,
    policy: ReorderPolicy,
    sku_class: SkuClass,
    hot: bool,
    surging: bool,
    pace: float | None = None,
) -> ReorderRow:
    lead = _lead_time(pos, policy)
    # A surging SKU reviewed every day only has to last until tomorrow's order arrives.
    review = 1 if pace is not None and policy.surge_response.review_daily else policy.review_period_days
    cover = lead + review
    level = policy.service_level_for(sku_class, hot)
    demand = fc.demand_over(cover) if fc is not None else 0.0
    if pace is not None:  # a craze still building: the fitted level lags it
        demand = max(demand, pace * cover)
    sd = fc.error_sd_over(cover) if fc is not None else 0.0
    safety = NormalDist().inv_cdf(level) * sd
    reorder_point = math.ceil(demand + safety - 1e-9)
    order_up_to = reorder_point
    position = pos.available + pos.on_order
    qty = _order_qty(order_up_to - position, pos.sku, policy) if position < reorder_point else 0
    per_day = demand / cover
    return ReorderRow(
        fc_id=pos.fc_id,
        sku=pos.sku,
        supplier_id=pos.supplier_id,
        available=pos.available,
        forecast_per_day=round(per_day, 3),
        reorder_point=reorder_point,
        order_qty=qty,
        days_of_cover=round(max(pos.available, 0) / per_day, 1) if per_day > 0 else None,
        model=fc.model if fc is not None else "none",
        demand_class=str(fc.demand_class if fc is not None else DemandClass.ZERO),
        sku_class=sku_class,
        hot=hot,
        surging=surging,
        service_level=level,
        safety_stock=round(safety, 2),
        order_up_to=order_up_to,
        lead_time_days=lead,
        review_period_days=review,
        on_order=pos.on_order,
        cv_wape=round(fc.cv_wape, 4) if fc is not None and fc.cv_wape is not None else None,
    )


def _order_qty(shortfall: int, sku: str, policy: ReorderPolicy) -> int:
    """At least the minimum order, in whole packs."""
    units = policy.units_for(sku)
    wanted = max(shortfall, units.min_order_qty, 1)
    return math.ceil(wanted / units.pack_size) * units.pack_size
