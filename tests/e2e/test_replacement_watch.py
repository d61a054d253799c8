"""A replacement is a promise of its own: sent again at the customer's choice, the line is
promised anew from that moment (ship-by, deliver-by), and the parcel that carries it is
watched like any other, while the parcel that went astray is no longer a promise."""

from __future__ import annotations

import json

from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, messages, ordercare, replay

PLACED = "2026-05-28T09:14:00+02:00"  # a Thursday
CHOSEN = at(PLACED, days=4)           # Monday 1 June, 09:14: the customer clicks "a replacement"


def stuck(prime: bool = False) -> EventBuilder:
    """A book whose parcel is accepted and then never moves again; the customer, told so,
    chooses a replacement."""
    b = EventBuilder()
    b.customer("c-1", lang="en", name="Ann").seller("s-1", handling_days=1).sku("book", "A book")
    b.order("o-1", "c-1", PLACED, [line("l1", "book", "s-1", 40.0)], prime=prime)
    b.pay("o-1", at(PLACED, minutes=5), 40.0)
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], at(PLACED, hours=1))
    b.ship("sh-1", at(PLACED, hours=2), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=6), "accepted")  # then silence: stalled
    b.choose("o-1", "C-o-1-1", CHOSEN, "replacement")
    return b


def exceptions(db: str, case_id: str) -> list[dict]:
    return [m for m in messages(db) if m["case_id"] == case_id]


def test_a_replacement_shipped_and_never_scanned_is_a_new_trouble(db_url, tmp_path):
    b = stuck()
    b.create_shipment("sh-2", "o-1", "s-1", ["l1"], at(CHOSEN, hours=2))
    b.ship("sh-2", at(CHOSEN, hours=3), "TRK-2")  # the replacement: never scanned
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=10))
    first, second = cases(db_url)
    assert first["status"] == "resolved" and any(a["type"] == "replace" for a in first["actions"])
    assert second["reason"] == "no_carrier_scan" and second["shipment_ids"] == ["sh-2"]
    assert any("TRK-2" in m["text"] for m in exceptions(db_url, second["id"]))


def test_a_replacement_made_but_not_shipped_is_late_only_after_its_own_ship_by(db_url, tmp_path):
    """Made two hours after the choice and never shipped: nothing is wrong while its own
    ship-by (a working day of handling from Monday) is ahead, even though the order's first
    ship-by passed days ago; once it passes, a late-shipment case about the replacement."""
    b = stuck()
    b.create_shipment("sh-2", "o-1", "s-1", ["l1"], at(CHOSEN, hours=2))
    replay(db_url, b, tmp_path, "--until", at(CHOSEN, hours=20))
    assert [c["id"] for c in cases(db_url)] == ["C-o-1-1"]
    replay(db_url, EventBuilder("later-"), tmp_path, "--until", at(PLACED, days=10))
    first, second = cases(db_url)
    assert second["reason"] == "late_shipment" and second["line_ids"] == ["l1"]
    assert second["opened_at"] > at(CHOSEN, days=1)
    [opened] = exceptions(db_url, second["id"])[:1]
    assert "Tuesday 2 June" in opened["text"]  # the replacement's ship-by, not the order's


def test_a_replacement_delivered_on_time_is_one_resolved_case_and_the_old_parcel_is_forgotten(db_url, tmp_path):
    b = stuck(prime=True)
    b.create_shipment("sh-2", "o-1", "s-1", ["l1"], at(CHOSEN, hours=2))
    b.ship("sh-2", at(CHOSEN, hours=3), "TRK-2")
    b.scan("TRK-2", at(CHOSEN, hours=6), "accepted")
    b.scan("TRK-2", at(CHOSEN, days=1, hours=2), "delivered")
    b.scan("TRK-1", at(CHOSEN, days=3), "exception")  # the lost parcel turns up, damaged: not ours to chase
    b.scan("TRK-1", at(CHOSEN, days=5), "delivered")  # ... and is delivered after all
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=20))
    [case] = cases(db_url)
    assert case["status"] == "resolved"
    # One routine "delivered" update, the replacement's: none for the old parcel turning up.
    delivered = [m for m in messages(db_url) if m["kind"] == "milestone" and "delivered" in m["text"].lower()]
    assert len(delivered) == 1 and "TRK-1" not in delivered[0]["text"]
    # No call for a Prime order "days past its deliver-by": the replacement has its own, and met it.
    assert not any(a["type"] == "schedule_callback" and a.get("rule") in ("prime_late_1d", "late_2d")
                   for a in case["actions"])


