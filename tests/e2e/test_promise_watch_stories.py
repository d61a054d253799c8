"""The stories behind the product, told through the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, messages, replay

PLACED = "2026-05-28T09:14:00+02:00"  # a Thursday


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def shop() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-anne", lang="fr", name="Anne", phone="+33612345678")
    b.customer("c-bob", lang="en", name="Bob")
    b.seller("s-books", handling_days=2).seller("s-audio", handling_days=1).seller("s-acc", handling_days=2)
    b.sku("book", "Le Petit Prince").sku("ipod", "iPod nano 8GB").sku("case", "Pink silicone case for iPod nano")
    return b


def test_order_charged_never_shipped_gets_apology_within_a_day_and_a_callback(db_url, tmp_path):
    b = shop()
    b.order("o-stuck", "c-anne", PLACED, [line("l1", "book", "s-books", 12.5)])
    b.pay("o-stuck", "2026-05-31T08:00:00+02:00", 12.5)
    # a healthy order beside it
    b.order("o-fine", "c-bob", at(PLACED, minutes=5), [line("l1", "book", "s-books", 12.5)])
    b.pay("o-fine", at(PLACED, minutes=6), 12.5)
    b.create_shipment("sh-fine", "o-fine", "s-books", ["l1"], at(PLACED, days=1))
    b.ship("sh-fine", at(PLACED, days=1, hours=2), "TRK-FINE")
    b.scan("TRK-FINE", at(PLACED, days=1, hours=5), "accepted", "Paris")
    b.scan("TRK-FINE", at(PLACED, days=3), "delivered", "Lyon")

    report = replay(db_url, b, tmp_path, "--until", "2026-06-26T00:00:00+02:00")
    assert report["rejected"] == [] and report["applied"] == len(b.events)

    found = cases(db_url)
    assert [c["order_id"] for c in found] == ["o-stuck"], "no case for the healthy order"
    case = found[0]
    assert case["reason"] == "late_shipment" and case["origin"] == "proactive"
    ship_by = t("2026-06-01T23:59:59+02:00")  # 2 business days after a Thursday morning order
    assert ship_by <= t(case["opened_at"]) <= ship_by + timedelta(days=1)
    assert t(case["first_customer_message_at"]) <= ship_by + timedelta(days=1)
    callbacks = [a for a in case["actions"] if a["type"] == "schedule_callback"]
    assert len(callbacks) == 1 and t(callbacks[0]["at"]) < t("2026-06-10T00:00:00+02:00")

    sent = [m for m in messages(db_url) if m["order_id"] == "o-stuck" and m["kind"] == "exception"]
    first = sent[0]
    assert first["kind"] == "exception" and first["case_id"] == case["id"] and first["lang"] == "fr"
    assert "Le Petit Prince" in first["text"] and "désolés" in first["text"]
    assert "lundi 1 juin" in first["text"], "it says which promise was broken"
    assert len(sent) <= 3, "a stuck order gets an apology and a call, not a stream of mails"
    assert not [m for m in messages(db_url) if m["order_id"] == "o-fine" and m["kind"] == "exception"]


def test_ipod_delivered_while_the_case_from_another_seller_never_ships(db_url, tmp_path):
    b = shop()
    b.order("o-ipod", "c-bob", PLACED, [line("l-ipod", "ipod", "s-audio", 149.0),
                                         line("l-case", "case", "s-acc", 9.9)])
    b.pay("o-ipod", at(PLACED, minutes=1), 158.9)
    b.create_shipment("sh-ipod", "o-ipod", "s-audio", ["l-ipod"], at(PLACED, hours=5))
    b.ship("sh-ipod", at(PLACED, hours=6), "TRK-IPOD", carrier="ups")
    b.scan("TRK-IPOD", at(PLACED, hours=9), "accepted")
    b.scan("TRK-IPOD", at(PLACED, days=2), "delivered")

    replay(db_url, b, tmp_path, "--until", "2026-06-12T00:00:00+02:00")
    found = cases(db_url)
    assert len(found) == 1, "one trouble, one case"
    case = found[0]
    assert case["line_ids"] == ["l-case"], "only the missing case is the problem"
    assert case["reason"] == "late_shipment"
    assert "partial_delivery" in case["reasons"], "the deliver-by passed with half the order home"
    assert case["status"] == "open"
    texts = [m["text"] for m in messages(db_url) if m["case_id"] == case["id"]]
    assert "Pink silicone case" in texts[0] and "iPod nano 8GB" not in texts[0]


def test_parcel_that_finally_arrives_resolves_its_case_with_a_message(db_url, tmp_path):
    b = shop()
    b.order("o-1", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5)])
    b.create_shipment("sh-1", "o-1", "s-books", ["l1"], at(PLACED, hours=3))
    b.ship("sh-1", at(PLACED, hours=4), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=8), "accepted", "Roissy")
    b.scan("TRK-1", at(PLACED, days=1), "in_transit", "Chilly-Mazarin")
    # silence for 4 days, then it arrives
    b.scan("TRK-1", at(PLACED, days=5), "delivered", "Lyon")
    replay(db_url, b, tmp_path)

    [case] = cases(db_url)
    assert case["reason"] == "stalled_in_transit"
    assert t(case["opened_at"]) == t(at(PLACED, days=4))  # 72 h after the last scan
    assert case["status"] == "resolved" and t(case["resolved_at"]) == t(at(PLACED, days=5))
    sent = [m for m in messages(db_url) if m["case_id"] == case["id"]]
    assert len(sent) == 2
    assert "Chilly-Mazarin" in sent[0]["text"] and "TRK-1" in sent[0]["text"]
    assert "delivered" in sent[1]["text"]


def test_seller_cancellation_refunds_the_line_at_once_without_return(db_url, tmp_path):
    b = shop()
    b.order("o-1", "c-anne", PLACED, [line("l1", "book", "s-books", 12.5),
                                       line("l2", "ipod", "s-audio", 149.0)])
    b.pay("o-1", at(PLACED, minutes=1), 161.5)
    b.cancel("o-1", at(PLACED, hours=20), "seller", "out_of_stock", ["l1"])
    replay(db_url, b, tmp_path)
    [case] = [c for c in cases(db_url) if c["reason"] == "seller_cancellation"]
    refund = [a for a in case["actions"] if a["type"] == "refund"]
    assert refund == [{"type": "refund", "at": at(PLACED, hours=20), "line_ids": ["l1"], "amount": 12.5,
                       "return_required": False}]
    assert case["status"] == "resolved"
    [msg] = [m for m in messages(db_url) if m["case_id"] == case["id"]]
    assert "Le Petit Prince" in msg["text"] and "12,50 EUR" in msg["text"]


def test_shipped_without_any_carrier_scan_for_a_day(db_url, tmp_path):
    b = shop()
    b.order("o-1", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5)])
    b.create_shipment("sh-1", "o-1", "s-books", ["l1"], at(PLACED, hours=3))
    b.ship("sh-1", at(PLACED, hours=4), "TRK-1", carrier="dhl")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=1, hours=5))
    [case] = cases(db_url)
    assert case["reason"] == "no_carrier_scan" and case["shipment_ids"] == ["sh-1"]
    assert t(case["opened_at"]) == t(at(PLACED, days=1, hours=4))


def test_no_false_alarm_over_a_public_holiday_but_a_real_silence_is_caught(db_url, tmp_path):
    """Two parcels dropped at a relay point on the eve of 1 May (a Friday, a holiday for
    the carriers). One is collected on Saturday late morning, as relay parcels are: its
    customer hears nothing alarming. The other is never scanned: its customer hears it as
    soon as Saturday's collection round is over and the parcel was not in it."""
    eve = "2026-04-30T11:50:00+02:00"  # Thursday
    b = shop()
    for oid, cust in (("o-calm", "c-bob"), ("o-lost", "c-anne")):
        b.order(oid, cust, at(eve, days=-2), [line("l1", "book", "s-books", 12.5)])
        b.pay(oid, at(eve, days=-2, minutes=1), 12.5)
        b.create_shipment(f"sh-{oid}", oid, "s-books", ["l1"], at(eve, hours=-2))
        b.ship(f"sh-{oid}", eve, f"TRK-{oid}", carrier="colissimo")
    b.scan("TRK-o-calm", "2026-05-02T11:00:00+02:00", "accepted", "Relais Lyon 7")
    replay(db_url, b, tmp_path, "--until", "2026-05-02T20:00:00+02:00")
    found = {c["order_id"]: c for c in cases(db_url)}
    assert "o-calm" not in found, "collected at the first round after the holiday: no problem"
    assert found["o-lost"]["reason"] == "no_carrier_scan"
    assert t(found["o-lost"]["opened_at"]) == t("2026-05-02T13:00:00+02:00")
    told = [m for m in messages(db_url) if m["case_id"] == found["o-lost"]["id"]]
    assert len(told) == 1 and told[0]["order_id"] == "o-lost"


