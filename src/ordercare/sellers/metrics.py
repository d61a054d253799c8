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
with two bisections), a sorted list of the few items flagged against the seller (defective,
cancelled, shipped late, scanned late, delivered late, answered late) and a dict of the items
still pending (unshipped, unscanned, in transit, unanswered), which a query scans only
inside the window. A fact costs O(log n) comparisons plus, when it arrives late, a shift of
the entries dated after it (a memmove; none for facts in time order); a query costs
O(log n + items flagged or pending).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Literal

from ordercare.sellers.policy import MetricRule, SellerPolicy, load_seller_policy
from ordercare.sellers.status import STATES, SellerStatus, State, assess, slip

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


# -- what the book remembers ------------------------------------------------------------------

#: The mark of an item due but still waiting (unshipped, unscanned, in transit, unanswered):
#: it sits in a small per-seller dict rather than a sorted list, because most items leave
#: that state within hours, and a dict insert and delete cost less than two list shifts.
PENDING = -(2**62)

Marks = tuple[int | None, ...]
Flag = tuple[int, str]


#: One field of every order (or shipment) row: a time in µs, a row number, or None when
#: not known yet. Typed Any so that the hot paths need no casts; the marks functions are
#: where None is told apart.
Column = list[Any]


def _column() -> Column:
    return []


class _Message:
    """A buyer message and the time by which the seller should have replied."""

    __slots__ = ("oid", "sent", "deadline")

    def __init__(self, oid: str, sent: int, deadline: int) -> None:
        self.oid = oid
        self.sent = sent
        self.deadline = deadline


class _Thread:
    """One order's buyer-seller conversation: buyer message ids and seller reply times."""

    __slots__ = ("messages", "replies", "reply_times")

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.replies: dict[str, int] = {}
        self.reply_times: list[int] = []

    def mark(self, m: _Message) -> int | None:
        """PENDING while no reply followed, the deadline when it came late, else None."""
        i = bisect_left(self.reply_times, m.sent)
        if i == len(self.reply_times):
            return PENDING
        return m.deadline if self.reply_times[i] > m.deadline else None


