"""Seller health in the running system: the engine's events feed each seller's book.

``SellerHealth`` is a capability (see ``ordercare/capability.py``). After every applied
event it turns what happened into seller *facts* (order placed with its ship-by, shipped,
first carrier scan, delivered, seller cancellation before shipment, negative feedback,
chargeback, guarantee claim, buyer message, seller reply), records them in the
:class:`SellerBook` and appends them to the seller's stored fact log.

Work that falls due with time runs in event time, in due order, strictly before the event
being applied (and, at flush, strictly before the engine clock): so everything at an
instant is known before anything due at that instant is decided, whatever the batches.

* **Status reviews** run on the hour (UTC) for the sellers that had a fact or a deadline
  (ship-by, scan grace, deliver-by, reply due) in that hour, and once a day for every
  seller still holding facts in its longest window. A change is recorded once, in
  ``seller_status_log``, and good → at_risk opens a ``seller_performance`` case (origin
  ``seller``) with a ``seller_warning``, anything → suspended one with a
  ``seller_suspension``, each holding the figures of that moment. A suspension stands until
  a reinstatement is recorded (``ordercare seller ID --reinstate``).
* **The guarantee**: a buyer message still unanswered after ``guarantee_after_hours``
  opens a ``seller_unresponsive`` case on the order at that very instant: the platform
  refunds the buyer what they paid for that seller's lines and records a
  ``guarantee_claim`` against the seller (an order defect).
"""

from __future__ import annotations

import heapq
from typing import Any

import msgspec
from sqlalchemy import Connection

from ordercare.domain import events as ev
from ordercare.domain.cases import Action, Case
from ordercare.domain.decided import SentAgain
from ordercare.domain.order import DAY_US, HOUR_US, Line, Order, Shipment
from ordercare.sellers import notices, tables
from ordercare.sellers.masking import mask_contact_details
from ordercare.sellers.metrics import FactConflict, SellerBook, SellerMetrics
from ordercare.sellers.policy import SellerPolicy, load_seller_policy
from ordercare.sellers.standing import Standing, apply_fact, figures, judge, seller_case_row
from ordercare.sellers.status import SellerStatus, recovered
from ordercare.sellers.tables import BUYER, CANCEL, DEFECT, DELIVERED, ORDER, REMOVED, REPLY, SCAN, SHIPPED, Fact
from ordercare.store import repo

SELLER_CASE_REASON = "seller_performance"
_UNRESPONSIVE = "seller_unresponsive"


def order_sellers(order: Order) -> list[str]:
    return list(dict.fromkeys(ln.seller_id for ln in order.lines))


def sellers_apart(thread: list[str], sellers: list[str]) -> bool:
    """No seller in common: an answer from ``sellers`` does not answer that thread."""
    return not any(s in thread for s in sellers)


def seller_shipment(order: Order, ship: Shipment) -> str | None:
    """The seller accountable for a parcel's tracking and delivery (None: the platform's)."""
    ids, first = ship.line_ids, None  # one pass: this runs on every scan
    for ln in order.lines:
        if ln.line_id in ids:
            if first is None:
                first = ln.seller_id
            if ln.fulfilled_by != "platform":
                return ship.seller_id or first
    return None if first is not None else ship.seller_id or None


class _Awaiting(msgspec.Struct):
    message_id: str
    order_id: str
    sellers: list[str]
    sent_us: int
    due_us: int


