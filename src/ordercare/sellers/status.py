"""Seller standing from the metrics: good, at risk (warned, with which metrics) or suspended.

Pure: the same metrics and policy always give the same status, so a status shown to a
seller can be recomputed and explained later. The rules, in the words of the trade:

* ``good`` — every metric meets its target (a metric with nothing due cannot slip);
* ``at_risk`` — at least one metric slipped; each one is named with its figures and the
  orders behind it, so the seller can act before it costs them the account;
* ``suspended`` — the suspending metric (the order defect rate) is at or over its target on
  at least the policy's minimum number of orders. Below that minimum an ODR over target
  only warns: a handful of orders is too few to end a business on.

``assess`` is the status the metrics give at one instant. The status the platform *holds*
has hysteresis (``policy.recovery``): a seller goes at risk, or is suspended, the moment the
metrics say so, but comes back from at risk to good only once every metric is within its
recovery bar (``recovered``) and has stayed so for some days; meanwhile ``hold`` says why it
is still at risk. The count of days is kept by the status reviews (``capability.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from ordercare.sellers.policy import MetricRule, SellerPolicy

if TYPE_CHECKING:
    from ordercare.sellers.metrics import MetricValue, SellerMetrics

State = Literal["good", "at_risk", "suspended"]


@dataclass(frozen=True, slots=True)
class StatusReason:
    """One metric that slipped, with what a seller needs to see why and where."""

    metric: str
    rate: float
    target: str
    numerator: int
    denominator: int
    suspends: bool
    order_ids: tuple[str, ...]
    recover: str | None = None  # held at risk: meets its target, not yet this recovery bar

    @property
    def text(self) -> str:
        """One line for a seller: ``order_defect_rate 1.67% (5 of 300) misses < 1%``."""
        figures = f"{self.metric} {self.rate * 100:.2f}% ({self.numerator} of {self.denominator})"
        if self.recover is not None:
            return f"{figures} meets {self.target} but not yet {self.recover}, the bar to recover"
        return f"{figures} misses {self.target}" + ("; suspends the account" if self.suspends else "")


@dataclass(frozen=True, slots=True)
class SellerStatus:
    """A seller's standing as of ``at`` and every reason for it (empty when good)."""

    seller_id: str
    at: datetime
    state: State
    reasons: tuple[StatusReason, ...]
    note: str | None = None  # held at risk with every metric within its bar: for how long

    @property
    def texts(self) -> list[str]:
        """The reasons as a seller reads them, and the note when there is one."""
        return [r.text for r in self.reasons] + ([self.note] if self.note else [])


STATES: tuple[State, State, State] = ("good", "at_risk", "suspended")


def slip(rule: MetricRule, numerator: int, denominator: int, policy: SellerPolicy) -> int:
    """What one metric does to a seller: 0 nothing, 1 it warns, 2 it suspends."""
    if denominator < policy.warning.min_count or rule.meets(numerator / denominator):
        return 0
    suspension = policy.suspension
    return 2 if rule.name == suspension.metric and denominator >= suspension.min_orders else 1


def assess(metrics: SellerMetrics, policy: SellerPolicy) -> SellerStatus:
    """Apply the status rules to one seller's metrics."""
    verdicts = [(value, slip(value.rule, value.numerator, value.denominator, policy))
                for value in metrics.values]
    reasons = tuple(_reason(value, verdict == 2) for value, verdict in verdicts if verdict)
    if any(r.suspends for r in reasons):
        state: State = "suspended"
    elif reasons:
        state = "at_risk"
    else:
        state = "good"
    return SellerStatus(metrics.seller_id, metrics.at, state, reasons)


def recovered(metrics: SellerMetrics, policy: SellerPolicy,
              forgiven: Mapping[str, Collection[str]] | None = None) -> bool:
    """Whether every metric is back within its recovery bar (``policy.recovery``).

    A metric on fewer items than a warning needs cannot slip, so it cannot hold a seller
    back either; nor can one whose every order against the seller a reinstatement forgave.
    """
    return not _unrecovered(metrics, policy, forgiven or {})


def hold(status: SellerStatus, metrics: SellerMetrics, policy: SellerPolicy,
         forgiven: Mapping[str, Collection[str]] | None = None) -> SellerStatus:
    """The status of a seller the platform holds at risk while the metrics alone say good:
    at risk, with each metric not yet within its recovery bar (or, when all are, a note on
    the days it takes). A status the metrics already hold at risk or worse is unchanged."""
    if status.state != "good":
        return status
    reasons = tuple(replace(_reason(value, False), recover=value.rule.recovery_text(policy.recovery.allowance))
                    for value in _unrecovered(metrics, policy, forgiven or {}))
    days = policy.recovery.days
    note = None if reasons else (
        f"every metric is within its recovery bar: good again after {days} days in a row within them")
    return replace(status, state="at_risk", reasons=reasons, note=note)


def _unrecovered(metrics: SellerMetrics, policy: SellerPolicy,
                 forgiven: Mapping[str, Collection[str]]) -> list[MetricValue]:
    allowance, min_count = policy.recovery.allowance, policy.warning.min_count
    return [value for value in metrics.values
            if value.denominator >= min_count and not value.rule.recovered(value.rate, allowance)
            and not (value.order_ids and set(value.order_ids) <= set(forgiven.get(value.name, ())))]


def against(metrics: SellerMetrics) -> dict[str, list[str]]:
    """Per metric, the orders counting against the seller: what a reinstatement forgives."""
    return {value.name: list(value.order_ids) for value in metrics.values if value.order_ids}


def forgive(status: SellerStatus, forgiven: Mapping[str, Collection[str]]) -> SellerStatus:
    """The status once a reinstatement has forgiven the orders held against the seller then.

    A reason whose every order was forgiven no longer counts; a reason with one new order
    (a defect, a late shipment... recorded after the decision) counts with its full figures,
    as the marketplace would judge it. So a reinstated seller is ``good`` until something new
    goes wrong, and is then judged on the whole window again.
    """
    if not forgiven:
        return status
    kept = tuple(r for r in status.reasons
                 if not set(r.order_ids) <= set(forgiven.get(r.metric, ())))
    if len(kept) == len(status.reasons):
        return status
    if any(r.suspends for r in kept):
        state: State = "suspended"
    else:
        state = "at_risk" if kept else "good"
    return replace(status, state=state, reasons=kept)


def _reason(value: MetricValue, suspends: bool) -> StatusReason:
    rate = value.rate
    assert rate is not None  # a metric with no rate meets its target
    return StatusReason(
        metric=value.name,
        rate=rate,
        target=value.rule.target_text(),
        numerator=value.numerator,
        denominator=value.denominator,
        suspends=suspends,
        order_ids=value.order_ids,
    )


def contract_row(metrics: SellerMetrics, status: SellerStatus) -> dict[str, object]:
    """One element of ``ordercare sellers --json`` (CONTRACT §2); rates are fractions or null."""
    return {
        "seller_id": metrics.seller_id,
        "orders": metrics.orders,
        "order_defect_rate": metrics["order_defect_rate"].rate,
        "late_shipment_rate": metrics["late_shipment_rate"].rate,
        "cancel_rate": metrics["cancel_rate"].rate,
        "valid_tracking_rate": metrics["valid_tracking_rate"].rate,
        "status": status.state,
    }
