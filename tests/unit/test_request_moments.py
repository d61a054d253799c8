"""What became of a request to send lines again, read from the order alone (``request_moments``):
the seller's ``request.overdue`` and ``request.cancelled`` notices are built on it, so the answer
must not depend on when it is asked."""

from __future__ import annotations

from ordercare.domain.cases import Action, Case
from ordercare.domain.order import HOUR_US, Line, Order, Request, Shipment, request_moments

ASKED, BY = 100 * HOUR_US, 148 * HOUR_US


def order(**line: object) -> tuple[Order, Request]:
    ln = Line("l2", "case", "s-books", 1, 9.9, "seller", ship_by_us=BY, redo_us=ASKED, deliver_by_us=BY + 72 * HOUR_US)
    for k, v in line.items():
        setattr(ln, k, v)
    rq = Request("RQ-o-5-1", "replace", ASKED, ["l2"], "s-books")
    return Order("o-5", lines=[ln], requests=[rq], tz_min=120), rq


def parcel(o: Order, created: int) -> None:
    o.shipments["sh-c"] = Shipment("sh-c", "s-books", ["l2"], created_us=created)
    o.link_lines(o.shipments["sh-c"])


def test_not_yet_due_nothing_happened():
    o, rq = order()
    assert request_moments(o, rq, BY - 1) == (None, None)


def test_overdue_from_its_ship_by_and_still_so_once_sent_late():
    o, rq = order()
    assert request_moments(o, rq, BY) == (BY, None)
    parcel(o, BY + 5 * HOUR_US)
    assert request_moments(o, rq, BY + 10 * HOUR_US) == (BY, None), "it was overdue, whenever asked"


def test_a_parcel_made_in_time_is_never_overdue():
    o, rq = order()
    parcel(o, BY - HOUR_US)
    assert request_moments(o, rq, BY + 100 * HOUR_US) == (None, None)


def test_refunded_after_its_ship_by_overdue_then_cancelled_at_the_refund():
    o, rq = order()
    refund = BY + 20 * HOUR_US
    o.cases = [Case("C-1", "o-5", "late_shipment", "proactive", BY, actions=[
        Action("refund", refund, line_ids=["l2"], amount=9.9)])]
    assert request_moments(o, rq, refund + 1) == (BY, refund)


def test_cancelled_before_its_ship_by_is_never_overdue():
    o, rq = order(cancelled_us=BY - HOUR_US)
    assert request_moments(o, rq, BY + HOUR_US) == (None, BY - HOUR_US)


def test_withdrawn_by_a_later_request_ends_when_it_was_asked_again():
    o, rq = order()
    rq.withdrawn_us = BY - 2 * HOUR_US
    assert request_moments(o, rq, BY + HOUR_US) == (None, BY - 2 * HOUR_US)
