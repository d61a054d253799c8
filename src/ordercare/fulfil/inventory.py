"""Stock at the platform's fulfilment centres: what is on the shelf, what is promised, what is free.

Stock is counted per (fulfilment centre, SKU, seller): a seller's units stay the seller's
even on a shared shelf. For each the book keeps ``on_hand`` (physically there) and
``reserved`` (promised to placed orders, not yet shipped); ``available`` is the difference,
what a new order may take.

A line's life: ``reserve`` when the order is placed (the book chooses the centre),
``release`` when it is cancelled (its units go first to the lines waiting for them),
``consume`` when its parcel ships (the units leave the shelf), ``restock`` when a return
comes back sellable. A replacement reserves on its own
(``reserve_line``), preferably at the centre that served the line. A line the book cannot
serve waits in a **backorder** queue, first placed first served, and is reserved by the
next receipt.

Choosing the centre: all of an order's lines from one centre when one can serve them (one
parcel, not two), otherwise each line from the centre with the most available units;
a line no single centre can serve is split over several, largest first. Ties go to the
smaller ``fc_id``, so the same events always give the same reservations. Pure: no clock,
no database; the capability persists what ``dirty`` names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Key = tuple[str, str, str]  # (fc_id, sku, seller_id)
Parts = list[tuple[str, int]]  # [(fc_id, qty), ...]: where a line's units are reserved


@dataclass(slots=True)
class Stock:
    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class Request:
    """One line asking for stock: ``ref`` is the caller's handle (order id, line id)."""

    ref: tuple[str, str]
    sku: str
    seller_id: str
    qty: int


@dataclass(order=True, slots=True)
class Backorder:
    """A line waiting for stock, served in (placed, order, line) order."""

    placed_us: int
    ref: tuple[str, str]
    sku: str = field(compare=False)
    seller_id: str = field(compare=False)
    qty: int = field(compare=False)


Filled = tuple[Backorder, Parts]  # a waiting line and the stock now reserved for it


