"""Purchasing routines that call the reorder plan day by day: what a buyer does with
``ordercare reorder`` (the same pure ``forecast_demand`` + ``plan_reorders``), and the
spreadsheet rule it is measured against.

A routine is called every morning with each SKU's daily demand up to yesterday and its
stock position; it returns the units to buy. ``PlanBuyer`` reviews every SKU on the weekly
review day and, when the policy's ``surge_response.review_daily`` says so, the SKUs that
are surging on the other days. ``WeeklyRule`` wraps a weekly rule (``NaiveFixedRule``) so
that it is called the same way. Pure: no database, no clock.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ordercare.stock.demand_sim import NaiveFixedRule, SimStock
from ordercare.stock.forecast import SeriesForecast, SeriesKey, forecast_demand
from ordercare.stock.reorder import StockPosition, is_surging, plan_reorders
from ordercare.stock.reorder_policy import ReorderPolicy, SkuClass


class Buyer(Protocol):
    def __call__(self, day: int, weekly: bool, history: Mapping[str, np.ndarray],
                 stock: Mapping[str, SimStock]) -> Mapping[str, int]: ...


@dataclass
class WeeklyRule:
    """A rule that only acts on the weekly review day (the spreadsheet's Monday)."""

    rule: NaiveFixedRule

    def __call__(self, day: int, weekly: bool, history: Mapping[str, np.ndarray],
                 stock: Mapping[str, SimStock]) -> Mapping[str, int]:
        return self.rule(day, history, stock) if weekly else {}


@dataclass
class PlanBuyer:
    """ordercare's plan as a buyer uses it: weekly for every SKU, daily for surging ones.

    ``fc_of`` names each SKU's FC (forecasts are per FC and SKU). ``cache`` holds the
    forecasts by day and series: demand does not depend on the stock, so routines that
    differ only in what they buy (another policy) may share it.
    """

    policy: ReorderPolicy
    fc_of: Mapping[str, str]
    horizon_days: int
    sku_classes: Mapping[str, SkuClass] | None = None
    cache: dict[int, dict[SeriesKey, SeriesForecast]] = field(default_factory=dict)
    weekly_forecasts: dict[int, dict[SeriesKey, SeriesForecast]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def __call__(self, day: int, weekly: bool, history: Mapping[str, np.ndarray],
                 stock: Mapping[str, SimStock]) -> Mapping[str, int]:
        response = self.policy.surge_response
        if weekly:
            skus = tuple(sorted(stock))
        elif response.enabled and response.review_daily:
            skus = tuple(s for s in sorted(stock) if is_surging(history[s], self.policy.surge_detection))
        else:
            skus = ()
        if not skus:
            return {}
        keyed = {(self.fc_of[s], s): history[s] for s in skus}
        forecasts = self.cache.setdefault(day, {})
        missing = {key: y for key, y in keyed.items() if key not in forecasts}
        if missing:  # each series' forecast depends on its own history only
            started = time.perf_counter()
            forecasts.update(forecast_demand(missing, self.policy.forecast, horizon_days=self.horizon_days))
            self.seconds.append(time.perf_counter() - started)
        if weekly:
            self.weekly_forecasts[day] = {key: forecasts[key] for key in keyed}
        positions = [StockPosition(self.fc_of[s], s, stock[s].on_hand, on_order=stock[s].on_order,
                                   lead_time_days=stock[s].lead_time_days) for s in skus]
        rows = plan_reorders(positions, forecasts, self.policy, sku_classes=self.sku_classes, history=keyed)
        return {row.sku: row.order_qty for row in rows if row.order_qty > 0}
