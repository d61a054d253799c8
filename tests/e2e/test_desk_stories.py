"""The customer desk: understood in French and English, answered from the dossier, resolved by
the same playbook every time."""

from __future__ import annotations

import json

from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, messages, ordercare, refused, replay

PLACED = "2026-05-28T09:14:00+02:00"


def base() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-fr", lang="fr", name="Claire", phone="+33611223344")
    b.customer("c-en", lang="en", name="Sam")
    for s in range(1, 12):
        b.seller(f"s-{s}", handling_days=2)
    b.sku("book", "Le Comte de Monte-Cristo").sku("used", "The Old Man and the Sea (used, like new)")
    b.sku("ipod", "iPod nano 8GB").sku("case", "Pink silicone case for iPod nano")
    return b


def delivered(b: EventBuilder, oid: str, sid: str, seller: str, line_ids: list[str], day: int = 2) -> None:
    b.create_shipment(sid, oid, seller, line_ids, at(PLACED, hours=3))
    b.ship(sid, at(PLACED, hours=5), f"T-{sid}")
    b.scan(f"T-{sid}", at(PLACED, hours=9), "accepted", "Paris")
    b.scan(f"T-{sid}", at(PLACED, days=day), "delivered", "Lyon")


def test_scribbled_used_book_from_a_silent_seller_is_refunded_the_same_day_and_claimed(db_url, tmp_path):
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "used", "s-3", 14.0)])
    b.pay("o-1", at(PLACED, minutes=1), 14.0)
    delivered(b, "o-1", "sh-1", "s-3", ["l1"])
    b.contact("k-1", "c-en", at(PLACED, days=3), "The book I bought as 'like new' is full of scribbles and "
              "highlighter on every page. This is not what was described at all.", order_id="o-1")
    replay(db_url, b, tmp_path)
    [case] = cases(db_url)
    assert case["reason"] == "not_as_described" and case["origin"] == "customer"
    kinds = {a["type"]: a for a in case["actions"]}
    assert kinds["refund"]["amount"] == 14.0 and kinds["refund"]["return_required"] is False
    assert kinds["refund"]["at"] == at(PLACED, days=3), "refunded the same moment"
    assert kinds["guarantee_claim"]["amount"] == 14.0
    [reply] = [m for m in messages(db_url) if m["kind"] == "reply"]
    assert "The Old Man and the Sea" in reply["text"] and "14.00 EUR" in reply["text"]
    assert "guarantee" in reply["text"]


def test_eleven_sellers_wrong_address_is_one_case_fixing_every_parcel(db_url, tmp_path):
    b = base()
    lines = [line(f"l{s}", "book", f"s-{s}", 8.0) for s in range(1, 12)]
    b.order("o-11", "c-en", PLACED, lines, address={"name": "Sam", "line1": "1 Old Road", "city": "Paris",
                                                     "postcode": "75001", "country": "FR"})
    for s in range(1, 12):
        b.create_shipment(f"sh-{s}", "o-11", f"s-{s}", [f"l{s}"], at(PLACED, hours=2))
        if s <= 4:  # four parcels are already on their way
            b.ship(f"sh-{s}", at(PLACED, hours=4), f"T-{s}")
    b.contact("k-1", "c-en", at(PLACED, hours=6), "I typed the wrong address on my order! Please send "
              "everything to 12 rue des Lilas, 69003 Lyon instead.", order_id="o-11")
    replay(db_url, b, tmp_path)
    [case] = [c for c in cases(db_url) if c["origin"] == "customer"]
    assert case["reason"] == "wrong_address"
    [update] = [a for a in case["actions"] if a["type"] == "update_address"]
    assert update["shipment_ids"] == sorted(f"sh-{s}" for s in range(1, 12))
    [intercept] = [a for a in case["actions"] if a["type"] == "intercept"]
    assert intercept["shipment_ids"] == ["sh-1", "sh-2", "sh-3", "sh-4"]
    [reply] = [m for m in messages(db_url) if m["kind"] == "reply"]
    assert "12 rue des Lilas" in reply["text"] and "69003 Lyon" in reply["text"] and "11 parcels" in reply["text"]


def test_french_book_missing_pages_47_to_58_gets_a_replacement_named_in_french(db_url, tmp_path):
    b = base()
    b.order("o-fr", "c-fr", PLACED, [line("l1", "book", "s-1", 9.5)])
    b.pay("o-fr", at(PLACED, minutes=1), 9.5)
    delivered(b, "o-fr", "sh-1", "s-1", ["l1"])
    b.contact("k-1", "c-fr", at(PLACED, days=4), "Bonjour, il manque les pages 47 à 58 dans le livre que "
              "j'ai reçu, elles ont été arrachées. Pouvez-vous faire quelque chose ? Claire", order_id="o-fr")
    replay(db_url, b, tmp_path)
    [case] = cases(db_url)
    assert case["reason"] == "damaged_or_defective"
    assert [a["type"] for a in case["actions"] if a["type"] == "replace"] == ["replace"]
    [reply] = [m for m in messages(db_url) if m["kind"] == "reply"]
    assert reply["lang"] == "fr"
    assert "pages 47 à 58" in reply["text"] and "Monte-Cristo" in reply["text"]