class Inventory:
    """The stock book. Every change marks the touched (fc, sku, seller) rows ``dirty``."""

    def __init__(self) -> None:
        self.stock: dict[Key, Stock] = {}
        self._by_item: dict[tuple[str, str], dict[str, Stock]] = {}
        self.backorders: dict[tuple[str, str], list[Backorder]] = {}
        self.dirty: set[Key] = set()

    # ---- loading and reading ---------------------------------------------------------

    def put(self, fc_id: str, sku: str, seller_id: str, on_hand: int, reserved: int) -> None:
        """Set a row as stored (loading); not marked dirty."""
        row = self._row(fc_id, sku, seller_id)
        row.on_hand, row.reserved = on_hand, reserved

    def get(self, fc_id: str, sku: str, seller_id: str) -> Stock:
        return self.stock.get((fc_id, sku, seller_id)) or Stock()

    def available(self, sku: str, seller_id: str) -> int:
        return sum(s.available for s in self._by_item.get((sku, seller_id), {}).values())

    def rows(self) -> list[tuple[Key, Stock]]:
        return sorted(self.stock.items())

    # ---- receipts, reservations and their fates --------------------------------------

    def receive(self, fc_id: str, sku: str, seller_id: str, qty: int) -> list[Filled]:
        """Units arrive (a negative ``qty`` is a count correction; the shelf never goes below
        zero). Returns the backorders the new stock could serve, now reserved."""
        row = self._row(fc_id, sku, seller_id)
        row.on_hand = max(0, row.on_hand + qty)
        self.dirty.add((fc_id, sku, seller_id))
        return self.fill_backorders(sku, seller_id)

    def restock(self, fc_id: str, sku: str, seller_id: str, qty: int) -> list[Filled]:
        """A sellable return goes back on the shelf (and may serve a waiting line)."""
        return self.receive(fc_id, sku, seller_id, qty)

    def reserve_order(self, requests: Sequence[Request]) -> dict[tuple[str, str], Parts | None]:
        """Reserve an order's lines; ``None`` for a line no stock can serve (a stock-out)."""
        out: dict[tuple[str, str], Parts | None] = {}
        common = self._common_fc(requests)
        for req in requests:
            parts: Parts | None = None
            if common is not None and self.get(common, req.sku, req.seller_id).available >= req.qty:
                parts = [(common, req.qty)]
            else:
                parts = self._choose(req.sku, req.seller_id, req.qty)
            if parts is not None:
                self._hold(req.sku, req.seller_id, parts, +1)
            out[req.ref] = parts
        return out

    def reserve_line(self, req: Request, prefer: str | None = None) -> Parts | None:
        """Reserve one line on its own (a replacement): at ``prefer`` (the centre that served
        the line before) when it can serve it whole, else chosen as for any line; ``None``
        when no stock can serve it."""
        if prefer is not None and self.get(prefer, req.sku, req.seller_id).available >= req.qty:
            parts: Parts | None = [(prefer, req.qty)]
        else:
            parts = self._choose(req.sku, req.seller_id, req.qty)
        if parts is not None:
            self._hold(req.sku, req.seller_id, parts, +1)
        return parts

    def release(self, sku: str, seller_id: str, parts: Parts) -> list[Filled]:
        """An order line is cancelled before it shipped: its units are free again, and go
        first to the lines waiting for them (first placed, first served: not to the next
        order). Returns the backorders they serve, now reserved."""
        self._hold(sku, seller_id, parts, -1)
        return self.fill_backorders(sku, seller_id)

    def unreserve(self, sku: str, seller_id: str, parts: Parts) -> None:
        """Give up a reservation the shelf cannot honour (its units left with another parcel):
        no waiting line is served by it, there is nothing to serve."""
        self._hold(sku, seller_id, parts, -1)

    def consume(self, sku: str, seller_id: str, parts: Parts) -> None:
        """The parcel shipped: reserved units leave the shelf."""
        self._hold(sku, seller_id, parts, -1)
        self.take(sku, seller_id, parts)

    def take(self, sku: str, seller_id: str, parts: Parts) -> None:
        """Units leave the shelf without a reservation (a parcel shipped from stock we were
        not told about): counted down, never below zero."""
        for fc_id, qty in parts:
            row = self._row(fc_id, sku, seller_id)
            row.on_hand = max(0, row.on_hand - qty)
            self.dirty.add((fc_id, sku, seller_id))

    # ---- backorders ------------------------------------------------------------------

    def backorder(self, item: Backorder) -> None:
        queue = self.backorders.setdefault((item.sku, item.seller_id), [])
        if all(b.ref != item.ref for b in queue):
            queue.append(item)
            queue.sort()

    def drop_backorder(self, sku: str, seller_id: str, ref: tuple[str, str]) -> bool:
        queue = self.backorders.get((sku, seller_id), [])
        kept = [b for b in queue if b.ref != ref]
        self.backorders[(sku, seller_id)] = kept
        return len(kept) != len(queue)

    def fill_backorders(self, sku: str, seller_id: str) -> list[Filled]:
        """Serve waiting lines oldest first; one that still cannot be served keeps its place
        and does not block a smaller one behind it."""
        queue = self.backorders.get((sku, seller_id))
        if not queue:
            return []
        filled, waiting = [], []
        for item in queue:
            parts = self._choose(sku, seller_id, item.qty)
            if parts is None:
                waiting.append(item)
                continue
            self._hold(sku, seller_id, parts, +1)
            filled.append((item, parts))
        self.backorders[(sku, seller_id)] = waiting
        return filled

    # ---- internals -------------------------------------------------------------------

    def _row(self, fc_id: str, sku: str, seller_id: str) -> Stock:
        key = (fc_id, sku, seller_id)
        row = self.stock.get(key)
        if row is None:
            row = self.stock[key] = Stock()
            self._by_item.setdefault((sku, seller_id), {})[fc_id] = row
        return row

    def _hold(self, sku: str, seller_id: str, parts: Iterable[tuple[str, int]], sign: int) -> None:
        for fc_id, qty in parts:
            row = self._row(fc_id, sku, seller_id)
            row.reserved = max(0, row.reserved + sign * qty)
            self.dirty.add((fc_id, sku, seller_id))

    def _choose(self, sku: str, seller_id: str, qty: int) -> Parts | None:
        """One centre if one can serve the line (the most available, then smallest id),
        else a split over centres, largest first; ``None`` when all together cannot."""
        stock = self._by_item.get((sku, seller_id), {})
        ranked = [(a, fc) for fc, s in stock.items() if (a := s.available) > 0]
        ranked.sort(key=lambda t: (-t[0], t[1]))  # one sort: centres are distinct, so no ties
        if not ranked or sum(a for a, _ in ranked) < qty:
            return None
        if ranked[0][0] >= qty:
            return [(ranked[0][1], qty)]
        parts: Parts = []
        left = qty
        for avail, fc in ranked:
            take = min(avail, left)
            parts.append((fc, take))
            left -= take
            if left == 0:
                break
        return parts

    def _common_fc(self, requests: Sequence[Request]) -> str | None:
        """The centre that can serve the most of these lines whole (ties: the most units
        available for them, then the smallest id); ``None`` for a one-line order."""
        if len(requests) < 2:
            return None
        need: dict[tuple[str, str], int] = {}
        for req in requests:
            need[(req.sku, req.seller_id)] = need.get((req.sku, req.seller_id), 0) + req.qty
        score: dict[str, tuple[int, int]] = {}
        for (sku, seller), qty in need.items():
            for fc, s in self._by_item.get((sku, seller), {}).items():
                served, units = score.get(fc, (0, 0))
                if s.available >= qty:
                    score[fc] = (served + 1, units + s.available)
        if not score:
            return None
        return min(score, key=lambda fc: (-score[fc][0], -score[fc][1], fc))
