"""Seller health metrics, kept current fact by fact and answerable as of any time.

The engine tells a :class:`SellerBook` each fact about a seller's orders as it applies the
event (an order placed, a parcel shipped, a carrier scan, a defect, a cancellation, a buyer
message); the book never touches the database. Each fact is *attributed* to a date, as
marketplaces do, and a metric ``as of at`` counts the items attributed to the window
``(at - window, at]``:

* order defect rate and cancel rate: by **order date** (a chargeback filed in week 9 hurts
  the window holding the order, like the defect it is);
* late shipment rate: by **ship-by date** (an order enters the rate the moment it is due);
* valid tracking rate: by **ship date** of each shipment;
* on-time delivery rate: by **deliver-by date** of each shipment (the order's promise);
* response rate: by each buyer message's **reply deadline** (message time + 24 h).

Facts dated after ``at`` do not count, so the answer for a past ``at`` is what the seller
would have seen then, and it does not depend on the order the facts arrived in: every
structure below is a pure function of the *set* of facts recorded. Each seller keeps, per
measure, a sorted list of the attribution times of its due items (the denominator, counted
with two bisections) and a sorted list of the few items that may count against the seller
(defective, cancelled, unshipped or late, unscanned, undelivered, unanswered), which a query
scans only inside the window. A fact costs O(log n) comparisons plus, when it arrives late,
a shift of the entries dated after it; a query costs O(log n + items against the seller).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Literal

from ordercare.sellers.policy import MetricRule, SellerPolicy, load_seller_policy
from ordercare.sellers.status import SellerStatus, assess

DefectKind = Literal["negative_feedback", "guarantee_claim", "chargeback"]
DEFECT_KINDS: frozenset[str] = frozenset({"negative_feedback", "guarantee_claim", "chargeback"})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US
_first = itemgetter(0)


class FactConflict(ValueError):
    """A single-valued fact (an order date, a promise, a ship time) recorded twice, differently."""


#: A point in time: an aware datetime, or integer microseconds since the Unix epoch (UTC),
#: the engine's own clock unit, which skips the conversion on the hot path.
Instant = datetime | int


def _us(when: Instant) -> int:
    """Microseconds since the epoch: exact integers, so window edges are exact too."""
    if type(when) is int:
        return when
    assert isinstance(when, datetime)
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when.isoformat()}: seller facts need an offset")
    return (when - _EPOCH) // _US


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One metric as of a time: the counts behind the rate and the orders that hurt.

    ``order_ids`` names the orders that count *against* the seller: the numerator's orders
    for a rate of failures (defective, late, cancelled), and the due orders missing from the
    numerator for a rate of successes (unscanned, delivered late, unanswered).
    """

    rule: MetricRule
    numerator: int
    denominator: int
    order_ids: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def rate(self) -> float | None:
        """numerator / denominator, None when nothing was due in the window."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def meets_target(self) -> bool:
        return self.rule.meets(self.rate)


@dataclass(frozen=True, slots=True)
class SellerMetrics:
    """Every metric of the policy for one seller, as of ``at``, in the policy's order."""

    seller_id: str
    at: datetime
    values: tuple[MetricValue, ...]

    def __getitem__(self, name: str) -> MetricValue:
        for value in self.values:
            if value.name == name:
                return value
        raise KeyError(name)

    @property
    def orders(self) -> int:
        """Orders in the order defect rate's window (the `orders` of `sellers --json`)."""
        return self["order_defect_rate"].denominator


class _Order:
    """What the book remembers of one order (a placeholder until its own facts arrive)."""

    __slots__ = (
        "oid",
        "placed",
        "ship_by",
        "deliver_by",
        "first_shipped",
        "seller_cancel",
        "whole_cancel",
        "defects",
    )

    def __init__(self, oid: str) -> None:
        self.oid = oid
        self.placed: int | None = None
        self.ship_by: int | None = None
        self.deliver_by: int | None = None
        self.first_shipped: int | None = None
        self.seller_cancel: int | None = None  # earliest cancellation by the seller
        self.whole_cancel: int | None = None  # earliest cancellation of the whole order
        self.defects: dict[str, int] | None = None  # kind -> earliest date


