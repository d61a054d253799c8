"""Seller health policy: the windows, targets and thresholds a seller is held to, as data.

The numbers are a marketplace's business rules, not code: a trust-and-safety lead changes a
window or a target in ``policy.yaml`` without touching Python. The code only knows the
*measures* (what an order defect is, when a shipment is late); the file says over which
window each one is judged and against which target, and may judge one measure over several
windows (the late shipment rate over 10 and 30 days).
"""

from __future__ import annotations

from functools import cache
from typing import Literal, Self

from pydantic import Field, model_validator

from ordercare.rules import StrictModel, load_packaged_rules

Measure = Literal[
    "order_defects",
    "late_shipments",
    "seller_cancellations",
    "valid_tracking",
    "on_time_deliveries",
    "timely_replies",
    "contact_attempts",
]

#: Measures whose rate counts failures (must stay below target); the others count successes.
FAILURE_MEASURES: frozenset[str] = frozenset(
    {"order_defects", "late_shipments", "seller_cancellations", "contact_attempts"}
)

#: The metric names `ordercare sellers --json` prints (CONTRACT §2), with the measure each
#: must be, so that a renamed or mis-typed metric is caught at start-up, not in a report.
CONTRACT_METRICS: dict[str, str] = {
    "order_defect_rate": "order_defects",
    "late_shipment_rate": "late_shipments",
    "cancel_rate": "seller_cancellations",
    "valid_tracking_rate": "valid_tracking",
}


class Conventions(StrictModel):
    """How the facts are read: what counts as negative, how long a carrier or seller has."""

    negative_feedback_max_rating: int = Field(ge=1, le=4)
    scan_grace_hours: float = Field(ge=0, le=24 * 14)
    reply_within_hours: float = Field(gt=0, le=24 * 14)
    #: A buyer message still unanswered this long is taken over by the platform's guarantee.
    guarantee_after_hours: float = Field(default=48, gt=0, le=24 * 30)