class _Ledger:
    """One seller's facts, and per measure its due times and the items against it.

    Orders and shipments are rows of columns (lists of times in µs, None when unknown), not
    a Python object each: at millions of orders, objects cost memory and, above all, garbage
    collector passes that grow with the heap, whereas a list of ints is one object to the
    collector and str -> int dicts are none. (``array('q')`` would be smaller still, but
    every read would allocate an int: three times slower.) Sorted ``*_due`` lists give the
    denominators; the flagged lists and pending dicts hold what counts against the seller.
    """

    __slots__ = (
        "order_rows", "order_ids", "placed_at", "ship_by", "deliver_by", "first_shipped",
        "seller_cancel", "whole_cancel", "defects", "awaiting_promise",
        "shipment_rows", "shipment_ids", "parcel_order", "shipped_at", "first_scan",
        "delivered_at", "messages", "threads",
        "order_due", "ship_due", "scan_due", "deliver_due", "reply_due",
        "defective", "cancelled", "late", "unshipped", "scanned_late", "unscanned",
        "delivered_late", "in_transit", "answered_late", "unanswered",
    )  # fmt: skip

    def __init__(self) -> None:
        # orders, one row each
        self.order_rows: dict[str, int] = {}
        self.order_ids: list[str] = []
        self.placed_at, self.ship_by, self.deliver_by = _column(), _column(), _column()
        self.first_shipped = _column()
        # cancellations are few: order row -> earliest, by the seller / of the whole order
        self.seller_cancel: dict[int, int] = {}
        self.whole_cancel: dict[int, int] = {}
        self.defects: dict[int, dict[str, int]] = {}  # order row -> kind -> earliest date
        self.awaiting_promise: dict[int, list[int]] = {}  # order row -> its shipment rows
        # shipments, one row each
        self.shipment_rows: dict[str, int] = {}
        self.shipment_ids: list[str] = []
        self.parcel_order = _column()  # order row, None until shipped
        self.shipped_at, self.first_scan, self.delivered_at = _column(), _column(), _column()
        # buyer messages (a minority of orders)
        self.messages: dict[str, _Message] = {}
        self.threads: dict[str, _Thread] = {}
        # due times, sorted: the denominators
        self.order_due: list[int] = []
        self.ship_due: list[int] = []
        self.scan_due: list[int] = []
        self.deliver_due: list[int] = []
        self.reply_due: list[int] = []
        # against the seller: flagged (time, id) sorted by attribution time, pending id -> row
        self.defective: list[Flag] = []  # by order date
        self.cancelled: list[Flag] = []  # by order date
        self.late: list[Flag] = []  # shipped after ship-by, by ship-by
        self.unshipped: dict[str, int] = {}
        self.scanned_late: list[Flag] = []  # first scan after the grace, by ship date
        self.unscanned: dict[str, int] = {}
        self.delivered_late: list[Flag] = []  # by deliver-by
        self.in_transit: dict[str, int] = {}
        self.answered_late: list[Flag] = []  # by reply deadline
        self.unanswered: dict[str, _Message] = {}

    def new_order(self, oid: str) -> int:
        """A row for an order known so far only by other facts (a placeholder)."""
        row = self.order_rows[oid] = len(self.order_ids)
        self.order_ids.append(oid)
        self.placed_at.append(None)
        self.ship_by.append(None)
        self.deliver_by.append(None)
        self.first_shipped.append(None)
        return row

    def order_row(self, oid: str) -> int:
        row = self.order_rows.get(oid)
        return self.new_order(oid) if row is None else row

    def new_shipment(self, sid: str, order: int | None = None, shipped: int | None = None) -> int:
        """A row for a shipment: shipped for ``order``, or a placeholder (a scan came first)."""
        row = self.shipment_rows[sid] = len(self.shipment_ids)
        self.shipment_ids.append(sid)
        self.parcel_order.append(order)
        self.shipped_at.append(shipped)
        self.first_scan.append(None)
        self.delivered_at.append(None)
        return row

    def shipment_row(self, sid: str) -> int:
        row = self.shipment_rows.get(sid)
        return self.new_shipment(sid) if row is None else row

    def order_marks(self, row: int) -> Marks:
        """Where an order counts: (placed, defective, seller-cancelled, ship-due, late).

        Defective and cancelled flags are keyed by order date, the due time and the late
        flag by ship-by. An order wholly cancelled (by anyone) at or before its ship-by is no
        longer due to ship; one cancelled later, unshipped, was late. The order counts as
        shipped at its first ship confirmation: later parcels of a split order are judged by
        their delivery.
        """
        placed, due = self.placed_at[row], self.ship_by[row]
        cancel = self.whole_cancel.get(row)
        if due is not None and cancel is not None and cancel <= due:
            due = None
        shipped = self.first_shipped[row]
        if due is None:
            late = None
        elif shipped is None:
            late = PENDING
        else:
            late = due if shipped > due else None
        known = placed is not None
        return (
            placed,
            placed if known and row in self.defects else None,
            placed if known and row in self.seller_cancel else None,
            due,
            late,
        )

    def shipment_marks(self, row: int, grace: int) -> Marks:
        """Where a shipment counts: (shipped, scan, deliver-due, delivery).

        Scan: PENDING while no carrier scan at all, the ship date when the first scan came
        after the grace (the query decides, as of ``at``, whether it was overdue then), else
        None. Delivery is judged at the order's deliver-by: PENDING while undelivered, the
        deliver-by when delivered after it, None when on time.
        """
        shipped = self.shipped_at[row]
        if shipped is None:
            return (None, None, None, None)
        scan = self.first_scan[row]
        scan_mark = PENDING if scan is None else (shipped if scan > shipped + grace else None)
        due = self.deliver_by[self.parcel_order[row]]
        delivered = self.delivered_at[row]
        if due is None:
            delivery = None
        elif delivered is None:
            delivery = PENDING
        else:
            delivery = due if delivered > due else None
        return (shipped, scan_mark, due, delivery)

    def refresh_order(self, row: int, before: Marks) -> None:
        """Move the order's entries from where ``before`` had them to where they now go."""
        after = self.order_marks(row)
        if after == before:
            return
        oid = self.order_ids[row]
        p0, d0, c0, s0, l0 = before
        p1, d1, c1, s1, l1 = after
        if p0 != p1:
            _move(self.order_due, p0, p1)
        if d0 != d1:
            _move(self.defective, _flag(d0, oid), _flag(d1, oid))
        if c0 != c1:
            _move(self.cancelled, _flag(c0, oid), _flag(c1, oid))
        if s0 != s1:
            _move(self.ship_due, s0, s1)
        if l0 != l1:
            _reflag(self.unshipped, self.late, oid, row, l0, l1)

    def refresh_shipment(self, row: int, before: Marks, grace: int) -> None:
        after = self.shipment_marks(row, grace)
        if after == before:
            return
        sid = self.shipment_ids[row]
        h0, u0, d0, l0 = before
        h1, u1, d1, l1 = after
        if h0 != h1:
            _move(self.scan_due, h0, h1)
        if u0 != u1:
            _reflag(self.unscanned, self.scanned_late, sid, row, u0, u1)
        if d0 != d1:
            _move(self.deliver_due, d0, d1)
        if l0 != l1:
            _reflag(self.in_transit, self.delivered_late, sid, row, l0, l1)


