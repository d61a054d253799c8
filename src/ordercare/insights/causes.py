"""Problems by cause: which sellers, carriers, warehouses (FC) and products fail more than
their peers, as rates with Wilson confidence intervals, read from the store alone.

A case is attributed by what went wrong, line by line: not shipping by the ship-by to
whoever prepared the parcel (the seller, or the FC for platform-fulfilled lines), on the
lines that did not leave on time only; a parcel our pack check caught packed wrong to the
FC; a seller's cancellation, its silence to the buyer and product complaints (defective,
not as described, missing item) to the seller whose listing it is, wherever it was stored
(complaints to the product too); stock-outs to the product (and to the FC that packed the
line, if one did); a parcel without a
scan, stuck, in exception, or late (wholly or partly) although it left on time, to its
carrier. A customer contact on an order
that has no case is a problem only the customer saw: it counts against the order's
senders and products, never against its carrier.

Rates are kept per kind of problem (shipping late, cancelling, product complaints, carrier
trouble, unexplained contacts) and for all of a cause's problems together: a seller who
sends wrong items stands out on product complaints even when its overall rate hides it.
A cause is *systemic* on a kind of problem when its rate is above the rate of all its
peers together even at the lower end of a family-wise 95 % interval (Bonferroni over the
units and kinds of a dimension, so that among 1,500 products a few unlucky ones are not
flagged by chance). Systemic rows come first, ranked by their *excess*: the problems they
had beyond what a peer would have had on the same volume.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import NormalDist
from typing import Any

from sqlalchemy import Engine, text

from ordercare.domain.order import Order
from ordercare.services import list_cases
from ordercare.store.repo import decode_order

DIMENSIONS = ("carrier", "seller", "fc", "sku")
# Kinds of problem, by the case reasons that show them.
GROUPS: dict[str, frozenset[str]] = {
    "shipping": frozenset({"late_shipment", "partial_delivery"}),
    "cancellation": frozenset({"seller_cancellation"}),
    "stock": frozenset({"out_of_stock"}),
    "product": frozenset({"missing_item", "damaged_or_defective", "not_as_described", "weight_mismatch"}),
    "packing": frozenset(),  # a parcel our pack check caught with the wrong content (see groups_of)
    "carrier": frozenset({"no_carrier_scan", "stalled_in_transit", "carrier_exception"}),
    "reply": frozenset({"seller_unresponsive"}),  # the seller left the buyer's question unanswered
    "contact": frozenset({"other", "refund_request"}),  # the customer wrote; the desk could not say more
}
# Which kinds of problem each cause answers for ("all": any of them, once per unit).
ANSWERS_FOR = {"carrier": ("carrier",), "seller": ("shipping", "cancellation", "product", "reply", "contact"),
               "fc": ("shipping", "stock", "packing", "contact"), "sku": ("product", "stock")}
# What an inspection finds in a parcel the pack check diverted that is the packer's doing
# (its content was wrong), not the listing's (a right parcel: the catalogue weight is off).
MISPACKED = frozenset({"wrong_item", "missing_item"})
MIN_PROBLEMS = 5


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (good at small n and rare events)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


# ---- reads ---------------------------------------------------------------------------------

def read_orders(db: Engine) -> dict[str, Order]:
    """Every placed order's state, as the engine keeps it."""
    with db.connect() as conn:
        rows = conn.execute(text("SELECT state FROM orders WHERE placed_us IS NOT NULL")).all()
    orders = (decode_order(r[0]) for r in rows)
    return {o.order_id: o for o in orders}


def read_contacts(db: Engine) -> list[tuple[str | None, int]]:
    """(order id or None, received at µs) of every customer contact in the event log. A
    contact naming someone else's order is about no order (the desk took it as such)."""
    with db.connect() as conn:
        rows = conn.execute(text(
            "SELECT e.order_id, e.at_us, e.payload, o.customer_id FROM events e "
            "LEFT JOIN orders o ON o.order_id = e.order_id WHERE e.type = 'contact.received'")).all()
    out: list[tuple[str | None, int]] = []
    for order_id, at_us, payload, owner in rows:
        if order_id is not None and owner is not None and json.loads(payload)["data"]["customer_id"] != owner:
            order_id = None
        out.append((order_id, int(at_us)))
    return out


def read_names(db: Engine, kind: str) -> dict[str, str]:
    with db.connect() as conn:
        rows = conn.execute(text("SELECT party_id, data FROM parties WHERE kind = :k"), {"k": kind}).all()
    out = {}
    for pid, data in rows:
        info = json.loads(data)
        out[pid] = info.get("name") or info.get("title") or pid
    return out


# ---- attribution ---------------------------------------------------------------------------