class _Shipment:
    """One parcel: its ship confirmation, first carrier scan and delivery."""

    __slots__ = ("order", "shipped", "first_scan", "delivered")

    def __init__(self) -> None:
        self.order: _Order | None = None
        self.shipped: int | None = None
        self.first_scan: int | None = None
        self.delivered: int | None = None


class _Message:
    """A buyer message and the time by which the seller should have replied."""

    __slots__ = ("mid", "oid", "sent", "deadline")

    def __init__(self, mid: str, oid: str, sent: int, deadline: int) -> None:
        self.mid = mid
        self.oid = oid
        self.sent = sent
        self.deadline = deadline


class _Thread:
    """One order's buyer-seller conversation: buyer messages and seller reply times."""

    __slots__ = ("messages", "replies", "reply_times")

    def __init__(self) -> None:
        self.messages: list[_Message] = []
        self.replies: dict[str, int] = {}
        self.reply_times: list[int] = []

    def answered_on_time(self, m: _Message) -> bool:
        i = bisect_left(self.reply_times, m.sent)
        return i < len(self.reply_times) and self.reply_times[i] <= m.deadline


OrderMarks = tuple[int | None, int | None, int | None, int | None, int | None]
ShipmentMarks = tuple[int | None, int | None, int | None, int | None]
_NO_ORDER_MARKS: OrderMarks = (None, None, None, None, None)


def _order_marks(o: _Order) -> OrderMarks:
    """Where an order sits: (placed, defective, seller-cancelled, ship-due, late) times.

    Defective and cancelled entries are keyed by order date, the due and late entries by
    ship-by. An order wholly cancelled (by anyone) at or before its ship-by is no longer due
    to ship; one cancelled later, unshipped, was late. The order counts as shipped at its
    first ship confirmation: later parcels of a split order are judged by their delivery.
    """
    placed = o.placed
    due = o.ship_by
    if due is not None and o.whole_cancel is not None and o.whole_cancel <= due:
        due = None
    late = due if due is not None and (o.first_shipped is None or o.first_shipped > due) else None
    return (
        placed,
        placed if placed is not None and o.defects else None,
        placed if placed is not None and o.seller_cancel is not None else None,
        due,
        late,
    )


def _shipment_marks(s: _Shipment, grace: int) -> ShipmentMarks:
    """Where a shipment sits: (shipped, unscanned, deliver-due, delivered-late) times.

    A shipment with no carrier scan within ``grace`` of its ship confirmation is kept as a
    candidate against the seller (keyed by ship date); the query decides, as of ``at``,
    whether it was past its grace and still unscanned. Delivery is judged at the order's
    deliver-by: delivered by then is on time, anything else is late.
    """
    shipped = s.shipped
    if shipped is None:
        return (None, None, None, None)
    scan = s.first_scan
    unscanned = shipped if scan is None or scan > shipped + grace else None
    due = s.order.deliver_by if s.order is not None else None
    late = due if due is not None and (s.delivered is None or s.delivered > due) else None
    return (shipped, unscanned, due, late)


def _insert(seq: list[Any], item: Any) -> None:
    """Keep ``seq`` sorted; facts mostly arrive in time order, so appending is the usual case."""
    if not seq or seq[-1] <= item:
        seq.append(item)
    else:
        insort(seq, item)


def _remove(seq: list[Any], item: Any) -> None:
    i = bisect_left(seq, item)
    if i == len(seq) or seq[i] != item:
        raise AssertionError(f"seller book out of sync: {item!r} not found")
    del seq[i]


def _move(seq: list[Any], old: Any, new: Any) -> None:
    if old is not None:
        _remove(seq, old)
    if new is not None:
        _insert(seq, new)


