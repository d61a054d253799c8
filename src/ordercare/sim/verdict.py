"""The ground truth of one order's delivery: the faults its parcels met, what only the
customer sees inside the box, and the one delivery problem ordercare is expected to file
(named by the first fault), with when the customer would notice it on their own."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ordercare.sim.clock import HOUR
from ordercare.sim.truth import OrderFacts, Problem
from ordercare.sim.world import Customer


@dataclass
class Fault:
    broken_at: int
    kind: str
    cause: tuple[str, str]
    line_ids: list[str]
    until: int | None  # when the condition ended (shipped, scanned, moving again); None: never
    carrier: str | None = None
    tracking: str | None = None


def inside_the_box(rng: random.Random, facts: OrderFacts, source: tuple[str, str], group: list[dict[str, Any]],
                   delivered: int, prof: dict[str, float], carrier: str) -> None:
    """Problems only the customer sees when they open the parcel."""
    h = HOUR
    first = group[0]
    new: list[Problem] = []
    if rng.random() < prof["wrong_item"]:
        new.append(Problem(facts.order_id, facts.customer_id, "wrong_item", delivered, source,
                           [first["line_id"]], notice_at=delivered + int(rng.uniform(1, 30) * h)))
    for ln in group:
        k = ln["sku"]
        if k.defect and rng.random() < k.defect_rate:
            wait = rng.uniform(6, 120) if k.defect == "damaged" else rng.uniform(1, 48)
            new.append(Problem(facts.order_id, facts.customer_id, k.defect, delivered, ("sku", k.sku),
                               [ln["line_id"]], notice_at=delivered + int(wait * h)))
    if rng.random() < 0.003:
        new.append(Problem(facts.order_id, facts.customer_id, "damaged", delivered, ("carrier", carrier),
                           [first["line_id"]], notice_at=delivered + int(rng.uniform(0.5, 12) * h)))
    for p in new:
        lid = p.line_ids[0]
        p.title = next(ln["sku"].title for ln in group if ln["line_id"] == lid)
        p.amount = next(ln["amount"] for ln in group if ln["line_id"] == lid)
    facts.problems.extend(new)


def judge(rng: random.Random, end: int, facts: OrderFacts, cust: Customer, faults: list[Fault],
          arrivals: dict[str, int | None]) -> None:
    """The order's delivery trouble, if any: one per order, named by its first fault."""
    due = facts.deliver_by
    faults = [f for f in faults if f.broken_at <= end]
    delivered_any = any(t is not None for t in arrivals.values())
    for f in faults:
        if f.kind == "never_shipped" and delivered_any:
            f.kind = "partial"
    late = sorted(lid for lid, t in arrivals.items() if due <= end and (t is None or t > due))
    if not faults and not late:
        return
    if faults:
        first = min(faults, key=lambda f: f.broken_at)
        kind, broken, cause = first.kind, first.broken_at, first.cause
        carrier, tracking = first.carrier, first.tracking
    else:
        late_parcels = [p for p in facts.parcels if set(p.line_ids) & set(late)]
        p = late_parcels[0]
        kind, broken, cause = "late_delivery", due, ("carrier", p.carrier or "")
        carrier, tracking = p.carrier, p.tracking
    lines = sorted({lid for f in faults for lid in f.line_ids} | set(late))
    arrived = [arrivals.get(lid) for lid in lines]
    settled = None if any(t is None for t in arrived) else max(t for t in arrived if t is not None)

    def pending(t: int) -> bool:
        return settled is None or settled > t

    seen: list[int] = []
    if late:
        t = due + int(rng.uniform(2, 30) * cust.patience * HOUR)
        if pending(t):
            seen.append(t)
    for f in faults:
        watch = {"late_shipment": (24, 60), "never_shipped": (24, 60), "partial": (24, 60),
                 "no_scan": (36, 72), "stalled": (48, 96)}.get(f.kind)
        if f.kind == "carrier_exception" and (cust.watcher or rng.random() < 0.4):
            seen.append(f.broken_at + int(rng.uniform(1, 12) * HOUR))
        elif watch and cust.watcher:
            t = f.broken_at + int(rng.uniform(*watch) * HOUR)
            if (f.until is None or f.until > t) and pending(t):
                seen.append(t)
    kinds = list(dict.fromkeys([f.kind for f in sorted(faults, key=lambda f: f.broken_at)]
                               + (["late_delivery"] if late else [])))
    amount = round(sum(facts.line_amounts.get(lid, 0.0) for lid in lines), 2)
    facts.problems.append(Problem(
        facts.order_id, facts.customer_id, kind, broken, cause, lines, notice_at=min(seen) if seen else None,
        settled_at=settled, amount=amount, also=[k for k in kinds if k != kind],
        title=_title(facts, lines), carrier=carrier, tracking=tracking))

def _title(facts: OrderFacts, lines: list[str]) -> str:
    idx = int(lines[0][1:]) - 1 if lines else 0
    return facts.titles[idx] if 0 <= idx < len(facts.titles) else facts.titles[0]
