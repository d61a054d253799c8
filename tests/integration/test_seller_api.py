"""The sellers' API under ``/seller/api`` (FastAPI's test client on the real app and store, on
SQLite and PostgreSQL): a seller's program reads what ordercare asked of it (the replacement
it owes, with where and by when), confirms the parcel, and the watch takes it from there; it
reads the buyer's questions masked and answers through the platform; it never sees another
seller's lines or the buyer's contact details."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient

from ordercare import services
from ordercare.desk.dossier import build_dossier
from ordercare.notify.links import Links
from ordercare.sim.builder import EventBuilder, at, line
from ordercare.web.app import create_app
from ordercare.web.seller import SellerKeys
from tests.e2e.cli import cases, messages, ordercare, refused, replay
from tests.e2e.test_replacement_requests import case_never_came
from tests.e2e.test_self_service import PLACED, shop

KEYS = SellerKeys(b"seller-secret-for-tests")
NOW = datetime.fromisoformat("2026-06-20T10:00:00+02:00")
ADDRESS = {"name": "Bob Martin", "line1": "3 rue Neuve", "city": "Lyon", "postcode": "69002", "country": "FR"}


def world(db_url: str, tmp_path, asks: bool = False,  # type: ignore[no-untyped-def]
          also: Callable[[EventBuilder], object] | None = None) -> tuple[object, EventBuilder, dict]:
    """Bob's case never came; he chose a replacement; s-books, asked to send it, has not (and
    Bob asks the sellers about it, when ``asks``). ``also`` adds events to the world first."""
    b = case_never_came(shop(), address=ADDRESS)
    if also is not None:
        also(b)
    if asks:
        b.add("buyer_seller.message", "2026-06-19T08:00:00+02:00",
              {"message_id": "bm-1", "order_id": "o-5", "from": "buyer",
               "text": "Is it coming this time? Call me on 06 12 34 56 78 or bob.martin@example.org"})
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [first] = cases(db_url)
    b.choose("o-5", first["id"], "2026-06-09T10:00:00+02:00", "replacement")
    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    return services.open_store(db_url), b, first


def client(store, keys: SellerKeys | None = KEYS, clock=lambda: NOW) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(store, Links.from_env(), clock=clock, seller_keys=keys))


def auth(seller: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS.token(seller)}"}


def test_the_api_is_off_without_a_secret_and_needs_the_sellers_own_token(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("ORDERCARE_SELLER_SECRET", raising=False)
    store, _, _ = world(db_url, tmp_path)
    assert client(store, keys=None).get("/seller/api/requests", headers=auth("s-books")).status_code == 404
    c = client(store)
    assert c.get("/seller/api/requests").status_code == 401
    forged = KEYS.token("s-audio").replace("s-audio.", "s-books.")
    assert c.get("/seller/api/requests", headers={"Authorization": f"Bearer {forged}"}).status_code == 401, \
        "a token signs its seller: another seller's name on it does not pass"
    other = SellerKeys(b"another-deployment").token("s-books")
    assert c.get("/seller/api/requests", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert c.get("/seller/api/requests", headers=auth("s-books")).status_code == 200


def test_a_seller_reads_the_replacement_it_owes_and_confirms_the_parcel(db_url, tmp_path):
    store, b, first = world(db_url, tmp_path)
    c = client(store)
    [rq] = c.get("/seller/api/requests", headers=auth("s-books")).json()
    assert (rq["order_id"], rq["kind"], rq["status"]) == ("o-5", "replace", "overdue")
    assert [(x["line_id"], x["title"], x["qty"]) for x in rq["lines"]] == [
        ("l2", "Pink silicone case for iPod nano", 1)], "only the line it owes, by name"
    assert rq["ship_to"] == ADDRESS and rq["ship_by"].startswith("2026-06-11")
    assert c.get("/seller/api/requests?status=open", headers=auth("s-books")).json() == []
    assert c.get("/seller/api/requests", headers=auth("s-audio")).json() == [], "asked of s-books only"
    assert c.get("/seller/api/requests?status=lost", headers=auth("s-books")).status_code == 422

    mine = c.get("/seller/api/orders/o-5", headers=auth("s-audio")).json()
    assert [ln["line_id"] for ln in mine["lines"]] == ["l1"] and [s["shipment_id"] for s in mine["shipments"]] == [
        "sh-a"], "s-audio sees its iPod and its parcel, not the other seller's"
    assert "customer" not in mine and "bob.martin" not in str(mine), "no e-mail, no phone: questions go through us"
    assert c.get("/seller/api/orders/o-404", headers=auth("s-books")).status_code == 404

    # Not its line, an unknown line, a body that is not what the API takes: refused, nothing recorded.
    ship = {"shipment_id": "sh-c", "order_id": "o-5", "line_ids": ["l2"], "carrier": "colissimo",
            "tracking": "TRK-sh-c"}
    assert c.post("/seller/api/shipments", json={**ship, "line_ids": ["l1"]}, headers=auth("s-books")).status_code \
        == 422
    assert c.post("/seller/api/shipments", json={**ship, "line_ids": ["l9"]}, headers=auth("s-books")).status_code \
        == 422
    assert c.post("/seller/api/shipments", json={**ship, "weight": 3}, headers=auth("s-books")).status_code == 422
    assert c.post("/seller/api/shipments", json=ship, headers=auth("s-audio")).status_code == 422
    assert services.list_requests(store)[0]["shipment_ids"] == []

    packed = {k: v for k, v in ship.items() if k not in ("carrier", "tracking")}
    assert c.post("/seller/api/shipments", json=packed, headers=auth("s-books")).status_code == 201
    assert services.list_requests(store)[0]["status"] == "preparing", "a parcel made, not yet handed over"
    sent = c.post("/seller/api/shipments", json=ship, headers=auth("s-books"))
    assert sent.status_code == 201 and sent.json()["already_recorded"] is False, "the tracking follows"
    assert c.post("/seller/api/shipments", json=packed, headers=auth("s-books")).json()["already_recorded"]
    parcel = next(s for s in sent.json()["order"]["shipments"] if s["shipment_id"] == "sh-c")
    assert (parcel["tracking"], parcel["shipped_at"]) == ("TRK-sh-c", "2026-06-20T10:00:00+02:00")
    [rq] = services.list_requests(store)
    assert (rq["status"], rq["shipment_ids"]) == ("shipped", ["sh-c"]), "the request follows the parcel"
    again = c.post("/seller/api/shipments", json=ship, headers=auth("s-books"))
    assert again.status_code == 200 and again.json()["already_recorded"] is True, "a retry records nothing twice"
    clash = c.post("/seller/api/shipments", json={**ship, "tracking": "TRK-other"}, headers=auth("s-books"))
    assert clash.status_code == 409
    assert services.list_rejected(store) == [], "the API checked first: no dead letters from its refusals"

    # The watch follows the confirmed parcel like any other: it arrives, the chase is settled.
    b.scan("TRK-sh-c", "2026-06-20T18:00:00+02:00", "accepted", "Paris")
    b.scan("TRK-sh-c", "2026-06-22T12:00:00+02:00", "delivered", "Lyon")
    replay(db_url, b, tmp_path, "--until", "2026-06-30T00:00:00+02:00")
    assert services.list_requests(store)[0]["status"] == "delivered"
    chase = [x for x in cases(db_url) if x["id"] != first["id"]]
    assert chase and all(x["status"] == "resolved" for x in chase)
    [news] = [m for m in messages(db_url) if "TRK-sh-c" in m["text"]]
    assert news["at"] == "2026-06-20T10:00:00+02:00" and news["case_id"] in {x["id"] for x in chase}
    assert "has now shipped with colissimo" in news["text"], "told the moment it left, with its tracking"


def test_buyer_and_seller_talk_through_the_platform_masked(db_url, tmp_path):
    store, _, _ = world(db_url, tmp_path, asks=True)
    c = client(store)
    [asked] = c.get("/seller/api/messages", headers=auth("s-books")).json()
    assert asked["from"] == "buyer" and asked["answered_at"] is None
    assert "06 12 34 56 78" not in asked["text"] and "bob.martin@example.org" not in asked["text"]
    assert asked["masked"] == 2 and "Is it coming this time?" in asked["text"]
    assert c.get("/seller/api/messages?order_id=o-9", headers=auth("s-books")).json() == []

    reply = {"message_id": "r-1", "order_id": "o-5", "text": "Sent today! Write to me at shop@books.example"}
    said = c.post("/seller/api/messages", json=reply, headers=auth("s-books"))
    assert said.status_code == 201
    shown = said.json()["message"]
    assert shown["from"] == "seller" and "shop@books.example" not in shown["text"] and shown["masked"] == 1
    assert c.post("/seller/api/messages", json=reply, headers=auth("s-books")).json()["already_recorded"] is True
    assert c.post("/seller/api/messages", json={**reply, "order_id": "o-404"},
                  headers=auth("s-books")).status_code == 404
    thread = c.get("/seller/api/messages?order_id=o-5", headers=auth("s-books")).json()
    assert [m["from"] for m in thread] == ["buyer", "seller"]
    assert thread[0]["answered_at"] == shown["at"] == "2026-06-20T10:00:00+02:00", "the reply answers the buyer"
    standing = c.get("/seller/api/standing", headers=auth("s-books")).json()
    assert standing["seller_id"] == "s-books" and standing["messages"] == {
        "from_buyer": 1, "from_seller": 1, "taken_over_by_guarantee": []}
    assert standing["masked_contact_details"] == {"from_seller": 1, "from_buyer": 2}
    [attempts] = [m for m in standing["metrics"] if m["metric"] == "contact_attempt_rate"]
    assert (attempts["numerator"], attempts["denominator"], attempts["order_ids"]) == (1, 1, ["o-5"]), \
        "its one message held an address: held against it (a warning waits for ten messages)"
    assert {m["metric"] for m in standing["metrics"]} >= {"order_defect_rate", "late_shipment_rate"}


def test_the_command_line_issues_a_token_the_api_takes(db_url, tmp_path, monkeypatch):
    store, _, _ = world(db_url, tmp_path)
    monkeypatch.delenv("ORDERCARE_SELLER_SECRET", raising=False)
    assert refused("seller", "s-books", "--api-token", "--db", db_url) == (
        "error: set ORDERCARE_SELLER_SECRET (the sellers' API signs its tokens with it)")
    monkeypatch.setenv("ORDERCARE_SELLER_SECRET", "cli-secret")
    token = ordercare("seller", "s-books", "--api-token", "--db", db_url).strip()
    assert ordercare("seller", "s-nobody", "--api-token", "--db", db_url, expect=1) == ""
    c = TestClient(create_app(store, Links.from_env(), clock=lambda: NOW))
    got = c.get("/seller/api/requests", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200 and [r["order_id"] for r in got.json()] == ["o-5"]


def test_a_seller_confirms_an_order_s_parcel_and_the_watch_holds_it_to_the_carrier(db_url, tmp_path):
    """Not only replacements: a parcel confirmed through the API is the order's parcel, and a
    carrier that never scans it opens the same proactive case as any other."""
    b = shop()
    b.order("o-7", "c-bob", PLACED, [line("l1", "book", "s-books", 12.0)], address=ADDRESS)
    b.pay("o-7", at(PLACED, minutes=1), 12.0)
    replay(db_url, b, tmp_path, "--until", at(PLACED, hours=4))
    store = services.open_store(db_url)
    shipped = datetime.fromisoformat(at(PLACED, hours=4))
    c = client(store, clock=lambda: shipped)
    r = c.post("/seller/api/shipments", headers=auth("s-books"),
               json={"shipment_id": "p-1", "order_id": "o-7", "line_ids": ["l1"], "carrier": "dpd",
                     "tracking": "DPD-1"})
    assert r.status_code == 201
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=5))
    assert [x["reason"] for x in cases(db_url)] == ["no_carrier_scan"]


def refunds(db_url: str) -> list[tuple[str, list[str], float]]:
    return [(c["reason"], a["line_ids"], a["amount"]) for c in cases(db_url) for a in c["actions"]
            if a["type"] == "refund"]


def test_a_question_to_one_seller_is_that_sellers_to_answer_and_the_guarantee_covers_only_its_lines(
        db_url, tmp_path):
    """Bob asks s-books (the thread names it) about the case it owes. s-audio, whose iPod came,
    is not in that thread: its silence costs nothing, and when s-books does not answer either,
    the guarantee refunds the case, not the iPod."""
    store, b, _ = world(db_url, tmp_path)
    b.add("buyer_seller.message", "2026-06-20T11:00:00+02:00",
          {"message_id": "bm-2", "order_id": "o-5", "from": "buyer", "seller_id": "s-books",
           "text": "Where is my replacement?"})
    replay(db_url, b, tmp_path, "--until", "2026-06-20T12:00:00+02:00")
    c = client(store)
    assert c.get("/seller/api/messages", headers=auth("s-audio")).json() == [], "not s-audio's thread"
    assert [m["message_id"] for m in c.get("/seller/api/messages", headers=auth("s-books")).json()] == ["bm-2"]

    replay(db_url, b, tmp_path, "--until", "2026-06-24T00:00:00+02:00")
    assert refunds(db_url) == [("seller_unresponsive", ["l2"], 9.9)], "the case is refunded, the iPod is not"


def test_a_seller_answering_its_thread_stops_the_guarantee_and_a_line_is_never_refunded_twice(db_url, tmp_path):
    store, b, _ = world(db_url, tmp_path)
    [chase] = [x for x in cases(db_url) if x["reason"] == "late_shipment"]
    b.choose("o-5", chase["id"], "2026-06-20T09:00:00+02:00", "refund")  # Bob gives up on the replacement
    for n, seller in ((3, "s-audio"), (4, "s-books")):
        b.add("buyer_seller.message", "2026-06-20T11:00:00+02:00",
              {"message_id": f"bm-{n}", "order_id": "o-5", "from": "buyer", "seller_id": seller,
               "text": "I would like an invoice, please."})
    replay(db_url, b, tmp_path, "--until", "2026-06-20T12:00:00+02:00")
    assert refunds(db_url) == [("late_shipment", ["l2"], 9.9)]

    c = client(store, clock=lambda: datetime.fromisoformat("2026-06-21T09:00:00+02:00"))
    answered = c.post("/seller/api/messages", headers=auth("s-audio"),
                      json={"message_id": "inv", "order_id": "o-5", "text": "Attached, thank you!"})
    assert answered.status_code == 201
    replay(db_url, b, tmp_path, "--until", "2026-06-25T00:00:00+02:00")
    thread = {m["message_id"]: m for m in c.get("/seller/api/messages", headers=auth("s-audio")).json()}
    assert thread["bm-3"]["answered_at"] is not None, "s-audio answered its own thread"
    assert [(r, lines) for r, lines, _ in refunds(db_url)] == [("late_shipment", ["l2"])], \
        "s-books stayed silent, but the case was refunded already: not paid back twice, the iPod not at all"
    [claim] = [x for x in cases(db_url) if x["reason"] == "seller_unresponsive"]
    assert claim["line_ids"] == ["l2"] and [a["amount"] for a in claim["actions"]
                                           if a["type"] == "guarantee_claim"] == [0.0]
    [said] = [m["text"] for m in messages(db_url) if m["case_id"] == claim["id"]]
    assert "you will not be charged for Pink silicone case" in said


def test_a_thank_you_marked_no_reply_needed_counts_as_answered_and_no_guarantee_follows(db_url, tmp_path):
    """Bob writes "thanks!" to s-books; the seller marks it as needing no reply from its API
    the next morning: the message reads answered then, the seller's response time counts it
    answered in time, and no guarantee claim follows two days later. Another seller cannot
    mark it; marking it twice changes nothing."""
    store, b, _ = world(db_url, tmp_path)
    b.add("buyer_seller.message", "2026-06-20T11:00:00+02:00",
          {"message_id": "bm-thanks", "order_id": "o-5", "from": "buyer", "seller_id": "s-books",
           "text": "Thanks, got the tracking number!"})
    replay(db_url, b, tmp_path, "--until", "2026-06-20T12:00:00+02:00")
    c = client(store, clock=lambda: datetime.fromisoformat("2026-06-21T09:00:00+02:00"))
    url = "/seller/api/messages/bm-thanks/no-reply-needed"
    assert c.post(url, headers=auth("s-audio")).status_code == 404, "not a message to s-audio"
    marked = c.post(url, headers=auth("s-books"))
    assert marked.status_code == 200 and marked.json()["already_answered"] is False
    assert marked.json()["message"]["answered_at"] == "2026-06-21T09:00:00+02:00"
    assert c.post(url, headers=auth("s-books")).json()["already_answered"] is True
    replay(db_url, b, tmp_path, "--until", "2026-06-25T00:00:00+02:00")
    assert not [x for x in cases(db_url) if x["reason"] == "seller_unresponsive"], "no guarantee claim"
    late = client(store, clock=lambda: datetime.fromisoformat("2026-06-25T09:00:00+02:00"))
    assert late.post(url, headers=auth("s-books")).json()["already_answered"] is True
    standing = c.get("/seller/api/standing", headers=auth("s-books")).json()
    [response] = [m for m in standing["metrics"] if m["metric"] == "response_rate"]
    assert (response["numerator"], response["denominator"], response["order_ids"]) == (1, 1, []), \
        "the one message of the window, answered within its 24 hours"


def test_marking_a_thank_you_leaves_a_later_question_waiting_and_its_guarantee_running(db_url, tmp_path):
    """"Thanks!" at 11:00, "and the invoice?" at 15:00; s-books marks the first as needing no
    reply the next morning: the question still waits, and when its 48 hours run out the
    guarantee takes it over. A mark that comes after that says so."""
    store, b, _ = world(db_url, tmp_path)
    for mid, at_, text_ in (("bm-thanks", "2026-06-20T11:00:00+02:00", "Thanks!"),
                            ("bm-invoice", "2026-06-20T15:00:00+02:00", "And could I have the invoice?")):
        b.add("buyer_seller.message", at_, {"message_id": mid, "order_id": "o-5", "from": "buyer",
                                            "seller_id": "s-books", "text": text_})
    replay(db_url, b, tmp_path, "--until", "2026-06-20T16:00:00+02:00")
    c = client(store, clock=lambda: datetime.fromisoformat("2026-06-21T09:00:00+02:00"))
    assert c.post("/seller/api/messages/bm-thanks/no-reply-needed", headers=auth("s-books")).status_code == 200
    thread = {m["message_id"]: m for m in c.get("/seller/api/messages", headers=auth("s-books")).json()}
    assert thread["bm-thanks"]["answered_at"] and thread["bm-invoice"]["answered_at"] is None
    replay(db_url, b, tmp_path, "--until", "2026-06-23T00:00:00+02:00")
    [claim] = [x for x in cases(db_url) if x["reason"] == "seller_unresponsive"]
    assert "guarantee_claim" in [a["type"] for a in claim["actions"]]


def test_an_unnamed_seller_message_on_a_shared_order_counts_no_contact_attempt_against_either(db_url, tmp_path):
    """A message "from the seller" with a phone number, naming no seller, on an order of two
    sellers: it is masked, but held against neither (its author is unknown)."""
    store, b, _ = world(db_url, tmp_path)
    b.add("buyer_seller.message", "2026-06-20T11:00:00+02:00",
          {"message_id": "sm-1", "order_id": "o-5", "from": "seller", "text": "Call me on 06 12 34 56 78"})
    replay(db_url, b, tmp_path, "--until", "2026-06-20T12:00:00+02:00")
    c = client(store)
    for seller in ("s-books", "s-audio"):
        standing = c.get("/seller/api/standing", headers=auth(seller)).json()
        [attempts] = [m for m in standing["metrics"] if m["metric"] == "contact_attempt_rate"]
        assert (attempts["numerator"], attempts["denominator"]) == (0, 1), (seller, attempts)


def test_a_seller_cannot_record_another_sellers_parcel_id_or_tracking_number(db_url):
    """s-books tries s-audio's parcel id, then its tracking number, for its own order: both
    refused, and the carrier's scans still land on s-audio's parcel."""
    b = case_never_came(shop())
    b.order("o-6", "c-anne", PLACED, [line("m1", "book", "s-books", 12.0)])
    b.pay("o-6", at(PLACED, minutes=1), 12.0)
    store = services.open_store(db_url)
    services.replay(store, "story", b.lines(), datetime.fromisoformat("2026-06-01T20:00:00+02:00"))
    c = client(store, clock=lambda: datetime.fromisoformat("2026-06-01T21:00:00+02:00"))
    taken = c.post("/seller/api/shipments", json={"shipment_id": "sh-a", "order_id": "o-6", "line_ids": ["m1"],
                                                  "carrier": "colissimo", "tracking": "TRK-evil"},
                   headers=auth("s-books"))
    reused = c.post("/seller/api/shipments", json={"shipment_id": "sh-6", "order_id": "o-6", "line_ids": ["m1"],
                                                   "carrier": "colissimo", "tracking": "TRK-sh-a"},
                    headers=auth("s-books"))
    assert (taken.status_code, reused.status_code) == (409, 409)
    scan = {"id": "scan-after", "type": "carrier.scan", "at": "2026-06-02T09:00:00+02:00",
            "data": {"tracking": "TRK-sh-a", "status": "in_transit", "location": "Dijon"}}
    assert services.replay(store, "carrier", [(1, json.dumps(scan).encode())]).rejected == []
    assert [s["shipment_id"] for s in build_dossier(store, "o-6")["shipments"]] == []
    store.dispose()


def test_a_parcel_id_already_another_orders_is_refused_at_intake(db_url, tmp_path):
    b = case_never_came(shop())
    b.order("o-6", "c-anne", PLACED, [line("m1", "book", "s-books", 12.0)])
    replay(db_url, b, tmp_path)
    later = EventBuilder("later-")
    later.create_shipment("sh-a", "o-6", "s-books", ["m1"], at(PLACED, days=1))  # stored: o-5's
    later.create_shipment("sh-6", "o-6", "s-books", ["m1"], at(PLACED, days=1))
    later.create_shipment("sh-6", "o-5", "s-audio", ["l1"], at(PLACED, days=1, hours=1))  # above: o-6's
    report = replay(db_url, later, tmp_path)
    assert [r["reason"] for r in report["rejected"]] == ["shipment 'sh-a' is a parcel of order 'o-5' already",
                                                         "shipment 'sh-6' is a parcel of order 'o-6' already"]
