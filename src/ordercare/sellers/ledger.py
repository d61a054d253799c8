"""One seller's facts as the book remembers them: rows of columns for orders and parcels,
sorted due times, and the items flagged or pending against the seller. ``SellerBook``
(``metrics.py``) records facts into it; ``measures.py`` counts from it."""

from __future__ import annotations

from bisect import bisect_left, insort
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FactConflict(ValueError):
    """A single-valued fact (an order date, a promise, a ship time) recorded twice, differently."""


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


def column() -> Column:
    return []


class BuyerMessage:
    """A buyer message and the time by which the seller should have replied."""

    __slots__ = ("oid", "sent", "deadline")

    def __init__(self, oid: str, sent: int, deadline: int) -> None:
        self.oid = oid
        self.sent = sent
        self.deadline = deadline


class Thread:
    """One order's buyer-seller conversation: buyer message ids, seller reply times, and the
    seller's "no reply needed" marks (when, and the buyer messages up to which they answer)."""

    __slots__ = ("messages", "replies", "reply_times", "masked", "marks")

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.replies: dict[str, int] = {}  # the seller's messages and marks, by id: when
        self.reply_times: list[int] = []
        self.masked: dict[str, int | None] = {}  # by id: contact details masked; None: a mark
        self.marks: list[tuple[int, int]] = []  # (when, answers the buyer messages sent up to)

    def mark(self, m: BuyerMessage) -> int | None:
        """PENDING while no reply followed, the deadline when it came late, else None."""
        i = bisect_left(self.reply_times, m.sent)
        answered = self.reply_times[i] if i < len(self.reply_times) else None
        for when, until in self.marks:  # (a handful at most)
            if m.sent <= until and m.sent <= when and (answered is None or when < answered):
                answered = when
        if answered is None:
            return PENDING
        return m.deadline if answered > m.deadline else None