class _Ledger:
    """One seller's facts and, per measure, the sorted due and against-the-seller entries."""

    __slots__ = (
        "orders",
        "shipments",
        "messages",
        "threads",
        "awaiting_deliver_by",
        "placed",
        "defective",
        "cancelled",
        "ship_due",
        "late",
        "shipped",
        "unscanned",
        "deliver_due",
        "undelivered",
        "reply_due",
        "unanswered",
    )

    def __init__(self) -> None:
        self.orders: dict[str, _Order] = {}
        self.shipments: dict[str, _Shipment] = {}
        self.messages: dict[str, _Message] = {}
        self.threads: dict[str, _Thread] = {}
        self.awaiting_deliver_by: dict[str, list[str]] = {}
        self.placed: list[int] = []
        self.defective: list[tuple[int, str]] = []
        self.cancelled: list[tuple[int, str]] = []
        self.ship_due: list[int] = []
        self.late: list[tuple[int, str]] = []
        self.shipped: list[int] = []
        self.unscanned: list[tuple[int, str]] = []
        self.deliver_due: list[int] = []
        self.undelivered: list[tuple[int, str]] = []
        self.reply_due: list[int] = []
        self.unanswered: list[tuple[int, str]] = []

    def order(self, oid: str) -> _Order:
        o = self.orders.get(oid)
        if o is None:
            o = self.orders[oid] = _Order(oid)
        return o

    def shipment(self, sid: str) -> _Shipment:
        s = self.shipments.get(sid)
        if s is None:
            s = self.shipments[sid] = _Shipment()
        return s

    def refresh_order(self, o: _Order, before: OrderMarks) -> None:
        after = _order_marks(o)
        if after == before:
            return
        oid = o.oid
        p0, d0, c0, s0, l0 = before
        p1, d1, c1, s1, l1 = after
        if p0 != p1:
            _move(self.placed, p0, p1)
        if d0 != d1:
            _move(
                self.defective, None if d0 is None else (d0, oid), None if d1 is None else (d1, oid)
            )
        if c0 != c1:
            _move(
                self.cancelled, None if c0 is None else (c0, oid), None if c1 is None else (c1, oid)
            )
        if s0 != s1:
            _move(self.ship_due, s0, s1)
        if l0 != l1:
            _move(self.late, None if l0 is None else (l0, oid), None if l1 is None else (l1, oid))

    def refresh_shipment(self, sid: str, s: _Shipment, before: ShipmentMarks, grace: int) -> None:
        after = _shipment_marks(s, grace)
        if after == before:
            return
        h0, u0, d0, l0 = before
        h1, u1, d1, l1 = after
        if h0 != h1:
            _move(self.shipped, h0, h1)
        if u0 != u1:
            _move(
                self.unscanned, None if u0 is None else (u0, sid), None if u1 is None else (u1, sid)
            )
        if d0 != d1:
            _move(self.deliver_due, d0, d1)
        if l0 != l1:
            _move(
                self.undelivered,
                None if l0 is None else (l0, sid),
                None if l1 is None else (l1, sid),
            )


def _check(old: int | None, new: int | None, what: str) -> None:
    if old is not None and new is not None and old != new:
        raise FactConflict(f"{what} already recorded as {_iso(old)}, now {_iso(new)}")


def _iso(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).isoformat()


def _count(seq: list[int], lo: int, hi: int) -> int:
    """How many times in ``seq`` fall in ``(lo, hi]``."""
    return bisect_right(seq, hi) - bisect_right(seq, lo)


def _within(seq: list[tuple[int, str]], lo: int, hi: int) -> list[tuple[int, str]]:
    return seq[bisect_right(seq, lo, key=_first) : bisect_right(seq, hi, key=_first)]


