"""Early warning, "trending late", measured offline on a store.

The model and the decision are the engine's own (``ordercare.watch.transit``): transit times
learnt per carrier and lane from each status, the chance of missing the deliver-by read from
them, and the exact instant it reaches the threshold. Here they are replayed on the parcels
of a store to measure them honestly: each week's parcels are judged by a model that learnt
only from the deliveries completed before that week began (the engine itself learns from
every delivery as it happens; the demo's scorecard reports what it really said).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from ordercare.domain.order import HOUR_US, Order
from ordercare.insights.causes import read_orders
from ordercare.policy import load_policies
from ordercare.watch.transit import TransitModel, journey, lane_of

WEEK_US = 7 * 24 * HOUR_US
_SILENT = frozenset({"exception", "returned"})  # the carrier has spoken: no warning from there


@dataclass
class Parcel:
    carrier: str
    lane: str
    shipped_us: int
    deliver_by_us: int
    steps: list[tuple[int, str]]          # (at, status): the hand-over, then each scan
    delivered_us: int | None
    case_opened_us: int | None = None     # ordercare's first proactive delivery case on it

    @property
    def late(self) -> bool:
        return self.delivered_us is None or self.delivered_us > self.deliver_by_us


def parcels_of(orders: dict[str, Order]) -> list[Parcel]:
    out = []
    for o in orders.values():
        if o.deliver_by_us is None:
            continue
        opened = min((c.opened_us for c in o.cases if c.family == "delivery" and c.origin == "proactive"),
                     default=None)
        for s in o.shipments.values():
            if s.shipped_us is None or not s.carrier:
                continue
            out.append(Parcel(s.carrier, lane_of(o.address), s.shipped_us, o.deliver_by_us, journey(s),
                              s.delivered_us, opened))
    return out


def first_warning(model: TransitModel, p: Parcel, threshold: float) -> int | None:
    """The first moment before the deliver-by the engine's detector would have warned."""
    steps = p.steps
    for i, (at, status) in enumerate(steps):
        if status in _SILENT:
            continue
        until = steps[i + 1][0] if i + 1 < len(steps) else (p.delivered_us or p.deliver_by_us)
        when = model.warning_at(p.carrier, p.lane, status, at, p.deliver_by_us, threshold)
        if when is not None and when < min(until, p.deliver_by_us):
            return when
    return None


def evaluate(db: Engine, start_us: int, end_us: int, threshold: float | None = None,
             orders: dict[str, Order] | None = None) -> dict[str, Any]:
    """Precision, recall and hours of lead of the warning, week by week on the store.

    ``unseen_*`` is about the late parcels ordercare's detectors only caught at the
    deliver-by or after (no delivery case before it): where a warning adds something."""
    policy = load_policies().watch.trending_late
    threshold = policy.threshold if threshold is None else threshold
    orders = read_orders(db) if orders is None else orders
    parcels = [p for p in parcels_of(orders) if p.shipped_us < p.deliver_by_us <= end_us]
    parcels.sort(key=lambda p: p.shipped_us)
    delivered = sorted((p for p in parcels if p.delivered_us is not None), key=lambda p: p.delivered_us or 0)
    judged = warned = true_warned = late_total = unseen = unseen_warned = 0
    leads: list[float] = []
    unseen_leads: list[float] = []
    delivered_at = [p.delivered_us or 0 for p in delivered]
    model, learnt = TransitModel(policy.min_samples, policy.window), 0
    week = start_us + WEEK_US
    while week < end_us:
        done = bisect_right(delivered_at, week - 1)
        for p in delivered[learnt:done]:
            model.learn(p.carrier, p.lane, p.steps, p.delivered_us or 0)
        learnt = done
        lo = bisect_right([p.shipped_us for p in parcels], week - 1)
        hi = bisect_right([p.shipped_us for p in parcels], week + WEEK_US - 1)
        for p in parcels[lo:hi]:
            judged += 1
            late_total += p.late
            blind = p.late and (p.case_opened_us is None or p.case_opened_us >= p.deliver_by_us)
            unseen += blind
            at = first_warning(model, p, threshold)
            if at is None:
                continue
            warned += 1
            if p.late:
                true_warned += 1
                leads.append((p.deliver_by_us - at) / HOUR_US)
                if blind:
                    unseen_warned += 1
                    unseen_leads.append((p.deliver_by_us - at) / HOUR_US)
        week += WEEK_US
    leads.sort()
    unseen_leads.sort()
    return {
        "parcels": judged, "late": late_total, "warned": warned, "threshold": threshold,
        "precision": true_warned / warned if warned else None,
        "recall": true_warned / late_total if late_total else None,
        "lead_median_h": leads[len(leads) // 2] if leads else None,
        "lead_p90_h": leads[int(len(leads) * 0.9)] if leads else None,
        "unseen_late": unseen, "unseen_recall": unseen_warned / unseen if unseen else None,
        "unseen_lead_median_h": unseen_leads[len(unseen_leads) // 2] if unseen_leads else None,
        "trained_on": "deliveries completed before each week (the engine's model, updated weekly)",
    }