def _flag(t: int | None, key: str) -> Flag | None:
    return None if t is None else (t, key)


def _insert(seq: Any, item: Any) -> None:
    """Keep ``seq`` sorted; facts mostly arrive in time order, so appending is the usual case."""
    if not seq or seq[-1] <= item:
        seq.append(item)
    else:
        insort(seq, item)


def _remove(seq: Any, item: Any) -> None:
    i = bisect_left(seq, item)
    if i == len(seq) or seq[i] != item:
        raise AssertionError(f"seller book out of sync: {item!r} not found")
    del seq[i]


def _move(seq: Any, old: Any, new: Any) -> None:
    """Replace ``old`` by ``new`` in the sorted ``seq``; None stands for nothing."""
    if old is not None:
        _remove(seq, old)
    if new is not None:
        _insert(seq, new)


def _reflag(
    pending: dict[str, Any],
    flagged: list[Flag],
    key: str,
    item: Any,
    old: int | None,
    new: int | None,
) -> None:
    """Move an item between nowhere (None), the pending dict and the flagged sorted list."""
    if old == PENDING:
        del pending[key]
    elif old is not None:
        _remove(flagged, (old, key))
    if new == PENDING:
        pending[key] = item
    elif new is not None:
        _insert(flagged, (new, key))


def _check(old: int | None, new: int | None, what: str) -> None:
    if old is not None and new is not None and old != new:
        raise FactConflict(f"{what} already recorded as {_iso(old)}, now {_iso(new)}")


def _iso(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).isoformat()


def _count(seq: list[int], lo: int, hi: int) -> int:
    """How many times in ``seq`` fall in ``(lo, hi]``."""
    return bisect_right(seq, hi) - bisect_right(seq, lo)


def _within(seq: list[Flag], lo: int, hi: int) -> list[Flag]:
    return seq[bisect_right(seq, lo, key=_first) : bisect_right(seq, hi, key=_first)]