class SellerBook:
    """Every seller's health facts, in memory, updated one fact at a time.

    Recording is idempotent and commutative: the same fact twice is the fact once, facts
    may come in any order, and repeated facts that can happen more than once (scans,
    defects, cancellations) keep their earliest date. A single-valued fact recorded again
    with another value (an order placed at two different times) raises
    :class:`FactConflict`, which the engine should treat as it treats a conflicting event.
    Times are aware datetimes or integer microseconds since the epoch (:data:`Instant`).
    """

    def __init__(self, policy: SellerPolicy | None = None) -> None:
        self.policy = policy if policy is not None else load_seller_policy()
        conventions = self.policy.conventions
        self._grace = round(conventions.scan_grace_hours * _HOUR_US)
        self._reply_within = round(conventions.reply_within_hours * _HOUR_US)
        self._negative_max = conventions.negative_feedback_max_rating
        self._ledgers: dict[str, _Ledger] = {}

    def _ledger(self, seller_id: str) -> _Ledger:
        led = self._ledgers.get(seller_id)
        if led is None:
            led = self._ledgers[seller_id] = _Ledger()
        return led

    def sellers(self) -> list[str]:
        """Every seller with at least one fact, sorted."""
        return sorted(self._ledgers)

    # -- orders -------------------------------------------------------------------------

    def record_order(
        self,
        seller_id: str,
        order_id: str,
        placed_at: Instant,
        *,
        ship_by: Instant | None = None,
        deliver_by: Instant | None = None,
    ) -> None:
        """An order (the seller's part of it) was placed, with its promise when known."""
        placed = _us(placed_at)
        led = self._ledger(seller_id)
        o = led.order(order_id)
        _check(o.placed, placed, f"order {order_id}: placed_at")
        if ship_by is not None:
            _check(o.ship_by, _us(ship_by), f"order {order_id}: ship_by")
        if deliver_by is not None:
            _check(o.deliver_by, _us(deliver_by), f"order {order_id}: deliver_by")
        if o.placed is None or (ship_by is not None and o.ship_by is None):
            before = _order_marks(o)
            o.placed = placed
            if ship_by is not None:
                o.ship_by = _us(ship_by)
            led.refresh_order(o, before)
        if deliver_by is not None and o.deliver_by is None:
            self._set_deliver_by(led, o, _us(deliver_by))

    def record_ship_due(self, seller_id: str, order_id: str, ship_by: Instant) -> None:
        """The order must be shipped by ``ship_by`` (seller-fulfilled orders only)."""
        due = _us(ship_by)
        led = self._ledger(seller_id)
        o = led.order(order_id)
        _check(o.ship_by, due, f"order {order_id}: ship_by")
        if o.ship_by is None:
            before = _order_marks(o)
            o.ship_by = due
            led.refresh_order(o, before)

    def record_deliver_due(self, seller_id: str, order_id: str, deliver_by: Instant) -> None:
        """The order's parcels are promised for ``deliver_by``."""
        due = _us(deliver_by)
        led = self._ledger(seller_id)
        o = led.order(order_id)
        _check(o.deliver_by, due, f"order {order_id}: deliver_by")
        if o.deliver_by is None:
            self._set_deliver_by(led, o, due)

    def _set_deliver_by(self, led: _Ledger, o: _Order, due: int) -> None:
        waiting = led.awaiting_deliver_by.pop(o.oid, [])
        before = [(sid, _shipment_marks(led.shipments[sid], self._grace)) for sid in waiting]
        o.deliver_by = due
        for sid, marks in before:
            led.refresh_shipment(sid, led.shipments[sid], marks, self._grace)

    def record_cancel(
        self, seller_id: str, order_id: str, at: Instant, *, by_seller: bool, partial: bool = False
    ) -> None:
        """The order (or, ``partial``, some of its lines) was cancelled.

        A cancellation is of lines not yet shipped (a shipped line comes back as a return),
        so every cancellation by the seller counts in the pre-fulfilment cancel rate. A
        whole-order cancellation by anyone at or before ship-by takes the order out of the
        late shipment rate: it is no longer due to ship.
        """
        when = _us(at)
        led = self._ledger(seller_id)
        o = led.order(order_id)
        before = _order_marks(o)
        if by_seller and (o.seller_cancel is None or when < o.seller_cancel):
            o.seller_cancel = when
        if not partial and (o.whole_cancel is None or when < o.whole_cancel):
            o.whole_cancel = when
        led.refresh_order(o, before)

    def record_defect(self, seller_id: str, order_id: str, at: Instant, kind: DefectKind) -> None:
        """Negative feedback, a guarantee claim or a chargeback on the order.

        An order with several defects is one defective order, defective from its first.
        """
        if kind not in DEFECT_KINDS:
            raise ValueError(f"defect kind {kind!r} is not one of {sorted(DEFECT_KINDS)}")
        when = _us(at)
        led = self._ledger(seller_id)
        o = led.order(order_id)
        before = _order_marks(o)
        if o.defects is None:
            o.defects = {kind: when}
        elif kind not in o.defects or when < o.defects[kind]:
            o.defects[kind] = when
        led.refresh_order(o, before)

    def record_feedback(self, seller_id: str, order_id: str, at: Instant, rating: int) -> None:
        """Buyer feedback; at or under the policy's rating (2 stars) it is an order defect."""
        if not 1 <= rating <= 5:
            raise ValueError(f"feedback rating {rating!r} is not between 1 and 5")
        if rating <= self._negative_max:
            self.record_defect(seller_id, order_id, at, "negative_feedback")

    # -- shipments ----------------------------------------------------------------------

    def record_shipped(
        self, seller_id: str, order_id: str, shipment_id: str, shipped_at: Instant
    ) -> None:
        """A shipment of the order was confirmed shipped (handed to the carrier)."""
        when = _us(shipped_at)
        led = self._ledger(seller_id)
        s = led.shipment(shipment_id)
        if s.order is not None:
            if s.order.oid != order_id:
                raise FactConflict(
                    f"shipment {shipment_id}: already shipped for order {s.order.oid}, "
                    f"now for {order_id}"
                )
            _check(s.shipped, when, f"shipment {shipment_id}: shipped_at")
            return
        o = led.order(order_id)
        grace = self._grace
        before = _shipment_marks(s, grace)
        s.order = o
        s.shipped = when
        if o.deliver_by is None:
            led.awaiting_deliver_by.setdefault(order_id, []).append(shipment_id)
        led.refresh_shipment(shipment_id, s, before, grace)
        if o.first_shipped is None or when < o.first_shipped:
            obefore = _order_marks(o)
            o.first_shipped = when
            led.refresh_order(o, obefore)

    def record_scan(self, seller_id: str, shipment_id: str, at: Instant) -> None:
        """A carrier scanned the shipment (any status): its tracking is valid."""
        when = _us(at)
        led = self._ledger(seller_id)
        s = led.shipment(shipment_id)
        if s.first_scan is not None and s.first_scan <= when:
            return
        before = _shipment_marks(s, self._grace)
        s.first_scan = when
        led.refresh_shipment(shipment_id, s, before, self._grace)

    def record_delivered(self, seller_id: str, shipment_id: str, at: Instant) -> None:
        """The carrier delivered the shipment; a delivery scan is also a carrier scan."""
        when = _us(at)
        led = self._ledger(seller_id)
        s = led.shipment(shipment_id)
        before = _shipment_marks(s, self._grace)
        if s.delivered is None or when < s.delivered:
            s.delivered = when
        if s.first_scan is None or when < s.first_scan:
            s.first_scan = when
        led.refresh_shipment(shipment_id, s, before, self._grace)

    # -- buyer-seller messages ----------------------------------------------------------

    def record_buyer_message(
        self, seller_id: str, order_id: str, message_id: str, at: Instant
    ) -> None:
        """The buyer wrote to the seller about the order; a reply is due within 24 h."""
        sent = _us(at)
        led = self._ledger(seller_id)
        m = led.messages.get(message_id)
        if m is not None:
            if m.oid != order_id or m.sent != sent:
                raise FactConflict(f"buyer message {message_id}: recorded with other details")
            return
        m = led.messages[message_id] = _Message(
            message_id, order_id, sent, sent + self._reply_within
        )
        thread = led.threads.get(order_id)
        if thread is None:
            thread = led.threads[order_id] = _Thread()
        thread.messages.append(m)
        _insert(led.reply_due, m.deadline)
        if not thread.answered_on_time(m):
            _insert(led.unanswered, (m.deadline, message_id))

    def record_seller_reply(
        self, seller_id: str, order_id: str, message_id: str, at: Instant
    ) -> None:
        """The seller wrote on the order's thread: it answers every earlier buyer message."""
        when = _us(at)
        led = self._ledger(seller_id)
        thread = led.threads.get(order_id)
        if thread is None:
            thread = led.threads[order_id] = _Thread()
        old = thread.replies.get(message_id)
        if old is not None:
            _check(old, when, f"seller message {message_id}: at")
            return
        before = [(m, thread.answered_on_time(m)) for m in thread.messages]
        thread.replies[message_id] = when
        _insert(thread.reply_times, when)
        for m, was in before:
            if not was and thread.answered_on_time(m):
                _remove(led.unanswered, (m.deadline, m.mid))

    # -- queries ------------------------------------------------------------------------

    def metrics(self, seller_id: str, at: Instant) -> SellerMetrics:
        """Every metric of the policy for ``seller_id`` as of ``at`` (facts after it ignored)."""
        now = _us(at)
        led = self._ledgers.get(seller_id)
        values = tuple(self._value(led, rule, now) for rule in self.policy.metrics)
        when = at if isinstance(at, datetime) else _EPOCH + timedelta(microseconds=at)
        return SellerMetrics(seller_id, when, values)

    def status(self, seller_id: str, at: Instant) -> SellerStatus:
        """good / at_risk / suspended as of ``at``, with the reasons (see ``status.py``)."""
        return assess(self.metrics(seller_id, at), self.policy)

    def _value(self, led: _Ledger | None, rule: MetricRule, at: int) -> MetricValue:
        if led is None:
            return MetricValue(rule, 0, 0, ())
        lo = at - rule.window_days * _DAY_US
        measure = rule.measure
        if measure == "order_defects":
            orders = led.orders
            ids = [
                oid
                for _, oid in _within(led.defective, lo, at)
                if min((orders[oid].defects or {}).values()) <= at
            ]
            return MetricValue(rule, len(ids), _count(led.placed, lo, at), tuple(sorted(ids)))
        if measure == "seller_cancellations":
            orders = led.orders
            ids = [
                oid
                for _, oid in _within(led.cancelled, lo, at)
                if (orders[oid].seller_cancel or 0) <= at
            ]
            return MetricValue(rule, len(ids), _count(led.placed, lo, at), tuple(sorted(ids)))
        if measure == "late_shipments":
            ids = [oid for _, oid in _within(led.late, lo, at)]
            return MetricValue(rule, len(ids), _count(led.ship_due, lo, at), tuple(sorted(ids)))
        if measure == "valid_tracking":
            grace = self._grace
            bad = []
            for _, sid in _within(led.unscanned, lo, at):
                s = led.shipments[sid]
                assert s.shipped is not None and s.order is not None
                if s.shipped + grace <= at and (s.first_scan is None or s.first_scan > at):
                    bad.append(s.order.oid)
            due = _count(led.shipped, lo, at)
            return MetricValue(rule, due - len(bad), due, tuple(sorted(set(bad))))
        if measure == "on_time_deliveries":
            due = _count(led.deliver_due, lo, at)
            bad = []
            for _, sid in _within(led.undelivered, lo, at):
                s = led.shipments[sid]
                assert s.shipped is not None and s.order is not None
                if s.shipped > at:  # shipped after `at`: not yet a shipment then
                    due -= 1
                else:
                    bad.append(s.order.oid)
            return MetricValue(rule, due - len(bad), due, tuple(sorted(set(bad))))
        # timely_replies
        bad = [led.messages[mid].oid for _, mid in _within(led.unanswered, lo, at)]
        due = _count(led.reply_due, lo, at)
        return MetricValue(rule, due - len(bad), due, tuple(sorted(set(bad))))
