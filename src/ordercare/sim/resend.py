"""The world answers ordercare's requests to send lines again.

When the desk promises a replacement, ordercare asks whoever fulfils the line (our warehouse,
or the seller) to send it (``ordercare requests``). In the demo's world the warehouse and each
seller read the open requests once a day, after the day's events, and send each one as they
send anything: on time most of the time, late or never as often as their own profile says
(an unresponsive seller ignores one request in nine). Each parcel then travels like any other
(``sim/parcels.py``): it may stall, be lost, be late.

What the world did is kept (``Resent``) so that the scorecard can judge ordercare's chase:
every replacement sent late or never is a broken promise the watch must catch at its ship-by;
one sent on time must raise nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ordercare.sim import parcels as pp
from ordercare.sim.clock import HOUR, MINUTE, from_iso
from ordercare.sim.marketplace import SimWorld
from ordercare.sim.world import FC_PROFILE, REGIONS, SELLER_PROFILES


@dataclass
class Resent:
    """One request and what its sender did with it."""

    request_id: str
    order_id: str
    line_ids: list[str]
    to: str
    requested_at: int
    seen_at: int
    ship_by: int
    fate: str  # "on_time" | "late" | "never"
    shipment_id: str | None = None
    shipped_at: int | None = None
    delivered_at: int | None = None
    fault: str | None = None  # what the carrier did wrong with its parcel, if anything (parcels.py)


class Senders:
    """The warehouse and the sellers, answering requests in the world's own random stream."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self.rng = random.Random(world.seed * 7_919 + 1)
        self.customers = {c.customer_id: c for c in world.market.customers}
        self.orders = {o.order_id: o for o in world.orders}
        self.fc_of = {k.sku: k.fc_id for k in world.market.skus}
        self.carriers = pp.Carriers(world.market.carriers.values())
        self.done: dict[str, Resent] = {}

    def answer(self, requests: list[dict[str, Any]], seen_at: int) -> list[tuple[int, str, dict[str, Any], int]]:
        """The events of the parcels sent for ``requests`` not answered yet, read at ``seen_at``
        (every event later than it)."""
        events: list[tuple[int, str, dict[str, Any], int]] = []
        for rq in requests:
            if rq["id"] in self.done or rq["status"] not in ("open", "overdue"):
                continue
            self.done[rq["id"]] = self._send(rq, seen_at, events)
        return events

    def _send(self, rq: dict[str, Any], seen_at: int, events: list[tuple[int, str, dict[str, Any], int]]) -> Resent:
        rng = self.rng
        facts = self.orders[rq["order_id"]]
        cust = self.customers[facts.customer_id]
        fc_id = self.fc_of.get(rq["lines"][0]["sku"]) if rq["to"] == "platform" else None
        fc = fc_id is not None
        prof = FC_PROFILE if fc else SELLER_PROFILES[self.world.market.sellers[rq["to"]].profile]
        u = rng.random()
        never = prof["never"] + prof["cancel"]
        fate = "never" if u < never else "late" if u < never + prof["late"] else "on_time"
        line_ids = [ln["line_id"] for ln in rq["lines"]]
        done = Resent(rq["id"], rq["order_id"], line_ids, rq["to"], from_iso(rq["requested_at"]), seen_at,
                      from_iso(rq["ship_by"]), fate)
        if fate == "never":
            return done
        if fate == "late":
            ship = max(pp.ship_time_late(rng, done.ship_by, fc), seen_at + HOUR)
        else:
            ship = pp.ship_time_on_time(rng, seen_at, done.ship_by, fc)
        ship = max(ship, seen_at + 40 * MINUTE)
        created = max(seen_at + 10 * MINUTE, ship - int(rng.uniform(1, 8) * HOUR))
        sid = f"sh-{rq['id']}"
        seller = rq["lines"][0]["seller_id"]
        tz = cust.tz_min
        events.append((created, "shipment.created", {"shipment_id": sid, "order_id": rq["order_id"],
                                                      "seller_id": seller, "line_ids": line_ids}, tz))
        carrier = self.carriers.pick(rng, facts.prime)
        tracking = f"{carrier.prefix}{rng.randrange(10**9, 10**10)}FR"
        events.append((ship, "shipment.shipped", {"shipment_id": sid, "carrier": carrier.carrier_id,
                                                   "tracking": tracking}, tz))
        origin = self.world.market.fcs[fc_id].name if fc_id else "Agence départ"
        j = pp.travel(rng, carrier, ship, origin, f"Dépôt {cust.address['city']}", cust.tz_min,
                      REGIONS[cust.region][3], express=facts.prime)
        for at, status, loc in j.scans:
            events.append((at, "carrier.scan", {"tracking": tracking, "status": status, "location": loc}, tz))
        done.shipment_id, done.shipped_at, done.delivered_at, done.fault = sid, ship, j.delivered_at, j.fault
        return done

