"""Stock on its way: the buyer's purchase orders not yet received, and when a line waiting
for stock can expect its units.

A line that finds no stock waits in the SKU's queue (``Inventory.backorders``). The customer
is told when new stock is expected: the purchase orders on their way for the SKU, earliest
expected first, serve the queue in its order, so the line can expect the date of the first
purchase order by which enough units will have come for everyone ahead of it and for itself.
If what is on order does not reach it, more must be bought: the supplier's lead time from
now. A purchase order with no ``expected_at`` is expected its supplier's lead time after it
was placed. One past its date and still outstanding is late: it may come any hour or never,
so it gives no date (the next one does, or the lead time); the customer is not told "around
today" day after day.

Pure: no clock, no database. ``dumps``/``loads`` keep it in the warehouse's state table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(slots=True)
class Incoming:
    """What one purchase order still brings of one SKU."""

    po_id: str
    sku: str
    fc_id: str
    expected_us: int | None  # None: no date given, and no lead time known to reckon one
    outstanding: int


class OnOrder:
    """Purchase-order lines still outstanding, by SKU."""

    def __init__(self) -> None:
        self.by_sku: dict[str, dict[str, Incoming]] = {}  # sku -> po_id -> what it still brings
        self.dirty = False

    def placed(self, po_id: str, fc_id: str, lines: list[tuple[str, int]], expected_us: dict[str, int | None]) -> None:
        """A purchase order placed (again: the same event twice changes nothing). A SKU on
        two of its lines is expected once, for both quantities."""
        ordered: dict[str, int] = {}
        for sku, qty in lines:
            ordered[sku] = ordered.get(sku, 0) + qty
        for sku, qty in ordered.items():
            book = self.by_sku.setdefault(sku, {})
            if po_id in book:
                continue
            book[po_id] = Incoming(po_id, sku, fc_id, expected_us.get(sku), qty)
            self.dirty = True

    def revised(self, po_id: str, expected_us: int) -> list[str]:
        """The supplier's new date for what the purchase order still brings; returns the
        SKUs it brings later than before."""
        later = []
        for sku, book in self.by_sku.items():
            item = book.get(po_id)
            if item is None or item.expected_us == expected_us:
                continue
            if item.expected_us is None or expected_us > item.expected_us:
                later.append(sku)
            item.expected_us = expected_us
            self.dirty = True
        return later

    def received(self, po_id: str | None, sku: str, qty: int) -> None:
        """Units of a purchase order came in (a receipt naming no order changes nothing here)."""
        item = self.by_sku.get(sku, {}).get(po_id or "")
        if item is None or qty <= 0:
            return
        item.outstanding -= qty
        if item.outstanding <= 0:
            del self.by_sku[sku][item.po_id]
        self.dirty = True

    def cancelled(self, po_id: str, lines: list[tuple[str, int]] | None) -> list[str]:
        """The supplier will not deliver all that is outstanding (``lines`` None), or these;
        returns the SKUs that now come in fewer units."""
        wanted = dict(lines) if lines is not None else None
        fewer = []
        for sku, book in self.by_sku.items():
            item = book.get(po_id)
            if item is None or (wanted is not None and sku not in wanted):
                continue
            item.outstanding -= item.outstanding if wanted is None else wanted[sku]
            if item.outstanding <= 0:
                del book[po_id]
            fewer.append(sku)
            self.dirty = True
        return fewer

    def expected(self, sku: str, needed: int, now: int, lead_us: int | None, margin_us: int = 0) -> int | None:
        """When ``needed`` more units of ``sku`` (the queue up to and including the line)
        can be expected: the purchase orders on their way in date order (their date plus
        ``margin_us``: suppliers are sometimes late), else the lead time from ``now``;
        ``None`` when neither tells."""
        coming = sorted((i.expected_us, i.po_id, i.outstanding) for i in self.by_sku.get(sku, {}).values()
                        if i.expected_us is not None and i.expected_us >= now)
        total = 0
        for at, _po, qty in coming:
            total += qty
            if total >= needed:
                return at + margin_us
        return now + lead_us if lead_us is not None else None

    def dumps(self) -> bytes:
        return json.dumps([[i.po_id, i.sku, i.fc_id, i.expected_us, i.outstanding]
                           for book in self.by_sku.values() for i in book.values()]).encode()

    @classmethod
    def loads(cls, blob: bytes) -> OnOrder:
        book = cls()
        for po_id, sku, fc_id, expected_us, outstanding in json.loads(blob):
            book.by_sku.setdefault(sku, {})[po_id] = Incoming(po_id, sku, fc_id, expected_us, outstanding)
        return book
