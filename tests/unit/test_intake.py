"""Intake's own arithmetic and bookkeeping, without a store: exact event times in every
offset, and references resolved from the input first, then from what the store knows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from ordercare.domain.moments import to_us
from ordercare.intake import check_references, decode_lines
from ordercare.sim.builder import EventBuilder, line

T = "2026-05-28T09:14:00+02:00"


def _line(moment: str) -> bytes:
    return json.dumps({"id": "e-1", "type": "payment.captured", "at": moment,
                       "data": {"order_id": "o-1", "amount": 1.0}}).encode()


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)),
       st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59))
def test_an_event_time_is_its_exact_microsecond_in_any_offset(wall, offset_min):
    moment = wall.replace(tzinfo=timezone(timedelta(minutes=offset_min)))
    intake = decode_lines([(1, _line(moment.isoformat()))])
    (acc,) = intake.accepted
    assert acc.at_us == to_us(acc.event.at) == to_us(moment)


def test_offsets_met_in_one_input_each_give_their_own_time():
    moments = ["2026-05-28T09:14:00+02:00", "2026-05-28T07:14:00Z", "2026-05-28T01:44:00.000001-05:30",
               "1969-12-31T23:59:59.999999+00:00"]
    lines = [(i, _line(m).replace(b'"e-1"', f'"e-{i}"'.encode())) for i, m in enumerate(moments, 1)]
    got = [a.at_us for a in decode_lines(lines).accepted]
    assert got == [to_us(datetime.fromisoformat(m)) for m in moments]
    assert got[0] == got[1] == datetime(2026, 5, 28, 7, 14, tzinfo=UTC).timestamp() * 1_000_000
    assert got[3] == -1


def test_references_resolve_from_the_input_first_then_from_the_store():
    b = EventBuilder()
    b.order("o-1", "c-1", T, [line("l1", "book", "s-1")])
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], T)
    b.create_shipment("sh-9", "o-9", "s-1", ["l1"], T)          # o-9 exists nowhere
    b.pack("sh-9", T, 100.0)                                     # so neither does sh-9
    b.ship("sh-1", T, "TRK-1")
    b.scan("TRK-1", T, "accepted")
    b.scan("TRK-OLD", T, "in_transit")                           # shipped in an earlier run
    b.scan("TRK-NONE", T, "in_transit")
    b.pay("o-old", T, 5.0)                                       # placed in an earlier run
    b.pack("sh-old", T, 100.0)
    b.contact("k-1", "c-1", T, "hello")                          # about no order: nothing to find
    b.contact("k-2", "c-1", T, "hello", order_id="")             # about an order without a name
    intake = decode_lines(b.lines())
    asked: list[tuple[str, set[str]]] = []

    def orders(ids):
        asked.append(("orders", set(ids)))
        return {i for i in ids if i == "o-old"}

    def shipments(ids):
        asked.append(("shipments", set(ids)))
        return {i: "o-old" for i in ids if i in ("sh-old", "sh-older")}

    def trackings(ids):
        asked.append(("trackings", set(ids)))
        return {i: "sh-older" for i in ids if i == "TRK-OLD"}

    check_references(intake, orders, shipments, trackings)
    assert [(a.event.id, a.order_id) for a in intake.accepted] == [
        ("e-1", "o-1"), ("e-2", "o-1"), ("e-5", "o-1"), ("e-6", "o-1"), ("e-7", "o-old"), ("e-9", "o-old"),
        ("e-10", "o-old"), ("e-11", None)]
    assert [(r.line_no, r.event_id, r.reason) for r in intake.rejected] == [
        (3, "e-3", "refers to unknown order 'o-9' (no order.placed in this input or the store)"),
        (4, "e-4", "refers to unknown shipment 'sh-9' (no shipment.created for it)"),
        (8, "e-8", "refers to unknown tracking number 'TRK-NONE' (no shipment.shipped carries it)"),
        (12, "e-12", "refers to unknown order '' (no order.placed in this input or the store)")]
    assert intake.rejected[0].raw == b.lines()[2][1].decode()  # kept whole
    # (o-1, placed in this input, is asked of the store too: placed there already, this
    # placing would be refused)
    # (every parcel named, those created here too: one that is another order's is refused)
    assert asked == [("orders", {"o-1", "o-9", "o-old"}), ("shipments", {"sh-1", "sh-9", "sh-old"}),
                     ("trackings", {"TRK-OLD", "TRK-NONE"}), ("shipments", {"sh-older"})]
