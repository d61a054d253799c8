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
from ordercare.sim.clock import DAY, HOUR, MINUTE, START_US, hour_of_day, is_open_day, iso, local_dt, next_day_at
from ordercare.sim.stockroom import PICK_HOURS, SUPPLIER_WARNS_DAYS, Placement, supplier_warns
from ordercare.sim.truth import OrderFacts, ParcelFacts, Problem
from ordercare.sim.verdict import Fault, inside_the_box, judge
from ordercare.sim.world import FC_BACKLOG_LATE, FC_PROFILE, REGIONS, SELLER_PROFILES, Customer, Market, Sku

_HOURLY = (1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.6, 2.8, 3.0, 3.2, 3.0, 2.8, 2.8, 2.9, 3.1,
           3.5, 4.0, 4.4, 4.2, 3.2, 1.9)
_WEEKDAY = (1.1, 1.0, 1.0, 1.0, 0.9, 0.85, 1.15)
RELAY_SHARE = 0.10  # of seller parcels dropped at a relay point rather than picked up
# The warehouse's boxes: (most content g, most items, empty weight g, relative spread).
PACKAGING = ((400, 2, 25, 0.04), (2000, 6, 150, 0.03), (8000, 20, 350, 0.03), (10**9, 10**9, 800, 0.03))


@dataclass
class Head:
    """An order as placed (the first half of its story): who, when, what, promised when."""

    n: int
    facts: OrderFacts
    cust: Customer
    lines: list[dict[str, Any]]
    cancelled_at: int | None = None

    def placement(self) -> Placement | None:
        """Its lines of SKUs replenished during the horizon, for the stockroom."""
        managed = [(ln["line_id"], ln["sku"], ln["qty"], ln["ship_by"]) for ln in self.lines if ln["sku"].managed]
        if not managed:
            return None
        placed = self.facts.placed_at - self.facts.placed_at % 1_000_000  # as the event says it
        return Placement(self.facts.order_id, placed, managed, self.cancelled_at)


