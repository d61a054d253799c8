"""Build contract events (CONTRACT §1) in code: for tests, benchmarks and the simulator.

Each method appends one event with the next id (``e-1``, ``e-2``...) and returns the builder,
so a story reads in the order it happened::

    b = EventBuilder()
    b.customer("c-1", lang="fr").order("o-1", "c-1", "2026-05-28T09:14:00+02:00", [...])
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

Moment = str | datetime


def iso(moment: Moment) -> str:
    return moment.isoformat() if isinstance(moment, datetime) else moment


def at(moment: Moment, **delta: float) -> str:
    """``moment`` shifted by ``timedelta(**delta)``, as ISO text."""
    base = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return (base + timedelta(**delta)).isoformat()


def line(line_id: str, sku: str, seller_id: str, unit_price: float = 10.0, qty: int = 1,
         fulfilled_by: str = "seller") -> dict[str, Any]:
    return {"line_id": line_id, "sku": sku, "seller_id": seller_id, "qty": qty,
            "unit_price": unit_price, "fulfilled_by": fulfilled_by}


class EventBuilder:
    def __init__(self, prefix: str = "e-") -> None:
        self.events: list[dict[str, Any]] = []
        self.prefix = prefix

    def add(self, type_: str, moment: Moment, data: dict[str, Any], event_id: str | None = None) -> EventBuilder:
        self.events.append({"id": event_id or f"{self.prefix}{len(self.events) + 1}", "type": type_,
                            "at": iso(moment), "data": data})
        return self

    def customer(self, customer_id: str, lang: str = "en", at: Moment = "2026-01-01T00:00:00+00:00",
                 **extra: Any) -> EventBuilder:
        data = {"customer_id": customer_id, "email": f"{customer_id}@example.com", "lang": lang, **extra}
        return self.add("customer.registered", at, data)

    def seller(self, seller_id: str, handling_days: int = 2, at: Moment = "2026-01-01T00:00:00+00:00",
               name: str | None = None) -> EventBuilder:
        return self.add("seller.registered", at, {"seller_id": seller_id, "name": name or seller_id,
                                                  "handling_days": handling_days})

    def sku(self, sku: str, title: str, weight_g: float = 100.0, at: Moment = "2026-01-01T00:00:00+00:00",
            **extra: Any) -> EventBuilder:
        return self.add("sku.registered", at, {"sku": sku, "title": title, "weight_g": weight_g, **extra})

    def order(self, order_id: str, customer_id: str, moment: Moment, lines: list[dict[str, Any]],
              currency: str = "EUR", **extra: Any) -> EventBuilder:
        return self.add("order.placed", moment, {"order_id": order_id, "customer_id": customer_id,
                                                 "lines": lines, "currency": currency, **extra})

    def pay(self, order_id: str, moment: Moment, amount: float) -> EventBuilder:
        return self.add("payment.captured", moment, {"order_id": order_id, "amount": amount})

    def create_shipment(self, shipment_id: str, order_id: str, seller_id: str, line_ids: list[str],
                        moment: Moment) -> EventBuilder:
        return self.add("shipment.created", moment, {"shipment_id": shipment_id, "order_id": order_id,
                                                     "seller_id": seller_id, "line_ids": line_ids})

    def pack(self, shipment_id: str, moment: Moment, weight_g: float, **extra: Any) -> EventBuilder:
        return self.add("shipment.packed", moment, {"shipment_id": shipment_id, "weight_g": weight_g, **extra})

    def ship(self, shipment_id: str, moment: Moment, tracking: str, carrier: str = "colissimo") -> EventBuilder:
        return self.add("shipment.shipped", moment, {"shipment_id": shipment_id, "carrier": carrier,
                                                     "tracking": tracking})

    def scan(self, tracking: str, moment: Moment, status: str, location: str | None = None) -> EventBuilder:
        data: dict[str, Any] = {"tracking": tracking, "status": status}
        if location:
            data["location"] = location
        return self.add("carrier.scan", moment, data)

    def cancel(self, order_id: str, moment: Moment, by: str, reason: str,
               line_ids: list[str] | None = None) -> EventBuilder:
        data: dict[str, Any] = {"order_id": order_id, "by": by, "reason": reason}
        if line_ids:
            data["line_ids"] = line_ids
        return self.add("order.cancelled", moment, data)

    def contact(self, contact_id: str, customer_id: str, moment: Moment, text: str,
                channel: str = "email", **extra: Any) -> EventBuilder:
        return self.add("contact.received", moment, {"contact_id": contact_id, "customer_id": customer_id,
                                                     "channel": channel, "text": text, **extra})

    def choose(self, order_id: str, case_id: str, moment: Moment, choice: str) -> EventBuilder:
        """The customer clicks a self-service link in our message (``customer.choice``)."""
        return self.add("customer.choice", moment, {"order_id": order_id, "case_id": case_id, "choice": choice})

    def jsonl(self) -> str:
        return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self.events)

    def lines(self) -> list[tuple[int, bytes]]:
        return [(i, (json.dumps(e, ensure_ascii=False)).encode()) for i, e in enumerate(self.events, 1)]
