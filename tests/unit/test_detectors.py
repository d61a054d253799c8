"""Detectors are pure: an order's state and `now` in, findings and the next wake-up out."""

from ordercare.domain.order import DAY_US, HOUR_US, Line, Order, Shipment
from ordercare.watch.deadlines import DeadlineIndex
from ordercare.watch.detectors import evaluate
from ordercare.watch.thresholds import Thresholds

TH = Thresholds()
T0 = 1_780_000_000_000_000


def order(*lines: Line, deliver_in_days: float = 4) -> Order:
    return Order("o-1", "c-1", placed_us=T0, lines=list(lines), deliver_by_us=T0 + int(deliver_in_days * DAY_US))


def ln(line_id: str, ship_days: float = 2, shipment: str | None = None) -> Line:
    return Line(line_id, "sku", "s-1", 1, 10.0, "seller", ship_by_us=T0 + int(ship_days * DAY_US),
                shipment_id=shipment)


def shipped(o: Order, sid: str, line_ids: list[str], at: int) -> Shipment:
    ship = Shipment(sid, "s-1", line_ids, shipped_us=at, tracking="T")
    o.shipments[sid] = ship
    for x in o.lines:
        if x.line_id in line_ids:
            x.shipment_id = sid
    return ship


def reasons(o: Order, now: int) -> list[str]:
    return [f.reason for f in evaluate(o, now, TH)[0]]


def test_nothing_wrong_before_ship_by_and_the_wake_up_is_the_ship_by():
    o = order(ln("l1"))
    findings, wake = evaluate(o, T0 + DAY_US, TH)
    assert findings == [] and wake == T0 + 2 * DAY_US


def test_late_shipment_at_the_ship_by():
    assert reasons(order(ln("l1")), T0 + 2 * DAY_US) == ["late_shipment"]


def test_no_carrier_scan_24h_after_shipping_then_stalled_72h_after_the_last_scan():
    o = order(ln("l1"))
    ship = shipped(o, "sh", ["l1"], T0 + HOUR_US)
    assert evaluate(o, T0 + 2 * HOUR_US, TH)[1] == T0 + 25 * HOUR_US
    assert reasons(o, T0 + 25 * HOUR_US) == ["no_carrier_scan"]
    ship.add_scan(T0 + 3 * HOUR_US, "accepted", None)
    assert evaluate(o, T0 + 4 * HOUR_US, TH)[1] == T0 + 75 * HOUR_US
    assert reasons(o, T0 + 75 * HOUR_US) == ["stalled_in_transit"]


def test_a_carrier_exception_is_seen_at_once_and_a_later_scan_clears_it():
    o = order(ln("l1"))
    ship = shipped(o, "sh", ["l1"], T0 + HOUR_US)
    ship.add_scan(T0 + 3 * HOUR_US, "exception", "Hub")
    assert reasons(o, T0 + 3 * HOUR_US) == ["carrier_exception"]
    ship.add_scan(T0 + 5 * HOUR_US, "in_transit", "Hub")
    assert reasons(o, T0 + 5 * HOUR_US) == []


def test_scans_arriving_out_of_order_give_the_same_parcel():
    a, b = Shipment("s"), Shipment("s")
    scans = [(3, "delivered"), (1, "accepted"), (2, "in_transit")]
    for t, status in scans:
        a.add_scan(t, status, None)
    for t, status in reversed(scans):
        b.add_scan(t, status, None)
    assert a == b and a.delivered_us == 3 and a.last_scan_us == 3


def test_partial_delivery_names_only_the_missing_line():
    o = order(ln("ipod", ship_days=1), ln("case", ship_days=2))
    ship = shipped(o, "sh", ["ipod"], T0 + HOUR_US)
    ship.add_scan(T0 + 2 * HOUR_US, "delivered", None)
    findings, _ = evaluate(o, T0 + 4 * DAY_US, TH)
    assert [(f.reason, f.line_ids) for f in findings] == [
        ("late_shipment", ("case",)), ("partial_delivery", ("case",))]


def test_late_delivery_when_nothing_arrived_by_the_deliver_by():
    o = order(ln("l1"))
    ship = shipped(o, "sh", ["l1"], T0 + HOUR_US)
    ship.add_scan(T0 + 3 * DAY_US + 12 * HOUR_US, "in_transit", None)
    assert reasons(o, T0 + 4 * DAY_US) == ["late_delivery"]


def test_seller_cancelled_lines_are_a_finding_and_not_late():
    o = order(ln("l1"), ln("l2"))
    o.lines[0].cancelled_us, o.lines[0].cancelled_by = T0, "seller"
    findings, _ = evaluate(o, T0 + 2 * DAY_US, TH)
    assert [(f.reason, f.line_ids) for f in findings] == [
        ("seller_cancellation", ("l1",)), ("late_shipment", ("l2",))]


def test_the_deadline_index_touches_only_what_falls_due():
    index, due = DeadlineIndex(), {}
    for i in range(10_000):
        due[f"o{i}"] = 1_000 + i
        index.arm(f"o{i}", 1_000 + i)
    looked_at = []

    def current(order_id: str) -> int:
        looked_at.append(order_id)
        return due[order_id]

    fired = list(index.pop_due(1_010, current, inclusive=True))
    assert [o for _, o in fired] == [f"o{i}" for i in range(11)]
    assert len(looked_at) == 11, "not one of the 9,989 orders not yet due was looked at"


def test_a_re_armed_deadline_fires_once_at_its_new_time():
    index = DeadlineIndex()
    due = {"o": 5}
    index.arm("o", 5)
    due["o"] = 9
    index.arm("o", 9)
    assert list(index.pop_due(10, due.get, inclusive=True)) == [(9, "o")]