def test_ipod_customer_asks_a_refund_for_the_missing_case_then_the_case_for_free(db_url, tmp_path):
    b = base()
    b.order("o-ipod", "c-en", PLACED, [line("l-ipod", "ipod", "s-1", 149.0), line("l-case", "case", "s-2", 9.9)])
    b.pay("o-ipod", at(PLACED, minutes=1), 158.9)
    delivered(b, "o-ipod", "sh-1", "s-1", ["l-ipod"])
    delivered(b, "o-ipod", "sh-2", "s-2", ["l-case"])
    b.contact("k-1", "c-en", at(PLACED, days=3), "My iPod arrived but the pink case was not in the box. "
              "Please refund me for the case.", order_id="o-ipod")
    b.contact("k-2", "c-en", at(PLACED, days=3, hours=2), "Actually, instead of a refund, could you send me "
              "the case? I'd really like to have it.", order_id="o-ipod")
    replay(db_url, b, tmp_path)
    [case] = cases(db_url)
    # the model may read the first message as the missing item or as the refund it asks for
    assert case["reason"] in ("missing_item", "refund_request"), "the second contact joined the first case"
    [refund] = [a for a in case["actions"] if a["type"] == "refund"]
    assert refund["line_ids"] == ["l-case"] and refund["amount"] == 9.9, "only the case, never the iPod"
    [replace] = [a for a in case["actions"] if a["type"] == "replace"]
    assert replace["line_ids"] == ["l-case"]
    replies = [m["text"] for m in messages(db_url) if m["kind"] == "reply"]
    assert len(replies) == 2 and all("Pink silicone case" in r for r in replies)
    assert "iPod nano 8GB" not in replies[0]


def test_a_contact_about_a_stuck_parcel_joins_the_proactive_case(db_url, tmp_path):
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "book", "s-1", 9.5)])
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], at(PLACED, hours=3))
    b.ship("sh-1", at(PLACED, hours=5), "T-1", carrier="colissimo")
    b.scan("T-1", at(PLACED, hours=9), "accepted", "Roissy")
    b.contact("k-1", "c-en", at(PLACED, days=6), "Where is my order? It still hasn't arrived.", order_id="o-1")
    replay(db_url, b, tmp_path)
    [case] = cases(db_url)
    assert case["origin"] == "proactive" and case["first_contact_at"] == at(PLACED, days=6)
    [reply] = [m for m in messages(db_url) if m["kind"] == "reply"]
    assert reply["case_id"] == case["id"]
    assert "T-1" in reply["text"] and "Roissy" in reply["text"], "the real facts, not a canned reply"


def test_an_unusual_refund_history_gets_a_human_instead_of_an_automatic_refund(db_url, tmp_path):
    b = base()
    for i in range(4):
        oid = f"o-{i}"
        b.order(oid, "c-en", at(PLACED, days=i), [line("l1", "book", "s-1", 9.5)])
        b.pay(oid, at(PLACED, days=i, minutes=1), 9.5)
        b.create_shipment(f"sh-{i}", oid, "s-1", ["l1"], at(PLACED, days=i, hours=3))
        b.ship(f"sh-{i}", at(PLACED, days=i, hours=5), f"T-{i}")
        b.scan(f"T-{i}", at(PLACED, days=i + 1), "delivered")
        b.contact(f"k-{i}", "c-en", at(PLACED, days=i + 2), "The book arrived with a torn cover and water damage, "
                  "I want a refund please.", order_id=oid)
    replay(db_url, b, tmp_path)
    by_order = {c["order_id"]: c for c in cases(db_url)}
    refunded = [o for o, c in by_order.items() if any(a["type"] == "refund" for a in c["actions"])]
    assert refunded == ["o-0", "o-1", "o-2"]
    assert any(a["type"] == "escalate" for a in by_order["o-3"]["actions"])
    assert by_order["o-3"]["status"] == "open"