def test_carrier_exception_opens_a_case_the_moment_it_is_scanned(db_url, tmp_path):
    b = shop()
    b.order("o-1", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5)])
    b.create_shipment("sh-1", "o-1", "s-books", ["l1"], at(PLACED, hours=3))
    b.ship("sh-1", at(PLACED, hours=4), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=8), "accepted")
    b.scan("TRK-1", at(PLACED, hours=30), "exception", "Hub Marne")
    replay(db_url, b, tmp_path)
    [case] = cases(db_url)
    assert case["reason"] == "carrier_exception" and t(case["opened_at"]) == t(at(PLACED, hours=30))
    assert "Hub Marne" in [m for m in messages(db_url) if m["case_id"]][0]["text"]


def test_prime_order_a_day_late_gets_a_human_callback(db_url, tmp_path):
    b = shop()
    b.add("fc.registered", "2026-05-01T00:00:00+02:00", {"fc_id": "fc-1", "name": "Lyon", "lat": 45.7, "lon": 4.8})
    b.add("inventory.received", "2026-05-02T00:00:00+02:00",
          {"fc_id": "fc-1", "sku": "ipod", "qty": 5, "seller_id": "s-audio"})
    b.order("o-p", "c-bob", PLACED, [line("l1", "ipod", "s-audio", 149.0, fulfilled_by="platform")],
            prime=True)
    b.create_shipment("sh-1", "o-p", "s-audio", ["l1"], at(PLACED, hours=3))
    b.ship("sh-1", at(PLACED, hours=4), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=6), "accepted")
    b.scan("TRK-1", at(PLACED, hours=30), "in_transit")
    replay(db_url, b, tmp_path, "--until", "2026-06-05T00:00:00+02:00")
    [case] = cases(db_url)
    # Prime: delivered within 2 business days → Monday 1 June; a day later someone calls.
    [callback] = [a for a in case["actions"] if a["type"] == "schedule_callback"]
    assert callback["rule"] == "prime_late_1d"
    assert t(callback["at"]) == t("2026-06-02T23:59:59+02:00")


