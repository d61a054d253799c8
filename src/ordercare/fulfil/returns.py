"""Returns, for the warehouse capability (``capability.py``; docs/fulfilment.md): a parcel
back at one of our centres is refunded at once, capped at what was paid for its lines minus
what earlier refunds gave back for them, put back on the shelf when sellable, and counted
against the seller, SKU and centre (why it came back: the customer's own case about the
lines, if there is one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ordercare.domain import events as ev
from ordercare.domain.cases import Action
from ordercare.domain.order import Line, Order
from ordercare.fulfil.inventory import Backorder, Inventory, Parts
from ordercare.fulfil.tables import LET_GO, OPEN_LINE, LineRec

_CUSTOMER_CAUSES = frozenset({"missing_item", "damaged_or_defective", "not_as_described",
                              "refund_request"})


class Returns:
    """The returns part of ``Fulfilment``: what it needs of the rest of the capability is
    declared here."""

    lines: dict[tuple[str, str], LineRec]
    inventory: Inventory
    _fetch_lines: Callable[[str], None]
    _adopt_line: Callable[[LineRec], None]
    _touch_line: Callable[[LineRec], None]
    _consume: Callable[[LineRec, str | None, int], None]
    _filled: Callable[[list[tuple[Backorder, Parts]], int], None]
    _unsend: Callable[[Order, int, Any], None]
    _left_anyway: Callable[[LineRec, str | None, int], str | None]
    _overdrawn: Callable[[str, str, str, int], None]

    def _returned(self, e: ev.ReturnReceived, order: Order | None, at: int, eng: Any) -> None:
        if order is None:
            return
        d = e.data
        self._fetch_lines(order.order_id)
        back: list[Line] = []
        for lid in dict.fromkeys(d.line_ids):
            ln = order.line(lid)
            rec = self.lines.get((order.order_id, lid))
            if ln is not None and (rec is None or rec.returned_us is None):
                back.append(ln)
        if not back:
            return  # unknown lines, or already back: one return per line
        ids = [ln.line_id for ln in back]
        amount = refund_cap(order, ids)
        reason = _return_reason(order, ids, d.condition)
        actions = [Action("refund", at, line_ids=ids, amount=amount, return_required=False)]
        eng.casework.open_case(
            order, reason, "customer", at, line_ids=ids, actions=actions if amount > 0 else [],
            message={"template": "stock_returned", "line_ids": ids, "refund": amount,
                     "condition": d.condition},
            status="resolved")
        order.refunded = round(order.refunded + amount, 2)
        eng.dirty_orders[order.order_id] = order
        paid = order.paid_for(ids) or 1.0
        for ln in back:
            self._line_back(order, ln, d, at, reason, round(amount * ln.amount / paid, 2))
        if order.requests:
            self._unsend(order, at, eng)  # refunded on return: a replacement not sent is not owed

    def _line_back(self, order: Order, ln: Line, d: ev.ReturnReceivedData, at: int, reason: str,
                   refund: float) -> None:
        rec = self.lines.get((order.order_id, ln.line_id))
        if rec is None:
            rec = LineRec(order.order_id, ln.line_id, ln.sku, ln.seller_id, ln.qty,
                          ln.fulfilled_by, "returned", placed_us=order.placed_us)
            self._adopt_line(rec)
        ship = order.line_shipment(ln)
        fc = d.fc_id or (ship.fc_id if ship else None) or (rec.parts[0][0] if rec.parts else None)
        left = None  # the centre whose shelf a unit left, unheard of until now
        if rec.shipped_us is None:
            # Back before we heard it leave: it did leave (here it is), so its units left the
            # shelf then, before this one comes back on it (not freed: that would count it twice).
            if rec.state in OPEN_LINE:
                self._consume(rec, ship.fc_id if ship else None, at)
            elif rec.state in LET_GO:
                left = self._left_anyway(rec, ship.fc_id if ship and ship.fc_id else fc, at)
        rec.state, rec.returned_us, rec.return_condition = "returned", at, d.condition
        rec.return_reason, rec.return_fc, rec.refund = reason, fc, refund
        self._touch_line(rec)
        if d.condition == "sellable" and fc:
            self._filled(self.inventory.restock(fc, rec.sku, rec.seller_id, rec.qty), at)
        if left:  # (after the restock: a sellable unit back on the same shelf covers it)
            self._overdrawn(left, rec.sku, rec.seller_id, at)


def refund_cap(order: Order, line_ids: list[str]) -> float:
    """What may still be refunded for these lines: what was paid for them minus what earlier
    refunds gave back for them (each refund shared over its lines by their value), and never
    more than what is left of the payment."""
    paid = order.paid_for(line_ids)
    wanted = set(line_ids)
    before = 0.0
    for case in order.cases:
        for a in case.actions:
            if a.type != "refund" or not a.amount:
                continue
            covered = a.line_ids or [ln.line_id for ln in order.lines]
            total = order.paid_for(covered)
            if total > 0:
                mine = order.paid_for([lid for lid in covered if lid in wanted])
                before += a.amount * mine / total
    return round(max(0.0, min(paid - before, order.paid_amount - order.refunded)), 2)


def _return_reason(order: Order, line_ids: list[str], condition: str) -> str:
    """Why it came back: the customer's own case about these lines, if there is one."""
    wanted = set(line_ids)
    for case in reversed(order.cases):
        if case.origin == "customer" and case.reason in _CUSTOMER_CAUSES \
                and wanted & set(case.line_ids):
            return case.reason
    return "damaged_or_defective" if condition == "damaged" else "refund_request"
