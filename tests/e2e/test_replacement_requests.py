"""A replacement is a promise: the desk asks whoever fulfils the line (the seller, or our
warehouse) to send it, by a ship-by of its own (``ordercare requests``), and the watch holds
them to it. Sent on time, the request follows its parcel and nothing is opened; never sent,
the request turns overdue and a proactive case tells the customer the replacement is late,
before they have to ask. Through the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, messages, ordercare, refused, replay
from tests.e2e.test_self_service import PLACED, shop

CHOSEN = "2026-06-09T10:00:00+02:00"  # a Tuesday: the customer asks for a replacement


def requests(db: str, *extra: str) -> list[dict]:
    return json.loads(ordercare("requests", "--json", "--db", db, *extra))


def case_never_came(b: EventBuilder, fulfilled_by: str = "seller", **order: object) -> EventBuilder:
    """The iPod came, its case (from another seller, or our warehouse) never did: the first
    case is about the case; the customer clicks "a replacement". (``order``: more of the
    order, an address say.)"""
    if fulfilled_by == "platform":  # the case sits in our warehouse (enough for two)
        b.add("fc.registered", "2026-05-01T00:00:00+02:00", {"fc_id": "fc-1", "name": "Lyon", "lat": 45.7,
                                                             "lon": 4.8})
        b.add("inventory.received", "2026-05-02T00:00:00+02:00",
              {"fc_id": "fc-1", "sku": "case", "qty": 2, "seller_id": "s-books"})
    b.order("o-5", "c-bob", PLACED, [line("l1", "ipod", "s-audio", 149.0),
                                     line("l2", "case", "s-books", 9.9, fulfilled_by=fulfilled_by)], **order)
    b.pay("o-5", at(PLACED, minutes=1), 158.9)
    for sid, seller, lid in (("sh-a", "s-audio", "l1"), ("sh-b", "s-books", "l2")):
        b.create_shipment(sid, "o-5", seller, [lid], at(PLACED, hours=3))
        b.ship(sid, at(PLACED, hours=5), f"TRK-{sid}")
        b.scan(f"TRK-{sid}", at(PLACED, hours=8), "accepted", "Paris")
    b.scan("TRK-sh-a", at(PLACED, days=2), "delivered", "Lyon")
    return b


def first_case_replaced(db_url: str, b: EventBuilder, tmp_path) -> dict:
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [first] = cases(db_url)
    assert first["line_ids"] == ["l2"]
    b.choose("o-5", first["id"], CHOSEN, "replacement")
    return first


def test_a_replacement_never_sent_is_chased_like_any_promise(db_url, tmp_path):
    b = case_never_came(shop())
    first = first_case_replaced(db_url, b, tmp_path)
    replay(db_url, b, tmp_path, "--until", "2026-06-09T12:00:00+02:00")

    [rq] = requests(db_url)
    assert (rq["to"], rq["kind"], rq["status"], rq["case_id"]) == ("s-books", "replace", "open", first["id"])
    assert [(ln["line_id"], ln["sku"], ln["qty"]) for ln in rq["lines"]] == [("l2", "case", 1)], \
        "only the line still owed, not the iPod that came"
    assert rq["requested_at"] == CHOSEN and rq["ship_to"] is None and rq["shipment_ids"] == []
    # s-books hands over in 2 business days: asked on Tuesday, it ships by Thursday.
    assert rq["ship_by"].startswith("2026-06-11")
    assert requests(db_url, "--to", "s-audio") == [] and requests(db_url, "--status", "overdue") == []

    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    [rq] = requests(db_url)
    assert rq["status"] == "overdue"
    by_id = {c["id"]: c for c in cases(db_url)}
    assert by_id.pop(first["id"])["status"] == "resolved", "the first case ended with the replacement"
    [chase] = by_id.values()
    assert (chase["reason"], chase["origin"], chase["line_ids"]) == ("late_shipment", "proactive", ["l2"])
    assert chase["opened_at"] == rq["ship_by"], "the moment the replacement's ship-by passed"
    [told] = [m for m in messages(db_url) if m["case_id"] == chase["id"] and m["kind"] == "exception"][:1]
    assert "the replacement for Pink silicone case for iPod nano should have left by" in told["text"]
    assert "iPod nano 8GB" not in told["text"]


def test_a_replacement_sent_on_time_opens_nothing_and_its_request_follows_the_parcel(db_url, tmp_path):
    b = case_never_came(shop())
    first = first_case_replaced(db_url, b, tmp_path)
    b.create_shipment("sh-c", "o-5", "s-books", ["l2"], "2026-06-10T09:00:00+02:00")
    replay(db_url, b, tmp_path, "--until", "2026-06-10T12:00:00+02:00")
    assert [(r["status"], r["shipment_ids"]) for r in requests(db_url)] == [("preparing", ["sh-c"])]

    b.ship("sh-c", "2026-06-10T15:00:00+02:00", "TRK-sh-c")
    b.scan("TRK-sh-c", "2026-06-10T18:00:00+02:00", "accepted", "Paris")
    replay(db_url, b, tmp_path, "--until", "2026-06-11T00:00:00+02:00")
    assert [r["status"] for r in requests(db_url)] == ["shipped"]

    b.scan("TRK-sh-c", "2026-06-11T14:00:00+02:00", "delivered", "Lyon")
    replay(db_url, b, tmp_path, "--until", "2026-06-25T00:00:00+02:00")
    assert [r["status"] for r in requests(db_url)] == ["delivered"]
    assert [c["id"] for c in cases(db_url)] == [first["id"]], "kept its promise: nothing to open"
    # The parcel that went astray turning up later says nothing about the replacement.
    assert requests(db_url, "--status", "delivered", "--order", "o-5")[0]["shipment_ids"] == ["sh-c"]


def test_a_refund_after_an_overdue_replacement_cancels_the_request(db_url, tmp_path):
    b = case_never_came(shop(), fulfilled_by="platform")
    first_case_replaced(db_url, b, tmp_path)
    replay(db_url, b, tmp_path, "--until", "2026-06-16T00:00:00+02:00")
    [rq] = requests(db_url)
    assert (rq["to"], rq["status"]) == ("platform", "overdue"), "a line our warehouse holds: asked of it"
    [chase] = [c for c in cases(db_url) if c["reason"] == "late_shipment"]
    b.choose("o-5", chase["id"], "2026-06-16T09:00:00+02:00", "refund")
    replay(db_url, b, tmp_path, "--until", "2026-06-25T00:00:00+02:00")
    [rq] = requests(db_url)
    assert rq["status"] == "cancelled", "refunded instead: the warehouse must not send it any more"
    [chase] = [c for c in cases(db_url) if c["id"] == chase["id"]]
    assert chase["status"] == "resolved"
    assert [a["amount"] for a in chase["actions"] if a["type"] == "refund"] == [9.9]


def test_requests_refuses_an_unknown_status(db_url):
    said = refused("requests", "--status", "lost", "--db", db_url)
    assert said == "error: unknown status 'lost': one of overdue, open, preparing, shipped, delivered, cancelled"


def test_the_dossier_shows_what_was_asked_again_and_where_it_stands(db_url, tmp_path):
    b = case_never_came(shop())
    first_case_replaced(db_url, b, tmp_path)
    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    file = json.loads(ordercare("dossier", "o-5", "--json", "--db", db_url))
    [rq] = file["requests"]
    assert (rq["to"], rq["status"], [ln["line_id"] for ln in rq["lines"]]) == ("s-books", "overdue", ["l2"])
    [l2] = [ln for ln in file["lines"] if ln["line_id"] == "l2"]
    assert l2["sent_again_at"] == CHOSEN and l2["ship_by"] == rq["ship_by"]


HOME = {"name": "Bob", "line1": "1 rue de la Paix", "city": "Paris", "postcode": "75002", "country": "FR"}


def test_a_new_address_reaches_the_request_still_to_send(db_url, tmp_path):
    """Bob asked for a replacement, then moved: the seller sends it to the new address."""
    b = case_never_came(shop(), address=HOME)
    first = first_case_replaced(db_url, b, tmp_path)
    replay(db_url, b, tmp_path, "--until", "2026-06-09T12:00:00+02:00")
    assert requests(db_url)[0]["ship_to"]["line1"] == "1 rue de la Paix"
    ordercare("act", first["id"], "update_address", "--agent", "lea", "--line1", "3 rue des Lilas", "--postcode",
              "69003", "--city", "Lyon", "--at", "2026-06-09T13:00:00+02:00", "--db", db_url)
    [rq] = requests(db_url)
    assert (rq["ship_to"]["line1"], rq["ship_to"]["city"]) == ("3 rue des Lilas", "Lyon")


def test_a_replacement_late_on_a_case_another_parcel_keeps_open_is_told_once(db_url, tmp_path):
    """Two parcels stuck in one case; the case (l2) is sent again and misses its ship-by while
    the iPod's parcel still keeps the case open: Bob is told, once, that the replacement is late."""
    from tests.e2e.test_self_service import two_parcels_stuck
    b = two_parcels_stuck(shop(), "o-6")
    replay(db_url, b, tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    [case] = cases(db_url)
    ordercare("act", case["id"], "replace", "--agent", "lea", "--lines", "l2", "--at", "2026-06-05T13:00:00+02:00",
              "--db", db_url)
    [rq] = requests(db_url)
    replay(db_url, b, tmp_path, "--until", "2026-06-12T12:00:00+02:00")
    assert requests(db_url)[0]["status"] == "overdue"
    said = [m for m in messages(db_url) if m["order_id"] == "o-6" and "the replacement for" in m["text"]]
    assert len(said) == 1 and said[0]["at"] == rq["ship_by"], [m["at"] for m in said]
    assert "the replacement for Pink silicone case for iPod nano should have left by" in said[0]["text"]
    assert "iPod nano 8GB" not in said[0]["text"].split("\n\n")[1], "about the replacement only"