def test_a_parcel_that_worried_us_but_arrived_on_time_gets_no_apology_for_lateness(db_url, tmp_path):
    """No carrier scan for a day opens a case; the parcel then arrives before the promised
    day. The closing message says it came on time, and names the day it came, even when the
    delivery scan reaches us days later."""
    b = shop()
    b.order("o-1", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5)])  # deliver-by 4 June
    b.create_shipment("sh-1", "o-1", "s-books", ["l1"], at(PLACED, hours=1))
    b.ship("sh-1", at(PLACED, hours=2), "TRK-1")
    delivered = b.add("carrier.scan", "2026-05-31T11:00:00+02:00", {"tracking": "TRK-1", "status": "delivered",
                                                                      "location": "Lyon"}).events[-1]
    b.events.pop()  # the delivery scan reaches us only on 6 June
    replay(db_url, b, tmp_path, "--until", "2026-06-06T09:00:00+02:00")
    late = EventBuilder("late-")
    late.events.append(delivered)
    replay(db_url, late, tmp_path, "--until", "2026-06-06T12:00:00+02:00")
    [case] = cases(db_url)
    assert case["status"] == "resolved"
    closing = [m for m in messages(db_url) if m["case_id"] == case["id"]][-1]
    assert "by the date we promised" in closing["text"] and "longer than we promised" not in closing["text"]
    assert "delivered on Sunday 31 May" in closing["text"]
    assert "/report/o-1" in closing["text"], "it offers the one-click report the routine 'delivered' would have"
    assert not [m for m in messages(db_url) if m["kind"] == "milestone" and "delivered on" in m["text"]], \
        "one message says it has come, not two at once"