def test_the_same_situation_gets_the_same_resolution(db_url, tmp_path):
    b = base()
    texts = ["My parcel says delivered but I never got it. Nothing in my mailbox.",
             "Tracking shows delivered yesterday but there is no parcel, I checked with neighbours."]
    for i, text in enumerate(texts * 2):
        oid = f"o-{i}"
        seller_fulfilled = i < 2
        fulfilled_by = "seller" if seller_fulfilled else "platform"
        b.order(oid, "c-fr" if i % 2 else "c-en", PLACED, [line("l1", "book", "s-1", 20.0, fulfilled_by=fulfilled_by)])
        b.pay(oid, at(PLACED, minutes=1), 20.0)
        delivered(b, oid, f"sh-{i}", "s-1", ["l1"])
        b.contact(f"k-{i}", "c-fr" if i % 2 else "c-en", at(PLACED, days=3), text, order_id=oid)
    replay(db_url, b, tmp_path)
    plays = {c["order_id"]: [a["type"] for a in c["actions"] if a["type"] != "message_customer"]
             for c in cases(db_url) if c["reason"] != "out_of_stock"}
    assert plays["o-0"] == plays["o-1"] == ["refund", "guarantee_claim"]
    assert plays["o-2"] == plays["o-3"] == ["reship"]


def test_a_contact_without_order_number_goes_to_the_order_holding_the_item_it_names(db_url, tmp_path):
    b = base()
    b.order("o-old", "c-en", PLACED, [line("l1", "ipod", "s-1", 149.0)])
    b.pay("o-old", at(PLACED, minutes=1), 149.0)
    delivered(b, "o-old", "sh-1", "s-1", ["l1"])
    b.order("o-new", "c-en", at(PLACED, days=2), [line("l1", "book", "s-2", 9.5)])
    b.contact("k-1", "c-en", at(PLACED, days=4), "Hi, the iPod nano I got does not turn on at all, "
              "the screen stays black. Can you help?")
    replay(db_url, b, tmp_path)
    [case] = [c for c in cases(db_url) if c["origin"] == "customer"]
    assert case["order_id"] == "o-old", "not simply the latest order"
    assert case["reason"] == "damaged_or_defective"


def test_the_guarantee_is_open_until_90_days_after_the_promised_delivery(db_url, tmp_path):
    b = base()
    for oid, days in (("o-in", 80), ("o-out", 120)):
        b.order(oid, "c-en", PLACED, [line("l1", "used", "s-3", 90.0)])
        b.pay(oid, at(PLACED, minutes=1), 90.0)
        delivered(b, oid, f"sh-{oid}", "s-3", ["l1"])
        b.contact(f"k-{oid}", "c-en", at(PLACED, days=days), "The book is not as described at all: the "
                  "listing said like new, it is torn and stained.", order_id=oid)
    replay(db_url, b, tmp_path)
    by_order = {c["order_id"]: [a["type"] for a in c["actions"]] for c in cases(db_url)}
    assert "guarantee_claim" in by_order["o-in"]
    assert "guarantee_claim" not in by_order["o-out"], "past the claim window, no claim on the seller"


def test_the_dossier_holds_the_whole_file(db_url, tmp_path):
    b = base()
    b.order("o-1", "c-fr", PLACED, [line("l1", "book", "s-1", 9.5)])
    b.pay("o-1", at(PLACED, minutes=1), 9.5)
    delivered(b, "o-1", "sh-1", "s-1", ["l1"])
    b.contact("k-1", "c-fr", at(PLACED, days=4), "Il manque les pages 47 à 58 de mon livre.", order_id="o-1")
    replay(db_url, b, tmp_path)
    dossier = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))
    assert dossier["lines"][0]["title"] == "Le Comte de Monte-Cristo"
    assert [s["status"] for s in dossier["shipments"][0]["scans"]] == ["accepted", "delivered"]
    assert dossier["deliver_by"] and dossier["contacts"][0]["contact_id"] == "k-1"
    assert dossier["cases"][0]["reason"] == "damaged_or_defective"
    assert dossier["customer"]["orders"] == 1 and dossier["customer"]["lang"] == "fr"
    assert refused("dossier", "o-nope", "--db", db_url) == "error: no order 'o-nope' in the store"


def test_a_contact_without_order_number_acts_on_the_order_holding_the_item_named(db_url, tmp_path):
    """"My iPod arrived broken", with no order number, from a customer whose latest order is a
    book: the case and the refund are about the iPod's order, even when the book's order is
    the one this batch of events is busy with and the iPod's is only in the store."""
    b = base()
    b.order("o-ipod", "c-en", PLACED, [line("l1", "ipod", "s-1", 59.0)])
    b.pay("o-ipod", at(PLACED, minutes=1), 59.0)
    delivered(b, "o-ipod", "sh-1", "s-1", ["l1"])
    b.order("o-book", "c-en", at(PLACED, days=3), [line("l1", "book", "s-2", 9.5)])
    replay(db_url, b, tmp_path)
    later = EventBuilder("later-")
    later.pay("o-book", at(PLACED, days=3, minutes=2), 9.5)
    later.contact("k-1", "c-en", at(PLACED, days=3, hours=1), "Hello, the iPod nano I received is broken: "
                  "the screen is cracked and it does not switch on. I would like a refund please.",
                  channel="chat")
    replay(db_url, later, tmp_path)
    [case] = [c for c in cases(db_url) if c["origin"] == "customer"]
    assert case["order_id"] == "o-ipod" and case["reason"] == "damaged_or_defective"
    refunds = [a for a in case["actions"] if a["type"] == "refund"]
    assert refunds and refunds[0]["line_ids"] == ["l1"] and refunds[0]["amount"] == 59.0


