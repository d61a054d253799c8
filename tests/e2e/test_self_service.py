"""Self-service: our first message about a stuck parcel offers the customer's choices as
links (keep waiting, a refund now, a replacement); one click does what a letter to the desk
would have done, by the same playbook, and the case ends there. Through the command line,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

from ordercare.notify.links import Links, found_in
from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, messages, replay

PLACED = "2026-06-01T10:00:00+02:00"  # a Monday


def shop() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-anne", lang="fr", name="Anne", phone="+33612345678")
    b.customer("c-bob", lang="en", name="Bob")
    b.seller("s-audio", handling_days=1).seller("s-books", handling_days=2)
    b.sku("ipod", "iPod nano 8GB").sku("case", "Pink silicone case for iPod nano").sku("book", "Le Petit Prince")
    return b


def stalled(b: EventBuilder, order_id: str, customer: str, **extra: object) -> EventBuilder:
    """An order whose parcel is accepted, moves once, then stops for good."""
    b.order(order_id, customer, PLACED, [line("l1", "ipod", "s-audio", 149.0), line("l2", "case", "s-audio", 9.9)],
            **extra)
    b.pay(order_id, at(PLACED, minutes=1), 158.9)
    b.create_shipment(f"sh-{order_id}", order_id, "s-audio", ["l1", "l2"], at(PLACED, hours=3))
    b.ship(f"sh-{order_id}", at(PLACED, hours=5), f"TRK-{order_id}")
    b.scan(f"TRK-{order_id}", at(PLACED, hours=8), "accepted", "Paris")
    b.scan(f"TRK-{order_id}", at(PLACED, hours=22), "in_transit", "Orléans")
    return b


def links_in(text: str) -> dict[str, tuple[str, str]]:
    return {choice: (case_id, token) for case_id, choice, token in found_in(text)}


def exceptions(db: str, order_id: str) -> list[dict]:
    return [m for m in messages(db) if m["order_id"] == order_id and m["case_id"]]


def test_first_message_offers_signed_choices_and_one_click_refunds(db_url, tmp_path):
    b = stalled(shop(), "o-1", "c-anne")
    replay(db_url, b, tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    [case] = cases(db_url)
    assert case["reason"] == "stalled_in_transit" and case["status"] == "open"
    [first] = exceptions(db_url, "o-1")
    offered = links_in(first["text"])
    assert set(offered) == {"wait", "refund", "replacement"}, first["text"]
    assert "un clic suffit" in first["text"] and "répondez simplement" not in first["text"]
    links = Links.from_env()
    for choice, (case_id, token) in offered.items():
        assert case_id == case["id"] and links.verify(case_id, choice, token)
        assert not links.verify(case_id, "refund" if choice != "refund" else "wait", token), "a link is one choice"

    b.choose("o-1", case["id"], "2026-06-05T12:30:00+02:00", "refund")
    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    [case] = cases(db_url)
    refunds = [a for a in case["actions"] if a["type"] == "refund"]
    assert len(refunds) == 1 and refunds[0]["amount"] == 158.9 and sorted(refunds[0]["line_ids"]) == ["l1", "l2"]
    assert case["status"] == "resolved"
    assert not [a for a in case["actions"] if a["type"] == "schedule_callback"], "nobody calls a customer we refunded"
    said = exceptions(db_url, "o-1")
    assert len(said) == 3, [m["text"] for m in said]  # the apology, the answer, "were you satisfied?"
    reply, survey = said[1], said[2]
    assert "1 (pas du tout)" in survey["text"]
    assert reply["kind"] == "reply" and "158,90" in reply["text"] and "iPod nano 8GB" in reply["text"]
    assert "si le colis vous parvient finalement" in reply["text"], "above 60 EUR, back if it turns up"
    assert len(cases(db_url)) == 1, "the refunded parcel passing its deliver-by opens no new case"


def test_a_parcel_that_never_left_offers_cancel_and_refund_not_a_replacement(db_url, tmp_path):
    b = shop()
    b.order("o-2", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5)])
    b.pay("o-2", at(PLACED, minutes=1), 12.5)
    replay(db_url, b, tmp_path, "--until", "2026-06-05T00:00:00+02:00")
    [case] = cases(db_url)
    assert case["reason"] == "late_shipment"
    [first] = exceptions(db_url, "o-2")
    offered = links_in(first["text"])
    assert set(offered) == {"wait", "refund"} and "Cancel it and refund me now" in first["text"]

    b.choose("o-2", case["id"], "2026-06-05T09:00:00+02:00", "refund")
    b.choose("o-2", case["id"], "2026-06-05T09:05:00+02:00", "refund")  # clicked twice
    report = replay(db_url, b, tmp_path, "--until", "2026-06-10T00:00:00+02:00")
    assert report["rejected"] == []
    [case] = cases(db_url)
    assert [a["amount"] for a in case["actions"] if a["type"] == "refund"] == [12.5], "never refunded twice"
    assert case["status"] == "resolved"
    replies = [m for m in exceptions(db_url, "o-2") if m["kind"] == "reply"]
    assert "We have cancelled Le Petit Prince" in replies[0]["text"] and "12.50" in replies[0]["text"]
    assert "nothing left to make good" in replies[1]["text"], "the second click is answered, and nothing is done"


def test_choosing_to_wait_holds_the_prime_callback_but_not_the_late_one(db_url, tmp_path):
    b = shop()
    for oid, cust in (("o-3", "c-bob"), ("o-4", "c-anne")):  # handed over, never scanned; o-4 never chooses
        b.order(oid, cust, PLACED, [line("l1", "ipod", "s-audio", 149.0)], prime=True)
        b.pay(oid, at(PLACED, minutes=1), 149.0)
        b.create_shipment(f"sh-{oid}", oid, "s-audio", ["l1"], at(PLACED, hours=3))
        b.ship(f"sh-{oid}", at(PLACED, hours=5), f"TRK-{oid}")
    replay(db_url, b, tmp_path, "--until", "2026-06-03T00:00:00+02:00")
    mine = {c["order_id"]: c for c in cases(db_url)}
    b.choose("o-3", mine["o-3"]["id"], "2026-06-03T09:00:00+02:00", "wait")
    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    mine = {c["order_id"]: c for c in cases(db_url)}

    def callbacks(c: dict) -> list[str]:
        return [a.get("rule") for a in c["actions"] if a["type"] == "schedule_callback"]

    assert callbacks(mine["o-4"]) == ["prime_late_1d"]
    assert callbacks(mine["o-3"]) == ["late_2d"], "chose to wait: called two days late, not one"
    assert not [a for a in mine["o-3"]["actions"] if a["type"] == "refund"]
    assert not [m for m in exceptions(db_url, "o-3") if "Thank you for choosing" in m["text"]], \
        "waiting needs no answer by mail"


def test_replacement_sends_only_the_lines_still_owed(db_url, tmp_path):
    b = shop()
    b.order("o-5", "c-bob", PLACED, [line("l1", "ipod", "s-audio", 149.0), line("l2", "case", "s-books", 9.9)])
    b.pay("o-5", at(PLACED, minutes=1), 158.9)
    for sid, seller, lid in (("sh-a", "s-audio", "l1"), ("sh-b", "s-books", "l2")):
        b.create_shipment(sid, "o-5", seller, [lid], at(PLACED, hours=3))
        b.ship(sid, at(PLACED, hours=5), f"TRK-{sid}")
        b.scan(f"TRK-{sid}", at(PLACED, hours=8), "accepted", "Paris")
    b.scan("TRK-sh-a", at(PLACED, days=2), "delivered", "Lyon")  # the iPod came, its case did not
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [case] = cases(db_url)
    assert case["line_ids"] == ["l2"]
    b.choose("o-5", case["id"], "2026-06-09T10:00:00+02:00", "replacement")
    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    # (The replacement is never sent here: the watch chases it in a case of its own, see
    # test_replacement_requests.py.)
    [case] = [c for c in cases(db_url) if c["id"] == case["id"]]
    replaced = [a for a in case["actions"] if a["type"] == "replace"]
    assert [r["line_ids"] for r in replaced] == [["l2"]] and case["status"] == "resolved"
    assert not [a for a in case["actions"] if a["type"] == "refund"]
    reply = [m for m in exceptions(db_url, "o-5") if m["kind"] == "reply"][0]
    assert "a new Pink silicone case for iPod nano" in reply["text"] and "iPod nano 8GB," not in reply["text"]


def test_a_link_is_parsed_back_to_its_case(db_url, tmp_path):
    """The link names the case even when its id needs escaping in a URL."""
    links = Links("https://shop.example", b"k")
    url = links.url("C-o/1 x-1", "refund")
    [(case_id, choice, token)] = found_in(f"Refund me now: {url}\n- Keep waiting")
    assert (case_id, choice) == ("C-o/1 x-1", "refund") and links.verify(case_id, choice, token)
    assert unquote(urlsplit(url).path.split("/")[2]) == case_id and parse_qs(urlsplit(url).query)["t"] == [token]


def two_parcels_stuck(b: EventBuilder, order_id: str) -> EventBuilder:
    """An iPod and its case from two sellers, each parcel accepted, moving once, then still."""
    b.order(order_id, "c-bob", PLACED, [line("l1", "ipod", "s-audio", 149.0), line("l2", "case", "s-books", 9.9)])
    b.pay(order_id, at(PLACED, minutes=1), 158.9)
    for sid, seller, lid in (("sh-a", "s-audio", "l1"), ("sh-b", "s-books", "l2")):
        b.create_shipment(sid, order_id, seller, [lid], at(PLACED, hours=3))
        b.ship(sid, at(PLACED, hours=5), f"TRK-{sid}")
        b.scan(f"TRK-{sid}", at(PLACED, hours=8), "accepted", "Paris")
        b.scan(f"TRK-{sid}", at(PLACED, hours=22), "in_transit", "Orléans")
    return b


def test_a_refund_for_one_parcel_keeps_watching_the_other(db_url, tmp_path):
    """Two parcels stuck in one case; the customer writes for a refund of one item only. The
    delivery case stays open for the other, and when that one arrives it closes (the refunded
    item is owed nothing more), saying only what arrived."""
    b = two_parcels_stuck(shop(), "o-6")
    replay(db_url, b, tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    [case] = cases(db_url)
    assert case["line_ids"] == ["l1", "l2"]
    b.contact("k-1", "c-bob", "2026-06-05T13:00:00+02:00",
              "Thanks for letting me know. I'd rather have a refund for the Pink silicone case for iPod nano please.",
              order_id="o-6")
    replay(db_url, b, tmp_path, "--until", "2026-06-06T00:00:00+02:00")
    refunds = [(a["line_ids"], a["amount"]) for c in cases(db_url) for a in c["actions"] if a["type"] == "refund"]
    assert refunds == [(["l2"], 9.9)]
    [case] = [c for c in cases(db_url) if c["origin"] == "proactive"]
    assert case["status"] != "resolved", "the iPod is still on its way: the delivery case stays open"

    b.scan("TRK-sh-a", "2026-06-08T11:00:00+02:00", "delivered", "Lyon")
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [case] = [c for c in cases(db_url) if c["origin"] == "proactive"]
    assert case["status"] == "resolved", "home or refunded: nothing is owed any more"
    arrived = [m for m in exceptions(db_url, "o-6") if "has arrived" in m["subject"]]
    assert len(arrived) == 1 and "iPod nano 8GB" in arrived[0]["text"] and "Pink" not in arrived[0]["text"]


def test_the_guarantee_for_one_missing_item_leaves_the_delivery_case_watching_the_other(db_url, tmp_path):
    """A contact that joins the delivery case (scanned delivered but never received, one item
    named) is made good by the marketplace guarantee for that item; the case is not closed
    while the other parcel is still owed."""
    b = two_parcels_stuck(shop(), "o-7")
    b.scan("TRK-sh-b", "2026-06-04T11:00:00+02:00", "delivered", "Lyon")  # the case's parcel; the iPod's stays stuck
    b.contact("k-1", "c-bob", "2026-06-05T13:00:00+02:00",
              "The tracking says the Pink silicone case for iPod nano was delivered but I never received it.",
              order_id="o-7")
    replay(db_url, b, tmp_path, "--until", "2026-06-06T00:00:00+02:00")
    [case] = cases(db_url)
    assert [(a["line_ids"], a["amount"]) for a in case["actions"] if a["type"] == "refund"] == [(["l2"], 9.9)]
    assert case["status"] != "resolved", "the iPod is still on its way: its case stays open"


def test_the_callback_list_names_the_rule_that_asked_for_the_call(db_url):
    """The human who calls sees why: the escalation rule that asked, whatever was recorded
    on the case after it (here the "we will call you" mail), however the events are batched."""
    from ordercare import services
    b = shop()
    b.order("o-8", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5)], prime=True)
    b.pay("o-8", at(PLACED, minutes=1), 12.5)
    store = services.open_store(db_url)
    services.replay(store, "story", b.lines(), datetime.fromisoformat("2026-06-10T00:00:00+02:00"), batch=1)
    [case] = services.list_cases(store)
    [asked] = [a["rule"] for a in case["actions"] if a["type"] == "schedule_callback"]
    assert asked == "prime_late_1d"
    assert [(c["case_id"], c["rule"]) for c in services.list_callbacks(store)] == [(case["id"], asked)]
    store.dispose()


def delivered(b: EventBuilder, order_id: str, lines: list[dict], paid: float) -> EventBuilder:
    """An order that arrived on time, in one parcel from its first line's seller."""
    b.order(order_id, "c-bob", PLACED, lines)
    b.pay(order_id, at(PLACED, minutes=1), paid)
    b.create_shipment(f"sh-{order_id}", order_id, lines[0]["seller_id"], [ln["line_id"] for ln in lines],
                      at(PLACED, hours=3))
    b.ship(f"sh-{order_id}", at(PLACED, hours=5), f"TRK-{order_id}")
    b.scan(f"TRK-{order_id}", at(PLACED, hours=8), "accepted", "Paris")
    b.scan(f"TRK-{order_id}", at(PLACED, days=2), "delivered", "Lyon")
    return b