Waits = dict[tuple[str, str], int | None]  # (order, line) short at its order -> stock reserved at


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
        self._hot = market.hot_skus
        self._cust_cum = list(accumulate(rng.lognormvariate(0, 0.8) for _ in market.customers))
        day_w = []
        for d in range(int(place_days) + 1):
            share = min(1.0, place_days - d)
            sale = 1.8 if int(place_days * 0.62) <= d < int(place_days * 0.62) + 3 else 1.0
            day_w.append(share * _WEEKDAY[d % 7] * sale * (1 + 0.004 * d))
        self._day_cum = list(accumulate(day_w))
        self._hour_cum = list(accumulate(_HOURLY))
        self._promise = lru_cache(maxsize=4096)(self._promise_uncached)
        self._carriers = pp.Carriers(market.carriers.values())

    # ---- helpers ---------------------------------------------------------------------

    def emit(self, at: int, type_: str, data: dict[str, Any]) -> None:
        self.events.append((at - at % 1_000_000, type_, data, self.tz))
        self.owners.append(self.oid)

    def _pick(self, cum: list[float]) -> int:
        return min(bisect(cum, self.rng.random() * cum[-1]), len(cum) - 1)

    def _pick_sku(self, at: int) -> Sku:
        """A SKU by its share of sales, hot items by their share at that instant (a craze
        takes the basket from the rest of the catalogue)."""
        base = self._sku_cum[-1]
        extra = [k.weight * (k.spike.multiplier(at) - 1.0) for k in self._hot if k.spike is not None]
        x = self.rng.random() * (base + sum(extra))
        if x < base:
            return self.market.skus[min(bisect(self._sku_cum, x), len(self._sku_cum) - 1)]
        x -= base
        for k, w in zip(self._hot, extra, strict=True):
            if x < w:
                return k
            x -= w
        return self._hot[-1]

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
        for sup in m.suppliers.values():
            self.emit(at, "supplier.registered", {"supplier_id": sup.supplier_id, "name": sup.name,
                                                  "lat": sup.lat, "lon": sup.lon, "ready_from": sup.ready_from,
                                                  "ready_until": sup.ready_until,
                                                  "dock_minutes": sup.dock_minutes})
        for k in m.skus:
            sku: dict[str, Any] = {"sku": k.sku, "title": k.title, "weight_g": k.weight_g,
                                   "seller_id": k.seller_id, "prime_eligible": k.fc_id is not None}
            if k.managed:
                sku.update(supplier_id=k.supplier_id, lead_time_days=k.lead_time_days)
            self.emit(at, "sku.registered", sku)
        for c in m.customers:
            data: dict[str, Any] = {"customer_id": c.customer_id, "email": f"{c.customer_id}@example.com",
                                    "lang": c.lang, "name": c.name, "notify": c.notify}
            if c.phone:
                data["phone"] = c.phone
            if c.prime:
                data["prime_until"] = "2027-03-31"
            self.emit(at, "customer.registered", data)

    # ---- one order ---------------------------------------------------------------------

    def head(self, n: int) -> Head:
        """The order as placed, paid, and perhaps cancelled at once by a customer who changed
        their mind; what happens to its parcels waits for the stockroom (``rest``)."""
        rng, m = self.rng, self.market
        cust = m.customers[self._pick(self._cust_cum)]
        self.tz = cust.tz_min
        placed = self._placed_at(cust.tz_min)
        count = rng.choices((1, 2, 3, 4), (0.72, 0.2, 0.06, 0.02))[0]
        skus: list[Sku] = []
        while len(skus) < count:
            sku = self._pick_sku(placed)
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
        head = Head(n, facts, cust, lines)
        if rng.random() < 0.008:  # the customer changes their mind: no problem at all
            head.cancelled_at = placed + int(rng.uniform(0.2, 5) * HOUR)
            head.cancelled_at -= head.cancelled_at % 1_000_000
            self.emit(head.cancelled_at, "order.cancelled",
                      {"order_id": oid, "by": "customer", "reason": "changed_mind"})
            facts.cancelled_by_customer = True
            return head
        if rng.random() < 0.003:
            facts.problems.append(Problem(oid, cust.customer_id, "wrong_address", placed,
                                          ("customer", cust.customer_id),
                                          [ln["line_id"] for ln in lines],
                                          notice_at=placed + int(rng.uniform(0.3, 20) * HOUR),
                                          title=skus[0].title))
        return head

    def rest(self, head: Head, waits: Waits) -> OrderFacts:
        """The rest of the story: parcels, carriers, faults and the truth. A parcel of the
        warehouse cannot leave before the receipt that serves its lines (``waits``)."""
        facts, cust = head.facts, head.cust
        short = [ln for ln in head.lines if (facts.order_id, ln["line_id"]) in waits]
        if short:
            facts.problems.append(self._stockout(facts, short, waits))
        if head.cancelled_at is not None:
            return facts
        self.tz, self.oid = cust.tz_min, facts.order_id
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for ln in head.lines:
            k = ln["sku"]
            groups.setdefault(("fc", k.fc_id) if k.fc_id else ("seller", k.seller_id), []).append(ln)
        faults: list[Fault] = []
        arrivals: dict[str, int | None] = {}
        for j, (source, group) in enumerate(groups.items(), 1):
            ready: int | None = facts.placed_at
            for ln in group:
                key = (facts.order_id, ln["line_id"])
                if key in waits:
                    got = waits[key]
                    ready = None if got is None or ready is None else max(ready, got)
            self._parcel(facts, cust, f"sh-{100000 + head.n}-{j}", source, group, faults, arrivals, ready)
        judge(self.rng, self.end, facts, cust, faults, arrivals)
        return facts

    @staticmethod
    def _stockout(facts: OrderFacts, short: list[dict[str, Any]], waits: Waits) -> Problem:
        """Lines no stock could serve at the order: the platform knows at once. The customer
        cannot see stock levels: they only notice the parcel late, a delivery problem."""
        got = [waits[(facts.order_id, ln["line_id"])] for ln in short]
        settled = None if any(t is None for t in got) else max(t for t in got if t is not None)
        return Problem(facts.order_id, facts.customer_id, "stockout", facts.placed_at,
                       ("sku", short[0]["sku"].sku), [ln["line_id"] for ln in short], notice_at=None,
                       settled_at=settled, amount=round(sum(ln["amount"] for ln in short), 2),
                       title=short[0]["sku"].title)

    def _profile(self, source: tuple[str, str], placed: int) -> dict[str, float]:
        if source[0] == "seller":
            return SELLER_PROFILES[self.market.sellers[source[1]].profile]
        backlog = self.market.fcs[source[1]].backlog
        if backlog and backlog[0] <= placed < backlog[1]:
            return {**FC_PROFILE, "late": FC_BACKLOG_LATE}
        return FC_PROFILE

    def _parcel(self, facts: OrderFacts, cust: Customer, sid: str, source: tuple[str, str],
                group: list[dict[str, Any]], faults: list[Fault], arrivals: dict[str, int | None],
                ready: int | None) -> None:
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
        short_sku = next((ln["sku"].sku for ln in group if ln["sku"].managed), "")
        if ready is None:  # the stock it waits for never came within the horizon
            faults.append(Fault(ship_by, "never_shipped", ("sku", short_sku), line_ids, None))
            return
        if fate == "never":
            if fc:  # picked and packed, then forgotten at the dock
                t = ready + int(rng.uniform(1, 4) * HOUR)
                self._prepare(facts.order_id, sid, source, line_ids, group, t, t + int(rng.uniform(0.5, 3) * HOUR))
            faults.append(Fault(ship_by, "never_shipped", source, line_ids, None))
            return
        stock_late = ready > placed and ready + PICK_HOURS * HOUR > ship_by
        if fate == "late":
            ship = max(pp.ship_time_late(rng, ship_by, fc), self._after_stock(ready) if ready > placed else 0)
        elif stock_late:
            ship = self._after_stock(ready)
        else:
            ship = pp.ship_time_on_time(rng, ready, ship_by, fc)
        created = max(ready + 10 * MINUTE, ship - int(rng.uniform(1, 8) * HOUR))
        self._prepare(facts.order_id, sid, source, line_ids, group, created,
                      max(created + 5 * MINUTE, ship - int(rng.uniform(0.3, 2) * HOUR)))
        carrier = self._carrier(facts.prime)
        tracking = f"{carrier.prefix}{rng.randrange(10**9, 10**10)}FR"
        self.emit(ship, "shipment.shipped", {"shipment_id": sid, "carrier": carrier.carrier_id,
                                              "tracking": tracking})
        parcel.carrier, parcel.tracking, parcel.shipped_at = carrier.carrier_id, tracking, ship
        if stock_late:
            faults.append(Fault(ship_by, "late_shipment", ("sku", short_sku), line_ids, ship))
        elif fate == "late":
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
            inside_the_box(self.rng, facts, source, group, j.delivered_at, prof, carrier.carrier_id)

    def _after_stock(self, ready: int) -> int:
        """When a parcel waiting for stock leaves: picked and packed some hours after the
        receipt, in the warehouse's opening hours (6:00-21:00, Monday to Saturday)."""
        t = ready + int(self.rng.uniform(PICK_HOURS, PICK_HOURS + 3) * HOUR)
        if not (6.0 <= hour_of_day(t, pp.SENDER_TZ) < 21.0) or not is_open_day(t, pp.SENDER_TZ, pp.FC_DAYS):
            t = next_day_at(t, pp.SENDER_TZ, self.rng.uniform(7.0, 12.0), pp.FC_DAYS)
        return t

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

    def stock(self, heads: list[Head], initial: dict[str, int],
              receipts: list[tuple[int, str, str, str, int, str]], purchases: list[dict[str, Any]]) -> None:
        """The season's stock, received before the horizon: enough for every platform line
        with a margin for the SKUs nobody reorders during it, ``initial`` for those the
        buyer replenishes; then the buyer's purchase orders and their receipts (``receipts``: at,
        fc, sku, seller, qty, po_id)."""
        demand: dict[tuple[str, str, str], int] = {}
        for h in heads:
            for ln in h.lines:
                k = ln["sku"]
                if k.fc_id:
                    key = (k.fc_id, k.sku, k.seller_id)
                    demand[key] = demand.get(key, 0) + 2
        by_sku = {k.sku: k for k in self.market.skus}
        self.tz, self.oid = 120, None
        for (fc, sku, seller), qty in sorted(demand.items()):
            units = initial[sku] if by_sku[sku].managed else int(qty * 1.3) + 3
            self.emit(START_US - 7 * DAY, "inventory.received",
                      {"fc_id": fc, "sku": sku, "qty": units, "seller_id": seller})
        for po in purchases:  # the buyer's purchase orders: on order until their receipt
            self.emit(po["at"], "purchase_order.placed",
                      {"po_id": po["po_id"], "supplier_id": po["supplier_id"], "fc_id": po["fc_id"],
                       "lines": [{"sku": po["sku"], "qty": po["qty"]}],
                       "expected_at": iso(po["expected"], self.tz)})
            if po["arrives"] > po["expected"] and supplier_warns(po["po_id"]):
                self.emit(max(po["at"], po["expected"] - SUPPLIER_WARNS_DAYS * DAY), "purchase_order.updated",
                          {"po_id": po["po_id"], "expected_at": iso(po["arrives"], self.tz),
                           "reason": "supplier delay"})
        for at, fc, sku, seller, qty, po_id in receipts:
            self.emit(at, "inventory.received",
                      {"fc_id": fc, "sku": sku, "qty": qty, "seller_id": seller, "po_id": po_id})

    def _carrier(self, prime: bool) -> Any:
        return self._carriers.pick(self.rng, prime)