def _benefit_of_doubt(led: _Ledger, rule: MetricRule, at: int) -> tuple[int, int] | None:
    """The worst the metric can be, from sizes alone: every item ever flagged or pending
    held against the seller, whatever its date, over the exact denominator. When even that
    meets the target, the exact count cannot miss it (a rate of failures only falls, and a
    rate of successes only rises, as items drop out). None where no such bound holds (an
    on-time delivery's denominator depends on the very items in transit)."""
    measure = rule.measure
    if measure == "on_time_deliveries":
        return None
    lo = at - rule.window_days * _DAY_US
    if measure == "order_defects":
        return len(led.defective), _count(led.order_due, lo, at)
    if measure == "seller_cancellations":
        return len(led.cancelled), _count(led.order_due, lo, at)
    if measure == "late_shipments":
        return len(led.late) + len(led.unshipped), _count(led.ship_due, lo, at)
    if measure == "valid_tracking":
        due = _count(led.scan_due, lo, at)
        return due - len(led.scanned_late) - len(led.unscanned), due
    due = _count(led.reply_due, lo, at)  # timely_replies
    return due - len(led.answered_late) - len(led.unanswered), due


class SellerBook:
    """Every seller's health facts, in memory, updated one fact at a time.

    Recording is idempotent and commutative: the same fact twice is the fact once, facts
    may come in any order, and facts that can happen more than once (scans, defects,
    cancellations) keep their earliest date. A single-valued fact recorded again with
    another value (an order placed at two different times) raises :class:`FactConflict`,
    which the engine should treat as it treats a conflicting event. Times are aware
    datetimes or integer microseconds since the epoch (:data:`Instant`).

    The usual case of each fact (the first fact about an order, its first parcel, the first
    scan, the delivery) takes a short path; anything else (a late or repeated fact) takes
    the general one: note where the item counts, apply the fact, note again, move the
    difference. Both leave the book exactly as the set of facts dictates.
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

    # -- orders ------------------------------------------------------------------------------

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
        # _us inlined for engine microseconds: this is the hot path
        placed = placed_at if type(placed_at) is int else _us(placed_at)
        due = ship_by if ship_by is None or type(ship_by) is int else _us(ship_by)
        deliver = deliver_by if deliver_by is None or type(deliver_by) is int else _us(deliver_by)
        led = self._ledgers.get(seller_id) or self._ledger(seller_id)
        row = led.order_rows.get(order_id)
        if row is None:  # the usual case: the first fact about this order
            row = led.order_rows[order_id] = len(led.order_ids)  # led.new_order, inlined
            led.order_ids.append(order_id)
            led.placed_at.append(placed)
            led.ship_by.append(due)
            led.deliver_by.append(deliver)
            led.first_shipped.append(None)
            seq = led.order_due  # _insert(seq, placed), inlined on the hot path
            if seq and seq[-1] > placed:
                insort(seq, placed)
            else:
                seq.append(placed)
            if due is not None:
                seq = led.ship_due
                if seq and seq[-1] > due:
                    insort(seq, due)
                else:
                    seq.append(due)
                led.unshipped[order_id] = row
            return
        _check(led.placed_at[row], placed, f"order {order_id}: placed_at")
        _check(led.ship_by[row], due, f"order {order_id}: ship_by")
        _check(led.deliver_by[row], deliver, f"order {order_id}: deliver_by")
        before = led.order_marks(row)
        led.placed_at[row] = placed
        if due is not None:
            led.ship_by[row] = due
        led.refresh_order(row, before)
        if deliver is not None and led.deliver_by[row] is None:
            self._set_deliver_by(led, row, deliver)

    def record_ship_due(self, seller_id: str, order_id: str, ship_by: Instant) -> None:
        """The order must be shipped by ``ship_by`` (seller-fulfilled orders only)."""
        due = _us(ship_by)
        led = self._ledger(seller_id)
        row = led.order_row(order_id)
        _check(led.ship_by[row], due, f"order {order_id}: ship_by")
        before = led.order_marks(row)
        led.ship_by[row] = due
        led.refresh_order(row, before)

    def record_deliver_due(self, seller_id: str, order_id: str, deliver_by: Instant) -> None:
        """The order's parcels are promised for ``deliver_by``."""
        due = _us(deliver_by)
        led = self._ledger(seller_id)
        row = led.order_row(order_id)
        _check(led.deliver_by[row], due, f"order {order_id}: deliver_by")
        if led.deliver_by[row] is None:
            self._set_deliver_by(led, row, due)

    def _set_deliver_by(self, led: _Ledger, row: int, due: int) -> None:
        """Set an order's promise, and judge the parcels that shipped before it was known."""
        waiting = led.awaiting_promise.pop(row, [])
        before = [(srow, led.shipment_marks(srow, self._grace)) for srow in waiting]
        led.deliver_by[row] = due
        for srow, marks in before:
            led.refresh_shipment(srow, marks, self._grace)

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
        row = led.order_row(order_id)
        before = led.order_marks(row)
        if by_seller and when < led.seller_cancel.get(row, when + 1):
            led.seller_cancel[row] = when
        if not partial and when < led.whole_cancel.get(row, when + 1):
            led.whole_cancel[row] = when
        led.refresh_order(row, before)

    def record_defect(self, seller_id: str, order_id: str, at: Instant, kind: DefectKind) -> None:
        """Negative feedback, a guarantee claim or a chargeback on the order.

        An order with several defects is one defective order, defective from its first.
        """
        if kind not in DEFECT_KINDS:
            raise ValueError(f"defect kind {kind!r} is not one of {sorted(DEFECT_KINDS)}")
        when = _us(at)
        led = self._ledger(seller_id)
        row = led.order_row(order_id)
        before = led.order_marks(row)
        defects = led.defects.setdefault(row, {})
        if kind not in defects or when < defects[kind]:
            defects[kind] = when
        led.refresh_order(row, before)

    def record_feedback(self, seller_id: str, order_id: str, at: Instant, rating: int) -> None:
        """Buyer feedback; at or under the policy's rating (2 stars) it is an order defect."""
        if not 1 <= rating <= 5:
            raise ValueError(f"feedback rating {rating!r} is not between 1 and 5")
        if rating <= self._negative_max:
            self.record_defect(seller_id, order_id, at, "negative_feedback")

    # -- shipments ---------------------------------------------------------------------------

    def record_shipped(self, seller_id: str, order_id: str, shipment_id: str, shipped_at: Instant) -> None:
        """A shipment of the order was confirmed shipped (handed to the carrier)."""
        when = shipped_at if type(shipped_at) is int else _us(shipped_at)
        led = self._ledgers.get(seller_id) or self._ledger(seller_id)
        srow = led.shipment_rows.get(shipment_id)
        orow = led.order_rows.get(order_id)
        if (
            srow is None and orow is not None and led.first_shipped[orow] is None and led.deliver_by[orow] is not None
        ):  # the usual case: the order's first parcel, its promise known
            srow = led.new_shipment(shipment_id, orow, when)
            seq = led.scan_due  # _insert(seq, when), inlined on the hot path
            if seq and seq[-1] > when:
                insort(seq, when)
            else:
                seq.append(when)
            due = led.deliver_by[orow]
            seq = led.deliver_due
            if seq and seq[-1] > due:
                insort(seq, due)
            else:
                seq.append(due)
            led.unscanned[shipment_id] = led.in_transit[shipment_id] = srow
            led.first_shipped[orow] = when
            if order_id in led.unshipped:  # it was due to ship: now on time, or late
                del led.unshipped[order_id]
                if when > led.ship_by[orow]:
                    _insert(led.late, (led.ship_by[orow], order_id))
            return
        srow = led.shipment_row(shipment_id)
        if led.parcel_order[srow] is not None:
            shipped_for = led.order_ids[led.parcel_order[srow]]
            if shipped_for != order_id:
                raise FactConflict(
                    f"shipment {shipment_id}: already shipped for order {shipped_for}, now for {order_id}"
                )
            _check(led.shipped_at[srow], when, f"shipment {shipment_id}: shipped_at")
            return
        orow = led.order_row(order_id)
        before = led.shipment_marks(srow, self._grace)
        led.parcel_order[srow], led.shipped_at[srow] = orow, when
        if led.deliver_by[orow] is None:
            led.awaiting_promise.setdefault(orow, []).append(srow)
        led.refresh_shipment(srow, before, self._grace)
        first = led.first_shipped[orow]
        if first is None or when < first:
            obefore = led.order_marks(orow)
            led.first_shipped[orow] = when
            led.refresh_order(orow, obefore)

    def record_scan(self, seller_id: str, shipment_id: str, at: Instant) -> None:
        """A carrier scanned the shipment (any status): its tracking is valid."""
        when = at if type(at) is int else _us(at)
        led = self._ledgers.get(seller_id) or self._ledger(seller_id)
        row = led.shipment_row(shipment_id)
        first, shipped = led.first_scan[row], led.shipped_at[row]
        if first is not None and first <= when:
            return  # a later scan changes nothing
        if first is None and shipped is not None:  # the usual case: the first scan
            led.first_scan[row] = when
            del led.unscanned[shipment_id]
            if when > shipped + self._grace:
                _insert(led.scanned_late, (shipped, shipment_id))
            return
        before = led.shipment_marks(row, self._grace)
        led.first_scan[row] = when
        led.refresh_shipment(row, before, self._grace)

    def record_delivered(self, seller_id: str, shipment_id: str, at: Instant) -> None:
        """The carrier delivered the shipment; a delivery scan is also a carrier scan."""
        when = at if type(at) is int else _us(at)
        led = self._ledgers.get(seller_id) or self._ledger(seller_id)
        row = led.shipment_row(shipment_id)
        first = led.first_scan[row]
        delivered, shipped = led.delivered_at[row], led.shipped_at[row]
        if delivered is None and shipped is not None and first is not None and first <= when:
            # the usual case: delivered after its first scan
            led.delivered_at[row] = when
            due = led.deliver_by[led.parcel_order[row]]
            if due is not None:
                del led.in_transit[shipment_id]
                if when > due:
                    _insert(led.delivered_late, (due, shipment_id))
            return
        before = led.shipment_marks(row, self._grace)
        if delivered is None or when < delivered:
            led.delivered_at[row] = when
        if first is None or when < first:
            led.first_scan[row] = when
        led.refresh_shipment(row, before, self._grace)

    # -- buyer-seller messages ---------------------------------------------------------------

    def record_buyer_message(self, seller_id: str, order_id: str, message_id: str, at: Instant) -> None:
        """The buyer wrote to the seller about the order; a reply is due within 24 h."""
        sent = _us(at)
        led = self._ledger(seller_id)
        m = led.messages.get(message_id)
        if m is not None:
            if m.oid != order_id or m.sent != sent:
                raise FactConflict(f"buyer message {message_id}: recorded with other details")
            return
        m = led.messages[message_id] = _Message(order_id, sent, sent + self._reply_within)
        thread = led.threads.get(order_id)
        if thread is None:
            thread = led.threads[order_id] = _Thread()
        thread.messages.append(message_id)
        _insert(led.reply_due, m.deadline)
        _reflag(led.unanswered, led.answered_late, message_id, m, None, thread.mark(m))

    def record_seller_reply(self, seller_id: str, order_id: str, message_id: str, at: Instant) -> None:
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
        messages = [(mid, led.messages[mid]) for mid in thread.messages]
        before = [thread.mark(m) for _, m in messages]
        thread.replies[message_id] = when
        _insert(thread.reply_times, when)
        for (mid, m), was in zip(messages, before, strict=True):
            _reflag(led.unanswered, led.answered_late, mid, m, was, thread.mark(m))

    # -- queries -----------------------------------------------------------------------------

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

    def state(self, seller_id: str, at: int) -> State:
        """The status ``status(seller_id, at)`` would give, from the counts alone: what an
        hourly review needs to know whether anything changed (the figures and the orders
        behind them are built only when it did)."""
        led = self._ledgers.get(seller_id)
        if led is None:
            return "good"
        policy, worst = self.policy, 0
        for rule in policy.metrics:
            bound = _benefit_of_doubt(led, rule, at)
            if bound is not None and not slip(rule, *bound, policy):
                continue  # even counting every flagged and pending item against it
            numerator, denominator, _, _ = self._tally(led, rule, at)
            verdict = slip(rule, numerator, denominator, policy)
            if verdict > worst:
                worst = verdict
        return STATES[worst]

    def _value(self, led: _Ledger | None, rule: MetricRule, at: int) -> MetricValue:
        """One metric over ``(at - window, at]``, with the orders counting against it."""
        if led is None:
            return MetricValue(rule, 0, 0, ())
        numerator, denominator, against, rows = self._tally(led, rule, at)
        if rows:  # shipment rows: name their orders
            against = [led.order_ids[led.parcel_order[row]] for row in against]
        return MetricValue(rule, numerator, denominator, tuple(sorted(set(against))))

    def _tally(self, led: _Ledger, rule: MetricRule, at: int) -> tuple[int, int, list[Any], bool]:
        """One metric over ``(at - window, at]``: numerator, denominator, and what counts
        against the seller (order ids, or shipment rows when the last item says so). Bisect
        the due times, then look only at the flagged and pending items of the window."""
        lo = at - rule.window_days * _DAY_US
        measure = rule.measure
        if measure == "order_defects" or measure == "seller_cancellations":
            bad = []
            orders = led.order_rows
            if measure == "order_defects":
                for _, oid in _within(led.defective, lo, at):
                    if min(led.defects[orders[oid]].values()) <= at:
                        bad.append(oid)
            else:
                for _, oid in _within(led.cancelled, lo, at):
                    if led.seller_cancel[orders[oid]] <= at:
                        bad.append(oid)
            return len(bad), _count(led.order_due, lo, at), bad, False
        if measure == "late_shipments":
            ship_by = led.ship_by
            bad = [oid for _, oid in _within(led.late, lo, at)]
            bad += [oid for oid, row in led.unshipped.items() if lo < ship_by[row] <= at]
            return len(bad), _count(led.ship_due, lo, at), bad, False
        rows: list[int]
        if measure == "valid_tracking":
            due = _count(led.scan_due, lo, at)
            overdue = at - self._grace  # shipped at or before this and still unscanned
            shipped, scanned, srows = led.shipped_at, led.first_scan, led.shipment_rows
            rows = [srows[sid] for _, sid in _within(led.scanned_late, lo, min(at, overdue))]
            rows = [row for row in rows if scanned[row] > at]
            rows += [row for row in led.unscanned.values() if lo < shipped[row] <= overdue]
        elif measure == "on_time_deliveries":
            due = _count(led.deliver_due, lo, at)
            promised, parcel_order = led.deliver_by, led.parcel_order
            rows = [led.shipment_rows[sid] for _, sid in _within(led.delivered_late, lo, at)]
            rows += [r for r in led.in_transit.values() if lo < promised[parcel_order[r]] <= at]
            not_yet = [row for row in rows if led.shipped_at[row] > at]  # shipped after `at`
            due -= len(not_yet)
            rows = [row for row in rows if led.shipped_at[row] <= at]
        else:  # timely_replies
            due = _count(led.reply_due, lo, at)
            late = [led.messages[mid].oid for _, mid in _within(led.answered_late, lo, at)]
            late += [m.oid for m in led.unanswered.values() if lo < m.deadline <= at]
            return due - len(late), due, late, False
        return due - len(rows), due, rows, True
