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
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=20))
    [case] = cases(db_url)
    assert case["status"] == "resolved"
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
