"""The order's dossier: everything a person (or a reply) needs to answer from the facts.

The order, its lines, every parcel with every carrier scan, what we promised and when,
earlier contacts and cases, and the customer's history (orders, refunds). One builder serves
the `ordercare dossier` screen, the callback list and anything else that needs the file.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, bindparam, text

from ordercare.domain.cases import ORDERLESS
from ordercare.domain.order import Order
from ordercare.store import repo


def order_summary(order: Order, title: dict[str, str] | None = None) -> dict[str, Any]:
    """The order itself, its promise and its parcels, in the customer's local time."""
    tz, title = order.tz_min, title or {}
    parcels = []
    for s in order.shipments.values():
        parcels.append({
            "shipment_id": s.shipment_id, "seller_id": s.seller_id, "line_ids": s.line_ids,
            "carrier": s.carrier, "tracking": s.tracking, "shipped_at": repo.iso(s.shipped_us, tz),
            "delivered_at": repo.iso(s.delivered_us, tz),
            "scans": [{"status": sc.status, "at": repo.iso(sc.at_us, tz), "location": sc.location}
                      for sc in s.scans],
            "last_scan": None if s.last_scan is None else {
                "status": s.last_scan.status, "at": repo.iso(s.last_scan.at_us, tz),
                "location": s.last_scan.location},
            # At the pack station: first weighed when, the latest weight, where, how often
            # (a parcel put right after a mis-pack is weighed again), the inspection's word.
            "packed": None if s.packed_us is None else {
                "at": repo.iso(s.packed_us, tz), "weight_g": s.weight_g, "fc_id": s.fc_id,
                "station": s.station, "weighings": max(s.weighings, 1), "inspection": s.inspection}})
    return {
        "order_id": order.order_id, "customer_id": order.customer_id,
        "placed_at": repo.iso(order.placed_us, tz), "prime": order.prime, "currency": order.currency,
        "ship_by": repo.iso(order.ship_by_us, tz), "deliver_by": repo.iso(order.deliver_by_us, tz),
        "promise_given_by_storefront": order.promise_given, "paid": order.paid_amount,
        "refunded": order.refunded, "address": order.address,
        "lines": [{"line_id": ln.line_id, "sku": ln.sku, "title": title.get(ln.sku, ln.sku),
                   "seller_id": ln.seller_id, "qty": ln.qty, "unit_price": ln.unit_price,
                   "fulfilled_by": ln.fulfilled_by, "ship_by": repo.iso(ln.ship_by_us, tz),
                   "shipment_id": ln.shipment_id,
                   # sent again (a replacement): since when, and by when it is owed now
                   "sent_again_at": repo.iso(ln.redo_us, tz),
                   "deliver_by": repo.iso(order.deliver_by([ln.line_id]), tz),
                   "cancelled": None if ln.cancelled_us is None else {
                       "by": ln.cancelled_by, "reason": ln.cancel_reason,
                       "at": repo.iso(ln.cancelled_us, tz)}} for ln in order.lines],
        "shipments": parcels,
    }


def build_dossier(db: Engine, order_id: str) -> dict[str, Any] | None:
    """The whole file of one order, or ``None`` when the store has no such order."""
    with db.connect() as conn:
        row = conn.execute(text("SELECT state FROM orders WHERE order_id = :o"), {"o": order_id}).first()
        if row is None:
            return None
        order = repo.decode_order(row[0])
        titles = repo.titles(conn, {ln.sku for ln in order.lines})
        customer = repo.load_party(conn, "customer", order.customer_id) or {}
        contacts = [json.loads(r[0]) for r in conn.execute(text(
            "SELECT payload FROM events WHERE order_id = :o AND type = 'contact.received' ORDER BY at_us"),
            {"o": order_id})]
        others = conn.execute(text("SELECT count(*) FROM orders WHERE customer_id = :c"),
                              {"c": order.customer_id}).scalar_one()
        requests = repo.read_requests(conn, order_id=order_id)
    dossier = order_summary(order, titles)
    # What we asked the seller or the warehouse to send again, and where it stands.
    dossier["requests"] = [{k: r[k] for k in ("id", "to", "kind", "lines", "requested_at", "ship_by", "status",
                                              "shipment_ids")} for r in requests]
    dossier["customer"] = {
        "customer_id": order.customer_id, "name": customer.get("name"), "email": customer.get("email"),
        "phone": customer.get("phone"), "lang": customer.get("lang"), "notify": customer.get("notify"),
        "orders": others, "refunds": customer.get("refund_count", 0),
        "refunded_total": customer.get("refund_total", 0.0)}
    # (Only the owner's: a contact naming someone else's order is that someone's own case.)
    dossier["contacts"] = [{"contact_id": c["data"]["contact_id"], "at": c["at"], "channel": c["data"]["channel"],
                            "text": c["data"]["text"]} for c in contacts
                           if c["data"]["customer_id"] == order.customer_id]
    dossier["cases"] = [{"id": c.id, "reason": c.reason, "origin": c.origin, "status": c.status,
                         "opened_at": repo.iso(c.opened_us, order.tz_min),
                         "actions": [a.type for a in c.actions]} for c in order.cases]
    return dossier


def orderless_dossier(db: Engine, customer_id: str, case_id: str) -> dict[str, Any]:
    """The file of a case about no order of the customer's: who wrote, what they wrote, and
    the orders they do have (a person finds which one they meant, if any)."""
    with db.connect() as conn:
        customer = repo.load_party(conn, "customer", customer_id) or {}
        kept = (repo.load_party(conn, ORDERLESS, customer_id) or {}).get("cases", [])
        case: dict[str, Any] = next((c for c in kept if c["id"] == case_id), {})
        wanted = case.get("contact_events", [])
        contacts = sorted((json.loads(p) for (p,) in conn.execute(
            text("SELECT payload FROM events WHERE event_id IN :ids").bindparams(
                bindparam("ids", expanding=True)), {"ids": wanted})), key=lambda c: c["at"]) if wanted else []
        orders = [r[0] for r in conn.execute(text(
            "SELECT order_id FROM orders WHERE customer_id = :c AND placed_us IS NOT NULL ORDER BY placed_us"),
            {"c": customer_id})]
    return {"order_id": None, "customer": {
                "customer_id": customer_id, "name": customer.get("name"), "email": customer.get("email"),
                "phone": customer.get("phone"), "lang": customer.get("lang"), "orders": len(orders),
                "refunds": customer.get("refund_count", 0)},
            "their_orders": orders,
            "contacts": [{"contact_id": c["data"]["contact_id"], "at": c["at"], "channel": c["data"]["channel"],
                          "named_order": c["data"].get("order_id"), "text": c["data"]["text"]} for c in contacts]}
