"""A fast generator of realistic event streams, for the core benchmark and soak tests.

Orders over some weeks from a few hundred sellers, multi-seller baskets, platform and seller
fulfilment, carrier scans, and the faults that matter (never shipped, no scan, stalled,
exception, seller cancellation) at realistic rates; then duplicates and late arrivals, so
the stream looks like what a real intake receives. Seeded and deterministic.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

_TZ = timezone(timedelta(hours=2))
_START = datetime(2026, 5, 4, tzinfo=_TZ)


def _ts(base: datetime, minutes: float) -> str:
    return (base + timedelta(minutes=minutes)).isoformat()


def generate(n_events: int, seed: int = 7, duplicate_rate: float = 0.01,
             late_rate: float = 0.02, days: int = 30) -> list[bytes]:
    """About ``n_events`` JSON lines (bytes), in arrival order."""
    rng = random.Random(seed)
    lines: list[tuple[float, str]] = []
    n_sellers, n_skus = 300, 3000
    n_customers = max(100, n_events // 20)
    eid = 0

    def emit(t: float, type_: str, at: str, data: dict) -> None:
        nonlocal eid
        eid += 1
        lines.append((t, json.dumps({"id": f"e{eid}", "type": type_, "at": at, "data": data},
                                    separators=(",", ":"))))

    for s in range(n_sellers):
        emit(-1, "seller.registered", _ts(_START, -60), {"seller_id": f"s{s}", "name": f"Seller {s}",
                                                        "handling_days": rng.choice((1, 2, 2, 3))})
    for k in range(n_skus):
        emit(-1, "sku.registered", _ts(_START, -60), {"sku": f"k{k}", "title": f"Item {k}",
                                                     "weight_g": rng.randint(50, 3000),
                                                     "seller_id": f"s{k % n_sellers}"})
    emit(-1, "fc.registered", _ts(_START, -60), {"fc_id": "fc1", "name": "Lyon", "lat": 45.76, "lon": 4.84})
    for k in range(n_skus):  # the warehouse holds enough of every SKU it fulfils
        emit(-1, "inventory.received", _ts(_START, -30), {"fc_id": "fc1", "sku": f"k{k}", "qty": 10_000,
                                                          "seller_id": f"s{k % n_sellers}"})
    for c in range(n_customers):
        emit(-1, "customer.registered", _ts(_START, -60),
             {"customer_id": f"c{c}", "email": f"c{c}@example.com", "lang": rng.choice(("fr", "en")),
              "notify": rng.choice(("every_step", "milestones", "exceptions"))})

    order = 0
    while len(lines) < n_events:
        order += 1
        oid = f"o{order}"
        placed = rng.uniform(0, days * 1440)
        n_lines = 1 if rng.random() < 0.7 else rng.randint(2, 4)
        skus = [rng.randrange(n_skus) for _ in range(n_lines)]
        sellers = [f"s{k % n_sellers}" for k in skus]  # each SKU is one seller's listing
        lines_data: list[dict[str, Any]] = [{"line_id": f"l{i}", "sku": f"k{skus[i]}", "seller_id": sellers[i],
                       "qty": rng.choice((1, 1, 1, 2)), "unit_price": round(rng.uniform(5, 200), 2),
                       "fulfilled_by": "platform" if rng.random() < 0.4 else "seller"}
                      for i in range(n_lines)]
        total = round(sum(x["qty"] * x["unit_price"] for x in lines_data), 2)
        emit(placed, "order.placed", _ts(_START, placed),
             {"order_id": oid, "customer_id": f"c{rng.randrange(n_customers)}", "lines": lines_data,
              "currency": "EUR", "prime": rng.random() < 0.3})
        emit(placed + 2, "payment.captured", _ts(_START, placed + 2), {"order_id": oid, "amount": total})
        by_seller: dict[str, list[str]] = {}
        for x in lines_data:
            by_seller.setdefault(x["seller_id"], []).append(x["line_id"])
        for j, (seller, line_ids) in enumerate(by_seller.items()):
            fate = rng.random()
            if fate < 0.01:
                emit(placed + 600, "order.cancelled", _ts(_START, placed + 600),
                     {"order_id": oid, "by": "seller", "reason": "out_of_stock", "line_ids": line_ids})
                continue
            if fate < 0.03:
                continue  # never shipped
            sid, trk = f"{oid}-{j}", f"T{order}x{j}"
            t = placed + rng.uniform(60, 1800)
            emit(t, "shipment.created", _ts(_START, t), {"shipment_id": sid, "order_id": oid,
                                                         "seller_id": seller, "line_ids": line_ids})
            t += rng.uniform(10, 120)
            emit(t, "shipment.shipped", _ts(_START, t), {"shipment_id": sid, "carrier":
                                                         rng.choice(("colissimo", "ups", "dpd")),
                                                         "tracking": trk})
            if fate < 0.04:
                continue  # no carrier scan
            for status in ("accepted", "in_transit", "out_for_delivery", "delivered"):
                t += rng.uniform(120, 1500)
                if status == "out_for_delivery" and fate < 0.06:
                    status = "exception" if fate < 0.045 else "in_transit"
                    emit(t, "carrier.scan", _ts(_START, t), {"tracking": trk, "status": status,
                                                             "location": "Hub"})
                    break  # stalled or exception
                emit(t, "carrier.scan", _ts(_START, t), {"tracking": trk, "status": status,
                                                         "location": "Hub"})
    lines.sort(key=lambda x: x[0])
    out = [text for _, text in lines]
    for i in range(len(out)):
        if rng.random() < late_rate:  # arrives late: some hundreds of lines further down
            j = min(len(out) - 1, i + rng.randint(10, 500))
            out[i], out[j] = out[j], out[i]
    dups = [out[rng.randrange(len(out))] for _ in range(int(len(out) * duplicate_rate))]
    for d in dups:
        out.insert(rng.randrange(len(out)), d)
    return [x.encode() for x in out]
