"""Problems counted against whoever caused them (issue 7's learning loop), on both stores:
the stories where a problem used to be blamed on the wrong party."""

from __future__ import annotations

from typing import Any

from ordercare import services
from ordercare.insights.causes import insights
from ordercare.sim.builder import EventBuilder, line

P = "2026-06-01T09:00:00+02:00"
PROMISE = {"ship_by": "2026-06-02T18:00:00+02:00", "deliver_by": "2026-06-06T18:00:00+02:00"}


def problems(db_url: str, b: EventBuilder) -> dict[tuple[str, str, str], int]:
    db = services.open_store(db_url)
    try:
        services.replay(db, "story.jsonl", b.lines())
        return {(r["dimension"], r["key"], r["problem"]): r["problems"] for r in insights(db)
                if r["dimension"] != "week"}
    finally:
        db.dispose()


def two_sellers() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-1", lang="en").seller("s-1").seller("s-2")
    b.sku("mug", "Mug", seller_id="s-1").sku("tea", "Tea", seller_id="s-2")
    return b


def our_shelf() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-1", lang="en").seller("s-1")
    b.add("fc.registered", "2026-01-01T00:00:00+00:00", {"fc_id": "FC-1", "name": "FC one", "lat": 45.7, "lon": 4.9})
    b.sku("lamp", "Lamp", weight_g=500.0, seller_id="s-1")
    b.add("inventory.received", "2026-05-01T08:00:00+02:00",
          {"fc_id": "FC-1", "sku": "lamp", "qty": 5, "seller_id": "s-1"})
    b.order("o-1", "c-1", P, [line("l1", "lamp", "s-1", fulfilled_by="platform")])
    b.pay("o-1", "2026-06-01T09:01:00+02:00", 10.0)
    return b


def get(found: dict[tuple[str, str, str], int], *key: str) -> Any:
    return found.get(key, 0)


def test_a_seller_that_shipped_on_time_is_not_blamed_for_the_other_sellers_lateness(db_url):
    b = two_sellers()
    b.order("o-1", "c-1", P, [line("l1", "mug", "s-1"), line("l2", "tea", "s-2")], promise=PROMISE)
    b.pay("o-1", "2026-06-01T09:01:00+02:00", 20.0)
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], "2026-06-01T12:00:00+02:00")
    b.ship("sh-1", "2026-06-01T16:00:00+02:00", "T1", carrier="fastpost")  # s-1: on time
    b.scan("T1", "2026-06-02T08:00:00+02:00", "in_transit")
    b.scan("T1", "2026-06-03T08:00:00+02:00", "exception")  # the carrier's trouble
    b.scan("T1", "2026-06-05T08:00:00+02:00", "delivered")
    b.create_shipment("sh-2", "o-1", "s-2", ["l2"], "2026-06-03T12:00:00+02:00")
    b.ship("sh-2", "2026-06-03T16:00:00+02:00", "T2", carrier="fastpost")  # s-2: a day late
    b.scan("T2", "2026-06-03T20:00:00+02:00", "accepted")
    b.scan("T2", "2026-06-05T09:00:00+02:00", "delivered")
    found = problems(db_url, b)
    assert get(found, "seller", "s-2", "shipping") == 1
    assert get(found, "seller", "s-1", "shipping") == 0
    assert get(found, "carrier", "fastpost", "carrier") == 1


