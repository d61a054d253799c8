"""Purchase orders from the event log: what was ordered from suppliers, received, cancelled,
and what is still on its way, with the late ones named (their ``expected_at`` has passed).

One reading serves two users: ``reorder`` counts the units still on order in each position,
and ``ordercare purchase-orders`` shows the buyer every order with its lines and its state.
A cancellation without lines cancels what is still outstanding; with lines, those
quantities. A receipt beyond what was ordered is counted as received, never as negative
stock on order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from ordercare.domain.moments import offset_min, to_us
from ordercare.store import repo

Key = tuple[str, str]  # (fc_id, sku)


@dataclass
class PoLine:
    sku: str
    ordered: int = 0
    received: int = 0
    cancelled: int = 0

    @property
    def outstanding(self) -> int:
        return max(self.ordered - self.received - self.cancelled, 0)


@dataclass
class PurchaseOrder:
    po_id: str
    supplier_id: str
    fc_id: str
    placed_us: int
    expected_us: int | None
    lines: dict[str, PoLine] = field(default_factory=dict)
    reason: str | None = None

    @property
    def outstanding(self) -> int:
        return sum(ln.outstanding for ln in self.lines.values())

    def state(self, at_us: int) -> str:
        """open | late (past its expected date, units still outstanding) | received | cancelled."""
        if self.outstanding == 0:
            return "received" if any(ln.received for ln in self.lines.values()) else "cancelled"
        if self.expected_us is not None and at_us > self.expected_us:
            return "late"
        return "open"

    def as_json(self, at_us: int, tz_min: int) -> dict[str, Any]:
        late_by = (at_us - self.expected_us) / 86_400e6 if self.expected_us is not None else None
        state = self.state(at_us)
        return {"po_id": self.po_id, "supplier_id": self.supplier_id, "fc_id": self.fc_id,
                "placed_at": repo.iso(self.placed_us, tz_min), "expected_at": repo.iso(self.expected_us, tz_min),
                "state": state, "days_late": round(late_by, 1) if state == "late" and late_by else None,
                "outstanding": self.outstanding, "reason": self.reason,
                "lines": [{"sku": ln.sku, "ordered": ln.ordered, "received": ln.received,
                           "cancelled": ln.cancelled, "outstanding": ln.outstanding}
                          for ln in self.lines.values()]}


def _events(conn: Connection, kind: str, until_us: int | None) -> list[tuple[int, dict[str, Any]]]:
    sql = "SELECT at_us, payload FROM events WHERE type = :t"
    if until_us is not None:
        sql += " AND at_us <= :u"
    rows = conn.execute(text(sql + " ORDER BY at_us, event_id"), {"t": kind, "u": until_us})
    return [(int(at), json.loads(payload)["data"]) for at, payload in rows]


def read(conn: Connection, until_us: int | None = None) -> dict[str, PurchaseOrder]:
    """Every purchase order as the events up to ``until_us`` (all when None) tell it."""
    pos: dict[str, PurchaseOrder] = {}
    for at, d in _events(conn, "purchase_order.placed", until_us):
        if d["po_id"] in pos:
            continue  # placed again (another event id): the first placing stands, as in the warehouse's book
        expected = to_us(datetime.fromisoformat(d["expected_at"])) if d.get("expected_at") else None
        po = pos[d["po_id"]] = PurchaseOrder(d["po_id"], d["supplier_id"], d["fc_id"], at, expected)
        for line in d["lines"]:
            po.lines.setdefault(line["sku"], PoLine(line["sku"])).ordered += line["qty"]
    if not pos:
        return pos
    for _at, d in _events(conn, "purchase_order.updated", until_us):  # the supplier's latest date
        revised = pos.get(d["po_id"])
        if revised is not None:
            revised.expected_us = to_us(datetime.fromisoformat(d["expected_at"]))
    for _at, d in _events(conn, "inventory.received", until_us):
        receiving = pos.get(d.get("po_id") or "")
        if receiving is not None and receiving.fc_id == d["fc_id"]:
            receiving.lines.setdefault(d["sku"], PoLine(d["sku"])).received += d["qty"]
    for _at, d in _events(conn, "purchase_order.cancelled", until_us):
        cancelled = pos.get(d["po_id"])
        if cancelled is None:
            continue
        cancelled.reason = d.get("reason") or cancelled.reason
        if not d.get("lines"):
            for ln in cancelled.lines.values():
                ln.cancelled += ln.outstanding
            continue
        for line in d["lines"]:
            found = cancelled.lines.get(line["sku"])
            if found is not None:
                found.cancelled += min(line["qty"], found.outstanding)
    return pos


def on_order(conn: Connection) -> dict[Key, int]:
    """Units still on their way per (fc, sku): ordered, less received, less cancelled."""
    out: dict[Key, int] = defaultdict(int)
    for po in read(conn).values():
        for ln in po.lines.values():
            if ln.outstanding:
                out[(po.fc_id, ln.sku)] += ln.outstanding
    return dict(out)


def listing(conn: Connection, at: datetime, every: bool = False) -> list[dict[str, Any]]:
    """The purchase orders as of ``at`` (events up to it): the open and late ones first, the
    latest first within each; received and cancelled ones only with ``every``."""
    at_us = to_us(at)
    tz_min = offset_min(at)
    rank = {"late": 0, "open": 1, "received": 2, "cancelled": 3}
    rows = [po.as_json(at_us, tz_min) for po in read(conn, at_us).values()]
    rows = [r for r in rows if every or r["state"] in ("open", "late")]
    rows.sort(key=lambda r: r["placed_at"] or "", reverse=True)
    rows.sort(key=lambda r: rank[r["state"]])
    return rows