def test_an_order_that_finally_ships_late_is_said_to_have_left_with_its_tracking(db_url, tmp_path):
    """Anne's book misses its ship-by and leaves only after its deliver-by: the case stays
    open (it is late) but she is told the moment it leaves, with the tracking number, not left
    to wonder until it lands. Bob's, a day late only, leaves before his deliver-by: told too,
    and his case waits on the carrier."""
    b = shop()
    b.order("o-late", "c-anne", PLACED, [line("l1", "book", "s-books", 12.5)])
    b.order("o-bit", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5)])
    for oid in ("o-late", "o-bit"):
        b.pay(oid, at(PLACED, minutes=1), 12.5)
    b.create_shipment("sh-bit", "o-bit", "s-books", ["l1"], "2026-06-02T10:00:00+02:00")
    b.ship("sh-bit", "2026-06-02T11:00:00+02:00", "TRK-BIT")
    b.scan("TRK-BIT", "2026-06-02T18:00:00+02:00", "accepted", "Paris")
    b.scan("TRK-BIT", "2026-06-03T12:00:00+02:00", "delivered", "Lyon")
    b.create_shipment("sh-late", "o-late", "s-books", ["l1"], "2026-06-09T10:00:00+02:00")
    b.ship("sh-late", "2026-06-09T11:00:00+02:00", "TRK-LATE")
    b.scan("TRK-LATE", "2026-06-09T18:00:00+02:00", "accepted", "Paris")
    b.scan("TRK-LATE", "2026-06-11T12:00:00+02:00", "delivered", "Lyon")

    replay(db_url, b, tmp_path, "--until", "2026-06-02T12:00:00+02:00")
    [bit] = [c for c in cases(db_url) if c["order_id"] == "o-bit"]
    assert bit["status"] == "waiting", "Bob's left in time for his deliver-by: the carrier has it"
    replay(db_url, b, tmp_path, "--until", "2026-06-09T12:00:00+02:00")
    [late] = [c for c in cases(db_url) if c["order_id"] == "o-late"]
    assert late["status"] == "open", "past its deliver-by, Anne's is still late"
    [left] = [m for m in messages(db_url) if m["case_id"] == late["id"] and "TRK-LATE" in m["text"]]
    assert left["at"] == "2026-06-09T11:00:00+02:00" and left["lang"] == "fr"
    assert "vient d'être expédié avec" in left["text"]
    [left] = [m for m in messages(db_url) if m["case_id"] == bit["id"] and "TRK-BIT" in m["text"]]
    assert left["at"] == "2026-06-02T11:00:00+02:00" and "has now shipped" in left["text"]

    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    late = next(c for c in cases(db_url) if c["id"] == late["id"])
    assert late["status"] == "resolved"
    news = [m["text"] for m in messages(db_url) if m["case_id"] == late["id"] and "TRK-LATE" in m["text"]]
    assert len(news) == 1, "said once, not again at each scan"


def test_a_second_line_late_in_turn_is_said_to_have_left_with_its_own_tracking(db_url, tmp_path):
    """The iPod misses its ship-by, we say sorry, it leaves, we say so. Then the book misses its
    own and we say it is held up: when it leaves, the customer hears it, with its tracking."""
    b = shop()
    b.order("o-1", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5), line("l2", "ipod", "s-audio", 149.0)])
    b.pay("o-1", at(PLACED, minutes=1), 161.5)
    b.create_shipment("sh-2", "o-1", "s-audio", ["l2"], "2026-05-30T09:00:00+02:00")
    b.ship("sh-2", "2026-05-30T10:00:00+02:00", "TRK-IPOD", carrier="ups")
    b.scan("TRK-IPOD", "2026-05-30T15:00:00+02:00", "accepted", "Paris")
    b.scan("TRK-IPOD", "2026-06-01T09:00:00+02:00", "in_transit", "Lyon")
    b.create_shipment("sh-1", "o-1", "s-books", ["l1"], "2026-06-02T09:00:00+02:00")
    b.ship("sh-1", "2026-06-02T10:00:00+02:00", "TRK-BOOK", carrier="dhl")
    b.scan("TRK-BOOK", "2026-06-02T15:00:00+02:00", "accepted", "Paris")
    replay(db_url, b, tmp_path, "--until", "2026-06-02T16:00:00+02:00")
    told = [m["text"] for m in messages(db_url) if m["order_id"] == "o-1" and m["kind"] == "exception"]
    left = [text for text in told if "has now shipped" in text]
    assert len(left) == 2, told
    assert "TRK-IPOD" in left[0] and "TRK-BOOK" not in left[0]
    assert "TRK-BOOK" in left[1] and "Le Petit Prince" in left[1] and "iPod" not in left[1]
