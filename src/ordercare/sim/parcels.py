"""How a parcel travels in the simulated world: when its sender ships it, and what the
carrier's scans say on the way (or do not say, when it is lost or stuck).

Healthy journeys scan at pick-up within hours, then at a sorting hub and the destination
depot, go out for delivery on the next delivery day (Monday to Saturday) and arrive the
same day: no healthy parcel is ever silent for a day before its first scan or three days
in transit. Faults are drawn from the sender's and the carrier's traits.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate

from ordercare.sim.clock import HOUR, MINUTE, business_day_at, next_day_at
from ordercare.sim.world import CarrierTraits

HUBS = ("Roissy", "Chilly-Mazarin", "Saint-Priest", "Lille-Lesquin", "Bordeaux-Mérignac",
        "Marseille-Vitrolles", "Toulouse-Fenouillet", "Nantes-Carquefou")
DELIVERY_DAYS = (0, 1, 2, 3, 4, 5)
WORK_DAYS = (0, 1, 2, 3, 4)
FC_DAYS = (0, 1, 2, 3, 4, 5)
SENDER_TZ = 120  # sellers and warehouses are in France


@dataclass
class Journey:
    """What a carrier did with a parcel: scans (µs, status, location) and the fault, if any."""

    scans: list[tuple[int, str, str]] = field(default_factory=list)
    fault: str | None = None          # "lost" | "late_scan" | "stalled" | "exception"
    fault_at: int | None = None       # lost/late_scan: handover; stalled: last scan; exception: scan
    delivered_at: int | None = None
    slow_days: int = 0


class Carriers:
    """Which carrier takes a parcel: by its share of the sellers' parcels, a Prime parcel by
    its share of the express ones (one draw of ``rng`` each)."""

    def __init__(self, carriers: Iterable[CarrierTraits]) -> None:
        cs = list(carriers)
        self._by_prime = {prime: (cs, list(accumulate(c.express if prime else c.share for c in cs)))
                          for prime in (False, True)}

    def pick(self, rng: random.Random, prime: bool) -> CarrierTraits:
        cs, cum = self._by_prime[prime]
        return cs[min(bisect(cum, rng.random() * cum[-1]), len(cum) - 1)]


def _u(rng: random.Random, lo_h: float, hi_h: float) -> int:
    return int(rng.uniform(lo_h, hi_h) * HOUR)


def ship_time_on_time(rng: random.Random, placed: int, ship_by: int, fc: bool) -> int:
    """A sender that keeps its promise ships on one of the working days up to the ship-by,
    usually the first one it can."""
    days = FC_DAYS if fc else WORK_DAYS
    open_h, close_h = (6.0, 21.0) if fc else (9.5, 18.0)
    candidates = []
    n = 0
    while True:
        t = business_day_at(placed, n, SENDER_TZ, rng.uniform(open_h, close_h), days)
        n += 1
        if t > ship_by - 30 * MINUTE:
            break
        if t > placed + (90 if fc else 120) * MINUTE:
            candidates.append(t)
    if not candidates:
        return max(placed + 40 * MINUTE, ship_by - _u(rng, 1, 3))
    i = 0
    while i < len(candidates) - 1 and rng.random() > (0.85 if fc else 0.5):
        i += 1
    return candidates[i]


def ship_time_late(rng: random.Random, ship_by: int, fc: bool) -> int:
    """Shipped one to four working days after the ship-by (mostly the next day)."""
    k = rng.choices((0, 1, 2, 3), (0.6, 0.28, 0.08, 0.04))[0]
    return business_day_at(ship_by + MINUTE, k, SENDER_TZ, rng.uniform(9.5, 18.0),
                           FC_DAYS if fc else WORK_DAYS)


def handover_after_fake_label(rng: random.Random, labelled: int) -> int:
    """A seller who prints the label (``shipment.shipped``) and hands the parcel over one to
    four working days later."""
    t = next_day_at(labelled + 30 * HOUR, SENDER_TZ, rng.uniform(9.5, 18.0), WORK_DAYS)
    for _ in range(rng.choice((0, 0, 1, 2))):
        t = next_day_at(t, SENDER_TZ, rng.uniform(9.5, 18.0), WORK_DAYS)
    return t


def relay_pickup(rng: random.Random, dropped: int) -> int:
    """A parcel left at a relay point waits for the carrier's next collection round (late
    morning, Monday to Saturday): dropped the evening before a public holiday, it is first
    scanned a day and a half later."""
    return next_day_at(dropped, SENDER_TZ, rng.uniform(10.0, 12.5), FC_DAYS)


def choose_fault(rng: random.Random, c: CarrierTraits) -> str | None:
    u = rng.random()
    for fault, rate in (("lost", c.lost), ("late_scan", c.late_scan), ("stalled", c.stall),
                        ("exception", c.exception)):
        if u < rate:
            return fault
        u -= rate
    return None


def travel(rng: random.Random, c: CarrierTraits, handed: int, origin: str, depot: str,
           dest_tz: int, region_extra: float, express: bool = False, relay: bool = False) -> Journey:
    """The carrier's side of one parcel handed over at ``handed`` (``express``: a Prime
    parcel, trunked overnight: no extra sort for rural areas, rarely a missed one)."""
    j = Journey(fault=choose_fault(rng, c))
    if j.fault == "lost":
        j.fault_at = handed
        return j
    if j.fault == "late_scan":
        first = handed + _u(rng, 30, 72)
    elif relay:
        first = relay_pickup(rng, handed)
    else:
        first = handed + _u(rng, 0.5, 8)
    if j.fault == "late_scan":
        j.fault_at = handed
    scans = [(first, "accepted", origin)]
    t = first + _u(rng, 3, 10)
    scans.append((t, "in_transit", rng.choice(HUBS)))
    extra = int(region_extra) + (not express and rng.random() < region_extra % 1)
    if rng.random() < (c.slow / 4 if express else c.slow):
        j.slow_days = 1 + (rng.random() < 0.3)
    for _ in range(extra + j.slow_days):
        t += _u(rng, 20, 28)
        scans.append((t, "in_transit", rng.choice(HUBS)))
    t += _u(rng, 4, 8) if express else _u(rng, 6, 16)
    scans.append((t, "in_transit", depot))
    if j.fault == "stalled":
        # Silent for three to eight days after one of the transit scans; a third never move again.
        at = rng.randrange(1, len(scans))
        silence = _u(rng, 80, 200)
        j.fault_at = scans[at - 1][0]
        if rng.random() < 0.3:
            j.scans = scans[:at]
            return j
        scans = scans[:at] + [(s + silence, st, loc) for s, st, loc in scans[at:]]
        t = scans[-1][0]
    ofd = next_day_at(t, dest_tz, rng.uniform(7.0, 9.5), DELIVERY_DAYS)
    scans.append((ofd, "out_for_delivery", depot))
    drop = ofd + _u(rng, 1, 10)
    if j.fault == "exception":
        scans.append((drop, "exception", depot))
        j.fault_at = drop
        if rng.random() < 0.35:
            back = drop + _u(rng, 48, 120)
            scans.append((back, "returned", depot))
            j.scans = scans
            return j
        ofd = next_day_at(drop, dest_tz, rng.uniform(7.0, 9.5), DELIVERY_DAYS)
        if rng.random() < 0.4:
            ofd = next_day_at(ofd + HOUR, dest_tz, rng.uniform(7.0, 9.5), DELIVERY_DAYS)
        scans.append((ofd, "out_for_delivery", depot))
        drop = ofd + _u(rng, 1, 10)
    scans.append((drop, "delivered", depot))
    j.delivered_at = drop
    j.scans = scans
    return j

