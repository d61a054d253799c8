"""The order aggregate: lines, shipments and carrier scans, kept as the world reports them.

Every change is a commutative merge (scans kept sorted by time, cancellations a union,
facts keyed by id), so the state after a set of events does not depend on the order in
which they arrived. Times are integer microseconds since the epoch (UTC); each order keeps
the UTC offset it was placed in, so what we tell the customer is in their local time.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable

from msgspec import Struct

from ordercare.domain.cases import Case

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US

MADE_GOOD = frozenset({"refund", "replace", "reship"})  # action types that make a line good
REFUNDED = frozenset({"refund"})  # ... that paid it back (a line is paid back once)
CLAIMED = frozenset({"guarantee_claim"})  # ... that claimed it from its seller (once per line)
SCAN_RANK = {"accepted": 0, "in_transit": 1, "out_for_delivery": 2, "exception": 3,
             "returned": 4, "delivered": 5}


class Line(Struct, omit_defaults=True):
    line_id: str
    sku: str
    seller_id: str
    qty: int
    unit_price: float
    fulfilled_by: str
    ship_by_us: int = 0
    cancelled_us: int | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    shipment_id: str | None = None
    # Sent again (a replacement, a re-sending) at ``redo_us``: the line's promise starts over
    # from then (``ship_by_us`` and its own ``deliver_by_us``), and only a parcel made since
    # carries it.
    redo_us: int | None = None
    deliver_by_us: int | None = None

    @property
    def amount(self) -> float:
        return round(self.qty * self.unit_price, 2)


class Scan(Struct, array_like=True, order=True):
    at_us: int
    rank: int
    status: str
    location: str | None = None


class Shipment(Struct, omit_defaults=True):
    """A parcel. ``delivered_us``, ``last_scan_us`` and ``in_exception`` are derived from the
    scans on every scan (kept, not recomputed), because the detectors read them on every event."""

    shipment_id: str
    seller_id: str = ""
    line_ids: list[str] = []
    created_us: int | None = None
    packed_us: int | None = None  # the first weighing (the latest gives weight, station, centre)
    weight_g: float | None = None
    station: str | None = None
    fc_id: str | None = None
    weighings: int = 0  # how often it went over a scale (a re-packed parcel is weighed again)
    weighed_us: int | None = None  # weighed more than once: the latest weighing (whose weight is kept)
    inspection: str | None = None  # what the latest inspection (in event time) found
    inspected_us: int | None = None
    shipped_us: int | None = None
    carrier: str | None = None
    tracking: str | None = None
    scans: list[Scan] = []
    delivered_us: int | None = None
    last_scan_us: int | None = None
    in_exception: bool = False

    @property
    def last_scan(self) -> Scan | None:
        return self.scans[-1] if self.scans else None

    def add_scan(self, at_us: int, status: str, location: str | None) -> bool:
        scan = Scan(at_us, SCAN_RANK[status], status, location)
        scans = self.scans
        if not scans or scans[-1].at_us < at_us:
            # The usual case, a scan later than all before it: appended, it is the latest
            # word, and it is the first delivery only if none came before.
            scans.append(scan)
            self.last_scan_us = at_us
            self.in_exception = status in ("exception", "returned")
            if self.delivered_us is None and status == "delivered":
                self.delivered_us = at_us
            return True
        if scan in scans:
            return False
        insort(scans, scan)
        last = scans[-1]
        self.last_scan_us = last.at_us
        # The latest word from the carrier is an exception or a return to sender.
        self.in_exception = last.status in ("exception", "returned")
        self.delivered_us = next((sc.at_us for sc in scans if sc.status == "delivered"), None)
        return True


class Request(Struct, omit_defaults=True):
    """An instruction to send lines again (a replacement, a re-sending) to whoever fulfils
    them: our warehouse (``to`` = "platform") or the seller. The lines carry the promise
    (``Line.redo_us``, ``ship_by_us``, ``deliver_by_us``); the request's state is read from
    them (``request_state``)."""

    request_id: str
    kind: str  # "replace" | "reship"
    at_us: int
    line_ids: list[str]
    to: str
    case_id: str | None = None
    withdrawn_us: int | None = None  # asked again by a later request before anything was sent for it


# What became of a request, from the least to the most advanced (a request's state is that
# of its least advanced line).
REQUEST_STATES = ("overdue", "open", "preparing", "shipped", "delivered")
REQUEST_STATUSES = (*REQUEST_STATES, "cancelled")  # (nothing to send any more: cancelled, refunded)


class Order(Struct, omit_defaults=True):
    order_id: str
    customer_id: str = ""
    placed_us: int | None = None
    tz_min: int = 0
    currency: str = ""
    prime: bool = False
    address: dict[str, str] | None = None
    lines: list[Line] = []
    ship_by_us: int | None = None
    deliver_by_us: int | None = None
    promise_given: bool = False
    paid_us: int | None = None
    paid_amount: float = 0.0
    shipments: dict[str, Shipment] = {}
    cases: list[Case] = []
    next_due_us: int | None = None
    refunded: float = 0.0
    notified: list[str] = []  # routine steps already announced ("shipped:sh-1")
    routine_day: int = 0
    routine_today: int = 0
    requests: list[Request] = []  # lines we asked to be sent again

    @property
    def placed(self) -> bool:
        return self.placed_us is not None

    def line(self, line_id: str) -> Line | None:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        return None

    def line_ids(self) -> list[str]:
        return [line.line_id for line in self.lines]

    def active_lines(self) -> list[Line]:
        return [line for line in self.lines if line.cancelled_us is None]

    def shipment(self, shipment_id: str) -> Shipment:
        ship = self.shipments.get(shipment_id)
        if ship is None:
            ship = self.shipments[shipment_id] = Shipment(shipment_id)
        return ship

    def link_lines(self, ship: Shipment) -> None:
        """Point each line at the shipment that carries it (for a line sent again, only a
        parcel made since: the one that went astray no longer carries what we owe)."""
        for line in self.lines:
            if line.line_id in ship.line_ids and (line.redo_us is None or (
                    ship.created_us is not None and ship.created_us >= line.redo_us)):
                line.shipment_id = ship.shipment_id

    def deliver_by(self, line_ids: Iterable[str]) -> int | None:
        """The first deliver-by of these lines: each line's own once it was sent again, else
        the order's (a line sent again does not push back what is owed on the others)."""
        wanted = set(line_ids)
        found: int | None = None
        for ln in self.lines:
            if ln.line_id in wanted:
                by = ln.deliver_by_us if ln.deliver_by_us is not None else self.deliver_by_us
                if by is not None and (found is None or by < found):
                    found = by
        return found if found is not None else self.deliver_by_us

    def line_shipment(self, line: Line) -> Shipment | None:
        return self.shipments.get(line.shipment_id) if line.shipment_id else None

    def line_delivered(self, line: Line) -> bool:
        ship = self.line_shipment(line)
        return ship is not None and ship.delivered_us is not None

    def line_shipped(self, line: Line) -> bool:
        ship = self.line_shipment(line)
        return ship is not None and ship.shipped_us is not None

    def open_cases(self) -> list[Case]:
        return [case for case in self.cases if case.status != "resolved"]

    def settled_line_ids(self, kinds: frozenset[str] = MADE_GOOD, now: int | None = None) -> set[str]:
        """Lines named by an action of ``kinds`` on any case. By default those already made
        good (refunded, replaced, sent again): nothing more is owed on them, and their first
        parcel is no longer a promise to watch. A line sent again is owed once more as soon as
        a parcel made since carries it, or (at ``now``) once its new ship-by passed with none
        made: only a refund after that settles it. (Asked for other kinds, the desk's
        guarantee claims or the refunds, every action counts: money paid back is never paid
        twice.)"""
        if kinds != MADE_GOOD:
            return {lid for case in self.cases for a in case.actions if a.type in kinds for lid in a.line_ids or ()}
        again = {ln.line_id: ln.redo_us for ln in self.lines if ln.redo_us is not None and (
            ln.shipment_id is not None or (now is not None and now >= ln.ship_by_us))}
        return {lid for case in self.cases for a in case.actions if a.type in kinds for lid in a.line_ids or ()
                if lid not in again or (a.type == "refund" and a.at_us > again[lid])}

    def owed_lines(self, line_ids: Iterable[str], now: int | None = None) -> list[Line]:
        """Of these lines, those we still owe the customer (at ``now``): not home, not
        cancelled, not made good. (Made-good lines are looked up only when some line is still
        out.)"""
        settled: set[str] | None = None
        out = []
        for lid in line_ids:
            ln = self.line(lid)
            if ln is None or ln.cancelled_us is not None or self.line_delivered(ln):
                continue
            if settled is None:
                settled = self.settled_line_ids(MADE_GOOD, now)
            if lid not in settled:
                out.append(ln)
        return out

    def paid_for(self, line_ids: list[str]) -> float:
        """What the customer paid for these lines: the ceiling of any refund."""
        return round(sum(ln.amount for ln in self.lines if ln.line_id in line_ids), 2)

    def refundable(self, line_ids: list[str]) -> tuple[list[str], float]:
        """Of these lines, those not paid back yet, and what a refund of them may pay: never a
        line twice, never more than was paid and not yet refunded."""
        already = self.settled_line_ids(REFUNDED)
        owed = [lid for lid in line_ids if lid not in already]
        return owed, round(min(self.paid_for(owed), max(self.paid_amount - self.refunded, 0.0)), 2)


