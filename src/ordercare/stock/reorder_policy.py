"""The reorder policy as data: service levels, review period, order units, forecast knobs.

Why a file: how much stock to hold is a business decision (a planner raises the service
level of A items before Christmas) and must not need a code change. The file loads into
strict models through ``ordercare.rules``, so a typo stops start-up with its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ordercare.rules import StrictModel, load_packaged_rules, load_rules
from ordercare.stock.forecast import ForecastSettings

SkuClass = Literal["A", "B", "C"]
POLICY_FILE = "reorder_policy.yaml"

Probability = Annotated[float, Field(gt=0.5, lt=1.0)]


class ServiceLevels(StrictModel):
    """Target cycle service level per ABC class, and for hot items."""

    A: Probability
    B: Probability
    C: Probability
    hot: Probability


class AbcShares(StrictModel):
    """Cumulative revenue share up to which a SKU is A, then B; the rest is C."""

    A: float = Field(gt=0.0, lt=1.0)
    B: float = Field(gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _a_before_b(self) -> AbcShares:
        if self.B < self.A:
            raise ValueError(f"B ({self.B}) must be at least A ({self.A})")
        return self


class OrderUnits(StrictModel):
    pack_size: int = Field(default=1, ge=1)
    min_order_qty: int = Field(default=1, ge=0)


class SkuOverride(StrictModel):
    """Per-SKU exceptions; anything left out falls back to the policy defaults."""

    pack_size: int | None = Field(default=None, ge=1)
    min_order_qty: int | None = Field(default=None, ge=0)
    lead_time_days: int | None = Field(default=None, ge=0)
    sku_class: SkuClass | None = None
    hot: bool | None = None


class SurgeDetection(StrictModel):
    """When the ``surging`` flag is raised on a reorder row (informational)."""

    recent_days: int = Field(default=7, ge=1)
    baseline_days: int = Field(default=28, ge=1)
    surge_ratio: float = Field(default=2.0, gt=1.0)
    min_recent_units: float = Field(default=10, ge=0)


class SurgeResponse(StrictModel):
    """What the plan does about a SKU flagged ``surging`` (docs/forecast-reorder.md, hot items).

    ``pace_days``: its forecast per day is at least the pace of the last ``pace_days`` (the
    fitted level lags a craze that is still building). ``review_daily``: a purchasing
    routine reviews surging SKUs every day rather than waiting for the weekly review.
    """

    enabled: bool = True
    pace_days: int = Field(default=3, ge=1)
    review_daily: bool = True


class ReorderPolicy(StrictModel):
    service_level: ServiceLevels
    abc_revenue_share: AbcShares
    default_class: SkuClass = "B"
    review_period_days: int = Field(ge=1)
    default_lead_time_days: int = Field(ge=0)
    order_units: OrderUnits = OrderUnits()
    sku_overrides: dict[str, SkuOverride] = {}
    surge_detection: SurgeDetection = SurgeDetection()
    surge_response: SurgeResponse = SurgeResponse(enabled=False)
    forecast: ForecastSettings = ForecastSettings()

    def units_for(self, sku: str) -> OrderUnits:
        """Pack size and minimum order for ``sku``, overrides first."""
        o = self.sku_overrides.get(sku)
        if o is None:
            return self.order_units
        return OrderUnits(
            pack_size=o.pack_size or self.order_units.pack_size,
            min_order_qty=(
                o.min_order_qty if o.min_order_qty is not None else self.order_units.min_order_qty
            ),
        )

    def service_level_for(self, sku_class: SkuClass, hot: bool) -> float:
        return self.service_level.hot if hot else getattr(self.service_level, sku_class)


def load_reorder_policy(path: str | Path | None = None) -> ReorderPolicy:
    """The packaged default, or the file at ``path``; errors name file, path and line."""
    if path is None:
        return load_packaged_rules("ordercare.stock", POLICY_FILE, ReorderPolicy)
    return load_rules(path, ReorderPolicy)


def abc_classes(revenue: Mapping[str, float], policy: ReorderPolicy) -> dict[str, SkuClass]:
    """Pareto classes: sort SKUs by revenue, cut the cumulative share at A and B.

    A SKU is A while the revenue *before* it is under the A share, so the top seller is A
    even when it alone makes more than the share.
    """
    ranked = sorted(revenue.items(), key=lambda kv: (-kv[1], kv[0]))
    grand = sum(max(v, 0.0) for _, v in ranked)
    out: dict[str, SkuClass] = {}
    before = 0.0
    for sku, value in ranked:
        share = before / grand if grand > 0 else 1.0
        if grand > 0 and share < policy.abc_revenue_share.A:
            out[sku] = "A"
        elif grand > 0 and share < policy.abc_revenue_share.B:
            out[sku] = "B"
        else:
            out[sku] = "C"
        before += max(value, 0.0)
    return out