class SellerHealth:
    name = "sellers"

    def __init__(self, policy: SellerPolicy | None = None) -> None:
        self.policy = policy or load_seller_policy()
        self.book = SellerBook(self.policy)
        conv = self.policy.conventions
        self._grace = round(conv.scan_grace_hours * HOUR_US)
        self._reply = round(conv.reply_within_hours * HOUR_US)
        self._guarantee = round(conv.guarantee_after_hours * HOUR_US)
        # reviewed daily while a fact may still count, and for the days it takes to recover
        self._live = (self.policy.longest_window_days + 1 + self.policy.recovery.days) * DAY_US
        self.standing: dict[str, Standing] = {}
        self.conflicts: list[str] = []
        self.engine: Any = None
        self._done_before = 0
        self._marks: dict[int, set[str]] = {}
        self._mark_heap: list[int] = []
        self._timers: list[tuple[int, str]] = []
        self._awaiting: dict[str, _Awaiting] = {}
        self._by_order: dict[str, list[str]] = {}
        self._claims: dict[tuple[str, str], int] = {}
        self._last_fact: dict[str, int] = {}
        self._chunks: dict[str, int] = {}
        self._held: dict[str, list[int]] = {}  # per seller, its chunks that may still count
        self._in_flush = False
        self._reset_buffers()
        self._handlers: dict[type, Any] = {
            ev.OrderPlaced: self._placed, ev.OrderCancelled: self._cancelled,
            ev.ShipmentShipped: self._shipped, ev.CarrierScan: self._scanned,
            ev.FeedbackLeft: self._feedback, ev.ChargebackFiled: self._chargeback,
            ev.SellerDefectRemoved: self._defect_removed, ev.NoReplyNeeded: self._no_reply_needed,
            ev.BuyerSellerMessage: self._message, SentAgain: self._sent_again,
        }

    def _reset_buffers(self) -> None:
        self._new_facts: dict[str, list[Fact]] = {}
        self._dirty: set[str] = set()
        self._log: list[dict[str, Any]] = []
        self._flags: list[tuple[str, str, str | None, int, str, list[str]]] = []
        self._relay: dict[str, dict[str, Any]] = {}
        self._seller_cases: dict[str, tuple[Case, dict[str, Any]]] = {}
        self._acted: dict[str, Order] = {}  # orders changed by work done inside flush
        self._acted_cases: dict[str, Case] = {}
        self._notices: list[notices.Notice] = []  # told to the sellers (notices.py)

    # ---- the capability protocol ------------------------------------------------------------

    def load(self, conn: Connection, engine: Any) -> None:
        self.engine = engine
        self._done_before = engine.now or 0
        for seller, status, since, data in (
                (s, *row) for s, row in tables.load_standing(conn).items()):
            self.standing[seller] = Standing.from_row(status, since, data)
        self._chunks = tables.chunk_counts(conn)
        since = tables.horizon(self._done_before, self.policy.longest_window_days)
        for seller, facts in tables.load_facts(conn, since_us=since, chunks=self._held).items():
            for f in facts:
                self._apply(seller, f)
            self._mark(seller, self._done_before)
        missing = set()
        for row in tables.awaiting_reply(conn):
            self._await(_Awaiting(row["message_id"], row["order_id"], row["seller_ids"],
                                  row["at_us"], row["at_us"] + self._guarantee))
            if row["order_id"] not in engine.world.orders:
                missing.add(row["order_id"])
        for order in repo.load_orders(conn, missing):
            engine.adopt(order)

    def on_event(self, event: Any, order: Order | None, at_us: int, engine: Any) -> None:
        timers, hours = self._timers, self._mark_heap
        if (hours and hours[0] < at_us) or (timers and timers[0][0] < at_us):
            self._run(at_us)
        handler = self._handlers.get(type(event))
        if handler is not None and order is not None:
            handler(event, order, at_us)
        if order is not None and order.cases:
            self._claims_on(order)

    def flush(self, conn: Connection) -> None:
        eng = self.engine
        first_message = len(eng.casework.messages)
        self._in_flush = True
        try:
            for order in list(eng.dirty_orders.values()):
                if order.cases:
                    self._claims_on(order)
            self._run(eng.now)
        finally:
            self._in_flush = False
        for order in eng.dirty_orders.values():  # (the few with requests: what became of them)
            for request in order.requests:
                if request.to != "platform":
                    self._notices += notices.request_news(request.to, order, request, eng.now)
        if self._acted:  # the engine wrote its batch before us: write what we did since
            repo.write_orders(conn, self._acted.values())
            repo.write_cases(conn, [repo.case_row(c, self._acted[c.order_id].tz_min if c.order_id else 0)
                                    for c in self._acted_cases.values()])
            repo.write_messages(conn, eng.casework.messages[first_message:])
        self._write(conn)
        self._reset_buffers()

    def _write(self, conn: Connection) -> None:
        chunks = []
        for seller, facts in self._new_facts.items():
            n = self._chunks.get(seller, 0)
            self._chunks[seller] = n + 1
            held = self._held.setdefault(seller, [])
            if len(held) > tables.COMPACT_AFTER:
                # A chunk per batch adds up (a session kept by `watch` writes one per pass):
                # merge the seller's recent chunks with these facts into one.
                tables.compact(conn, seller, held, n, tables.chunk_facts(conn, seller, held) + facts)
                held[:] = [n]
            else:
                chunks.append((seller, n, facts))
                held.append(n)
        tables.append_facts(conn, chunks)
        tables.write_standing(conn, [(s, self.standing[s].status, self.standing[s].since_us,
                                      self.standing[s].data()) for s in sorted(self._dirty)])
        tables.write_log(conn, self._log)
        tables.write_flags(conn, self._flags)
        notices.write(conn, self._notices)
        tables.write_messages(conn, self._relay.values())
        repo.write_cases(conn, [seller_case_row(c, figs) for c, figs in self._seller_cases.values()])

    # ---- facts ------------------------------------------------------------------------------

    def _apply(self, seller: str, f: Fact) -> bool:
        """Record a fact in the book and arm the reviews its deadlines call for."""
        try:
            apply_fact(self.book, seller, f)
        except FactConflict as exc:
            self.conflicts.append(f"{seller}: {exc}")
            return False
        kind = f[0]
        at = f[3] if kind in (SHIPPED, BUYER, REPLY) else f[2]
        if at > self._last_fact.get(seller, 0):
            self._last_fact[seller] = at
        if kind == ORDER:
            for due in (f[3], f[4]):
                if due is not None:
                    self._mark_deadline(seller, due)
        elif kind == SHIPPED:
            self._mark_deadline(seller, at + self._grace)
        elif kind == BUYER:
            self._mark_deadline(seller, at + self._reply)
        elif kind == DEFECT and f[3] == "guarantee_claim":
            key = (seller, f[1])
            if key not in self._claims or at < self._claims[key]:
                self._claims[key] = at
        return True

    def _record(self, seller: str, f: Fact, at: int) -> None:
        if self._apply(seller, f):
            self._new_facts.setdefault(seller, []).append(f)
            self._mark(seller, at)

    def _placed(self, e: ev.OrderPlaced, order: Order, at: int) -> None:
        """One fact per seller of the order, in the order of its lines: a seller shipping
        some lines itself owes the latest ship-by of those and the order's deliver-by.
        (One pass over the lines, no list per seller: this runs for every order.)"""
        ship_by: dict[str, int | None] = {}  # None: every line of the seller fulfilled by the platform
        for ln in order.lines:
            if ln.fulfilled_by != "platform":
                latest = ship_by.get(ln.seller_id)
                if latest is None or ln.ship_by_us > latest:
                    ship_by[ln.seller_id] = ln.ship_by_us
            elif ln.seller_id not in ship_by:
                ship_by[ln.seller_id] = None
        for seller, due in ship_by.items():
            deliver_by = None if due is None else order.deliver_by_us
            self._record(seller, [ORDER, order.order_id, at, due, deliver_by], at)
            if self._standing(seller).status == "suspended":
                self._flags.append((order.order_id, seller, repo.iso(at, order.tz_min), at, "seller_suspended",
                                    [ln.line_id for ln in order.lines if ln.seller_id == seller]))

    def _cancelled(self, e: ev.OrderCancelled, order: Order, at: int) -> None:
        wanted = set(e.data.line_ids) if e.data.line_ids else None
        for seller in order_sellers(order):
            mine = [ln for ln in order.lines if ln.seller_id == seller]
            hit = [ln for ln in mine if (wanted is None or ln.line_id in wanted)
                   and not _shipped_by(order, ln, at)]
            if not hit:
                continue
            partial = any(ln.cancelled_us is None for ln in mine)
            self._record(seller, [CANCEL, order.order_id, at, e.data.by == "seller", partial], at)

    def _shipped(self, e: ev.ShipmentShipped, order: Order, at: int) -> None:
        ship = order.shipments[e.data.shipment_id]
        seller = seller_shipment(order, ship)
        if seller is not None:
            self._record(seller, [SHIPPED, order.order_id, ship.shipment_id, at], at)

    def _scanned(self, e: ev.CarrierScan, order: Order, at: int) -> None:
        sid = self.engine.world.tracking_shipment[e.data.tracking]
        ship = order.shipments[sid]
        first = bool(ship.scans) and ship.scans[0].at_us == at  # a later scan changes nothing
        delivered = e.data.status == "delivered" and ship.delivered_us == at
        if not (first or delivered):
            return
        seller = seller_shipment(order, ship)
        if seller is None:
            return
        if first:
            self._record(seller, [SCAN, sid, at], at)
        if delivered:
            self._record(seller, [DELIVERED, sid, at], at)

    def _sent_again(self, e: SentAgain, order: Order, at: int) -> None:
        """A replacement or a re-sending asked of a seller: the seller hears of it at once."""
        if e.to == "platform":
            return
        request = next((rq for rq in order.requests if rq.request_id == e.request_id), None)
        if request is not None:
            self._notices.append(notices.request_notice(e.to, order, request, self.engine.title))

    def _feedback(self, e: ev.FeedbackLeft, order: Order, at: int) -> None:
        if e.data.rating <= self.policy.conventions.negative_feedback_max_rating:
            self._record(e.data.seller_id, [DEFECT, order.order_id, at, "negative_feedback"], at)

    def _chargeback(self, e: ev.ChargebackFiled, order: Order, at: int) -> None:
        # Against the seller it names, when it names one of the order's; else (the contract's
        # chargeback names no seller) against each seller on the order.
        sellers = order_sellers(order)
        for seller in [e.data.seller_id] if e.data.seller_id in sellers else sellers:
            self._record(seller, [DEFECT, order.order_id, at, "chargeback"], at)

    def _defect_removed(self, e: ev.SellerDefectRemoved, order: Order, at: int) -> None:
        self._record(e.data.seller_id, [REMOVED, order.order_id, at, e.data.kind], at)

    def _claims_on(self, order: Order) -> None:
        """Guarantee claims recorded by anyone (the desk, a playbook, us) are order defects."""
        for case in order.cases:
            for action in case.actions:
                if action.type != "guarantee_claim":
                    continue
                ids = set(action.line_ids or case.line_ids)
                sellers = list(dict.fromkeys(
                    ln.seller_id for ln in order.lines if ln.line_id in ids)) or order_sellers(order)
                for seller in sellers:
                    known = self._claims.get((seller, order.order_id))
                    if known is None or action.at_us < known:
                        fact = [DEFECT, order.order_id, action.at_us, "guarantee_claim"]
                        self._record(seller, fact, action.at_us)

    # ---- the relay --------------------------------------------------------------------------

    def _message(self, e: ev.BuyerSellerMessage, order: Order, at: int) -> None:
        d = e.data
        sellers = order_sellers(order)
        if d.seller_id in sellers:
            sellers = [d.seller_id]
        lang = self.engine.customer(order.customer_id).get("lang", "en")
        masked = mask_contact_details(d.text, "fr" if lang == "fr" else "en",
                                      self.policy.relay.allowed_domains)
        row = {"message_id": d.message_id, "order_id": order.order_id, "sender": d.from_,
               "seller_ids": sellers, "text": masked.text, "masked": masked.masked,
               "at": repo.iso(at, order.tz_min), "at_us": at}
        self._relay[d.message_id] = row
        # A seller's message counts its masked details against its author only: the seller
        # it names, or the order's only seller (unnamed on a shared order: nobody's).
        author = d.seller_id if d.seller_id in sellers else (sellers[0] if len(sellers) == 1 else None)
        for seller in sellers:
            if d.from_ == "buyer":
                self._record(seller, [BUYER, order.order_id, d.message_id, at], at)
            else:
                self._record(seller, [REPLY, order.order_id, d.message_id, at,
                                      masked.masked if seller == author else 0], at)
        if d.from_ == "buyer":
            self._await(_Awaiting(d.message_id, order.order_id, sellers, at, at + self._guarantee))
            self._notices += [notices.buyer_message_notice(s, row, at + self._guarantee, order.tz_min)
                              for s in sellers]
        else:
            self._answer(order.order_id, at, sellers)

    def _no_reply_needed(self, e: ev.NoReplyNeeded, order: Order, at: int) -> None:
        """The seller marked a buyer's message as needing no reply: it answers it, and the
        buyer's earlier ones on the thread, then, for the response time and the guarantee (a
        later question still waits for its answer). Only a message still waiting for this
        seller's answer: a mark on one answered already, past its guarantee, or for another
        seller changes nothing."""
        d = e.data
        msg = self._awaiting.get(d.message_id)
        if msg is None or msg.order_id != order.order_id or d.seller_id not in msg.sellers:
            return
        fact = [REPLY, order.order_id, f"no-reply-needed:{d.message_id}", at, None, msg.sent_us]
        self._record(d.seller_id, fact, at)
        self._answer(order.order_id, at, [d.seller_id], until=msg.sent_us)

    def _await(self, msg: _Awaiting) -> None:
        self._awaiting[msg.message_id] = msg
        self._by_order.setdefault(msg.order_id, []).append(msg.message_id)
        heapq.heappush(self._timers, (msg.due_us, msg.message_id))

    def _answer(self, order_id: str, at: int, sellers: list[str], until: int | None = None) -> None:
        """A seller's message answers every earlier buyer message still waiting on the order
        in a thread with one of ``sellers`` (a "no reply needed" mark: those sent up to
        ``until``, the marked message's time)."""
        waiting = self._by_order.get(order_id, [])
        upto = at if until is None else min(at, until)
        for mid in [m for m in waiting if self._awaiting[m].sent_us <= upto
                    and not sellers_apart(self._awaiting[m].sellers, sellers)]:
            self._awaiting.pop(mid)
            waiting.remove(mid)
            row = self._relay_row(mid)
            row["answered_us"] = at
        if not waiting:
            self._by_order.pop(order_id, None)

    def _relay_row(self, mid: str) -> dict[str, Any]:
        row = self._relay.get(mid)
        if row is None:  # stored in an earlier batch: the upsert touches only these two
            row = self._relay[mid] = {"message_id": mid, "order_id": "", "sender": "buyer",
                                      "seller_ids": [], "text": "", "masked": 0, "at": "",
                                      "at_us": 0, "answered_us": None, "case_id": None}
        return row

    def _unanswered(self, due: int, mid: str) -> None:
        msg = self._awaiting.pop(mid, None)
        if msg is None:
            return  # answered in time
        waiting = self._by_order.get(msg.order_id, [])
        if mid in waiting:
            waiting.remove(mid)
        order = self.engine.world.orders.get(msg.order_id)
        if order is None:
            self.conflicts.append(f"order {msg.order_id}: not loaded for message {mid}")
            return
        case_ids = [self._guarantee_claim(order, seller, due, mid) for seller in msg.sellers]
        self._relay_row(mid)["case_id"] = ",".join(c for c in case_ids if c)

    def _guarantee_claim(self, order: Order, seller: str, now: int, message_id: str) -> str:
        """Refund the buyer for the seller's lines at once; claim it from the seller."""
        mine = [ln for ln in order.lines if ln.seller_id == seller]
        lines = [ln for ln in mine if ln.cancelled_us is None] or mine
        ids = [ln.line_id for ln in lines]
        for case in order.cases:  # one guarantee per seller and order
            if case.reason == _UNRESPONSIVE and case.line_ids == ids:
                return case.id
        # A line is paid back once: one refunded already (a case, the desk) is not refunded again.
        owed, amount = order.refundable(ids)
        actions = []
        if amount > 0:
            order.refunded = round(order.refunded + amount, 2)
            actions.append(Action("refund", now, line_ids=owed, amount=amount,
                                  return_required=False))
        actions.append(Action("guarantee_claim", now, line_ids=ids, amount=amount))
        cw = self.engine.casework
        case = cw.open_case(order, _UNRESPONSIVE, "proactive", now, line_ids=ids, actions=actions,
                            status="resolved",
                            message={"template": "guarantee_refund", "line_ids": ids, "refund": amount,
                                     "hours": round(self._guarantee / HOUR_US)})
        self._claims_on(order)
        self._notices.append(notices.guarantee_notice(seller, order.order_id, case.id, ids, amount, message_id,
                                                      now, order.tz_min))
        self.engine.dirty_orders[order.order_id] = order
        if self._in_flush:
            self._acted[order.order_id] = order
            self._acted_cases[case.id] = case
        return case.id

    # ---- time: reviews and the guarantee timer ----------------------------------------------

    def _mark(self, seller: str, when: int) -> None:
        """Review ``seller`` on the first hour at or after ``when`` not yet reviewed."""
        hour = -(-when // HOUR_US) * HOUR_US
        if hour < self._done_before:  # every hour still marked is at or after this floor
            hour = -(-self._done_before // HOUR_US) * HOUR_US
        sellers = self._marks.get(hour)
        if sellers is None:
            sellers = self._marks[hour] = set()
            heapq.heappush(self._mark_heap, hour)
        sellers.add(seller)

    def _mark_deadline(self, seller: str, due: int) -> None:
        if due >= self._done_before:
            self._mark(seller, due)

    def _run(self, until: int) -> None:
        """Do, in time order, everything due strictly before ``until``."""
        timers, hours = self._timers, self._mark_heap
        while True:
            t = timers[0][0] if timers else None
            h = hours[0] if hours else None
            if t is not None and t < until and (h is None or t <= h):
                due, mid = heapq.heappop(timers)
                self._unanswered(due, mid)
            elif h is not None and h < until:
                heapq.heappop(hours)
                for seller in sorted(self._marks.pop(h)):
                    self._review(seller, h)
            else:
                break
        if until > self._done_before:
            self._done_before = until

    def _review(self, seller: str, at: int) -> None:
        st = self._standing(seller)
        if st.status != "suspended":  # a suspension stands until a reinstatement
            forgiven = st.forgiven if st.reinstated_us is not None else None
            # The counts say whether anything changed; the figures are built only then
            # (after a reinstatement the forgiven orders matter, so always).
            if forgiven or self.book.state(seller, at) != st.status:
                metrics, status = judge(self.book, seller, at, forgiven)
                if status.state == "good" and st.status == "at_risk":
                    if self._recovered(seller, st, metrics, forgiven, at):
                        self._change(seller, st, metrics, status, at)
                elif status.state != st.status:  # at risk or suspended: at once
                    self._change(seller, st, metrics, status, at)
                else:
                    self._outside_bars(seller, st)
            else:
                self._outside_bars(seller, st)
        if st.status != "suspended" and at <= self._last_fact.get(seller, 0) + self._live:
            self._mark(seller, (at // DAY_US + 1) * DAY_US)  # the daily review

    def _recovered(self, seller: str, st: Standing, metrics: SellerMetrics,
                   forgiven: dict[str, list[str]] | None, at: int) -> bool:
        """Hysteresis (``policy.recovery``): a seller at risk whose metrics all meet their
        targets is good again only once every metric has been within its recovery bar at
        every review for ``recovery.days`` days. Reviews run at least daily, so the count
        ends at most a day late; any review outside the bars starts it again."""
        if not recovered(metrics, self.policy, forgiven):
            self._outside_bars(seller, st)
            return False
        if st.within_bars_us is None:
            st.within_bars_us = at
            self._dirty.add(seller)
        return at - st.within_bars_us >= self.policy.recovery.days * DAY_US

    def _outside_bars(self, seller: str, st: Standing) -> None:
        """A review found a metric outside its recovery bar: the count of days starts again."""
        if st.within_bars_us is not None:
            st.within_bars_us = None
            self._dirty.add(seller)

    def _change(self, seller: str, st: Standing, metrics: SellerMetrics, status: SellerStatus,
                at: int) -> None:
        previous, new = st.status, status.state
        figs = figures(metrics, status)
        if st.case is not None:  # the seller's earlier case is settled by this change
            st.case.status, st.case.resolved_us = "resolved", at
            self._seller_cases[st.case.id] = (st.case, st.case_figures)
            if st.case.actions and st.case.actions[0].type == "seller_warning":
                st.last_warning = st.case
            st.case, st.case_figures = None, {}
        action = ("seller_suspension" if new == "suspended" else
                  "seller_warning" if new == "at_risk" and previous == "good" else None)
        case_id = None
        recent = st.last_warning
        if action == "seller_warning" and recent is not None and recent.resolved_us is not None and \
                at - recent.resolved_us <= self.policy.warning.repeat_after_days * DAY_US:
            # Back at risk soon after recovering: the same warning goes on (no new warning
            # for a rate that hovers at its target), and the case says so.
            recent.status, recent.resolved_us = "open", None
            recent.add_action(Action("seller_still_at_risk", at))
            figs["seller_id"], figs["previous"] = seller, previous
            st.case, st.case_figures, case_id = recent, figs, recent.id
            st.last_warning = None
            self._seller_cases[recent.id] = (recent, figs)
        elif action is not None:
            st.cases += 1
            case = Case(id=f"S-{seller}-{st.cases}", order_id=None,
                        reason=SELLER_CASE_REASON, origin="seller", opened_us=at,
                        family=SELLER_CASE_REASON, reasons=[SELLER_CASE_REASON],
                        actions=[Action(action, at)])
            figs["seller_id"], figs["previous"] = seller, previous
            st.case, st.case_figures, case_id = case, figs, case.id
            self._seller_cases[case.id] = (case, figs)
        if previous == "at_risk" and new == "good" and st.within_bars_us is not None:
            figs["recovery"] = {"within_bars_since": repo.iso(st.within_bars_us, 0),
                                "days": self.policy.recovery.days,
                                "allowance": self.policy.recovery.allowance}
        self._log.append({"seller_id": seller, "at_us": at, "kind": "status",
                          "at": repo.iso(at, 0), "status": new, "previous": previous,
                          "case_id": case_id, "data": figs})
        st.status, st.since_us, st.within_bars_us = new, at, None
        self._dirty.add(seller)

    def _standing(self, seller: str) -> Standing:
        st = self.standing.get(seller)
        if st is None:
            st = self.standing[seller] = Standing()
            self._dirty.add(seller)
        return st


def _shipped_by(order: Order, line: Line, at: int) -> bool:
    ship = order.line_shipment(line)
    return ship is not None and ship.shipped_us is not None and ship.shipped_us <= at