class MetricRule(StrictModel):
    """One metric: a measure judged over a trailing window against a one-sided target."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    measure: Measure
    window_days: int = Field(gt=0, le=365)
    below: float | None = Field(default=None, gt=0, le=1)
    above: float | None = Field(default=None, ge=0, lt=1)
    #: The bar a seller at risk must be back within to recover (same side as the target);
    #: none: ``recovery.allowance`` of the target's allowance of failures.
    recover: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _one_target_on_the_right_side(self) -> Self:
        if (self.below is None) == (self.above is None):
            raise ValueError(f"metric {self.name!r}: give exactly one of `below` or `above`")
        fails = self.measure in FAILURE_MEASURES
        if fails and self.below is None:
            raise ValueError(
                f"metric {self.name!r}: {self.measure} is a rate of failures, its target is "
                f"`below`, not `above`"
            )
        if not fails and self.above is None:
            raise ValueError(
                f"metric {self.name!r}: {self.measure} is a rate of successes, its target is "
                f"`above`, not `below`"
            )
        if self.recover is not None:
            if self.below is not None and self.recover > self.below:
                raise ValueError(
                    f"metric {self.name!r}: `recover` {self.recover:g} must be at or under its "
                    f"target `below` {self.below:g} (back within the target, by a margin)"
                )
            if self.above is not None and self.recover < self.above:
                raise ValueError(
                    f"metric {self.name!r}: `recover` {self.recover:g} must be at or over its "
                    f"target `above` {self.above:g} (back within the target, by a margin)"
                )
        return self

    @property
    def lower_is_better(self) -> bool:
        """True for rates of failures (ODR, late shipments, cancellations)."""
        return self.below is not None

    def meets(self, rate: float | None) -> bool:
        """Whether ``rate`` meets the target; no rate (nothing due) cannot slip."""
        if rate is None:
            return True
        if self.below is not None:
            return rate < self.below
        assert self.above is not None
        return rate > self.above

    def recovery_bar(self, allowance: float) -> float:
        """The rate a seller at risk must be back within: ``recover`` when given, else
        ``allowance`` of what the target allows (``below`` 4 %, 0.8: 3.2 %; ``above`` 95 %,
        0.8: 96 %, four failures in a hundred instead of five)."""
        if self.recover is not None:
            return self.recover
        if self.below is not None:  # rounded: 4 % x 0.8 is 3.2 %, not 3.2000000000000006 %
            return round(self.below * allowance, 12)
        assert self.above is not None
        return round(1 - (1 - self.above) * allowance, 12)

    def recovered(self, rate: float | None, allowance: float) -> bool:
        """Whether ``rate`` is back within the recovery bar (strictly, like the target)."""
        if rate is None:
            return True
        bar = self.recovery_bar(allowance)
        return rate < bar if self.below is not None else rate > bar

    def recovery_text(self, allowance: float) -> str:
        """The recovery bar as a seller reads it: ``< 3.2%``, ``> 96%``."""
        bar = self.recovery_bar(allowance)
        return f"< {_pct(bar)}" if self.below is not None else f"> {_pct(bar)}"

    def target_text(self) -> str:
        """The target as a seller reads it: ``< 1%``, ``> 95%``."""
        if self.below is not None:
            return f"< {_pct(self.below)}"
        assert self.above is not None
        return f"> {_pct(self.above)}"


class Suspension(StrictModel):
    """When a metric over target suspends rather than warns."""

    metric: str
    min_orders: int = Field(ge=1)


class Warning(StrictModel):
    """When a metric over target warns: only on enough items to mean something."""

    min_count: int = Field(default=1, ge=1)
    repeat_after_days: int = Field(default=0, ge=0)  # back at risk sooner: the last warning goes on


class Recovery(StrictModel):
    """How a seller at risk gets back to good: hysteresis on the status.

    A metric that misses its target puts the seller at risk at once (and an order defect rate
    over target on enough orders suspends at once); the way back is harder than the way in.
    The seller is good again only once every metric is back within its *recovery bar*
    (``allowance`` of what its target allows, or the metric's own ``recover``) and has stayed
    there at every review for ``days`` days in a row.
    """

    allowance: float = Field(default=0.8, gt=0, le=1)  # 1: the target itself, no margin
    days: int = Field(default=7, ge=0, le=90)  # 0: good again at the first review within the bars


class RelayRules(StrictModel):
    """Buyer-seller messaging relay: links to these domains are not masked."""

    allowed_domains: tuple[str, ...] = ()


class SellerPolicy(StrictModel):
    """The whole seller health policy (``sellers/policy.yaml``)."""

    conventions: Conventions
    metrics: tuple[MetricRule, ...] = Field(min_length=1)
    suspension: Suspension
    warning: Warning = Warning()
    recovery: Recovery = Recovery()
    relay: RelayRules = RelayRules()

    @model_validator(mode="after")
    def _names_resolve(self) -> Self:
        names = [m.name for m in self.metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metrics: names must be unique, repeated: {', '.join(dupes)}")
        by_name = {m.name: m for m in self.metrics}
        for name, measure in CONTRACT_METRICS.items():
            rule = by_name.get(name)
            if rule is None:
                raise ValueError(
                    f"metrics: {name!r} is required (a field of `ordercare sellers --json`)"
                )
            if rule.measure != measure:
                raise ValueError(f"metrics: {name!r} must measure {measure}, not {rule.measure}")
        if self.suspension.metric not in by_name:
            raise ValueError(
                f"suspension.metric: {self.suspension.metric!r} is not one of {', '.join(names)}"
            )
        return self

    def metric(self, name: str) -> MetricRule:
        """The rule named ``name`` (KeyError naming the known ones otherwise)."""
        for rule in self.metrics:
            if rule.name == name:
                return rule
        raise KeyError(f"no seller metric {name!r}; known: {[m.name for m in self.metrics]}")

    @property
    def longest_window_days(self) -> int:
        """The longest window of any metric: how far back a query ever looks."""
        return max(m.window_days for m in self.metrics)


def _pct(x: float) -> str:
    return f"{x * 100:g}%"


@cache
def load_seller_policy() -> SellerPolicy:
    """The packaged default policy, validated once (a bad file fails at first use)."""
    return load_packaged_rules("ordercare.sellers", "policy.yaml", SellerPolicy)
