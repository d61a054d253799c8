"""Fulfilment by the platform, as an engine capability (issue 8; docs/fulfilment.md).

What it does with the events the engine applies:

- ``inventory.received`` / a sellable ``return.received``: units on the shelf; lines waiting
  for stock (backorders) are served first.
- ``order.placed``: each platform-fulfilled line reserves stock (``Inventory`` chooses the
  centre). A line that cannot be reserved is a stock-out: a case opens at once, origin
  ``proactive``, and the customer hears it from us with options (wait, cancel at no cost, a
  similar item) before any promise is broken. The case waits for stock and is settled when
  its lines ship or are cancelled; the stock-out stays counted against the SKU.
- ``order.cancelled``: reservations released, backorders dropped. ``shipment.shipped``:
  units consumed, from the centre that packed the parcel when the event says which.
- ``SentAgain`` (a fact the engine tells when the desk promises a replacement of a platform
  line): the replacement reserves a unit of its own at once (``fulfil/again.py``), from the
  centre that served the line if it can, else as any line; none to be had is a stock-out of
  the replacement, told to the customer at once like one at ordering. Its parcel consumes
  it; a cancellation, or a refund the desk made before it shipped, releases it.
- ``shipment.packed``: the learning weight check (``PackCheck``). A mismatch opens a
  ``warehouse`` case, reason ``weight_mismatch``, with ``divert_for_inspection`` at the pack
  instant, and holds the parcel. ``inspection.completed`` records the outcome, teaches the
  check and resolves the case. A held parcel that ships uninspected *left unchecked*: a
  defect, recorded, reported, and escalated on the case. Parcels that pass teach the check.
- ``return.received``: a refund capped at what was paid for the lines minus what earlier
  refunds gave back for them, a restock when sellable, the return counted against the
  seller, SKU and centre.

State lives in memory and is written behind at ``flush`` (changed rows only) inside the
engine's batch transaction; ``load`` reads what is still open.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from ordercare.domain import events as ev
from ordercare.domain.cases import OUT_OF_STOCK, Case
from ordercare.domain.decided import SentAgain
from ordercare.domain.moments import local_day, to_us
from ordercare.domain.order import DAY_US, Line, Order, Shipment
from ordercare.fulfil import tables as t
from ordercare.fulfil.again import PLATFORM, again_line_id, sent_again, served_from, unsent
from ordercare.fulfil.inventory import Backorder, Inventory, Parts, Request
from ordercare.fulfil.on_order import OnOrder
from ordercare.fulfil.packcheck import PackCheck
from ordercare.fulfil.packing import Fact, Packing, case_of
from ordercare.fulfil.returns import Returns
from ordercare.fulfil.tables import LET_GO, OPEN_LINE, LineRec, PackRec
from ordercare.notify.render import format_day
from ordercare.store.repo import load_orders
from ordercare.watch.casework import RESTOCK_LATER, told_in_time

_DONE_LINE = ("consumed", "released", "cancelled", "returned")


class Fulfilment(Returns, Packing):
    """The warehouse capability (see the module docstring)."""

    name = "fulfil"

    def __init__(self, packcheck: PackCheck | None = None) -> None:
        self.inventory = Inventory()
        self.on_order = OnOrder()
        self.packcheck = packcheck or PackCheck()
        self.lines: dict[tuple[str, str], LineRec] = {}
        self.packs: dict[str, PackRec] = {}
        self._dirty_lines: set[tuple[str, str]] = set()
        self._dirty_packs: set[str] = set()
        self._dirty_check = False
        self.early: dict[str, list[Fact]] = {}
        self._dirty_early = False
        self._db: Engine | None = None
        self._engine: Any = None
        self._fetched: set[str] = set()  # orders whose stored line rows were read
        self._handlers: dict[type, Callable[[Any, Order | None, int, Any], None]] = {
            ev.InventoryReceived: self._received, ev.OrderPlaced: self._placed,
            ev.PurchaseOrderPlaced: self._po_placed, ev.PurchaseOrderUpdated: self._po_updated,
            ev.PurchaseOrderCancelled: self._po_cancelled,
            ev.OrderCancelled: self._cancelled, ev.ShipmentPacked: self._packed,
            ev.InspectionCompleted: self._inspected, ev.ShipmentShipped: self._shipped,
            ev.ReturnReceived: self._returned, SentAgain: self._sent_again,
            # The desk's entry points: it may have refunded a replacement not sent yet.
            ev.ContactReceived: self._desk_acted, ev.CustomerChoice: self._desk_acted,
            ev.CustomerReport: self._desk_acted, ev.CallbackDone: self._desk_acted,
            ev.AgentAction: self._desk_acted,
        }
        self.handles = frozenset(self._handlers)  # the engine tells us of these events only

    # ---- the capability protocol -------------------------------------------------------

    def load(self, conn: Connection, engine: Any) -> None:
        self._db = conn.engine
        for r in t.stock_rows(conn):
            self.inventory.put(*r)
        for rec in t.open_lines(conn):
            self._adopt_line(rec)
        for pack in t.open_packs(conn):
            self.packs[pack.shipment_id] = pack
        blob = t.packcheck_state(conn)
        if blob is not None:
            self.packcheck = PackCheck.loads(blob, self.packcheck.policy)
        blob = t.stored_state(conn, t.EARLY_KEY)
        if blob is not None:
            self.early = json.loads(blob)
        blob = t.stored_state(conn, t.ON_ORDER_KEY)
        if blob is not None:
            self.on_order = OnOrder.loads(blob)
        # The watch asks us, when a stock-out's announced restock date has passed, whether
        # its lines still wait for stock and when stock is expected now.
        self._engine = engine
        engine.casework.stock_outlook = self.outlook

    def on_event(self, event: Any, order: Order | None, at_us: int, engine: Any) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event, order, at_us, engine)

    def flush(self, conn: Connection) -> None:
        inv = self.inventory
        stock = [(*k, inv.stock[k].on_hand, inv.stock[k].reserved) for k in sorted(inv.dirty)]
        states = {t.PACKCHECK_KEY: self.packcheck.dumps()} if self._dirty_check else {}
        if self.on_order.dirty:
            states[t.ON_ORDER_KEY] = self.on_order.dumps()
            self.on_order.dirty = False
        if self._dirty_early:
            states[t.EARLY_KEY] = self._early_state()
            self._dirty_early = False
        t.write(conn, stock,
                [self.lines[k] for k in sorted(self._dirty_lines)],
                [self.packs[s] for s in sorted(self._dirty_packs)], states)
        inv.dirty.clear()
        self._dirty_lines.clear()
        self._dirty_packs.clear()
        self._dirty_check = False

    # ---- stock ---------------------------------------------------------------------------

    def _received(self, e: ev.InventoryReceived, order: Order | None, at: int, eng: Any) -> None:
        d = e.data
        seller = d.seller_id or eng.party("sku", d.sku).get("seller_id") or ""
        self.on_order.received(d.po_id, d.sku, d.qty)
        self._filled(self.inventory.receive(d.fc_id, d.sku, seller, d.qty), at)
        if d.qty < 0:  # a count correction: what the shelf no longer has, the lines last served wait for
            self._overdrawn(d.fc_id, d.sku, seller, at)

    def _po_placed(self, e: ev.PurchaseOrderPlaced, order: Order | None, at: int, eng: Any) -> None:
        """Stock ordered from a supplier: when it is expected (its date, else the SKU's lead
        time from now) tells customers waiting for it when to expect their item."""
        d = e.data
        expected = {ln.sku: to_us(d.expected_at) if d.expected_at is not None
                    else None if (lead := _lead_us(eng, ln.sku)) is None else at + lead for ln in d.lines}
        self.on_order.placed(d.po_id, d.fc_id, [(ln.sku, ln.qty) for ln in d.lines], expected)

    def _po_updated(self, e: ev.PurchaseOrderUpdated, order: Order | None, at: int, eng: Any) -> None:
        """The supplier moved its date: customers waiting for that stock whose date moves
        later hear it now, not when the day we gave them has passed."""
        for sku in self.on_order.revised(e.data.po_id, to_us(e.data.expected_at)):
            self._retell(sku, at, eng)

    def _po_cancelled(self, e: ev.PurchaseOrderCancelled, order: Order | None, at: int, eng: Any) -> None:
        d = e.data
        for sku in self.on_order.cancelled(d.po_id, [(ln.sku, ln.qty) for ln in d.lines] if d.lines else None):
            self._retell(sku, at, eng)

    def _retell(self, sku: str, at: int, eng: Any) -> None:
        """Each open stock-out case with a line waiting for ``sku`` whose expected date is now
        a later day than the one its customer was given: the customer hears the new date."""
        told: set[str] = set()
        for (queued, _seller), queue in list(self.inventory.backorders.items()):
            if queued != sku:
                continue
            for item in list(queue):
                rec = self.lines.get(item.ref)
                if rec is None or rec.case_id is None or rec.case_id in told:
                    continue
                told.add(rec.case_id)
                order = self._order_of(rec.order_id, eng)
                case = case_of(order, rec.case_id) if order is not None else None
                if order is None or case is None or case.status == "resolved" or case.expected_us is None:
                    continue
                waiting, expected = self.outlook(order, case, at)
                if waiting and (expected is None or local_day(expected, order.tz_min)
                                > local_day(case.expected_us, order.tz_min)):
                    eng.casework.restock_news(order, case, at, expected, RESTOCK_LATER)
                    eng.review(order)  # (its state is written, and the watch follows the new date)

    def _order_of(self, order_id: str, eng: Any) -> Order | None:
        """An order in memory, else read from the store and taken under watch."""
        found: Order | None = eng.world.orders.get(order_id)
        if found is None and self._db is not None:
            with self._db.connect() as conn:
                for loaded in load_orders(conn, [order_id]):
                    eng.adopt(loaded)
                    found = loaded
        return found

    def _restock_expected(self, short: list[LineRec], at: int, eng: Any) -> int | None:
        """When the last of ``short`` (lines just queued for stock) can expect its units."""
        latest = at
        for rec in short:
            queue = self.inventory.backorders.get((rec.sku, rec.seller_id), [])
            needed = 0
            for item in queue:  # (first placed, first served: those ahead of the line, and itself)
                needed += item.qty
                if item.ref == rec.key:
                    break
            due = self.on_order.expected(rec.sku, needed or rec.qty, at, _lead_us(eng, rec.sku),
                                         eng.policies.watch.restock_margin_days * DAY_US)
            if due is None:
                return None
            latest = max(latest, due)
        return latest

    def outlook(self, order: Order, case: Case, now: int) -> tuple[bool, int | None]:
        """Whether some line of the stock-out ``case`` still waits for stock at ``now``, and
        when stock is expected for it now (``None``: no date to give)."""
        waiting = [r for lid in case.line_ids if (r := self._holder(order, lid)) is not None and r.state == "short"]
        if not waiting:
            return False, None
        return True, self._restock_expected(waiting, now, self._engine)

    def _filled(self, filled: list[tuple[Backorder, Parts]], at: int) -> None:
        """Waiting lines the new stock serves: reserved now (their case settles on shipping)."""
        for item, parts in filled:
            rec = self.lines.get(item.ref)
            if rec is None or rec.state != "short":  # the line went meanwhile: the next one in line
                self._filled(self.inventory.release(item.sku, item.seller_id, parts), at)
                continue
            rec.state, rec.parts, rec.filled_us = "reserved", parts, at
            self._touch_line(rec)

    def _placed(self, e: ev.OrderPlaced, order: Order | None, at: int, eng: Any) -> None:
        if order is None:
            return
        wanted = [ln for ln in order.lines if ln.fulfilled_by == "platform"
                  and (order.order_id, ln.line_id) not in self.lines]
        if not wanted:
            return
        got = self.inventory.reserve_order(
            [Request((order.order_id, ln.line_id), ln.sku, ln.seller_id, ln.qty) for ln in wanted])
        short: list[LineRec] = []
        for ln in wanted:
            parts = got[(order.order_id, ln.line_id)]
            rec = LineRec(order.order_id, ln.line_id, ln.sku, ln.seller_id, ln.qty, "platform",
                          "reserved" if parts is not None else "short", parts or [], placed_us=at)
            if parts is None:
                rec.short_us = at
                short.append(rec)
            self._adopt_line(rec)
            self._touch_line(rec)
        if short:
            self._stockout_case(order, [r.line_id for r in short], short, at, eng)

    def _stockout_case(self, order: Order, ids: list[str], short: list[LineRec], at: int, eng: Any) -> None:
        """Tell the customer now, with options, rather than let the ship-by pass in silence
        (``ids``: the order's lines short, ``short`` their rows; for a replacement the message
        is about the replacement: its lines say they were sent again)."""
        lang = eng.customer(order.customer_id).get("lang", "en")
        expected = self._restock_expected(short, at, eng)
        restock_on = format_day(expected, order.tz_min, lang if lang in ("en", "fr") else "en") if expected else ""
        case = eng.casework.open_case(
            order, OUT_OF_STOCK, "proactive", at, line_ids=ids, status="waiting",
            message={"template": "stock_shortage", "line_ids": ids, "restock_on": restock_on,
                     "others": len(order.active_lines()) > len(ids),
                     # stock expected before the ship-by: it may still leave on time (the watch
                     # then treats a missed ship-by as news, not as what we already said)
                     "in_time": told_in_time(order, ids, expected)})
        case.expected_us = expected  # (the watch looks again once that day has passed)
        for rec in short:
            rec.case_id = case.id

    def _cancelled(self, e: ev.OrderCancelled, order: Order | None, at: int, eng: Any) -> None:
        if order is None:
            return
        wanted = set(e.data.line_ids) if e.data.line_ids else None
        for ln in order.lines:
            if wanted is None or ln.line_id in wanted:
                self._let_go(self.lines.get((order.order_id, ln.line_id)), at)
                self._let_go(self._again(order, ln), at)
        self._settle_stockouts(order, at, eng)

    def _let_go(self, rec: LineRec | None, at: int) -> None:
        """The line will not ship: its units are free again (first for the lines waiting for
        them), or it leaves the queue."""
        if rec is None:
            return
        if rec.state == "reserved":
            freed = self.inventory.release(rec.sku, rec.seller_id, rec.parts)
            rec.state = "released"
            self._touch_line(rec)
            self._filled(freed, at)
            return
        elif rec.state == "short":
            self.inventory.drop_backorder(rec.sku, rec.seller_id, rec.key)
            rec.state = "cancelled"
        else:
            return
        self._touch_line(rec)

    # ---- lines sent again ----------------------------------------------------------------

    def _sent_again(self, e: SentAgain, order: Order | None, at: int, eng: Any) -> None:
        """A replacement asked of our warehouse holds stock from the moment it is promised.
        A line whose units are still held or awaited (it never left, or an earlier replacement
        never did) keeps them: the replacement is that line, not one more unit."""
        if order is None or e.to != PLATFORM:
            return
        short: list[tuple[str, LineRec]] = []
        for lid in e.line_ids:
            ln = order.line(lid)
            key = (order.order_id, again_line_id(lid, e.request_id))
            if ln is None or ln.fulfilled_by != PLATFORM or ln.cancelled_us is not None or key in self.lines:
                continue
            first = self._first_rec(order.order_id, lid)
            earlier = self._again(order, ln)
            if any(r is not None and r.state in OPEN_LINE for r in (first, earlier)):
                continue
            prefer = min(first.parts, key=lambda p: (-p[1], p[0]))[0] if first is not None and first.parts \
                else served_from(order, ln)
            parts = self.inventory.reserve_line(Request(key, ln.sku, ln.seller_id, ln.qty), prefer)
            rec = LineRec(order.order_id, key[1], ln.sku, ln.seller_id, ln.qty, PLATFORM,
                          "reserved" if parts is not None else "short", parts or [], placed_us=e.at_us)
            if parts is None:
                rec.short_us = at
                short.append((lid, rec))
            self._adopt_line(rec)
            self._touch_line(rec)
        if short:
            self._stockout_case(order, [lid for lid, _ in short], [r for _, r in short], at, eng)

    def _first_rec(self, order_id: str, line_id: str) -> LineRec | None:
        """The line's own row (what was first sent), read from the store if not in memory."""
        rec = self.lines.get((order_id, line_id))
        if rec is None:
            self._fetch_lines(order_id)
            rec = self.lines.get((order_id, line_id))
        return rec

    def _again(self, order: Order, ln: Line) -> LineRec | None:
        """The row holding stock for the line's latest replacement, if it has one (a request
        that found the units of an earlier one still held has no row of its own)."""
        if ln.redo_us is None:
            return None
        for request in sent_again(order, ln):
            rec = self.lines.get((order.order_id, again_line_id(ln.line_id, request.request_id)))
            if rec is not None:
                return rec
        return None

    def _holder(self, order: Order, line_id: str) -> LineRec | None:
        """The row the line's stock is held under now: its replacement's, else its own."""
        ln = order.line(line_id)
        again = self._again(order, ln) if ln is not None else None
        return again or self.lines.get((order.order_id, line_id))

    def _desk_acted(self, e: Any, order: Order | None, at: int, eng: Any) -> None:
        """The desk may have refunded a replacement no parcel carries yet (the customer chose
        a refund when it was late, or out of stock): the warehouse will not send it, its units
        are free again."""
        if order is None or not order.requests:
            return
        self._unsend(order, at, eng)

    def _unsend(self, order: Order, at: int, eng: Any) -> None:
        gone = unsent(order)
        for ln, _ in gone:
            self._let_go(self._again(order, ln), at)
            self._let_go(self.lines.get((order.order_id, ln.line_id)), at)
        if gone:
            self._settle_stockouts(order, at, eng)

    def _shipped(self, e: ev.ShipmentShipped, order: Order | None, at: int, eng: Any) -> None:
        sid = e.data.shipment_id
        ship = order.shipments.get(sid) if order is not None else None
        if order is None or ship is None or ship.shipped_us != at:
            return  # (not its departure as it stands: an older label, heard late)
        boxed = {lid for lid in ship.line_ids if _in_the_box(order, lid, ship)}
        if boxed:
            self._fetch_lines(order.order_id)  # (a line given up is no longer held in memory)
        for lid in ship.line_ids:
            rec = self.lines.get((order.order_id, lid))
            if rec is not None and rec.state in OPEN_LINE:
                self._consume(rec, ship.fc_id, at)
            elif rec is not None and rec.state in LET_GO and rec.shipped_us is None and lid in boxed:
                # Cancelled once packed, and the parcel left all the same.
                fc = self._left_anyway(rec, ship.fc_id or (rec.parts[0][0] if rec.parts else None), at)
                if fc:
                    self._overdrawn(fc, rec.sku, rec.seller_id, at)
                self._touch_line(rec)
            elif (ln := order.line(lid)) is not None and ln.shipment_id == sid:
                # The parcel made for a replacement (an older parcel carrying the line, late
                # to leave, is not it): it takes the units held for the replacement.
                again = self._again(order, ln)
                if again is not None and again.state in OPEN_LINE:
                    self._consume(again, ship.fc_id, at)
        self._settle_stockouts(order, at, eng, shipped=True)
        self._pack_left(order, sid, at, eng)

    def _left_anyway(self, rec: LineRec, fc: str | None, at: int) -> str | None:
        """A line let go (cancelled once packed, its reservation given up) whose unit left in
        its parcel all the same: the unit leaves the shelf of ``fc`` at ``at``. The caller then
        asks ``_overdrawn`` of that centre, once the shelf holds what it will: the unit may
        have been given to a line waiting for it. Returns ``fc``."""
        if fc:
            self.inventory.take(rec.sku, rec.seller_id, [(fc, rec.qty)])
        rec.shipped_us = at
        return fc

    def _overdrawn(self, fc: str, sku: str, seller: str, at: int) -> None:
        """Units we had counted on are not there (a cancelled line's parcel shipped with them
        after they had been given to a waiting line; a recount found fewer): the lines last
        served from that shelf wait again, latest served first, until the shelf covers what it
        holds for them."""
        row = self.inventory.get(fc, sku, seller)
        over = row.reserved - row.on_hand
        if over <= 0:
            return
        served = sorted((r for r in self.lines.values() if r.state == "reserved" and r.sku == sku
                         and r.seller_id == seller and any(f == fc for f, _ in r.parts)),
                        key=lambda r: (r.filled_us if r.filled_us is not None else r.placed_us or 0, r.key),
                        reverse=True)
        waiting: dict[str, list[LineRec]] = {}
        for rec in served:
            if over <= 0:
                break
            self.inventory.unreserve(sku, seller, rec.parts)
            over -= sum(q for f, q in rec.parts if f == fc)
            self.inventory.backorder(Backorder(rec.placed_us or at, rec.key, sku, seller, rec.qty))
            rec.state, rec.parts, rec.filled_us, rec.short_us = "short", [], None, at
            self._touch_line(rec)
            waiting.setdefault(rec.order_id, []).append(rec)
        eng = self._engine
        # Told now, as at ordering (a case still open about the line says it already).
        for order_id, recs in waiting.items() if eng is not None else ():
            order = self._order_of(order_id, eng)
            if order is None:
                continue
            untold = [r for r in recs if (c := case_of(order, r.case_id)) is None or c.status == "resolved"]
            if untold:
                self._stockout_case(order, [r.line_id for r in untold], untold, at, eng)
                eng.review(order)

    def _consume(self, rec: LineRec, fc_id: str | None, at: int) -> None:
        """Units leave the shelf: the reserved ones, or those of the centre that packed it."""
        inv = self.inventory
        if rec.state == "short":
            inv.drop_backorder(rec.sku, rec.seller_id, rec.key)
            if fc_id:
                rec.parts = [(fc_id, rec.qty)]
                inv.take(rec.sku, rec.seller_id, rec.parts)
        elif fc_id and any(fc != fc_id for fc, _ in rec.parts):
            # Packed at another centre than the one holding its units: the packing centre's
            # leave the shelf, the held ones are free again (first for the lines waiting).
            held, rec.parts = rec.parts, [(fc_id, rec.qty)]
            inv.take(rec.sku, rec.seller_id, rec.parts)
            self._filled(inv.release(rec.sku, rec.seller_id, held), at)
        else:
            inv.consume(rec.sku, rec.seller_id, rec.parts)
        rec.state, rec.shipped_us = "consumed", at
        self._touch_line(rec)

    def _settle_stockouts(self, order: Order, at: int, eng: Any, shipped: bool = False) -> None:
        """A stock-out case is over when each of its lines shipped or was cancelled. Over by
        a parcel leaving (``shipped``), the customer who was told of the wait hears it has
        left, with its tracking, whatever updates they chose (the routine "shipped" is not
        sent on top), and that a call we had booked is no longer needed. (A delivery case
        still open about the lines may then book the call it had left to this one: the watch
        looks at the order again at once.)"""
        again = False
        for case in order.cases:
            if case.reason != OUT_OF_STOCK or case.status == "resolved":
                continue
            recs = [self._holder(order, lid) for lid in case.line_ids]
            if all(r is None or r.state in _DONE_LINE for r in recs):
                called_off = eng.casework.resolve(case, at)
                again = again or called_off
                if shipped:
                    for ship in eng.casework.tell_shipped(order, case, at, called_off):
                        eng.milestones.told(order, "shipped", ship)
        if again and order.open_cases():
            eng.review(order)

    # ---- bookkeeping ---------------------------------------------------------------------

    def _adopt_line(self, rec: LineRec) -> None:
        self.lines[rec.key] = rec
        if rec.state == "short":
            self.inventory.backorder(Backorder(rec.placed_us or 0, rec.key, rec.sku,
                                               rec.seller_id, rec.qty))

    def _touch_line(self, rec: LineRec) -> None:
        self._dirty_lines.add(rec.key)

    def _fetch_lines(self, order_id: str) -> None:
        """Stored rows of an order not held in memory (its shipped lines, from earlier runs)."""
        if order_id in self._fetched or self._db is None:
            return
        self._fetched.add(order_id)
        with self._db.connect() as conn:
            for rec in t.order_lines(conn, order_id):
                self.lines.setdefault(rec.key, rec)

# ---- pure helpers ------------------------------------------------------------------------------

def _lead_us(eng: Any, sku: str) -> int | None:
    """The SKU's supplier lead time, if the catalogue gives one."""
    lead = eng.party("sku", sku).get("lead_time_days")
    return lead * DAY_US if isinstance(lead, int) else None


def _in_the_box(order: Order, line_id: str, ship: Shipment) -> bool:
    """Was a cancelled line in its parcel when the parcel left? Yes if it was cancelled once
    the parcel was packed (weighed with it); one cancelled before packing was left out."""
    ln = order.line(line_id)
    return ln is not None and ln.cancelled_us is not None and ship.packed_us is not None \
        and ln.cancelled_us >= ship.packed_us
