"""A person makes the callbacks ordercare books: recorded with `ordercare callback-done`, a
callback made leaves the list, one unanswered stays, and a case settled on the phone is
resolved, unless its parcel is still in trouble (the watch keeps that case)."""

from __future__ import annotations

import json

from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, ordercare, replay

PLACED = "2026-05-28T09:14:00+02:00"


def shop() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-fr", lang="fr", name="Claire", phone="+33611223344").customer("c-en", lang="en", name="Sam")
    b.seller("s-1", handling_days=1).sku("book", "Le Petit Prince")
    return b


def due(db_url: str) -> list[str]:
    return [c["case_id"] for c in json.loads(ordercare("callbacks", "--json", "--db", db_url))]


def test_a_callback_about_no_order_made_and_settled_leaves_the_list_and_resolves_the_case(db_url, tmp_path):
    b = shop()
    b.contact("k-1", "c-en", PLACED, "Hello, where is my order? I paid yesterday.")
    replay(db_url, b, tmp_path)
    assert due(db_url) == ["C-c-en-desk-1"]
    ordercare("callback-done", "C-c-en-desk-1", "--agent", "lea", "--outcome", "no_answer",
              "--at", at(PLACED, hours=1), "--db", db_url)
    assert due(db_url) == ["C-c-en-desk-1"]  # nobody answered: still to call
    ordercare("callback-done", "C-c-en-desk-1", "--agent", "lea", "--outcome", "resolved",
              "--note", "paid on another shop", "--at", at(PLACED, hours=2), "--db", db_url)
    assert due(db_url) == []
    [case] = cases(db_url)
    assert case["status"] == "resolved" and case["resolved_at"] == at(PLACED, hours=2)
    assert [(a["type"], a.get("rule")) for a in case["actions"] if a["type"].startswith("callback")] == [
        ("callback_attempt", "lea"), ("callback_done", "lea")]
    # Sam writes again: a new case for a person, a new callback.
    later = EventBuilder("later-").contact("k-2", "c-en", at(PLACED, days=1), "Hello again, any news?")
    replay(db_url, later, tmp_path)
    assert due(db_url) == ["C-c-en-desk-2"]
    ordercare("callback-done", "C-c-en-desk-1", "--agent", "lea", "--db", db_url, expect=2)  # done already


def test_settled_on_the_phone_a_stuck_parcel_stays_watched(db_url, tmp_path):
    """Claire asks to be called about a parcel that is not moving: the call is made and marked
    settled, yet the parcel is still stuck, so the delivery case stays with the watch."""
    b = shop()
    b.order("o-1", "c-fr", PLACED, [line("l1", "book", "s-1", 12.0)])
    b.pay("o-1", at(PLACED, minutes=2), 12.0)
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], at(PLACED, hours=1))
    b.ship("sh-1", at(PLACED, hours=2), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=5), "accepted")
    b.contact("k-1", "c-fr", at(PLACED, days=4), "Mon colis ne bouge plus depuis des jours, rappelez-moi svp.",
              channel="callback_request", order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=4, hours=1))
    [case_id] = due(db_url)
    ordercare("callback-done", case_id, "--agent", "marc", "--outcome", "resolved",
              "--at", at(PLACED, days=4, hours=2), "--db", db_url)
    assert due(db_url) == []
    [case] = [c for c in cases(db_url) if c["id"] == case_id]
    assert case["status"] != "resolved" and any(a["type"] == "callback_done" for a in case["actions"])
    # The parcel comes: the watch resolves the case.
    replay(db_url, EventBuilder("later-").scan("TRK-1", at(PLACED, days=5), "delivered"), tmp_path)
    [case] = [c for c in cases(db_url) if c["id"] == case_id]
    assert case["status"] == "resolved"


def test_no_callback_due_is_a_clear_error(db_url, tmp_path):
    replay(db_url, shop(), tmp_path)
    ordercare("callback-done", "C-nope-1", "--agent", "lea", "--db", db_url, expect=2)
    ordercare("callback-done", "C-nope-1", "--agent", "lea", "--outcome", "maybe", "--db", db_url, expect=2)
