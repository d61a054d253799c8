"""A replacement of a line our warehouse fulfils is stock promised: it reserves a unit the
moment the desk promises it, from the centre that served the line; with none left, the
customer hears at once that the replacement waits for stock (the stock-out message, with
its options) and the next receipt serves it; its parcel consumes the unit, once; refunded
or cancelled before it ships, the unit is free again. Through the command line, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json

from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, messages, ordercare, replay
from tests.e2e.test_replacement_requests import CHOSEN, requests
from tests.e2e.test_self_service import PLACED, shop

CASE = ("fc-1", "case", "s-books")  # the case for the iPod, on our shelf at Lyon


def shelf(db: str) -> tuple[int, int]:
    """(on hand, reserved) of the case at fc-1 (``ordercare inventory --json``)."""
    rows = json.loads(ordercare("inventory", "--json", "--db", db))
    [row] = [r for r in rows if (r["fc_id"], r["sku"], r["seller_id"]) == CASE]
    assert row["available"] == row["on_hand"] - row["reserved"]
    return row["on_hand"], row["reserved"]


def case_never_came(stock: int) -> EventBuilder:
    """Bob's iPod came; its case, sent from our warehouse (``stock`` of them on the shelf at
    Lyon, and another centre holding some too), never did."""
    b = shop()
    for fc, city in (("fc-1", "Lyon"), ("fc-2", "Lille")):
        b.add("fc.registered", "2026-05-01T00:00:00+02:00", {"fc_id": fc, "name": city, "lat": 45.7, "lon": 4.8})
    b.add("inventory.received", "2026-05-02T00:00:00+02:00",
          {"fc_id": "fc-1", "sku": "case", "qty": stock, "seller_id": "s-books"})
    b.order("o-5", "c-bob", PLACED, [line("l1", "ipod", "s-audio", 149.0),
                                     line("l2", "case", "s-books", 9.9, fulfilled_by="platform")])
    b.pay("o-5", at(PLACED, minutes=1), 158.9)
    for sid, seller, lid in (("sh-a", "s-audio", "l1"), ("sh-b", "s-books", "l2")):
        b.create_shipment(sid, "o-5", seller, [lid], at(PLACED, hours=3))
        if sid == "sh-b":
            b.pack(sid, at(PLACED, hours=4), 100.0, fc_id="fc-1", station="st-1")
        b.ship(sid, at(PLACED, hours=5), f"TRK-{sid}")
        b.scan(f"TRK-{sid}", at(PLACED, hours=8), "accepted", "Paris")
    b.scan("TRK-sh-a", at(PLACED, days=2), "delivered", "Lyon")
    return b


def replaced(db: str, b: EventBuilder, tmp_path, until: str = "2026-06-09T12:00:00+02:00") -> dict:
    """The customer clicks "a replacement" on our message about the case that never came."""
    replay(db, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [first] = cases(db)
    assert first["line_ids"] == ["l2"]
    b.choose("o-5", first["id"], CHOSEN, "replacement")
    replay(db, b, tmp_path, "--until", until)
    return first


def send_replacement(b: EventBuilder, created: str, shipped: str) -> None:
    b.create_shipment("sh-c", "o-5", "s-books", ["l2"], created)
    b.ship("sh-c", shipped, "TRK-sh-c")
    b.scan("TRK-sh-c", at(shipped, hours=3), "accepted", "Paris")


def test_a_replacement_reserves_a_unit_when_promised_and_its_parcel_consumes_it_once(db_url, tmp_path):
    b = case_never_came(stock=3)
    b.add("inventory.received", "2026-05-02T00:00:00+02:00",
          {"fc_id": "fc-2", "sku": "case", "qty": 5, "seller_id": "s-books"})
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    assert shelf(db_url) == (2, 0), "the first case left the shelf"
    first = [c for c in cases(db_url)]
    b.choose("o-5", first[0]["id"], CHOSEN, "replacement")
    replay(db_url, b, tmp_path, "--until", "2026-06-09T12:00:00+02:00")
    [rq] = requests(db_url)
    assert (rq["to"], rq["status"]) == ("platform", "open")
    assert shelf(db_url) == (2, 1), "one unit held for the replacement, at the centre that served the line " \
                                    "(though Lille has more)"
    assert not [c for c in cases(db_url) if c["reason"] == "out_of_stock"]

    send_replacement(b, "2026-06-10T09:00:00+02:00", "2026-06-10T15:00:00+02:00")
    b.ship("sh-c", "2026-06-10T15:30:00+02:00", "TRK-sh-c")  # the same parcel reported twice
    replay(db_url, b, tmp_path, "--until", "2026-06-11T00:00:00+02:00")
    assert [r["status"] for r in requests(db_url)] == ["shipped"]
    assert shelf(db_url) == (1, 0), "its parcel took the unit held for it, once"
    # Later passes (a new session each) change nothing.
    replay(db_url, b, tmp_path, "--until", "2026-06-12T00:00:00+02:00")
    assert shelf(db_url) == (1, 0)


def test_no_unit_left_the_customer_hears_at_once_that_the_replacement_waits_for_stock(db_url, tmp_path):
    b = case_never_came(stock=1)
    first = replaced(db_url, b, tmp_path)
    assert shelf(db_url) == (0, 0), "nothing to hold"
    [short] = [c for c in cases(db_url) if c["reason"] == "out_of_stock"]
    assert (short["origin"], short["status"], short["line_ids"]) == ("proactive", "waiting", ["l2"])
    assert short["opened_at"] == CHOSEN, "at the moment of the request, not at its ship-by"
    [told] = [m for m in messages(db_url) if m["case_id"] == short["id"]]
    assert told["at"] == CHOSEN
    assert "Pink silicone case for iPod nano is out of stock" in told["text"], told["text"]
    assert "Cancel:" in told["text"] and "/choice/" in told["text"], "the usual options"
    [rq] = requests(db_url)
    assert rq["status"] == "open" and rq["to"] == "platform"

    b.add("inventory.received", "2026-06-09T16:00:00+02:00",
          {"fc_id": "fc-1", "sku": "case", "qty": 4, "seller_id": "s-books"})
    replay(db_url, b, tmp_path, "--until", "2026-06-10T00:00:00+02:00")
    assert shelf(db_url) == (4, 1), "the receipt served the waiting replacement first"
    send_replacement(b, "2026-06-10T09:00:00+02:00", "2026-06-10T15:00:00+02:00")
    replay(db_url, b, tmp_path, "--until", "2026-06-11T00:00:00+02:00")
    assert shelf(db_url) == (3, 0)
    by_id = {c["id"]: c for c in cases(db_url)}
    assert by_id[short["id"]]["status"] == "resolved", "the stock-out ends when the replacement ships"
    assert by_id[first["id"]]["status"] == "resolved"
    warehouse = json.loads(ordercare("warehouse", "--json", "--db", db_url))
    [row] = warehouse["stockouts"]
    assert (row["sku"], row["stockout_lines"], row["still_waiting"]) == ("case", 1, 0), \
        "the replacement's stock-out counts against the SKU"


def test_a_replacement_refunded_before_it_ships_frees_its_unit(db_url, tmp_path):
    b = case_never_came(stock=2)
    replaced(db_url, b, tmp_path, until="2026-06-16T00:00:00+02:00")
    assert shelf(db_url) == (1, 1)
    [rq] = requests(db_url)
    assert rq["status"] == "overdue", "the warehouse did not send it"
    [chase] = [c for c in cases(db_url) if c["reason"] == "late_shipment"]
    b.choose("o-5", chase["id"], "2026-06-16T09:00:00+02:00", "refund")
    replay(db_url, b, tmp_path, "--until", "2026-06-17T00:00:00+02:00")
    assert [r["status"] for r in requests(db_url)] == ["cancelled"]
    assert shelf(db_url) == (1, 0), "refunded instead: the unit held for it is free again"


def test_a_replacement_cancelled_while_it_waits_for_stock_leaves_the_queue(db_url, tmp_path):
    b = case_never_came(stock=1)
    replaced(db_url, b, tmp_path)
    b.cancel("o-5", "2026-06-09T14:00:00+02:00", "customer", "customer_request", ["l2"])
    b.add("inventory.received", "2026-06-09T16:00:00+02:00",
          {"fc_id": "fc-1", "sku": "case", "qty": 4, "seller_id": "s-books"})
    replay(db_url, b, tmp_path, "--until", "2026-06-10T00:00:00+02:00")
    assert shelf(db_url) == (4, 0), "no longer waiting: the receipt holds nothing for it"
    [short] = [c for c in cases(db_url) if c["reason"] == "out_of_stock"]
    assert short["status"] == "resolved"
    assert [r["status"] for r in requests(db_url)] == ["cancelled"]


def test_an_agent_refunding_a_replacement_that_waits_for_stock_takes_it_out_of_the_queue(db_url, tmp_path):
    b = case_never_came(stock=1)
    replaced(db_url, b, tmp_path)
    [short] = [c for c in cases(db_url) if c["reason"] == "out_of_stock"]
    ordercare("act", short["id"], "refund", "--agent", "lea", "--note", "Bob would rather not wait", "--at",
              "2026-06-09T13:00:00+02:00", "--db", db_url)
    b.add("inventory.received", "2026-06-09T16:00:00+02:00",
          {"fc_id": "fc-1", "sku": "case", "qty": 4, "seller_id": "s-books"})
    replay(db_url, b, tmp_path, "--until", "2026-06-10T00:00:00+02:00")
    assert [r["status"] for r in requests(db_url)] == ["cancelled"]
    assert shelf(db_url) == (4, 0), "refunded: the receipt holds nothing for it"
    [short] = [c for c in cases(db_url) if c["id"] == short["id"]]
    assert short["status"] == "resolved"


def test_a_replacement_asked_again_while_it_was_never_sent_keeps_its_unit_and_takes_no_other(db_url, tmp_path):
    b = case_never_came(stock=3)
    replaced(db_url, b, tmp_path, until="2026-06-16T00:00:00+02:00")
    assert shelf(db_url) == (2, 1)
    [chase] = [c for c in cases(db_url) if c["reason"] == "late_shipment"]
    ordercare("act", chase["id"], "replace", "--agent", "lea", "--at", "2026-06-16T09:00:00+02:00", "--db", db_url)
    assert sorted(r["status"] for r in requests(db_url)) == ["cancelled", "open"], "the new request replaces the old"
    assert shelf(db_url) == (2, 1), "still one unit held: the same replacement, asked again"
    send_replacement(b, "2026-06-16T11:00:00+02:00", "2026-06-16T15:00:00+02:00")
    replay(db_url, b, tmp_path, "--until", "2026-06-17T00:00:00+02:00")
    assert shelf(db_url) == (1, 0), "its parcel took that unit"


def test_the_cancel_link_of_a_replacement_waiting_for_stock_cancels_and_refunds_it(db_url, tmp_path):
    """The stock-out message about a replacement offers to cancel it: the click does, refunds
    it, and the warehouse need not send it any more."""
    b = case_never_came(stock=1)
    replaced(db_url, b, tmp_path)
    [short] = [c for c in cases(db_url) if c["reason"] == "out_of_stock"]
    [told] = [m for m in messages(db_url) if m["case_id"] == short["id"]]
    assert "the replacement for Pink silicone case for iPod nano is out of stock" in told["text"]
    b.choose("o-5", short["id"], "2026-06-09T14:00:00+02:00", "refund")
    replay(db_url, b, tmp_path, "--until", "2026-06-10T00:00:00+02:00")
    [short] = [c for c in cases(db_url) if c["id"] == short["id"]]
    assert short["status"] == "resolved"
    assert [a["amount"] for a in short["actions"] if a["type"] == "refund"] == [9.9]
    [rq] = requests(db_url)
    assert rq["status"] == "cancelled"
    reply = [m for m in messages(db_url) if m["case_id"] == short["id"] and m["kind"] == "reply"][-1]
    assert "nothing left to make good" not in reply["text"] and "9.90" in reply["text"]