def test_the_delivery_message_lets_the_customer_report_a_problem_in_one_click(db_url, tmp_path):
    """What only the customer can see (it came damaged, it is not what they ordered) is
    reported from the delivery message, and resolved as the same complaint in words."""
    b = delivered(shop(), "o-9", [line("l1", "ipod", "s-audio", 149.0), line("l2", "case", "s-audio", 9.9)], 158.9)
    replay(db_url, b, tmp_path, "--until", "2026-06-04T00:00:00+02:00")
    [news] = [m for m in messages(db_url) if m["order_id"] == "o-9" and "delivered" in m["subject"]]
    url = next(w for w in news["text"].split() if "/report/" in w)
    token = parse_qs(urlsplit(url).query)["t"][0]
    assert unquote(urlsplit(url).path.split("/")[2]) == "o-9" and Links.from_env().verify_report("o-9", token)
    assert cases(db_url) == [], "a report link is an offer, not a case"

    b.add("customer.report", "2026-06-04T10:00:00+02:00",
          {"order_id": "o-9", "problem": "damaged", "line_id": "l2", "wants": "replacement"})
    report = replay(db_url, b, tmp_path, "--until", "2026-06-05T00:00:00+02:00")
    assert report["rejected"] == []
    [case] = cases(db_url)
    assert (case["reason"], case["origin"], case["status"]) == ("damaged_or_defective", "customer", "resolved")
    assert [a["line_ids"] for a in case["actions"] if a["type"] == "replace"] == [["l2"]], "only the item reported"
    [reply] = [m for m in messages(db_url) if m["case_id"] == case["id"] and m["kind"] == "reply"]
    assert "We are sending you a new Pink silicone case for iPod nano" in reply["text"]
    assert "iPod nano 8GB," not in reply["text"]