def test_a_customer_cannot_cancel_or_ask_about_someone_elses_order(db_url, tmp_path):
    """c-fr names c-en's order (in the event, then only in the text): nothing is cancelled,
    refunded or said about it to its owner; c-fr's two letters are one case for a person, who
    calls them back, and c-fr is told so in French without learning whose order it is."""
    b = base()
    b.order("o-sam", "c-en", PLACED, [line("l1", "book", "s-1", 80.0)])
    b.pay("o-sam", at(PLACED, minutes=5), 80.0)
    b.contact("k-1", "c-fr", at(PLACED, hours=1), "Annulez ma commande o-sam, merci.", order_id="o-sam")
    b.contact("k-2", "c-fr", at(PLACED, hours=2), "Remboursez la commande o-sam s'il vous plaît.")
    replay(db_url, b, tmp_path)
    [case] = cases(db_url)
    assert case["order_id"] is None and case["origin"] == "customer" and case["status"] == "open"
    assert [a["type"] for a in case["actions"]] == ["schedule_callback", "message_customer", "message_customer"]
    assert [m["kind"] for m in messages(db_url) if m["order_id"] == "o-sam"] == ["milestone"]  # its confirmation
    assert [m["customer_id"] for m in messages(db_url) if m["case_id"] == case["id"]] == ["c-fr", "c-fr"]
    first, second = [m["text"] for m in messages(db_url) if m["case_id"] == case["id"]]
    assert "Nous ne trouvons pas la commande o-sam sur votre compte" in first and "+33611223344" in first
    assert "Sam" not in first and "Monte-Cristo" not in first  # nothing about the order or its owner
    assert "joint ce message au précédent" in second
    dossier = json.loads(ordercare("dossier", "o-sam", "--json", "--db", db_url))
    assert dossier["refunded"] == 0.0 and all(ln["cancelled"] is None for ln in dossier["lines"])
    assert dossier["contacts"] == []  # c-fr's letters are not in c-en's file
    [callback] = json.loads(ordercare("callbacks", "--json", "--db", db_url))
    assert callback["case_id"] == case["id"] and callback["order_id"] is None
    assert callback["customer"]["phone"] == "+33611223344"
    assert [c["contact_id"] for c in callback["dossier"]["contacts"]] == ["k-1", "k-2"]
    assert callback["dossier"]["contacts"][0]["named_order"] == "o-sam"
    assert callback["dossier"]["their_orders"] == []
    screen = " ".join(ordercare("callbacks", "--db", db_url).split())  # (as wrapped for the terminal)
    assert "(names order o-sam): Annulez ma commande o-sam" in screen and "their orders: none" in screen


def test_a_customer_with_no_order_is_answered_and_called_back(db_url, tmp_path):
    """Sam has ordered nothing yet and asks where their order is: one case for a person, a
    callback due at once, and an answer in English that says plainly what we found; a reply
    after a person resolved nothing still joins the same open case."""
    b = base()
    b.contact("k-1", "c-en", PLACED, "Hello, where is my order? I paid yesterday.", channel="email")
    replay(db_url, b, tmp_path)
    [case] = cases(db_url)
    assert case["order_id"] is None and case["opened_at"] == PLACED  # in their local time
    [reply] = [m for m in messages(db_url) if m["case_id"] == case["id"]]
    assert reply["kind"] == "reply" and reply["lang"] == "en"
    assert "We could not find an order on your account" in reply["text"]
    assert "get back to you by " in reply["text"]
    [callback] = json.loads(ordercare("callbacks", "--json", "--db", db_url))
    assert callback["rule"] == "orderless" and callback["due_at"] == PLACED
    # Sam orders, then writes again naming no order: the open case takes the letter (no second call).
    later = EventBuilder("later-")
    later.order("o-1", "c-en", at(PLACED, days=1), [line("l1", "book", "s-1", 9.5)])
    later.contact("k-2", "c-en", at(PLACED, days=1, minutes=1), "Any news about my question?")
    replay(db_url, later, tmp_path)
    orderless = [c for c in cases(db_url) if c["order_id"] is None]
    assert [c["id"] for c in orderless] == [case["id"]]
    assert len(json.loads(ordercare("callbacks", "--json", "--db", db_url))) == 1


