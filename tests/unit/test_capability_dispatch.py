"""The engine tells a capability of the event types it names, and of all when it names none."""

from __future__ import annotations

from typing import Any

from ordercare.domain import events as ev
from ordercare.engine import Engine
from ordercare.intake import decode_lines
from ordercare.policy import load_policies
from ordercare.sim.builder import EventBuilder


class Ear:
    name = "ear"

    def __init__(self, handles: frozenset[type] | None) -> None:
        if handles is not None:
            self.handles = handles
        self.heard: list[str] = []

    def on_event(self, event: Any, order: Any, at_us: int, engine: Any) -> None:
        self.heard.append(type(event).__name__)


def test_a_capability_hears_the_types_it_names_and_one_naming_none_hears_all() -> None:
    b = EventBuilder().customer("c-1").seller("s-1").sku("k", "K")
    b.order("o-1", "c-1", "2026-05-28T09:14:00+02:00", [{"line_id": "l1", "sku": "k", "seller_id": "s-1",
                                                         "qty": 1, "unit_price": 5.0, "fulfilled_by": "seller"}])
    events = decode_lines(enumerate(b.jsonl().encode().splitlines(), 1)).accepted
    engine = Engine(load_policies())
    picky, deaf, all_ears = Ear(frozenset({ev.OrderPlaced})), Ear(frozenset()), Ear(None)
    engine.capabilities = [picky, deaf]
    engine.apply(events[0].event, events[0].at_us)
    engine.capabilities.append(all_ears)  # the routing follows a change of the list
    for a in events[1:]:
        engine.apply(a.event, a.at_us)
    assert picky.heard == ["OrderPlaced"] and deaf.heard == []
    assert all_ears.heard == ["SellerRegistered", "SkuRegistered", "OrderPlaced"]
