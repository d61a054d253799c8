"""A parcel weighed twice (put right after a mis-pack): the order's state keeps the first
weighing's instant and the latest weighing's weight and station, whichever event comes first."""

from __future__ import annotations

from ordercare.engine import Engine
from ordercare.intake import decode_lines
from ordercare.policy import load_policies
from ordercare.sim.builder import EventBuilder, line

PLACED = "2026-06-02T09:00:00+02:00"


def _events() -> list:
    b = EventBuilder().customer("c-1").seller("s-1").sku("k", "K")
    b.order("o-1", "c-1", PLACED, [line("l1", "k", "s-1", 5.0)])
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], "2026-06-02T10:00:00+02:00")
    b.pack("sh-1", "2026-06-02T11:00:00+02:00", 1003.0, station="st-1", fc_id="FC-1")
    b.pack("sh-1", "2026-06-02T12:10:00+02:00", 1352.0, station="st-2", fc_id="FC-1")
    return decode_lines(enumerate(b.jsonl().encode().splitlines(), 1)).accepted


def _shipment(events: list):
    engine = Engine(load_policies())
    for a in events:
        engine.apply(a.event, a.at_us)
    return engine.world.orders["o-1"].shipments["sh-1"]


def test_the_latest_weighing_counts_whichever_arrives_first():
    events = _events()
    in_order = _shipment(events)
    first_weighing_late = _shipment(events[:-2] + [events[-1], events[-2]])
    for ship in (in_order, first_weighing_late):
        assert (ship.weight_g, ship.station, ship.weighings) == (1352.0, "st-2", 2)
        assert ship.packed_us == events[-2].at_us and ship.weighed_us == events[-1].at_us
    assert in_order == first_weighing_late