def test_an_order_named_only_in_the_text_is_found_in_the_store(db_url, tmp_path):
    """"The invoice for order o-1" written after both orders were stored by an earlier
    replay: the answer is about o-1, not the customer's latest order."""
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "book", "s-1", 9.5)])
    b.order("o-2", "c-en", at(PLACED, days=1), [line("l1", "used", "s-2", 14.0)])
    replay(db_url, b, tmp_path)
    later = EventBuilder("later-").contact("k-1", "c-en", at(PLACED, days=2), "Could you send me the invoice "
                                           "for order o-1 please?")
    replay(db_url, later, tmp_path)
    [case] = cases(db_url)
    assert case["order_id"] == "o-1"


def _two_customers(b: EventBuilder) -> None:
    b.customer("c-fr", lang="fr", name="Claire").customer("c-en", lang="en", name="Sam")
    b.seller("s-1").seller("s-2").sku("book", "Un livre").sku("ipod", "iPod nano")
    b.order("o-100", "c-en", PLACED, [line("l1", "book", "s-1", 80.0)])
    b.pay("o-100", at(PLACED, minutes=5), 80.0)
    b.order("o-200", "c-fr", at(PLACED, minutes=10), [line("l1", "ipod", "s-2", 50.0)])
    b.pay("o-200", at(PLACED, minutes=15), 50.0)


def test_someone_elses_order_named_in_the_text_acts_on_nothing_in_a_later_run(db_url, tmp_path):
    b = EventBuilder()
    _two_customers(b)
    replay(db_url, b, tmp_path)          # (in one run with the letter: an orderless case, nothing done)
    later = EventBuilder("later-")
    later.contact("k-1", "c-fr", at(PLACED, hours=1), "Annulez la commande o-100 et remboursez-moi.")
    replay(db_url, later, tmp_path)
    own = json.loads(ordercare("dossier", "o-200", "--json", "--db", db_url))
    assert own["refunded"] == 0.0 and own["lines"][0]["cancelled"] is None, "her own iPod order was touched"
    assert [c["order_id"] for c in cases(db_url)] == [None]


def test_a_letter_naming_someone_elses_order_is_not_a_contact_about_it(db_url, tmp_path):
    from ordercare.insights.causes import insights
    from ordercare.services import open_store
    b = EventBuilder()
    _two_customers(b)
    b.contact("k-1", "c-fr", at(PLACED, hours=1), "Où en est la commande ?", order_id="o-100")
    replay(db_url, b, tmp_path)
    rows = insights(open_store(db_url))
    [s1] = [r for r in rows if r["dimension"] == "seller" and r["key"] == "s-1" and r["problem"] == "all"]
    assert (s1["units"], s1["problems"]) == (1, 0), "her letter is no problem of the other order's seller"


def test_two_letters_at_one_instant_both_answered(db_url, tmp_path):
    b = EventBuilder()
    b.customer("c-en", lang="en", name="Sam")
    b.contact("k-1", "c-en", PLACED, "Hello, where is my order? I paid yesterday.")
    b.contact("k-2", "c-en", PLACED, "Also, please call me back.", channel="chat")
    replay(db_url, b, tmp_path)
    assert any("We could not find an order on your account" in m["text"] for m in messages(db_url))


def _in_transit(b: EventBuilder, oid: str, sid: str, seller: str, line_ids: list[str]) -> None:
    b.create_shipment(sid, oid, seller, line_ids, at(PLACED, hours=3))
    b.ship(sid, at(PLACED, hours=5), f"T-{sid}")
    b.scan(f"T-{sid}", at(PLACED, hours=9), "in_transit", "Paris")


def test_not_received_while_in_transit_gets_tracking_not_a_refund(db_url, tmp_path):
    """"I never received my order" the day after it shipped, the parcel moving and on time:
    it is a "where is it?" (tracking, promise), not a lost parcel refunded and claimed from
    the seller; in French, "pas encore reçu" brings no free second copy either."""
    b = base()
    texts = {"o-en": ("c-en", "I never received my order."), "o-fr": ("c-fr", "Pas reçu mon colis"),
             "o-yet": ("c-fr", "Je n'ai pas encore reçu mon colis.")}
    for oid, (cust, text) in texts.items():
        b.order(oid, cust, PLACED, [line("l1", "book", "s-1", 9.5)])
        b.pay(oid, at(PLACED, minutes=1), 9.5)
        _in_transit(b, oid, f"sh-{oid}", "s-1", ["l1"])
        b.contact(f"k-{oid}", cust, at(PLACED, days=1, hours=3), text, order_id=oid)
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=1, hours=4))
    found = cases(db_url)
    assert sorted(c["order_id"] for c in found) == ["o-en", "o-fr", "o-yet"]
    for case in found:
        assert case["reason"] == "where_is_my_order" and case["status"] != "resolved"
        assert [a["type"] for a in case["actions"]] == ["message_customer"], "nothing refunded, claimed or sent"
    replies = {m["order_id"]: m["text"] for m in messages(db_url) if m["kind"] == "reply"}
    assert "tracking T-sh-o-en" in replies["o-en"] and "We promised delivery by Thursday 4 June" in replies["o-en"]
    assert "delivered" not in replies["o-en"] and "refunded" not in replies["o-en"]
    for oid in ("o-fr", "o-yet"):
        assert f"suivi T-sh-{oid}" in replies[oid] and "livraison au plus tard le jeudi 4 juin" in replies[oid]
        assert "livré" not in replies[oid] and "gratuitement" not in replies[oid]