def request_state(order: Order, request: Request, now: int) -> tuple[str, list[str]]:
    """Where a request to send lines again stands at ``now``, and the parcels carrying them.

    ``cancelled``: nothing to send any more (its lines were cancelled, or refunded before any
    parcel carried them, or it was never sent and a later request asked them again); else the
    least advanced of its lines: ``overdue`` (no parcel, the new ship-by passed), ``open``,
    ``preparing`` (a parcel made, not shipped), ``shipped``, ``delivered``. A line sent again
    by a later request that did not withdraw this one was delivered under it (a line is sent
    again only once what was sent before came, or was never sent)."""
    parcels: list[str] = []
    if request.withdrawn_us is not None:
        return "cancelled", parcels
    worst: int | None = None
    refunded: set[str] | None = None
    for lid in request.line_ids:
        ln = order.line(lid)
        if ln is None or ln.cancelled_us is not None:
            continue
        if ln.redo_us != request.at_us:
            state = 4
        elif (ship := order.shipments.get(ln.shipment_id) if ln.shipment_id else None) is not None:
            if ship.shipment_id not in parcels:
                parcels.append(ship.shipment_id)
            state = 4 if ship.delivered_us is not None else 3 if ship.shipped_us is not None else 2
        else:
            if refunded is None:
                refunded = refunded_since(order, request.at_us)
            if lid in refunded:
                continue
            state = 0 if now >= ln.ship_by_us else 1
        worst = state if worst is None else min(worst, state)
    return ("cancelled" if worst is None else REQUEST_STATES[worst]), parcels


