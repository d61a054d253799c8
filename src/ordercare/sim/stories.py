"""One order's story in the simulated marketplace: what the customer bought, what each
sender and carrier did, the contract events that reach ordercare, and the ground truth.

The promise (ship-by, deliver-by) is the storefront's public one, computed with the same
promise policy ordercare applies (``policy/promise.yaml``): it is what the customer was
shown at checkout, so it is also what the world's faults are judged against.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from itertools import accumulate
from typing import Any

from ordercare.domain.promise import PromisePolicy, compute_promise
from ordercare.sim import parcels as pp
from ordercare.sim.clock import DAY, HOUR, MINUTE, START_US, local_dt
from ordercare.sim.truth import OrderFacts, ParcelFacts, Problem
from ordercare.sim.world import FC_BACKLOG_LATE, FC_PROFILE, REGIONS, SELLER_PROFILES, Customer, Market, Sku

_HOURLY = (1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.6, 2.8, 3.0, 3.2, 3.0, 2.8, 2.8, 2.9, 3.1,
           3.5, 4.0, 4.4, 4.2, 3.2, 1.9)
_WEEKDAY = (1.1, 1.0, 1.0, 1.0, 0.9, 0.85, 1.15)
RELAY_SHARE = 0.10  # of seller parcels dropped at a relay point rather than picked up
# The warehouse's boxes: (most content g, most items, empty weight g, relative spread).
PACKAGING = ((400, 2, 25, 0.04), (2000, 6, 150, 0.03), (8000, 20, 350, 0.03), (10**9, 10**9, 800, 0.03))


@dataclass
class Fault:
    broken_at: int
    kind: str
    cause: tuple[str, str]
    line_ids: list[str]
    until: int | None  # when the condition ended (shipped, scanned, moving again); None: never
    carrier: str | None = None
    tracking: str | None = None


class Storyteller:
    """Tells order stories one by one; collects their events and their ground truth."""

    def __init__(self, rng: random.Random, market: Market, policy: PromisePolicy, days: int,
                 place_days: float) -> None:
        self.rng, self.market, self.policy = rng, market, policy
        self.end = START_US + days * DAY
        self.events: list[tuple[int, str, dict[str, Any], int]] = []
        self.owners: list[str | None] = []  # the order each event is about (None: the parties, stock)
        self.tz = 120  # the offset events are written in: the customer's, for an order's events
        self.oid: str | None = None
        self._sku_cum = list(accumulate(k.weight for k in market.skus))
        self._cust_cum = list(accumulate(rng.lognormvariate(0, 0.8) for _ in market.customers))
        day_w = []
        for d in range(int(place_days) + 1):
            share = min(1.0, place_days - d)
            sale = 1.8 if int(place_days * 0.62) <= d < int(place_days * 0.62) + 3 else 1.0
            day_w.append(share * _WEEKDAY[d % 7] * sale * (1 + 0.004 * d))
        self._day_cum = list(accumulate(day_w))
        self._hour_cum = list(accumulate(_HOURLY))
        self._promise = lru_cache(maxsize=4096)(self._promise_uncached)
        cs = list(market.carriers.values())
        self._carriers = {prime: (cs, list(accumulate(c.express if prime else c.share for c in cs)))
                          for prime in (False, True)}

    # ---- helpers ---------------------------------------------------------------------

    def emit(self, at: int, type_: str, data: dict[str, Any]) -> None:
        self.events.append((at - at % 1_000_000, type_, data, self.tz))
        self.owners.append(self.oid)

    def _pick(self, cum: list[float]) -> int:
        return min(bisect(cum, self.rng.random() * cum[-1]), len(cum) - 1)

    def _placed_at(self, tz_min: int) -> int:
        day = self._pick(self._day_cum)
        hour = self._pick(self._hour_cum) + self.rng.random()
        return START_US + day * DAY + int(hour * HOUR) - tz_min * MINUTE

    def _promise_uncached(self, day: Any, after_cutoff: bool, tz_min: int, handling: int,
                          prime: bool) -> tuple[int, int]:
        # A promise depends only on the local day, the side of the cut-off, the offset, the
        # handling days and Prime: any instant with the same answers stands for the order.
        at = time(23, 59, 59) if after_cutoff else time(0, 0)
        return compute_promise(self.policy, datetime.combine(day, at, tzinfo=local_dt(0, tz_min).tzinfo),
                               handling, prime)

    def promise(self, placed: int, tz_min: int, handling: int, prime: bool) -> tuple[int, int]:
        dt = local_dt(placed, tz_min)
        after = dt.timetz().replace(tzinfo=None) > self.policy.cutoff
        return self._promise(dt.date(), after, tz_min, handling, prime)

    # ---- the parties -------------------------------------------------------------------

    def registrations(self) -> None:
        m, at = self.market, START_US - 30 * DAY
        for s in m.sellers.values():
            self.emit(at, "seller.registered", {"seller_id": s.seller_id, "name": s.name,
                                                "handling_days": s.handling_days})
        for f in m.fcs.values():
            self.emit(at, "fc.registered", {"fc_id": f.fc_id, "name": f.name, "lat": f.lat, "lon": f.lon})
        for k in m.skus:
            self.emit(at, "sku.registered", {"sku": k.sku, "title": k.title, "weight_g": k.weight_g,
                                             "seller_id": k.seller_id, "prime_eligible": k.fc_id is not None})
        for c in m.customers:
            data: dict[str, Any] = {"customer_id": c.customer_id, "email": f"{c.customer_id}@example.com",
                                    "lang": c.lang, "name": c.name, "notify": c.notify}
            if c.phone:
                data["phone"] = c.phone
            if c.prime:
                data["prime_until"] = "2027-03-31"
            self.emit(at, "customer.registered", data)

    # ---- one order ---------------------------------------------------------------------

    def order(self, n: int) -> OrderFacts:
        rng, m = self.rng, self.market
        cust = m.customers[self._pick(self._cust_cum)]
        self.tz = cust.tz_min
        placed = self._placed_at(cust.tz_min)
        count = rng.choices((1, 2, 3, 4), (0.72, 0.2, 0.06, 0.02))[0]
        skus: list[Sku] = []
        while len(skus) < count:
            sku = m.skus[self._pick(self._sku_cum)]
            if sku not in skus:
                skus.append(sku)
        prime = cust.prime and all(k.fc_id for k in skus)
        oid = self.oid = f"o-{100000 + n}"
        lines: list[dict[str, Any]] = []
        for i, k in enumerate(skus):
            handling = (self.policy.platform_handling_days if k.fc_id
                        else m.sellers[k.seller_id].handling_days)
            ship_by, deliver_by = self.promise(placed, cust.tz_min, handling, prime)
            qty = 1 if rng.random() < 0.88 else 2
            lines.append({"line_id": f"l{i + 1}", "sku": k, "qty": qty, "ship_by": ship_by,
                          "deliver_by": deliver_by, "amount": round(qty * k.price, 2)})
        total = round(sum(ln["amount"] for ln in lines), 2)
        facts = OrderFacts(oid, cust.customer_id, cust.lang, cust.tz_min, placed,
                           max(ln["deliver_by"] for ln in lines), total, prime,
                           skus=[k.sku for k in skus], sellers=sorted({k.seller_id for k in skus}),
                           titles=[k.title for k in skus],
                           line_amounts={ln["line_id"]: ln["amount"] for ln in lines})
        self.emit(placed, "order.placed", {
            "order_id": oid, "customer_id": cust.customer_id, "currency": "EUR", "prime": prime,
            "address": cust.address,
            "lines": [{"line_id": ln["line_id"], "sku": ln["sku"].sku, "seller_id": ln["sku"].seller_id,
                       "qty": ln["qty"], "unit_price": ln["sku"].price,
                       "fulfilled_by": "platform" if ln["sku"].fc_id else "seller"} for ln in lines]})
        self.emit(placed + int(rng.uniform(0.5, 5) * MINUTE), "payment.captured",
                  {"order_id": oid, "amount": total})
        if rng.random() < 0.008:  # the customer changes their mind: no problem at all
            self.emit(placed + int(rng.uniform(0.2, 5) * HOUR), "order.cancelled",
                      {"order_id": oid, "by": "customer", "reason": "changed_mind"})
            facts.cancelled_by_customer = True
            return facts
        if rng.random() < 0.003:
            facts.problems.append(Problem(oid, cust.customer_id, "wrong_address", placed,
                                          ("customer", cust.customer_id),
                                          [ln["line_id"] for ln in lines],
                                          notice_at=placed + int(rng.uniform(0.3, 20) * HOUR),
                                          title=skus[0].title))
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for ln in lines:
            k = ln["sku"]
            groups.setdefault(("fc", k.fc_id) if k.fc_id else ("seller", k.seller_id), []).append(ln)
        faults: list[Fault] = []
        arrivals: dict[str, int | None] = {}
        for j, (source, group) in enumerate(groups.items(), 1):
            self._parcel(facts, cust, f"sh-{100000 + n}-{j}", source, group, faults, arrivals)
        self._judge(facts, cust, faults, arrivals)
        return facts

    def _profile(self, source: tuple[str, str], placed: int) -> dict[str, float]:
        if source[0] == "seller":
            return SELLER_PROFILES[self.market.sellers[source[1]].profile]
        backlog = self.market.fcs[source[1]].backlog
        if backlog and backlog[0] <= placed < backlog[1]:
            return {**FC_PROFILE, "late": FC_BACKLOG_LATE}
        return FC_PROFILE

    def _parcel(self, facts: OrderFacts, cust: Customer, sid: str, source: tuple[str, str],
                group: list[dict[str, Any]], faults: list[Fault], arrivals: dict[str, int | None]) -> None:
        rng, placed = self.rng, facts.placed_at
        fc = source[0] == "fc"
        prof = self._profile(source, placed)
        ship_by = max(ln["ship_by"] for ln in group)
        line_ids = [ln["line_id"] for ln in group]
        u, fate = rng.random(), "ok"
        for f in ("cancel", "never", "late", "fake_label"):
            if u < prof[f]:
                fate = f
                break
            u -= prof[f]
        amount = round(sum(ln["amount"] for ln in group), 2)
        title = group[0]["sku"].title
        if fate == "cancel":
            t = placed + int(rng.uniform(2, max(3.0, min((ship_by - placed) / HOUR - 1, 40))) * HOUR)
            self.emit(t, "order.cancelled", {"order_id": facts.order_id, "by": "seller",
                                             "reason": "out_of_stock", "line_ids": line_ids})
            facts.problems.append(Problem(facts.order_id, facts.customer_id, "seller_cancellation", t, source,
                                          line_ids, notice_at=t + int(rng.uniform(0.2, 10) * HOUR),
                                          settled_at=None, amount=amount, title=title))
            return
        parcel = ParcelFacts(sid, source, line_ids, region=REGIONS[cust.region][0])
        facts.parcels.append(parcel)
        for lid in line_ids:
            arrivals[lid] = None
        if fate == "never":
            if fc:  # picked and packed, then forgotten at the dock
                t = placed + int(rng.uniform(1, 4) * HOUR)
                self._prepare(facts.order_id, sid, source, line_ids, group, t, t + int(rng.uniform(0.5, 3) * HOUR))
            faults.append(Fault(ship_by, "never_shipped", source, line_ids, None))
            return
        ship = (pp.ship_time_late(rng, ship_by, fc) if fate == "late"
                else pp.ship_time_on_time(rng, placed, ship_by, fc))
        created = max(placed + 10 * MINUTE, ship - int(rng.uniform(1, 8) * HOUR))
        self._prepare(facts.order_id, sid, source, line_ids, group, created,
                      max(created + 5 * MINUTE, ship - int(rng.uniform(0.3, 2) * HOUR)))
        carrier = self._carrier(facts.prime)
        tracking = f"{carrier.prefix}{rng.randrange(10**9, 10**10)}FR"
        self.emit(ship, "shipment.shipped", {"shipment_id": sid, "carrier": carrier.carrier_id,
                                              "tracking": tracking})
        parcel.carrier, parcel.tracking, parcel.shipped_at = carrier.carrier_id, tracking, ship
        if fate == "late":
            faults.append(Fault(ship_by, "late_shipment", source, line_ids, ship))
        handed = ship
        if fate == "fake_label":
            handed = pp.handover_after_fake_label(rng, ship)
        region = REGIONS[cust.region]
        origin = self.market.fcs[source[1]].name if fc else "Agence départ"
        # Some sellers drop parcels at a relay point: the first scan waits for the next
        # collection round (over a public holiday, more than a day: not a fault).
        relay = not fc and fate != "fake_label" and rng.random() < RELAY_SHARE
        j = pp.travel(rng, carrier, handed, origin, f"Dépôt {cust.address['city']}", cust.tz_min, region[3],
                      express=facts.prime, relay=relay)
        for at, status, loc in j.scans:
            self.emit(at, "carrier.scan", {"tracking": tracking, "status": status, "location": loc})
        first_scan = j.scans[0][0] if j.scans else None
        if fate == "fake_label":
            faults.append(Fault(ship, "no_scan", ("seller", source[1]), line_ids, first_scan,
                                carrier.carrier_id, tracking))
        cause = ("carrier", carrier.carrier_id)
        if j.fault in ("lost", "late_scan") and fate != "fake_label":
            faults.append(Fault(ship, "no_scan", cause, line_ids, first_scan, carrier.carrier_id, tracking))
        elif j.fault == "stalled" and j.fault_at is not None:
            later = [s for s, _, _ in j.scans if s > j.fault_at]
            faults.append(Fault(j.fault_at, "stalled", cause, line_ids, later[0] if later else None,
                                carrier.carrier_id, tracking))
        elif j.fault == "exception" and j.fault_at is not None:
            faults.append(Fault(j.fault_at, "carrier_exception", cause, line_ids, j.delivered_at,
                                carrier.carrier_id, tracking))
        parcel.delivered_at = j.delivered_at
        for lid in line_ids:
            arrivals[lid] = j.delivered_at
        if j.delivered_at is not None:
            self._inside_the_box(facts, source, group, j.delivered_at, prof, carrier.carrier_id)

    def _prepare(self, oid: str, sid: str, source: tuple[str, str], line_ids: list[str],
                 group: list[dict[str, Any]], created: int, packed: int) -> None:
        seller = group[0]["sku"].seller_id
        self.emit(created, "shipment.created", {"shipment_id": sid, "order_id": oid, "seller_id": seller,
                                                 "line_ids": line_ids})
        if source[0] == "fc":
            self.emit(packed, "shipment.packed", {"shipment_id": sid, "weight_g": self._weigh(group),
                                                  "fc_id": source[1],
                                                  "station": f"P-{self.rng.randint(1, 24):02d}"})

    def _weigh(self, group: list[dict[str, Any]]) -> float:
        """What the pack station's scale reads: the goods, the box the warehouse picks for
        them (its own packaging table), and a little noise."""
        content = sum(ln["sku"].weight_g * ln["qty"] for ln in group)
        items = sum(ln["qty"] for ln in group)
        box, cv = next((w, cv) for limit, most, w, cv in PACKAGING if content <= limit and items <= most)
        return round(content + box * (1 + self.rng.gauss(0, cv)) + self.rng.gauss(0, 3.0), 1)

    def stock(self, facts: list[OrderFacts]) -> None:
        """The warehouses are stocked before the horizon, enough for every platform line with
        a margin: stock-outs are not among the faults this world injects."""
        demand: dict[tuple[str, str, str], int] = {}
        by_sku = {k.sku: k for k in self.market.skus}
        for o in facts:
            for sku in o.skus:
                k = by_sku[sku]
                if k.fc_id:
                    key = (k.fc_id, k.sku, k.seller_id)
                    demand[key] = demand.get(key, 0) + 2
        self.tz, self.oid = 120, None
        for (fc, sku, seller), qty in sorted(demand.items()):
            self.emit(START_US - 7 * DAY, "inventory.received",
                      {"fc_id": fc, "sku": sku, "qty": int(qty * 1.3) + 3, "seller_id": seller})

    def _carrier(self, prime: bool) -> Any:
        cs, cum = self._carriers[prime]
        return cs[self._pick(cum)]

    def _inside_the_box(self, facts: OrderFacts, source: tuple[str, str], group: list[dict[str, Any]],
                        delivered: int, prof: dict[str, float], carrier: str) -> None:
        """Problems only the customer sees when they open the parcel."""
        rng, h = self.rng, HOUR
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

    # ---- ground truth of the delivery ----------------------------------------------------

    def _judge(self, facts: OrderFacts, cust: Customer, faults: list[Fault],
               arrivals: dict[str, int | None]) -> None:
        """The order's delivery trouble, if any: one per order, named by its first fault."""
        rng, end, due = self.rng, self.end, facts.deliver_by
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
            title=self._title(facts, lines), carrier=carrier, tracking=tracking))

    @staticmethod
    def _title(facts: OrderFacts, lines: list[str]) -> str:
        idx = int(lines[0][1:]) - 1 if lines else 0
        return facts.titles[idx] if 0 <= idx < len(facts.titles) else facts.titles[0]