@dataclass
class Tally:
    """Units exposed, and units with a problem of each kind, per dimension and key."""

    exposed: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: {d: defaultdict(set) for d in (*DIMENSIONS, "listing")})
    failed: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))
    reasons: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def fail(self, dim: str, key: str, unit: str, group: str, reason: str) -> None:
        if group not in ANSWERS_FOR[dim]:
            return
        groups = self.failed[(dim, key)]
        for g in (group, "all"):
            units = groups.setdefault(g, set())
            if g == "all" and unit not in units:
                self.reasons[(dim, key)][reason] += 1
            units.add(unit)


def _sender(order: Order, line_id: str) -> tuple[str, str] | None:
    """Who prepares the line: its seller, or the warehouse that packed its parcel. ``None``
    for a line of ours no warehouse has packed (yet): nobody to count it against but its
    item (a stock-out is the item's), not a warehouse with no name."""
    ln = order.line(line_id)
    if ln is None:
        return None
    if ln.fulfilled_by != "platform":
        return "seller", ln.seller_id
    ship = order.line_shipment(ln)
    return ("fc", ship.fc_id) if ship is not None and ship.fc_id else None


def expose(tally: Tally, order: Order) -> None:
    for ln in order.lines:
        sender = _sender(order, ln.line_id)
        if sender is not None:
            tally.exposed[sender[0]][sender[1]].add(order.order_id)
        tally.exposed["listing"][ln.seller_id].add(order.order_id)  # the seller's listing, any parcel
        tally.exposed["sku"][ln.sku].add(order.order_id)
    for ship in order.shipments.values():
        if ship.carrier and ship.shipped_us is not None:
            tally.exposed["carrier"][ship.carrier].add(ship.shipment_id)


def groups_of(case: dict[str, Any]) -> set[str]:
    """The kinds of problem a case shows. A late delivery is the carrier's only when the
    parcel left on time."""
    reasons = set(case.get("reasons") or [case["reason"]])
    found = {g for g, rs in GROUPS.items() if reasons & rs}
    if "weight_mismatch" in reasons and reasons & MISPACKED and case.get("origin") == "warehouse":
        found.add("packing")  # the inspection found the parcel packed wrong: not the listing's doing
        if not reasons - MISPACKED - {"weight_mismatch"}:
            found.discard("product")
    if "late_delivery" in reasons or "partial_delivery" in reasons:
        found.add("carrier")  # (only on the parcels that left on time: ``attribute``)
    if case.get("origin") == "customer" and found - {"contact"}:
        found.discard("contact")
    return found


def _left_on_time(order: Order, line_id: str) -> bool:
    """Did the line's parcel leave by the line's ship-by?"""
    ln = order.line(line_id)
    ship = order.line_shipment(ln) if ln is not None else None
    return ln is not None and ship is not None and ship.shipped_us is not None and ship.shipped_us <= ln.ship_by_us


# Kinds of problem that are the seller's whoever prepared the parcel: its listing, its own
# cancellation, its silence to the buyer.
_THE_SELLERS = frozenset({"product", "cancellation", "reply"})


def attribute(tally: Tally, order: Order, case: dict[str, Any]) -> None:
    """Each kind of problem the case shows to whoever answers for it, line by line: late
    shipping only on the lines that did not leave by their ship-by (a seller that shipped
    on time is not blamed for another's lateness in the same case), and delivery trouble to
    the carrier only on the parcels that left on time."""
    groups = groups_of(case)
    if not groups:
        return
    lines = case.get("line_ids") or [ln.line_id for ln in order.lines]
    label = case["reason"]
    for group in groups - {"carrier"}:
        for lid in lines:
            if (ln := order.line(lid)) is None or (group == "shipping" and _left_on_time(order, lid)):
                continue
            sender = ("seller", ln.seller_id) if group in _THE_SELLERS else _sender(order, lid)
            if sender is not None:
                tally.fail(sender[0], sender[1], order.order_id, group, label)
            tally.fail("sku", ln.sku, order.order_id, group, label)
    if "carrier" in groups:
        reasons = set(case.get("reasons") or [case["reason"]])
        if reasons & GROUPS["carrier"]:  # a scan that never came, a stall, an exception
            ships = case.get("shipment_ids") or [ln.shipment_id for lid in lines
                                                 if (ln := order.line(lid)) is not None and ln.shipment_id]
        else:  # late or partly late: the carrier's on the parcels that left on time
            ships = list(dict.fromkeys(ln.shipment_id for lid in lines if (ln := order.line(lid)) is not None
                                       and ln.shipment_id and _left_on_time(order, lid)))
        for sid in ships:
            ship = order.shipments.get(sid)
            if ship is not None and ship.carrier:
                tally.fail("carrier", ship.carrier, sid, "carrier", label)