def test_one_parcel_of_two_delivered_late_although_it_left_on_time_is_the_carriers(db_url):
    b = two_sellers()
    b.sku("cup", "Cup", seller_id="s-1")
    b.order("o-1", "c-1", P, [line("l1", "mug", "s-1"), line("l2", "cup", "s-1")], promise=PROMISE)
    b.pay("o-1", "2026-06-01T09:01:00+02:00", 20.0)
    for sid, lid, tracking in (("sh-1", "l1", "T1"), ("sh-2", "l2", "T2")):
        b.create_shipment(sid, "o-1", "s-1", [lid], "2026-06-01T12:00:00+02:00")
        b.ship(sid, "2026-06-01T16:00:00+02:00", tracking, carrier="slowpost")
        b.scan(tracking, "2026-06-01T20:00:00+02:00", "accepted")
    b.scan("T1", "2026-06-03T10:00:00+02:00", "delivered")
    b.scan("T2", "2026-06-07T10:00:00+02:00", "delivered")  # a day after the deliver-by
    found = problems(db_url, b)
    assert get(found, "carrier", "slowpost", "carrier") == 1
    assert get(found, "seller", "s-1", "shipping") == 0


def test_a_seller_silent_to_the_buyer_on_a_line_our_warehouse_shipped_is_the_sellers(db_url):
    b = our_shelf()
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], "2026-06-01T10:00:00+02:00")
    b.pack("sh-1", "2026-06-01T11:00:00+02:00", 650.0, fc_id="FC-1", station="P1")
    b.ship("sh-1", "2026-06-01T16:00:00+02:00", "T1", carrier="fastpost")
    b.scan("T1", "2026-06-02T10:00:00+02:00", "delivered")
    b.add("buyer_seller.message", "2026-06-03T09:00:00+02:00",
          {"message_id": "m-1", "order_id": "o-1", "from": "buyer", "seller_id": "s-1",
           "text": "The lamp flickers: is there a warranty?"})
    b.add("feedback.left", "2026-06-06T09:00:00+02:00", {"order_id": "o-1", "seller_id": "s-1", "rating": 5})
    found = problems(db_url, b)
    assert get(found, "seller", "s-1", "reply") == 1
    assert get(found, "fc", "FC-1", "all") == 0


def test_a_parcel_our_pack_check_found_packed_wrong_is_the_warehouses_not_the_listings(db_url):
    b = our_shelf()
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], "2026-06-01T10:00:00+02:00")
    b.pack("sh-1", "2026-06-01T11:00:00+02:00", 2600.0, fc_id="FC-1", station="P1")
    b.add("inspection.completed", "2026-06-01T11:30:00+02:00", {"shipment_id": "sh-1", "outcome": "wrong_item"})
    b.pack("sh-1", "2026-06-01T11:40:00+02:00", 640.0, fc_id="FC-1", station="P1")
    b.ship("sh-1", "2026-06-01T16:00:00+02:00", "T1", carrier="fastpost")
    found = problems(db_url, b)
    assert get(found, "fc", "FC-1", "packing") == 1
    assert get(found, "seller", "s-1", "product") == 0 and get(found, "sku", "lamp", "product") == 0


def test_a_seller_cancelling_a_line_our_warehouse_holds_is_counted_against_the_seller(db_url):
    b = our_shelf()
    b.cancel("o-1", "2026-06-01T15:00:00+02:00", "seller", "out_of_stock")
    found = problems(db_url, b)
    assert get(found, "seller", "s-1", "cancellation") == 1


def test_a_stock_out_no_warehouse_ever_packed_is_the_items_not_an_unnamed_warehouses(db_url):
    """Bob's bulb was never in stock anywhere: the stock-out counts against the bulb, and no
    warehouse called "unassigned" appears among the warehouses."""
    b = our_shelf()
    b.sku("bulb", "Bulb", weight_g=80.0, seller_id="s-1")
    b.customer("c-2", lang="en")
    b.order("o-2", "c-2", "2026-06-01T10:00:00+02:00", [line("l1", "bulb", "s-1", fulfilled_by="platform")])
    b.pay("o-2", "2026-06-01T10:01:00+02:00", 4.0)
    found = problems(db_url, b)
    assert get(found, "sku", "bulb", "stock") == 1
    db = services.open_store(db_url)
    try:
        warehouses = {r["key"] for r in insights(db) if r["dimension"] == "fc"}
    finally:
        db.dispose()
    assert "unassigned" not in warehouses
