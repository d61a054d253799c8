"""Seller metrics counted from a seller's ledger: what is due in a window, and what
counts against the seller in it (see ``metrics.py`` for the attribution rules)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from ordercare.sellers.ledger import Flag, Ledger
from ordercare.sellers.policy import MetricRule

_DAY_US = 86_400_000_000


def count(seq: list[int], lo: int, hi: int) -> int:
    """How many times in ``seq`` fall in ``(lo, hi]``."""
    return bisect_right(seq, hi) - bisect_right(seq, lo)


def within(seq: list[Flag], lo: int, hi: int) -> list[Flag]:
    """The flags dated in ``(lo, hi]``. A flag is ``(time, id)`` with an integer time, so
    ``(t + 1,)`` sorts after every flag of time ``t`` and before every later one: bisecting
    on it compares tuples in C instead of calling a key function at each step."""
    return seq[bisect_left(seq, (lo + 1,)) : bisect_left(seq, (hi + 1,))]


def tally(led: Ledger, rule: MetricRule, at: int, grace: int) -> tuple[int, int, list[Any], bool]:
    """One metric over ``(at - window, at]``: numerator, denominator, and what counts
    against the seller (order ids, or shipment rows when the last item says so). Bisect
    the due times, then look only at the flagged and pending items of the window."""
    lo = at - rule.window_days * _DAY_US
    measure = rule.measure
    if measure == "order_defects" or measure == "seller_cancellations":
        bad = []
        orders = led.order_rows
        if measure == "order_defects":
            for _, oid in within(led.defective, lo, at):
                if min(led.defects[orders[oid]].values()) <= at:
                    bad.append(oid)
        else:  # over the orders the seller ships itself (some lines at least)
            for _, oid in within(led.cancelled, lo, at):
                row = orders[oid]
                if led.seller_cancel[row] <= at and led.ship_by[row] is not None:
                    bad.append(oid)
            return len(bad), count(led.fulfils_due, lo, at), bad, False
        return len(bad), count(led.order_due, lo, at), bad, False
    if measure == "contact_attempts":
        bad = [oid for _, oid in within(led.contact_attempts, lo, at)]
        return len(bad), count(led.sent, lo, at), bad, False
    if measure == "late_shipments":
        ship_by = led.ship_by
        bad = [oid for _, oid in within(led.late, lo, at)]
        bad += [oid for oid, row in led.unshipped.items() if lo < ship_by[row] <= at]
        return len(bad), count(led.ship_due, lo, at), bad, False
    rows: list[int]
    if measure == "valid_tracking":
        due = count(led.scan_due, lo, at)
        overdue = at - grace  # shipped at or before this and still unscanned
        shipped, scanned, srows = led.shipped_at, led.first_scan, led.shipment_rows
        rows = [srows[sid] for _, sid in within(led.scanned_late, lo, min(at, overdue))]
        rows = [row for row in rows if scanned[row] > at]
        rows += [row for row in led.unscanned.values() if lo < shipped[row] <= overdue]
    elif measure == "on_time_deliveries":
        due = count(led.deliver_due, lo, at)
        promised, parcel_order = led.deliver_by, led.parcel_order
        rows = [led.shipment_rows[sid] for _, sid in within(led.delivered_late, lo, at)]
        rows += [r for r in led.in_transit.values() if lo < promised[parcel_order[r]] <= at]
        not_yet = [row for row in rows if led.shipped_at[row] > at]  # shipped after `at`
        due -= len(not_yet)
        rows = [row for row in rows if led.shipped_at[row] <= at]
    else:  # timely_replies
        due = count(led.reply_due, lo, at)
        late = [led.messages[mid].oid for _, mid in within(led.answered_late, lo, at)]
        late += [m.oid for m in led.unanswered.values() if lo < m.deadline <= at]
        return due - len(late), due, late, False
    return due - len(rows), due, rows, True


# -- counts: what a status review needs ------------------------------------------------------
#
# ``tally``'s numerator and denominator alone, without naming the items, one function per
# measure over ``(lo, at]``. The pending items are counted in their sorted attribution times
# (two bisections) instead of being scanned; only the few flagged items of the window are
# read. A review runs for about every other event and may count every metric, so each
# counter is one call with the bisections bound to locals (``within`` and ``count``
# inlined): the calls were most of a review's cost.


def _order_defects(led: Ledger, lo: int, at: int, grace: int) -> tuple[int, int]:
    bad, flags = 0, led.defective
    if flags:
        defects, orders = led.defects, led.order_rows
        for _, oid in flags[bisect_left(flags, (lo + 1,)):bisect_left(flags, (at + 1,))]:
            if min(defects[orders[oid]].values()) <= at:
                bad += 1
    seq = led.order_due
    return bad, bisect_right(seq, at) - bisect_right(seq, lo)


def _seller_cancellations(led: Ledger, lo: int, at: int, grace: int) -> tuple[int, int]:
    bad, flags = 0, led.cancelled
    if flags:
        cancel, orders, ship_by = led.seller_cancel, led.order_rows, led.ship_by
        for _, oid in flags[bisect_left(flags, (lo + 1,)):bisect_left(flags, (at + 1,))]:
            row = orders[oid]
            if cancel[row] <= at and ship_by[row] is not None:
                bad += 1
    seq = led.fulfils_due
    return bad, bisect_right(seq, at) - bisect_right(seq, lo)


def _late_shipments(led: Ledger, lo: int, at: int, grace: int) -> tuple[int, int]:
    br, flags, pending, seq = bisect_right, led.late, led.unshipped_due, led.ship_due
    late = bisect_left(flags, (at + 1,)) - bisect_left(flags, (lo + 1,)) if flags else 0
    return late + br(pending, at) - br(pending, lo), br(seq, at) - br(seq, lo)


def _valid_tracking(led: Ledger, lo: int, at: int, grace: int) -> tuple[int, int]:
    br, seq = bisect_right, led.scan_due
    due = br(seq, at) - br(seq, lo)
    overdue = at - grace  # shipped at or before this and still unscanned
    if overdue <= lo:
        return due, due
    pending, flags = led.unscanned_due, led.scanned_late
    bad = br(pending, overdue) - br(pending, lo)
    if flags:
        scanned, srows = led.first_scan, led.shipment_rows
        for _, sid in flags[bisect_left(flags, (lo + 1,)):bisect_left(flags, (min(at, overdue) + 1,))]:
            if scanned[srows[sid]] > at:
                bad += 1
    return due - bad, due


def _on_time_deliveries(led: Ledger, lo: int, at: int, grace: int) -> tuple[int, int]:
    br, seq, pending, flags = bisect_right, led.deliver_due, led.in_transit_due, led.delivered_late
    due = br(seq, at) - br(seq, lo)
    bad = br(pending, at) - br(pending, lo)
    if led.latest_shipped <= at:  # the usual case: every parcel known shipped by `at`
        if flags:
            bad += bisect_left(flags, (at + 1,)) - bisect_left(flags, (lo + 1,))
        return due - bad, due
    # some parcel shipped after `at`: the items it holds are not due yet
    shipped, srows = led.shipped_at, led.shipment_rows
    promised, parcel_order = led.deliver_by, led.parcel_order
    not_yet = sum(1 for r in led.in_transit.values()
                  if shipped[r] > at and lo < promised[parcel_order[r]] <= at)
    for _, sid in within(flags, lo, at):
        bad += 1
        if shipped[srows[sid]] > at:
            not_yet += 1
    return due - bad, due - not_yet


def _timely_replies(led: Ledger, lo: int, at: int, grace: int) -> tuple[int, int]:
    seq, flags = led.reply_due, led.answered_late
    due = bisect_right(seq, at) - bisect_right(seq, lo)
    unanswered = bisect_left(flags, (at + 1,)) - bisect_left(flags, (lo + 1,)) if flags else 0
    for m in led.unanswered.values():
        if lo < m.deadline <= at:
            unanswered += 1
    return due - unanswered, due


def _contact_attempts(led: Ledger, lo: int, at: int, grace: int) -> tuple[int, int]:
    flags = led.contact_attempts
    bad = bisect_left(flags, (at + 1,)) - bisect_left(flags, (lo + 1,)) if flags else 0
    return bad, count(led.sent, lo, at)


#: A counter: ``(ledger, lo, at, grace) -> (numerator, denominator)`` over ``(lo, at]``, equal
#: to ``tally``'s first two items for a window ending at ``at``.
Count = Callable[[Ledger, int, int, int], tuple[int, int]]

#: Each measure's counter.
COUNTS: dict[str, Count] = {
    "order_defects": _order_defects,
    "seller_cancellations": _seller_cancellations,
    "late_shipments": _late_shipments,
    "valid_tracking": _valid_tracking,
    "on_time_deliveries": _on_time_deliveries,
    "timely_replies": _timely_replies,
    "contact_attempts": _contact_attempts,
}