def unexplained_contact(tally: Tally, order: Order) -> None:
    for ln in order.lines:
        if (sender := _sender(order, ln.line_id)) is not None:
            tally.fail(sender[0], sender[1], order.order_id, "contact", "contact_without_case")
        tally.fail("sku", ln.sku, order.order_id, "contact", "contact_without_case")


# ---- rates ---------------------------------------------------------------------------------

def rank(tally: Tally, names: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """One row per cause and kind of problem (``problem``: a group, or ``all``)."""
    rows: list[dict[str, Any]] = []
    for dim in DIMENSIONS:
        keys = sorted({k for k, units in tally.exposed[dim].items() if units}
                      | (set(tally.exposed["listing"]) if dim == "seller" else set()))
        groups = ("all", *ANSWERS_FOR[dim]) if len(ANSWERS_FOR[dim]) > 1 else ANSWERS_FOR[dim]
        z_family = NormalDist().inv_cdf(1 - 0.05 / max(1, len(keys) * len(groups)))
        for group in groups:
            # A seller answers for its listings on every order that has them, and for its
            # parcels on the orders it prepared itself.
            base = tally.exposed["listing" if dim == "seller" and (group == "all" or group in _THE_SELLERS) else dim]
            exposed = {k: base.get(k, set()) for k in keys}
            failed = {k: tally.failed.get((dim, k), {}).get(group, set()) & exposed[k] for k in keys}
            total_n = sum(len(e) for e in exposed.values())
            total_k = sum(len(f) for f in failed.values())
            for key in keys:
                n, k = len(exposed[key]), len(failed[key])
                if n == 0 or (k == 0 and group != groups[0]):
                    continue  # a clean record on one kind of problem says nothing new
                rest_n, rest_k = total_n - n, total_k - k
                peers = rest_k / rest_n if rest_n else total_k / max(1, total_n)
                low, high = wilson(k, n)
                strict_low, _ = wilson(k, n, z_family)
                rows.append({
                    "dimension": dim, "key": key, "name": names.get(dim, {}).get(key, key),
                    "problem": group if group in GROUPS else "all", "units": n, "problems": k,
                    "rate": k / n, "ci_low": low, "ci_high": high, "peer_rate": peers,
                    "lift": (k / n) / peers if peers else None, "excess": round(k - n * peers, 1),
                    "systemic": k >= MIN_PROBLEMS and strict_low > peers,
                    "reasons": dict(tally.reasons[(dim, key)].most_common()) if group in ("all", groups[0]) else {},
                })
    rows.sort(key=lambda r: (not r["systemic"], -r["excess"] if r["systemic"] else -r["ci_low"]))
    return rows


def weekly(orders: dict[str, Order], contacts: list[tuple[str | None, int]],
           cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Contacts and problems per order, by the week the orders were placed (cohorts)."""
    def week(us: int) -> str:
        iso = datetime.fromtimestamp(us / 1e6, UTC).isocalendar()
        return f"{iso.year}-W{iso.week:02d}"

    placed = {oid: week(o.placed_us) for oid, o in orders.items() if o.placed_us is not None}
    n: Counter[str] = Counter(placed.values())
    c: Counter[str] = Counter()
    for oid, at in contacts:
        c[placed.get(oid or "", week(at))] += 1
    with_case = Counter(placed[oid] for oid in {x["order_id"] for x in cases} if oid in placed)
    out = []
    for wk in sorted(n):
        low, high = wilson(with_case[wk], n[wk])
        out.append({"dimension": "week", "key": wk, "orders": n[wk], "contacts": c[wk],
                    "contacts_per_order": c[wk] / n[wk], "problems": with_case[wk],
                    "rate": with_case[wk] / n[wk], "ci_low": low, "ci_high": high})
    return out


def insights(db: Engine, orders: dict[str, Order] | None = None) -> list[dict[str, Any]]:
    """Ranked cause rows (``dimension`` carrier / seller / fc / sku), then the weekly trend
    rows (``dimension`` week): contacts per order and the share of orders with a case.
    (``orders``: the store's orders when the caller has already read them.)"""
    orders = read_orders(db) if orders is None else orders
    cases = list_cases(db)
    contacts = read_contacts(db)
    tally = Tally()
    for order in orders.values():
        expose(tally, order)
    with_case = set()
    for case in cases:
        found = orders.get(case["order_id"] or "")
        if found is not None:
            attribute(tally, found, case)
            with_case.add(found.order_id)
    for oid in {oid for oid, _ in contacts if oid and oid not in with_case}:
        if oid in orders:
            unexplained_contact(tally, orders[oid])
    names = {"seller": read_names(db, "seller"), "fc": read_names(db, "fc"), "sku": read_names(db, "sku")}
    return rank(tally, names) + weekly(orders, contacts, cases)