def test_a_line_refunded_by_a_click_is_not_refunded_again_when_its_seller_cancels_it(db_url, tmp_path):
    P = "2026-05-28T09:14:00+02:00"
    b = EventBuilder()
    b.customer("c-1", lang="en", name="Ann").seller("s-1").seller("s-2").sku("book", "A book").sku("mug", "A mug")
    b.order("o-1", "c-1", P, [line("l1", "book", "s-1", 30.0), line("l2", "mug", "s-2", 30.0)])
    b.pay("o-1", at(P, minutes=5), 60.0)
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], at(P, hours=1))
    b.ship("sh-1", at(P, hours=2), "TRK-1")
    b.scan("TRK-1", at(P, hours=6), "accepted")  # and then nothing: it stalls
    b.create_shipment("sh-2", "o-1", "s-2", ["l2"], at(P, hours=1))
    b.ship("sh-2", at(P, hours=2), "TRK-2")
    b.scan("TRK-2", at(P, hours=6), "accepted")
    b.scan("TRK-2", at(P, days=2), "delivered")
    b.choose("o-1", "C-o-1-1", at(P, days=4), "refund")
    b.cancel("o-1", at(P, days=5), "seller", "lost_in_transit", line_ids=["l1"])
    replay(db_url, b, tmp_path)
    refunds = [(a["line_ids"], a["amount"]) for c in cases(db_url) for a in c["actions"] if a["type"] == "refund"]
    assert refunds == [(["l1"], 30.0)]  # once, by the click


def test_the_same_report_twice_is_one_refund_and_one_claim_against_the_seller(db_url, tmp_path):
    b = delivered(shop(), "o-1", [line("l1", "book", "s-books", 40.0)], 40.0)
    for minutes in (0, 2):
        b.add("customer.report", at(PLACED, days=3, minutes=minutes),
              {"order_id": "o-1", "problem": "not_as_described", "line_id": "l1", "wants": "refund"})
    replay(db_url, b, tmp_path)
    actions = [(a["type"], a.get("amount")) for c in cases(db_url) for a in c["actions"]
               if a["type"] in ("refund", "guarantee_claim")]
    assert actions == [("refund", 40.0), ("guarantee_claim", 40.0)]