def test_delivered_but_never_got_it_refunds_only_the_parcel_scanned_delivered(db_url, tmp_path):
    """Two sellers: the book's parcel is scanned delivered and never came, the used book is not
    shipped yet (on time). Only the book is refunded and claimed, and the reply gives the day
    of the delivered scan, not of a later scan."""
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "book", "s-1", 9.5), line("l2", "used", "s-2", 14.0)])
    b.pay("o-1", at(PLACED, minutes=1), 23.5)
    delivered(b, "o-1", "sh-1", "s-1", ["l1"], day=1)
    b.scan("T-sh-1", at(PLACED, days=2), "in_transit", "Lyon")  # a stray scan after the delivery
    b.contact("k-1", "c-en", at(PLACED, days=2, hours=3), "The tracking says my parcel was delivered yesterday "
              "but I never got it. Nothing in the mailbox.", order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=2, hours=4))
    [case] = cases(db_url)
    assert case["reason"] == "not_received"
    done = {a["type"]: (a["line_ids"], a["amount"]) for a in case["actions"] if a["type"] != "message_customer"}
    assert done == {"refund": (["l1"], 9.5), "guarantee_claim": (["l1"], 9.5)}, "never the line still to ship"
    [reply] = [m["text"] for m in messages(db_url) if m["kind"] == "reply"]
    assert "Le Comte de Monte-Cristo shows as delivered on Friday 29 May" in reply and "Old Man" not in reply


def _asked_where_then(b: EventBuilder, text: str) -> None:
    b.order("o-1", "c-en", PLACED, [line("l1", "book", "s-1", 9.5)])
    b.pay("o-1", at(PLACED, minutes=1), 9.5)
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], at(PLACED, hours=3))
    b.ship("sh-1", at(PLACED, hours=5), "T-1")
    b.scan("T-1", at(PLACED, hours=9), "accepted", "Paris")
    b.contact("k-1", "c-en", at(PLACED, days=1), "Hello, where is my order? Any news?", order_id="o-1")
    b.scan("T-1", at(PLACED, days=2), "delivered", "Lyon")
    b.contact("k-2", "c-en", at(PLACED, days=3), text, order_id="o-1")


def test_arrived_damaged_after_asking_where_it_was_is_made_good(db_url, tmp_path):
    """"Where is my order?", then, once it came, "it arrived damaged": a new problem of its
    own, made good, not an answer about the tracking again."""
    b = base()
    _asked_where_then(b, "The book arrived today with the cover torn and pages ripped out. It is damaged, "
                         "please do something.")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=3, minutes=1))
    where, damaged = cases(db_url)
    assert where["reason"] == "where_is_my_order" and [a["type"] for a in where["actions"]] == ["message_customer"]
    assert damaged["reason"] == "damaged_or_defective"
    assert [a["line_ids"] for a in damaged["actions"] if a["type"] == "replace"] == [["l1"]]
    last = [m["text"] for m in messages(db_url) if m["kind"] == "reply"][-1]
    assert "arrived damaged" in last and "tracking" not in last


def test_delivered_but_never_got_it_after_asking_where_it_was_is_made_good(db_url, tmp_path):
    """"Where is my order?", then "the tracking says delivered but I never got it": the same
    conversation, decided as what it now is (refunded under the guarantee), not as the first."""
    b = base()
    _asked_where_then(b, "The tracking says delivered yesterday but I never got it. Nothing in my mailbox, "
                         "I asked the neighbours.")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=3, minutes=1))
    [case] = cases(db_url)
    assert [(a["type"], a.get("amount")) for a in case["actions"] if a["type"] != "message_customer"] == [
        ("refund", 9.5), ("guarantee_claim", 9.5)]
    last = [m["text"] for m in messages(db_url) if m["kind"] == "reply"][-1]
    assert "shows as delivered on Saturday 30 May, but you did not receive it" in last and "9.50 EUR" in last