def request_promise(lines: list[Line], request: Request) -> tuple[int, int | None]:
    """The ship-by and deliver-by a request gives, of its ``lines``: the first of those sent
    again under it (of all of them if none is any more: a later request sent them again)."""
    mine = [ln for ln in lines if ln.redo_us == request.at_us] or lines
    return (min(ln.ship_by_us for ln in mine),
            min((ln.deliver_by_us for ln in mine if ln.deliver_by_us is not None), default=None))


def refunds_since(order: Order, at_us: int) -> dict[str, int]:
    """The lines a refund after ``at_us`` paid back, each with the instant of the first."""
    out: dict[str, int] = {}
    for case in order.cases:
        for a in case.actions:
            if a.type in REFUNDED and a.at_us > at_us:
                for lid in a.line_ids or ():
                    if lid not in out or a.at_us < out[lid]:
                        out[lid] = a.at_us
    return out


def refunded_since(order: Order, at_us: int) -> set[str]:
    """The lines a refund after ``at_us`` paid back (a line sent again at ``at_us`` and
    refunded since needs sending no more)."""
    return set(refunds_since(order, at_us))


def request_moments(order: Order, request: Request, now: int) -> tuple[int | None, int | None]:
    """When, by ``now``, the request fell overdue (a line's new ship-by passed with no parcel
    made for it while it was still owed) and when it came to need no sending (its status
    ``cancelled``: withdrawn, or every line cancelled or refunded); ``None`` for what did not
    happen. Read from the order's state alone, so the answer does not depend on when it is
    asked: a request overdue then sent is still known to have been overdue."""
    refunds = refunds_since(order, request.at_us)
    overdue: int | None = None
    ended: list[int] = []
    for lid in request.line_ids:
        ln = order.line(lid)
        if ln is None:
            continue
        gone = ln.cancelled_us if ln.cancelled_us is not None else refunds.get(lid)
        if gone is not None:
            ended.append(gone)
        if ln.redo_us != request.at_us:
            continue
        by = ln.ship_by_us
        ship = order.shipments.get(ln.shipment_id) if ln.shipment_id else None
        if now < by or (gone is not None and gone <= by) or (
                request.withdrawn_us is not None and request.withdrawn_us <= by) or (
                ship is not None and ship.created_us is not None and ship.created_us <= by):
            continue
        overdue = by if overdue is None else min(overdue, by)
    if request_state(order, request, now)[0] != "cancelled":
        return overdue, None
    return overdue, request.withdrawn_us if request.withdrawn_us is not None else max(ended, default=request.at_us)
