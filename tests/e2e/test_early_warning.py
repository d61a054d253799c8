"""The early warning ("trending late") through the command line, on SQLite and PostgreSQL.

The shop's history teaches ordercare its carrier's lanes: to Corsica, a quarter of the
parcels arrive 30 h after the carrier accepts them and the rest take 90 h; to Paris, a day.
A parcel to Corsica with 60 h left at the hand-over and still out after 30 h is one of the
slow ones: the customer hears it from us before the deliver-by, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ordercare import services
from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, messages, replay

BASE = "2026-06-01T08:00:00+02:00"
CORSICA = {"name": "Anne", "line1": "2 cours Napoléon", "city": "Ajaccio", "postcode": "20000", "country": "FR"}
PARIS = {"name": "Bob", "line1": "1 rue Oberkampf", "city": "Paris", "postcode": "75011", "country": "FR"}


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def shop() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-anne", lang="fr", name="Anne").customer("c-bob", lang="en", name="Bob")
    b.seller("s-1", handling_days=1).sku("k1", "Le Petit Prince")
    return b


def parcel(b: EventBuilder, oid: str, customer: str, address: dict[str, str], placed: str,
           deliver_in_h: float, delivered_after_h: float | None, scan_location: str = "Marseille") -> str:
    """An order shipped an hour after it is placed, accepted by the carrier an hour later;
    delivered ``delivered_after_h`` after that scan (or still on its way). Returns the scan."""
    shipped, accepted = at(placed, hours=1), at(placed, hours=2)
    promise = {"ship_by": at(placed, hours=20), "deliver_by": at(accepted, hours=deliver_in_h)}
    b.order(oid, customer, placed, [line("l1", "k1", "s-1", 12.0)], address=address, promise=promise)
    b.pay(oid, at(placed, minutes=2), 12.0)
    b.create_shipment(f"{oid}-s", oid, "s-1", ["l1"], at(placed, minutes=30))
    b.ship(f"{oid}-s", shipped, f"T-{oid}", carrier="colibri")
    b.scan(f"T-{oid}", accepted, "accepted", scan_location)
    if delivered_after_h is not None:
        b.scan(f"T-{oid}", at(accepted, hours=delivered_after_h), "delivered", "Ajaccio")
    return accepted


def history(b: EventBuilder) -> None:
    """Forty parcels to Corsica (ten in 30 h, thirty in 90 h) and forty to Paris (24 h)."""
    for i in range(40):
        placed = at(BASE, hours=3 * i)
        parcel(b, f"h-co-{i}", "c-anne", CORSICA, placed, 200, 30 if i % 4 == 0 else 90)
        parcel(b, f"h-pa-{i}", "c-bob", PARIS, placed, 200, 24)


def order_cases(db: str, oid: str) -> list[dict]:
    return [c for c in cases(db) if c["order_id"] == oid]


def order_messages(db: str, oid: str) -> list[dict]:
    return [m for m in messages(db) if m["order_id"] == oid and m["case_id"]]


TARGET = at(BASE, days=12)  # after the history's parcels have all been delivered


def test_a_parcel_on_a_slow_lane_is_announced_late_before_its_deliver_by_once(db_url, tmp_path):
    b = shop()
    history(b)
    accepted = parcel(b, "o-slow", "c-anne", CORSICA, TARGET, 60, 90)
    healthy = parcel(b, "o-fine", "c-bob", PARIS, at(TARGET, minutes=5), 60, 23)
    report = replay(db_url, b, tmp_path, "--until", at(TARGET, days=10))
    assert report["rejected"] == []

    assert order_cases(db_url, "o-fine") == [], "a healthy parcel on a fast lane: no warning"
    assert order_messages(db_url, "o-fine") == [] and healthy

    [case] = order_cases(db_url, "o-slow")                     # one case: the deliver-by passing adds none
    deliver_by = t(accepted) + timedelta(hours=60)
    assert case["reason"] == "trending_late" and case["origin"] == "proactive"
    assert t(case["opened_at"]) == t(accepted) + timedelta(hours=30)   # the fast ones would be home by now
    assert t(case["first_customer_message_at"]) < deliver_by
    assert "late_delivery" in case["reasons"] and case["status"] == "resolved"
    warned = [a for a in case["actions"] if a["type"] == "message_customer" and a.get("rule") == "trending_late"]
    assert len(warned) == 1

    msgs = order_messages(db_url, "o-slow")
    assert msgs[0]["lang"] == "fr" and "prend du retard" in msgs[0]["text"]
    assert "après le" in msgs[0]["text"] and "colibri" in msgs[0]["text"] and "T-o-slow" in msgs[0]["text"]
    # No second apology when the deliver-by passes: the next word is the delivery.
    assert all(not (deliver_by <= t(m["at"]) < t(accepted) + timedelta(hours=72)) for m in msgs)
    assert any("a été livré" in m["text"] for m in msgs[1:])


def test_a_warned_parcel_that_arrives_on_time_after_all_closes_with_the_good_news(db_url, tmp_path):
    b = shop()
    history(b)
    accepted = parcel(b, "o-lucky", "c-bob", CORSICA, TARGET, 60, 40)
    replay(db_url, b, tmp_path, "--until", at(TARGET, days=10))
    [case] = order_cases(db_url, "o-lucky")
    assert case["reason"] == "trending_late" and case["status"] == "resolved"
    assert "late_delivery" not in case["reasons"]
    msgs = order_messages(db_url, "o-lucky")
    assert msgs[0]["lang"] == "en" and "running late" in msgs[0]["text"]
    [closing] = [m for m in msgs if "on time after all" in m["subject"]]
    assert t(closing["at"]) == t(accepted) + timedelta(hours=40)
    assert "sorry it took longer" not in " ".join(m["text"] for m in msgs)


def test_what_was_learnt_is_kept_for_a_later_replay_and_for_the_live_watch(db_url, tmp_path):
    old = shop()
    history(old)
    replay(db_url, old, tmp_path)

    # A later file, replayed into the same store: the lanes are already known.
    b = EventBuilder(prefix="n-")
    accepted = parcel(b, "o-later", "c-anne", CORSICA, TARGET, 60, None)
    replay(db_url, b, tmp_path, "--until", at(accepted, hours=1))
    assert order_cases(db_url, "o-later") == []

    # The live watch wakes the order on the wall clock, with no new event, at the instant
    # the chance of missing the deliver-by reaches the threshold.
    fired = services.tick(services.open_store(db_url), t(accepted) + timedelta(hours=31))
    assert fired >= 1
    [case] = order_cases(db_url, "o-later")
    assert case["reason"] == "trending_late"
    assert t(case["opened_at"]) == t(accepted) + timedelta(hours=30)
    assert t(case["first_customer_message_at"]) < t(accepted) + timedelta(hours=60)


def test_the_warning_names_the_parcel_it_is_about_not_the_cases_first_one(db_url, tmp_path):
    """A case opened about the book's parcel (Colissimo, no scan for a day) later warns that
    the iPod's parcel, on a slow DHL lane, will be late: it names DHL and the iPod's tracking."""
    b = EventBuilder()
    b.customer("c-anne", lang="fr", name="Anne").customer("c-bob", lang="en", name="Bob")
    b.seller("s-books").seller("s-audio").sku("book", "Le Petit Prince").sku("ipod", "iPod nano 8GB")
    for i in range(40):  # the lane learnt: DHL takes 8 days door to door
        t0 = at("2026-03-02T10:00:00+01:00", days=i % 20)
        b.order(f"h-{i}", "c-bob", t0, [line("l1", "book", "s-books", 5.0)])
        b.create_shipment(f"hs-{i}", f"h-{i}", "s-books", ["l1"], at(t0, hours=1))
        b.ship(f"hs-{i}", at(t0, hours=2), f"HTRK-{i}", carrier="dhl")
        b.scan(f"HTRK-{i}", at(t0, days=8), "delivered")
    placed = "2026-05-28T09:14:00+02:00"
    b.order("o-1", "c-anne", placed, [line("l1", "book", "s-books", 12.5), line("l2", "ipod", "s-audio", 149.0)])
    b.pay("o-1", at(placed, minutes=1), 161.5)
    b.create_shipment("sh-1", "o-1", "s-books", ["l1"], at(placed, hours=3))
    b.ship("sh-1", at(placed, hours=4), "TRK-1", carrier="colissimo")
    b.scan("TRK-1", at(placed, days=1, hours=6), "accepted", "Paris")
    b.create_shipment("sh-2", "o-1", "s-audio", ["l2"], at(placed, days=1, hours=6, minutes=30))
    b.ship("sh-2", at(placed, days=1, hours=7), "TRK-2", carrier="dhl")
    replay(db_url, b, tmp_path, "--until", at(placed, days=1, hours=8))
    warnings = [m for m in order_messages(db_url, "o-1") if "iPod" in m["text"] and "retard" in m["text"]]
    assert len(warnings) == 1, [m["text"] for m in order_messages(db_url, "o-1")]
    assert "TRK-2" in warnings[0]["text"] and "dhl" in warnings[0]["text"].lower()
    assert "TRK-1" not in warnings[0]["text"]