def test_one_item_missing_without_saying_which_is_asked_which_not_both_replaced(db_url, tmp_path):
    """Both items came in one parcel; "one of the items was missing", none named: we ask which
    (a person looks too), and replace nothing; the answer naming it is made good."""
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "ipod", "s-1", 149.0), line("l2", "case", "s-1", 9.9)])
    b.pay("o-1", at(PLACED, minutes=1), 158.9)
    delivered(b, "o-1", "sh-1", "s-1", ["l1", "l2"])
    b.contact("k-1", "c-en", at(PLACED, days=3), "I opened my parcel today and one of the items was missing, "
              "only one thing was in the box.", order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=3, minutes=1))
    [case] = cases(db_url)
    assert case["reason"] == "missing_item" and case["status"] == "open"
    assert [a["type"] for a in case["actions"]] == ["escalate", "message_customer"], "nothing replaced"
    [reply] = [m["text"] for m in messages(db_url) if m["kind"] == "reply"]
    assert "Which of these did not arrive: iPod nano 8GB, Pink silicone case for iPod nano?" in reply
    later = EventBuilder("later-").contact("k-2", "c-en", at(PLACED, days=3, hours=2), "It was the pink case.",
                                           order_id="o-1")
    replay(db_url, later, tmp_path, "--until", at(PLACED, days=3, hours=3))
    [case] = cases(db_url)
    assert [a["line_ids"] for a in case["actions"] if a["type"] == "replace"] == [["l2"]]


def test_wrong_address_without_the_new_one_asks_for_it_and_changes_nothing(db_url, tmp_path):
    """"I put the wrong address" with no new one: no address fix, no parcel stopped, no "your
    parcel now goes to" the old address; we ask for it, in their language, the case open."""
    b = base()
    texts = {"o-en": ("c-en", "I made a mistake in my delivery address, the street number is wrong. "
                              "Can you change it please?"),
             "o-fr": ("c-fr", "Bonjour, je me suis trompée dans l'adresse de livraison, pouvez-vous la corriger ?")}
    for oid, (cust, text) in texts.items():
        b.order(oid, cust, PLACED, [line("l1", "book", "s-1", 9.5)],
                address={"name": "X", "line1": "1 Old Road", "city": "Paris", "postcode": "75001", "country": "FR"})
        b.create_shipment(f"sh-{oid}", oid, "s-1", ["l1"], at(PLACED, hours=2))
        b.ship(f"sh-{oid}", at(PLACED, hours=4), f"T-{oid}")
        b.contact(f"k-{oid}", cust, at(PLACED, hours=6), text, order_id=oid)
    replay(db_url, b, tmp_path, "--until", at(PLACED, hours=7))
    for case in cases(db_url):
        assert case["reason"] == "wrong_address" and case["status"] == "open"
        assert [a["type"] for a in case["actions"]] == ["escalate", "message_customer"]
    replies = {m["order_id"]: m["text"] for m in messages(db_url) if m["kind"] == "reply"}
    assert "Please reply with the full new address" in replies["o-en"] and "1 Old Road" not in replies["o-en"]
    assert "Répondez-nous avec la nouvelle adresse complète" in replies["o-fr"]
    assert "1 Old Road" not in replies["o-fr"]


def test_cancelling_one_unshipped_item_does_not_stop_the_parcel_on_its_way(db_url, tmp_path):
    """"Cancel the pink case, keep the iPod coming": the case is cancelled and refunded; the
    iPod's parcel, already on its way, is not intercepted."""
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "ipod", "s-1", 149.0), line("l2", "case", "s-2", 9.9)])
    b.pay("o-1", at(PLACED, minutes=1), 158.9)
    _in_transit(b, "o-1", "sh-1", "s-1", ["l1"])
    b.contact("k-1", "c-en", at(PLACED, hours=12), "Please cancel the pink case from my order, I don't need "
              "it anymore. Keep the iPod coming.", order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, hours=13))
    [case] = cases(db_url)
    assert [a["line_ids"] for a in case["actions"] if a["type"] == "refund"] == [["l2"]]
    assert not [a for a in case["actions"] if a["type"] == "intercept"], "the iPod's parcel was stopped"


def test_not_as_described_with_no_payment_taken_claims_nothing_from_the_seller(db_url, tmp_path):
    """No payment captured yet: nothing is refunded, so nothing is claimed from the seller (no
    defect on their record) and the reply does not speak of the guarantee."""
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "used", "s-3", 14.0)])
    delivered(b, "o-1", "sh-1", "s-3", ["l1"])
    b.contact("k-1", "c-en", at(PLACED, days=3), "The book I bought as 'like new' is full of scribbles on every "
              "page. This is not what was described at all.", order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=3, minutes=1))
    [case] = cases(db_url)
    assert [a["type"] for a in case["actions"]] == ["escalate", "message_customer"]
    [reply] = [m["text"] for m in messages(db_url) if m["kind"] == "reply"]
    assert "guarantee" not in reply and "No payment has been taken" in reply


