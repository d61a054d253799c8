"""Early warning, "trending late": transit times learned per carrier and lane tell, at
each scan (and every few hours of silence after it), how likely the parcel is to miss its
deliver-by, before the promise breaks.

The model is the empirical distribution of the time from each carrier status (or from the
hand-over) to delivery, per carrier and destination lane (country and département), with
the carrier's all-lane distribution as a fallback when a lane has few parcels. Given the
time already spent since the last scan, the chance of being late is the share of past
parcels that, having waited that long, still arrived after the deadline.

``evaluate`` measures it honestly on the store: each week's parcels are judged by a model
trained only on the deliveries completed before that week began.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from ordercare.domain.order import HOUR_US, Order
from ordercare.insights.causes import read_orders

WEEK_US = 7 * 24 * HOUR_US
MIN_SAMPLES = 30
THRESHOLD = 0.7     # warn when at least this share of similar past parcels arrived late
STEP_HOURS = 12     # look again after this much silence since the last scan


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


def lane_of(order: Order) -> str:
    addr = order.address or {}
    country = addr.get("country") or "?"
    return f"{country}-{(addr.get('postcode') or '')[:2]}" if country == "FR" else country


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
            steps = [(s.shipped_us, "shipped")] + [(sc.at_us, sc.status) for sc in s.scans
                                                    if sc.status != "delivered"]
            out.append(Parcel(s.carrier, lane_of(o), s.shipped_us, o.deliver_by_us, steps, s.delivered_us,
                              opened))
    return out


@dataclass
class TransitModel:
    """Sorted remaining times to delivery by (carrier, lane, status) and (carrier, status)."""

    samples: dict[tuple[str, ...], list[int]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def fit(cls, parcels: list[Parcel]) -> TransitModel:
        m = cls()
        for p in parcels:
            if p.delivered_us is None:
                continue
            for at, status in p.steps:
                left = p.delivered_us - at
                m.samples[(p.carrier, p.lane, status)].append(left)
                m.samples[(p.carrier, status)].append(left)
        for xs in m.samples.values():
            xs.sort()
        return m

    def p_late(self, p: Parcel, status: str, scan_us: int, now_us: int) -> float | None:
        """Chance the parcel misses its deliver-by, seen at ``now`` with its last step
        ``status`` at ``scan_us``; ``None`` when nothing similar has been seen yet."""
        xs = self.samples.get((p.carrier, p.lane, status), [])
        if len(xs) < MIN_SAMPLES:
            xs = self.samples.get((p.carrier, status), [])
        if len(xs) < MIN_SAMPLES:
            return None
        waited = now_us - scan_us
        alive = len(xs) - bisect_right(xs, waited)      # past parcels still on the way after as long
        if alive == 0:
            return 1.0  # longer than any parcel ever took from here: it is late, or lost
        late = len(xs) - bisect_right(xs, max(waited, p.deliver_by_us - scan_us))
        return late / alive


def first_warning(model: TransitModel, p: Parcel, threshold: float = THRESHOLD,
                  step_us: int = STEP_HOURS * HOUR_US) -> int | None:
    """The first moment before the deliver-by the model would have said "trending late"."""
    steps = p.steps
    for i, (at, status) in enumerate(steps):
        until = steps[i + 1][0] if i + 1 < len(steps) else (p.delivered_us or p.deliver_by_us)
        until = min(until, p.deliver_by_us)
        now = at
        while now < until:
            chance = model.p_late(p, status, at, now)
            if chance is not None and chance >= threshold:
                return now
            now += step_us
    return None


def evaluate(db: Engine, start_us: int, end_us: int, threshold: float = THRESHOLD,
             orders: dict[str, Order] | None = None) -> dict[str, Any]:
    """Precision, recall and hours of lead of the warning, week by week on the store.

    ``unseen_*`` is about the late parcels ordercare's detectors only caught at the
    deliver-by or after (no delivery case before it): where a warning adds something."""
    orders = read_orders(db) if orders is None else orders
    parcels = [p for p in parcels_of(orders) if p.shipped_us < p.deliver_by_us <= end_us]
    parcels.sort(key=lambda p: p.shipped_us)
    delivered = sorted((p for p in parcels if p.delivered_us is not None), key=lambda p: p.delivered_us or 0)
    judged = warned = true_warned = late_total = unseen = unseen_warned = 0
    leads: list[float] = []
    unseen_leads: list[float] = []
    week, lo = start_us + WEEK_US, 0
    while week < end_us:
        done = bisect_right([p.delivered_us or 0 for p in delivered], week - 1)
        model = TransitModel.fit(delivered[:done])
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
        "trained_on": "deliveries completed before each week (weekly refit)",
    }