class Ledger:
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
        "seller_cancel", "whole_cancel", "defects", "removed", "awaiting_promise",
        "shipment_rows", "shipment_ids", "parcel_order", "shipped_at", "first_scan",
        "delivered_at", "messages", "threads",
        "order_due", "fulfils_due", "ship_due", "scan_due", "deliver_due", "reply_due",
        "defective", "cancelled", "late", "unshipped", "scanned_late", "unscanned",
        "delivered_late", "in_transit", "answered_late", "unanswered", "sent", "contact_attempts",
        "unshipped_due", "unscanned_due", "in_transit_due", "latest_shipped",
    )  # fmt: skip

    def __init__(self) -> None:
        # orders, one row each
        self.order_rows: dict[str, int] = {}
        self.order_ids: list[str] = []
        self.placed_at, self.ship_by, self.deliver_by = column(), column(), column()
        self.first_shipped = column()
        # cancellations are few: order row -> earliest, by the seller / of the whole order
        self.seller_cancel: dict[int, int] = {}
        self.whole_cancel: dict[int, int] = {}
        self.defects: dict[int, dict[str, int]] = {}  # order row -> kind -> earliest date
        self.removed: set[tuple[int, str]] = set()  # (order row, kind): that defect never counts
        self.awaiting_promise: dict[int, list[int]] = {}  # order row -> its shipment rows
        # shipments, one row each
        self.shipment_rows: dict[str, int] = {}
        self.shipment_ids: list[str] = []
        self.parcel_order = column()  # order row, None until shipped
        self.shipped_at, self.first_scan, self.delivered_at = column(), column(), column()
        # buyer messages (a minority of orders)
        self.messages: dict[str, BuyerMessage] = {}
        self.threads: dict[str, Thread] = {}
        # due times, sorted: the denominators
        self.order_due: list[int] = []
        # placed, of the orders the seller ships some lines of itself: the cancel rate's
        # denominator (lines our warehouse ships are not the seller's to cancel)
        self.fulfils_due: list[int] = []
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
        self.sent: list[int] = []  # the seller's own messages, by date: the contact-attempt denominator
        self.contact_attempts: list[Flag] = []  # its messages holding contact details (masked), by date
        self.unanswered: dict[str, BuyerMessage] = {}
        # the attribution times of the pending items, sorted (a review counts them with two
        # bisections instead of scanning the dicts): ship-by of the unshipped, ship date of the
        # unscanned, deliver-by of the parcels in transit
        self.unshipped_due: list[int] = []
        self.unscanned_due: list[int] = []
        self.in_transit_due: list[int] = []
        self.latest_shipped: int = PENDING  # the latest ship date of any parcel

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
        if shipped is not None and shipped > self.latest_shipped:
            self.latest_shipped = shipped
        self.first_scan.append(None)
        self.delivered_at.append(None)
        return row

    def shipment_row(self, sid: str) -> int:
        row = self.shipment_rows.get(sid)
        return self.new_shipment(sid) if row is None else row

    def order_marks(self, row: int) -> Marks:
        """Where an order counts: (placed, defective, seller-cancelled, ship-due, late,
        placed if the seller ships some of it itself).

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
            placed if self.ship_by[row] is not None else None,
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
        p0, d0, c0, s0, l0, f0 = before
        p1, d1, c1, s1, l1, f1 = after
        if p0 != p1:
            move_sorted(self.order_due, p0, p1)
        if f0 != f1:
            move_sorted(self.fulfils_due, f0, f1)
        if d0 != d1:
            move_sorted(self.defective, flag_of(d0, oid), flag_of(d1, oid))
        if c0 != c1:
            move_sorted(self.cancelled, flag_of(c0, oid), flag_of(c1, oid))
        if s0 != s1:
            move_sorted(self.ship_due, s0, s1)
        if l0 != l1:
            reflag(self.unshipped, self.late, oid, row, l0, l1)
        k0, k1 = s0 if l0 == PENDING else None, s1 if l1 == PENDING else None
        if k0 != k1:
            move_sorted(self.unshipped_due, k0, k1)

    def refresh_shipment(self, row: int, before: Marks, grace: int) -> None:
        after = self.shipment_marks(row, grace)
        if after == before:
            return
        sid = self.shipment_ids[row]
        h0, u0, d0, l0 = before
        h1, u1, d1, l1 = after
        if h0 != h1:
            move_sorted(self.scan_due, h0, h1)
        if u0 != u1:
            reflag(self.unscanned, self.scanned_late, sid, row, u0, u1)
        k0, k1 = h0 if u0 == PENDING else None, h1 if u1 == PENDING else None
        if k0 != k1:
            move_sorted(self.unscanned_due, k0, k1)
        if d0 != d1:
            move_sorted(self.deliver_due, d0, d1)
        if l0 != l1:
            reflag(self.in_transit, self.delivered_late, sid, row, l0, l1)
        k0, k1 = d0 if l0 == PENDING else None, d1 if l1 == PENDING else None
        if k0 != k1:
            move_sorted(self.in_transit_due, k0, k1)


def flag_of(t: int | None, key: str) -> Flag | None:
    return None if t is None else (t, key)


def insert_sorted(seq: Any, item: Any) -> None:
    """Keep ``seq`` sorted; facts mostly arrive in time order, so appending is the usual case."""
    if not seq or seq[-1] <= item:
        seq.append(item)
    else:
        insort(seq, item)


def remove_sorted(seq: Any, item: Any) -> None:
    i = bisect_left(seq, item)
    if i == len(seq) or seq[i] != item:
        raise AssertionError(f"seller book out of sync: {item!r} not found")
    del seq[i]


def move_sorted(seq: Any, old: Any, new: Any) -> None:
    """Replace ``old`` by ``new`` in the sorted ``seq``; None stands for nothing."""
    if old is not None:
        remove_sorted(seq, old)
    if new is not None:
        insert_sorted(seq, new)


def reflag(
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
        remove_sorted(flagged, (old, key))
    if new == PENDING:
        pending[key] = item
    elif new is not None:
        insert_sorted(flagged, (new, key))


def check_same(old: int | None, new: int | None, what: str) -> None:
    if old is not None and new is not None and old != new:
        raise FactConflict(f"{what} already recorded as {_iso(old)}, now {_iso(new)}")


def _iso(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).isoformat()