def test_a_callback_asked_while_the_order_is_on_time_does_not_say_it_is_late(db_url, tmp_path):
    """"Where is my order? Call me back" the day after ordering: a call is booked, and the
    reply does not apologise for a lateness there is not (English and French)."""
    b = base()
    texts = {"o-en": ("c-en", "Hi, where is my order? Could you call me back please."),
             "o-fr": ("c-fr", "Bonjour, où en est ma commande ? Pouvez-vous me rappeler svp.")}
    for oid, (cust, text) in texts.items():
        b.order(oid, cust, PLACED, [line("l1", "book", "s-1", 9.5)])
        b.pay(oid, at(PLACED, minutes=1), 9.5)
        _in_transit(b, oid, f"sh-{oid}", "s-1", ["l1"])
        b.contact(f"k-{oid}", cust, at(PLACED, days=1), text, order_id=oid)
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=1, minutes=1))
    assert all(any(a["type"] == "schedule_callback" for a in c["actions"]) for c in cases(db_url))
    replies = {m["order_id"]: m["text"] for m in messages(db_url) if m["kind"] == "reply"}
    assert "We promised delivery by Thursday 4 June." in replies["o-en"] and "late" not in replies["o-en"]
    assert "livraison au plus tard le jeudi 4 juin." in replies["o-fr"] and "retard" not in replies["o-fr"]


def test_no_need_to_call_me_back_books_no_call(db_url, tmp_path):
    b = base()
    b.order("o-1", "c-fr", PLACED, [line("l1", "book", "s-1", 9.5)])
    b.pay("o-1", at(PLACED, minutes=1), 9.5)
    _in_transit(b, "o-1", "sh-1", "s-1", ["l1"])
    b.contact("k-1", "c-fr", at(PLACED, days=1), "Inutile de me rappeler, répondez-moi par mail svp. "
              "Où est mon colis ?", order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=1, minutes=1))
    [case] = cases(db_url)
    assert not [a for a in case["actions"] if a["type"] == "schedule_callback"]
    assert json.loads(ordercare("callbacks", "--json", "--db", db_url)) == []


def test_an_order_number_typed_in_capitals_finds_the_customers_order(db_url, tmp_path):
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "book", "s-1", 9.5)])
    b.pay("o-1", at(PLACED, minutes=1), 9.5)
    delivered(b, "o-1", "sh-1", "s-1", ["l1"])
    b.contact("k-1", "c-en", at(PLACED, days=3), "Order O-1: the book arrived with the cover torn and pages "
              "ripped out, it is damaged.")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=3, minutes=1))
    [case] = cases(db_url)
    assert case["order_id"] == "o-1" and any(a["type"] == "replace" for a in case["actions"])


def test_an_item_cancelled_and_refunded_said_missing_is_explained_not_sent(db_url, tmp_path):
    """The seller cancelled the pink case (refunded at once); the customer, who missed that
    mail, writes that it was not in the box: no replacement of a cancelled line, and the
    reply says it was cancelled and refunded."""
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "ipod", "s-1", 149.0), line("l2", "case", "s-2", 9.9)])
    b.pay("o-1", at(PLACED, minutes=1), 158.9)
    b.cancel("o-1", at(PLACED, hours=2), "seller", "out_of_stock", ["l2"])
    delivered(b, "o-1", "sh-1", "s-1", ["l1"])
    b.contact("k-1", "c-en", at(PLACED, days=3), "My iPod arrived but the pink case was not in the box. "
              "Please send it.", order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=3, minutes=1))
    assert not [a for c in cases(db_url) for a in c["actions"] if a["type"] in ("replace", "reship")]
    reply = [m["text"] for m in messages(db_url) if m["kind"] == "reply"][-1]
    assert "Pink silicone case for iPod nano was cancelled on Thursday 28 May" in reply
    assert "has been refunded" in reply


def test_where_is_my_order_about_a_wholly_cancelled_order_says_it_was_cancelled_not_late(db_url, tmp_path):
    """The seller cancelled both lines (refunded at once); the customer, who missed that mail,
    asks where the order is: told it was cancelled, not that it is late, and no call booked."""
    b = base()
    b.order("o-1", "c-en", PLACED, [line("l1", "ipod", "s-1", 149.0), line("l2", "case", "s-1", 9.9)])
    b.pay("o-1", at(PLACED, minutes=1), 158.9)
    b.cancel("o-1", at(PLACED, hours=2), "seller", "out_of_stock")
    b.contact("k-1", "c-en", at(PLACED, days=9), "Where is my order? It should have arrived by now.",
              order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=9, minutes=1))
    reply = [m["text"] for m in messages(db_url) if m["kind"] == "reply"][-1]
    assert "was cancelled on Thursday 28 May" in reply and "late" not in reply
    assert json.loads(ordercare("callbacks", "--json", "--db", db_url)) == []