def test_a_late_replacement_is_measured_against_its_own_deliver_by(db_url, tmp_path):
    """Prime: the replacement, chosen on Monday, is promised for Wednesday 3 June. It is
    accepted and stops. The new case opens when that deliver-by passes (not at once, though
    the order's own passed days ago), and the Prime rule "a day past the deliver-by" calls the
    customer a day after the replacement's, not the moment the case opens."""
    b = stuck(prime=True)
    b.create_shipment("sh-2", "o-1", "s-1", ["l1"], at(CHOSEN, hours=2))
    b.ship("sh-2", at(CHOSEN, hours=3), "TRK-2")
    b.scan("TRK-2", at(CHOSEN, hours=6), "accepted")
    replay(db_url, b, tmp_path, "--until", at(CHOSEN, days=1))
    assert len(cases(db_url)) == 1  # on its way, its own promise ahead
    replay(db_url, EventBuilder("later-"), tmp_path, "--until", at(CHOSEN, days=3, hours=12))
    first, second = cases(db_url)
    assert second["reason"] == "late_delivery" and second["opened_at"] == "2026-06-03T23:59:59+02:00"
    assert not any(a["type"] == "schedule_callback" for a in second["actions"])
    replay(db_url, EventBuilder("later2-"), tmp_path, "--until", at(CHOSEN, days=5))
    first, second = cases(db_url)
    [call] = [a for a in second["actions"] if a["type"] == "schedule_callback"]
    assert call["rule"] == "prime_late_1d" and call["at"] == "2026-06-04T23:59:59+02:00"
    dossier = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))
    [l1] = dossier["lines"]
    assert l1["sent_again_at"] == CHOSEN and l1["deliver_by"] == "2026-06-03T23:59:59+02:00"
    assert l1["shipment_id"] == "sh-2"


def _stuck_one(b: EventBuilder) -> None:
    b.customer("c-1", lang="en", name="Ann").seller("s-1", handling_days=1).sku("book", "A book")
    b.order("o-1", "c-1", PLACED, [line("l1", "book", "s-1", 40.0)])
    b.pay("o-1", at(PLACED, minutes=5), 40.0)
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], at(PLACED, hours=1))
    b.ship("sh-1", at(PLACED, hours=2), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=6), "accepted")  # then silence: C-o-1-1 stalled


def test_asking_about_the_replacement_does_not_replace_again(db_url, tmp_path):
    b = EventBuilder()
    b.customer("c-1", lang="en", name="Ann").seller("s-1", handling_days=1)
    b.sku("book", "A book").sku("mug", "A blue mug")
    b.order("o-1", "c-1", PLACED, [line("l1", "book", "s-1", 40.0), line("l2", "mug", "s-1", 12.0)])
    b.pay("o-1", at(PLACED, minutes=5), 52.0)
    b.create_shipment("sh-1", "o-1", "s-1", ["l1", "l2"], at(PLACED, hours=1))
    b.ship("sh-1", at(PLACED, hours=2), "TRK-1")
    b.scan("TRK-1", at(PLACED, days=2), "delivered")
    b.add("customer.report", at(PLACED, days=3),
          {"order_id": "o-1", "problem": "damaged", "line_id": "l2", "wants": "replacement"})
    b.create_shipment("sh-2", "o-1", "s-1", ["l2"], at(PLACED, days=3, hours=2))  # the replacement
    b.ship("sh-2", at(PLACED, days=3, hours=3), "TRK-2")
    b.scan("TRK-2", at(PLACED, days=3, hours=5), "accepted")                       # ...then stalls
    b.contact("k-1", "c-1", at(PLACED, days=5), "Where is my new blue mug? The tracking has not moved.",
              order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=12))
    replaces = [a for c in cases(db_url) for a in c["actions"] if a["type"] == "replace"]
    assert len(replaces) == 1, "a question about the replacement sent a second mug"
    [l1, l2] = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))["lines"]
    assert l2["shipment_id"] == "sh-2", "the replacement parcel in flight is no longer watched"
    assert any(c["reason"] == "stalled_in_transit" and c["shipment_ids"] == ["sh-2"] for c in cases(db_url))


def test_a_click_that_reaches_us_two_minutes_late_still_watches_its_replacement(db_url, tmp_path):
    b = EventBuilder()
    _stuck_one(b)
    replay(db_url, b, tmp_path, "--until", at(CHOSEN, minutes=2))   # a watch tick moved the clock on
    late = EventBuilder("late-")
    late.choose("o-1", "C-o-1-1", CHOSEN, "replacement")
    late.create_shipment("sh-2", "o-1", "s-1", ["l1"], at(CHOSEN, minutes=1))
    late.ship("sh-2", at(CHOSEN, hours=3), "TRK-2")                     # never scanned
    replay(db_url, late, tmp_path, "--until", at(PLACED, days=10))
    [l1] = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))["lines"]
    assert l1["sent_again_at"] == CHOSEN and l1["shipment_id"] == "sh-2"
    assert any(c["reason"] == "no_carrier_scan" for c in cases(db_url))  # as in one run


def test_prime_call_about_a_late_line_is_not_delayed_by_another_lines_replacement(db_url, tmp_path):
    b = EventBuilder()
    b.customer("c-1", lang="en", name="Ann").seller("s-1")
    b.sku("book", "A book").sku("ipod", "iPod nano 8GB")
    b.add("fc.registered", "2026-01-01T00:00:00+00:00", {"fc_id": "fc-1", "name": "FC", "lat": 48.8, "lon": 2.3})
    for sku in ("book", "ipod"):
        b.add("inventory.received", "2026-01-02T00:00:00+00:00",
              {"fc_id": "fc-1", "sku": sku, "qty": 10, "seller_id": "s-1"})
    b.order("o-1", "c-1", PLACED, [line("l1", "book", "s-1", 40.0, fulfilled_by="platform"),
                                   line("l2", "ipod", "s-1", 90.0, fulfilled_by="platform")], prime=True)
    b.pay("o-1", at(PLACED, minutes=5), 130.0)
    for n in (1, 2):
        b.create_shipment(f"sh-{n}", "o-1", "s-1", [f"l{n}"], at(PLACED, hours=1))
        b.ship(f"sh-{n}", at(PLACED, hours=2), f"TRK-{n}")           # the book's is never scanned
    b.scan("TRK-2", at(PLACED, days=1), "delivered")                   # the iPod's says delivered...
    b.contact("k-1", "c-1", at(PLACED, days=1, hours=6),
              "The tracking says the iPod nano was delivered but I never received it.", order_id="o-1")  # reship l2
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=8))
    assert [a["line_ids"] for c in cases(db_url) for a in c["actions"] if a["type"] == "reship"] == [["l2"]]
    order = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))
    assert order["deliver_by"] == "2026-06-01T23:59:59+02:00"         # the book is owed by then
    [case] = [c for c in cases(db_url) if c["reason"] == "no_carrier_scan"]
    [call] = [a for a in case["actions"] if a["type"] == "schedule_callback"]
    assert call["rule"] == "prime_late_1d" and call["at"] == "2026-06-02T23:59:59+02:00"  # is 06-04


def test_refunded_then_a_replacement_instead_both_stand_and_the_replacement_is_watched(db_url, tmp_path):
    """A refund by click, then "a replacement instead": generous, both stand (the refund is not
    taken back) and the replacement is not made good by that earlier refund: its parcel,
    stalled, opens a case of its own."""
    b = EventBuilder()
    _stuck_one(b)
    b.choose("o-1", "C-o-1-1", CHOSEN, "refund")
    b.contact("k-1", "c-1", at(CHOSEN, hours=5),
              "Actually I changed my mind, I would rather have a replacement instead of the refund.", order_id="o-1")
    b.create_shipment("sh-2", "o-1", "s-1", ["l1"], at(CHOSEN, hours=7))
    b.ship("sh-2", at(CHOSEN, hours=8), "TRK-2")
    b.scan("TRK-2", at(CHOSEN, hours=12), "accepted")  # then nothing
    replay(db_url, b, tmp_path, "--until", at(CHOSEN, days=8))
    kinds = [a["type"] for c in cases(db_url) for a in c["actions"] if a["type"] in ("refund", "replace")]
    assert kinds == ["refund", "replace"]
    assert any(c["shipment_ids"] == ["sh-2"] and c["origin"] == "proactive" for c in cases(db_url))
    # one refund, once
    refunds = [a["amount"] for c in cases(db_url) for a in c["actions"] if a["type"] == "refund"]
    assert refunds == [40.0]


def test_the_lost_parcel_arriving_before_any_replacement_is_made_is_news(db_url, tmp_path):
    """A replacement promised, none made yet, and the first parcel turns up: the customer
    hears it was delivered (it is the only parcel there is)."""
    b = stuck()
    b.scan("TRK-1", at(CHOSEN, hours=5), "delivered")
    replay(db_url, b, tmp_path, "--until", at(CHOSEN, days=3))
    delivered = [m for m in messages(db_url) if m["kind"] == "milestone" and "delivered" in m["text"].lower()]
    assert len(delivered) == 1
