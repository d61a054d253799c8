"""The restock date we give a customer waiting for stock, and what happens when it passes.

A lamp out of stock: the stock-out message says when new stock is expected. That date comes
from the purchase orders on their way (first expected first, serving the waiting lines in
their order; their date and a day's margin, ``restock_margin_days``: suppliers are sometimes
late), else from the supplier's lead time. If the day passes and the lamp still waits,
the customer hears it from us (with the next date) and a person calls; never if the stock
came in time.
"""

from __future__ import annotations

import json
from datetime import datetime

from ordercare.sim.builder import EventBuilder, at
from tests.e2e.cli import cases, messages, ordercare, replay
from tests.e2e.test_fulfilment import DAY, fc_shop, platform  # DAY: Tuesday 2 June 2026, 09:00 Paris


def t(s: str) -> datetime:
    return datetime.fromisoformat(s)


def purchase(b: EventBuilder, po_id: str, placed: str, qty: int, expected: str | None) -> None:
    data = {"po_id": po_id, "supplier_id": "sup-1", "fc_id": "FC-LYS", "lines": [{"sku": "LAMP", "qty": qty}]}
    if expected is not None:
        data["expected_at"] = expected
    b.add("purchase_order.placed", placed, data)


def received(b: EventBuilder, po_id: str, moment: str, qty: int) -> None:
    b.add("inventory.received", moment, {"fc_id": "FC-LYS", "sku": "LAMP", "qty": qty, "seller_id": "s-home",
                                         "po_id": po_id})


def lamp_order(b: EventBuilder, order_id: str, customer: str, moment: str) -> None:
    b.order(order_id, customer, moment, [platform("l1", "LAMP", 49.0)])
    b.pay(order_id, at(moment, minutes=1), 49.0)


def stock_told(db_url: str, order_id: str) -> list[dict]:
    return [m for m in messages(db_url) if m["order_id"] == order_id and m["kind"] == "exception"]


def callbacks(db_url: str) -> list[dict]:
    return json.loads(ordercare("callbacks", "--json", "--db", db_url))


def test_the_restock_date_comes_from_the_purchase_orders_on_their_way_in_queue_order(db_url, tmp_path):
    """Two purchase orders on their way, 1 lamp on Wednesday, 5 the next Wednesday: the first
    customer waiting is told Thursday (Wednesday and the day's margin), the second the
    Thursday after (the first lamp is the first customer's); with nothing on order, the lead
    time (6 days) from the order. The book of what is on order outlives the run that heard
    the purchase orders."""
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 1, at(DAY, days=1, hours=1))   # Wednesday 3 June
    purchase(b, "PO-2", at(DAY, days=-1), 5, at(DAY, days=8, hours=1))   # Wednesday 10 June
    replay(db_url, b, tmp_path)

    later = EventBuilder(prefix="e2-")
    lamp_order(later, "o-first", "c-bob", DAY)
    lamp_order(later, "o-second", "c-bob", at(DAY, hours=1))
    replay(db_url, later, tmp_path)
    assert "We expect new stock around Thursday 4 June." in stock_told(db_url, "o-first")[0]["text"]
    assert "We expect new stock around Thursday 11 June." in stock_told(db_url, "o-second")[0]["text"], \
        "the first lamp on its way is the first customer's: the second waits for the next delivery"

    gone = EventBuilder(prefix="e3-")
    gone.add("purchase_order.cancelled", at(DAY, hours=2), {"po_id": "PO-2", "reason": "supplier out"})
    received(gone, "PO-1", at(DAY, hours=3), 1)  # early: the first customer's lamp is served
    lamp_order(gone, "o-third", "c-anne", at(DAY, hours=4))
    replay(db_url, gone, tmp_path)
    assert "Nous attendons du stock vers le lundi 8 juin." in stock_told(db_url, "o-third")[0]["text"], \
        "nothing left on order: the supplier's lead time (6 days) from the order"


def test_the_restock_day_passes_the_customer_hears_it_with_the_next_date_and_a_person_calls(db_url, tmp_path):
    """The lamp was told for around Thursday (the purchase order's Wednesday and a day); the
    supplier is late. On Saturday morning (the day after that day, at 09:00) the customer
    hears that we got the date wrong, when the next delivery is expected, that a person will
    call, and can still cancel in one click. Once: the next mornings bring nothing more. When
    the lamp ships, the call is called off."""
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, days=1, hours=1))
    purchase(b, "PO-2", at(DAY, days=-1), 5, at(DAY, days=8, hours=1))
    lamp_order(b, "o-lamp", "c-bob", DAY)
    b.customer("c-bob", lang="en", at=at(DAY, days=-10), name="Bob", phone="+33 6 12 34 56 78")
    replay(db_url, b, tmp_path, "--until", at(DAY, days=5))

    told = stock_told(db_url, "o-lamp")
    assert [m["subject"] for m in told] == [
        "Your order o-lamp: Brass desk lamp is out of stock — your choice",
        "Your order o-lamp: Brass desk lamp is still out of stock — sorry, and your choice"]
    again = told[1]
    assert t(again["at"]) == t("2026-06-06T09:00:00+02:00"), "Saturday 09:00: Thursday and one more day over"
    assert "around Thursday 4 June. It has not arrived" in again["text"]
    assert "now expected around Thursday 11 June" in again["text"], "the next purchase order's, and a day"
    assert "call you at +33 6 12 34 56 78" in again["text"] and "/choice/" in again["text"]
    [call] = callbacks(db_url)
    assert call["order_id"] == "o-lamp" and call["rule"] == "restock_overdue"
    [case] = cases(db_url)
    assert case["reason"] == "out_of_stock" and case["status"] == "waiting", "no second case"
    assert t(case["restock_expected_at"]) == t(at(DAY, days=9, hours=1)), "the case keeps the date it gave last"

    came = EventBuilder(prefix="e2-")
    received(came, "PO-1", at(DAY, days=5, hours=2), 5)
    came.create_shipment("sh-lamp", "o-lamp", "s-home", ["l1"], at(DAY, days=5, hours=4))
    came.ship("sh-lamp", at(DAY, days=5, hours=6), "TRK-LAMP")
    replay(db_url, came, tmp_path)
    told = stock_told(db_url, "o-lamp")
    assert len(told) == 3, "nothing more between Friday and the lamp shipping"
    assert "TRK-LAMP" in told[2]["text"] and "no longer need the call" in told[2]["text"]
    assert callbacks(db_url) == [], "the call booked for the late stock is called off"
    [case] = cases(db_url)
    assert case["status"] == "resolved"


def test_stock_that_comes_by_the_day_we_said_brings_no_apology_for_lateness(db_url, tmp_path):
    """The stock came on the day we said; the lamp ships the next Saturday (the warehouse was
    slow, not the supplier): the customer is not told the stock is late, nobody calls."""
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, days=1, hours=1))
    lamp_order(b, "o-lamp", "c-anne", DAY)
    received(b, "PO-1", at(DAY, days=1, hours=2), 5)
    b.create_shipment("sh-lamp", "o-lamp", "s-home", ["l1"], at(DAY, days=4, hours=4))
    b.ship("sh-lamp", at(DAY, days=4, hours=6), "TRK-LAMP")
    replay(db_url, b, tmp_path)
    told = stock_told(db_url, "o-lamp")
    assert told[0]["subject"] == "Votre commande o-lamp : Brass desk lamp est en rupture de stock — à vous de choisir"
    assert not [m for m in told if "toujours en rupture" in m["subject"]], \
        "the stock came on time: Friday morning passes in silence"
    assert callbacks(db_url) == []
    assert not [a for c in cases(db_url) for a in c["actions"] if a.get("rule") == "restock_overdue"]


def test_a_purchase_order_without_a_date_is_expected_its_lead_time_after_it_was_placed(db_url, tmp_path):
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-4), 5, None)  # Friday 29 May + 6 days: Thursday 4 June
    lamp_order(b, "o-lamp", "c-bob", DAY)
    replay(db_url, b, tmp_path)
    assert "We expect new stock around Friday 5 June." in stock_told(db_url, "o-lamp")[0]["text"], \
        "Thursday, and the day's margin"


def test_told_the_stock_would_come_in_time_a_missed_ship_by_is_news_and_opens_the_late_shipment_case(
        db_url, tmp_path):
    """Ordered on Friday, ship-by Monday; stock expected that Friday afternoon (told: around
    Saturday, in time for Monday). The stock comes, but the warehouse does not send the lamp
    by Monday: that is news the customer was not told (it used to pass in silence behind the
    stock-out case), so the late-shipment case opens at the ship-by, in our warehouse's words
    (not "waiting for stock": it came)."""
    fri = at(DAY, days=3)
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(fri, hours=6))   # Friday 15:00
    lamp_order(b, "o-lamp", "c-bob", fri)
    received(b, "PO-1", at(fri, hours=5), 5)
    b.create_shipment("sh-lamp", "o-lamp", "s-home", ["l1"], at(fri, days=4, hours=2))
    b.ship("sh-lamp", at(fri, days=4, hours=4), "TRK-LAMP")
    replay(db_url, b, tmp_path)

    first = stock_told(db_url, "o-lamp")[0]
    assert "We expect new stock around Saturday 6 June, in time to ship it by Monday 8 June" in first["text"]
    found = {c["reason"]: c for c in cases(db_url)}
    assert set(found) == {"out_of_stock", "late_shipment"}
    late = found["late_shipment"]
    assert t(late["opened_at"]) == t("2026-06-08T23:59:59+02:00"), "at the ship-by, not at the deliver-by"
    opened = [m for m in messages(db_url) if m["case_id"] == late["id"]][0]
    assert "should have left our warehouse" in opened["text"] and "waiting for stock" not in opened["text"]
    assert len([m for m in messages(db_url) if "TRK-LAMP" in m["text"]]) == 1, "one 'on its way'"


def test_told_in_time_and_the_stock_never_came_the_customer_hears_the_next_date_before_the_ship_by(
        db_url, tmp_path):
    """Told on Friday that stock would come around Saturday, in time for Monday's ship-by; it
    does not come. Monday 09:00 (Saturday and a day over) the customer hears it, with the next
    delivery's date (the Tuesday after, and a day), and a person will call: the ship-by passing
    that night is what they were just told, not a second case."""
    fri = at(DAY, days=3)
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(fri, hours=6))             # never comes
    purchase(b, "PO-2", at(DAY, days=-1), 5, at(DAY, days=7, hours=1))     # Tuesday 9 June
    lamp_order(b, "o-lamp", "c-bob", fri)
    replay(db_url, b, tmp_path, "--until", at(fri, days=4))
    told = stock_told(db_url, "o-lamp")
    assert [m["subject"] for m in told][1:] == [
        "Your order o-lamp: Brass desk lamp is still out of stock — sorry, and your choice"]
    assert t(told[1]["at"]) == t("2026-06-08T09:00:00+02:00")
    assert "now expected around Wednesday 10 June" in told[1]["text"]
    assert [c["reason"] for c in cases(db_url)] == ["out_of_stock"], "no late-shipment case on top"
    assert [c["rule"] for c in callbacks(db_url)] == ["restock_overdue"]


def test_a_where_is_it_question_is_settled_when_the_parcel_comes(db_url, tmp_path):
    """A customer asks where their book is the day they order it: answered at once, the
    question waits on the parcel, and is settled when it is delivered (it used to stay
    waiting forever, one more line in the agents' queue for every anxious customer)."""
    b = fc_shop()
    b.add("inventory.received", at(DAY, hours=-2), {"fc_id": "FC-PAR", "sku": "BOOK", "qty": 5,
                                                    "seller_id": "s-home"})
    b.order("o-book", "c-bob", DAY, [platform("l1", "BOOK", 12.0)])
    b.pay("o-book", at(DAY, minutes=1), 12.0)
    b.contact("k-1", "c-bob", at(DAY, hours=3), "Hello, where is my order o-book? It has not shipped yet.")
    b.create_shipment("sh-book", "o-book", "s-home", ["l1"], at(DAY, hours=5))
    b.ship("sh-book", at(DAY, hours=6), "TRK-BOOK")
    b.scan("TRK-BOOK", at(DAY, hours=8), "accepted")
    replay(db_url, b, tmp_path)
    [case] = cases(db_url)
    assert case["reason"] == "where_is_my_order" and case["status"] == "waiting", "answered, waiting on the parcel"

    home = EventBuilder(prefix="e2-")
    home.scan("TRK-BOOK", at(DAY, days=2, hours=1), "delivered")
    replay(db_url, home, tmp_path)
    [case] = cases(db_url)
    assert case["status"] == "resolved" and t(case["resolved_at"]) == t(at(DAY, days=2, hours=1))
    assert len([m for m in messages(db_url) if m["case_id"] == case["id"]]) == 1, \
        "settled without a word of its own: the delivery news said it"


def test_a_supplier_moving_its_date_is_told_to_the_customers_waiting_at_once(db_url, tmp_path):
    """The supplier says on Wednesday that the lamps due Thursday come the next Tuesday: the
    customer told "around Friday" (Thursday and the day's margin) hears it that Wednesday,
    with the new date, not after Friday has passed. A revision that changes nothing for them
    (within the same day) brings no mail; `purchase-orders` shows the new date."""
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, days=2, hours=1))   # Thursday 4 June
    lamp_order(b, "o-lamp", "c-bob", DAY)
    b.add("purchase_order.updated", at(DAY, days=1), {"po_id": "PO-1", "expected_at": at(DAY, days=2, hours=5)})
    b.add("purchase_order.updated", at(DAY, days=1, hours=1),
          {"po_id": "PO-1", "expected_at": at(DAY, days=7, hours=1), "reason": "strike at the port"})
    replay(db_url, b, tmp_path, "--until", at(DAY, days=5))

    told = stock_told(db_url, "o-lamp")
    assert "around Friday 5 June" in told[0]["text"]
    assert [m["subject"] for m in told[1:]] == [
        "Your order o-lamp: new stock of Brass desk lamp comes later than we said — sorry"], \
        "one word, for the revision that moved the day; none for the one within the same day"
    later = told[1]
    assert t(later["at"]) == t(at(DAY, days=1, hours=1)), "the moment the supplier said so"
    assert "we now expect it around Wednesday 10 June" in later["text"] and "/choice/" in later["text"]
    [case] = cases(db_url)
    assert t(case["restock_expected_at"]) == t(at(DAY, days=8, hours=1))
    assert not [a for a in case["actions"] if a.get("rule") == "restock_overdue"], \
        "Friday passing is no broken word any more: the date given is Wednesday"
    [po] = json.loads(ordercare("purchase-orders", "--at", at(DAY, days=5), "--json", "--db", db_url))
    assert t(po["expected_at"]) == t(at(DAY, days=7, hours=1))


def test_a_cancelled_purchase_order_tells_the_customers_it_was_serving(db_url, tmp_path):
    """The supplier cancels: the customer waiting hears at once that the date no longer
    holds, with the next one (the lead time from now: 6 days)."""
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, days=2, hours=1))
    lamp_order(b, "o-lamp", "c-anne", DAY)
    b.add("purchase_order.cancelled", at(DAY, hours=4), {"po_id": "PO-1", "reason": "discontinued"})
    replay(db_url, b, tmp_path, "--until", at(DAY, days=1))
    told = stock_told(db_url, "o-lamp")
    assert len(told) == 2 and "arrivera plus tard que prévu" in told[1]["subject"]
    assert "nous l'attendons désormais vers le lundi 8 juin" in told[1]["text"]


def test_a_second_date_missed_in_turn_is_said_sorry_for_in_turn_with_one_call(db_url, tmp_path):
    """Told Thursday 4 June; on Saturday we said sorry with the next date, Thursday 11 June,
    and booked a call. The delivery promised (Monday 8 June) passes: the delivery case opens
    and says so, and does not book a second call (one is due about the lamp). The second
    supplier is late as well: on Saturday 13 June the customer hears it again, on the delivery
    case they now follow (every purchase order on its way is late: the next date is the
    supplier's lead time from now), not silence until someone asks."""
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, days=1, hours=1))   # Wednesday 3 June
    purchase(b, "PO-2", at(DAY, days=-1), 5, at(DAY, days=8, hours=1))   # Wednesday 10 June
    lamp_order(b, "o-lamp", "c-bob", DAY)
    replay(db_url, b, tmp_path, "--until", at(DAY, days=14))

    told = stock_told(db_url, "o-lamp")
    assert [m["subject"] for m in told] == [
        "Your order o-lamp: Brass desk lamp is out of stock — your choice",
        "Your order o-lamp: Brass desk lamp is still out of stock — sorry, and your choice",
        "Your order o-lamp is delayed — we are on it",
        "Your order o-lamp: Brass desk lamp is still out of stock — sorry, and your choice"]
    assert t(told[1]["at"]) == t("2026-06-06T09:00:00+02:00") and "around Thursday 11 June" in told[1]["text"]
    assert "around Thursday 11 June" in told[2]["text"], "the delivery case repeats the date"
    again = told[3]
    assert again["case_id"] == told[2]["case_id"] != told[0]["case_id"]
    assert t(again["at"]) == t("2026-06-13T09:00:00+02:00"), "Thursday 11 June and one more day over"
    assert "around Thursday 11 June. It has not arrived" in again["text"]
    assert "now expected around Friday 19 June" in again["text"] and "/choice/" in again["text"]
    assert "call you" in again["text"], "the call booked the first time is still to come"
    [call] = callbacks(db_url)
    assert call["rule"] == "restock_overdue" and call["case_id"] == told[0]["case_id"], "the first one, still due"
    stock = next(c for c in cases(db_url) if c["reason"] == "out_of_stock")
    assert t(stock["restock_expected_at"]).date() == t("2026-06-19T00:00:00+02:00").date(), "the date given last"


def test_a_date_missed_while_the_delivery_case_is_open_is_told_on_that_case_without_a_second_call(
        db_url, tmp_path):
    """The lamp's stock was said for Thursday 11 June, after the promised delivery (Monday 8
    June): the delivery case opened at the deliver-by, with that date, and books its own call.
    When Thursday passes with no lamp, the customer hears it on the delivery case they are
    following (with the stock-out's one-click cancel), and no second call is booked."""
    b = fc_shop()
    purchase(b, "PO-2", at(DAY, days=-1), 5, at(DAY, days=8, hours=1))   # Wednesday 10 June
    lamp_order(b, "o-lamp", "c-bob", DAY)
    replay(db_url, b, tmp_path, "--until", at(DAY, days=14))

    found = {c["reason"]: c for c in cases(db_url)}
    assert set(found) == {"out_of_stock", "late_shipment"}
    late = found["late_shipment"]
    sent = [m for m in messages(db_url) if m["order_id"] == "o-lamp" and m["kind"] == "exception"]
    opened = next(m for m in sent if m["case_id"] == late["id"])
    assert "We expect new stock around Thursday 11 June." in opened["text"]
    [sorry] = [m for m in sent if "still out of stock" in m["subject"]]
    assert sorry["case_id"] == late["id"], "on the case the customer follows"
    assert t(sorry["at"]) == t("2026-06-13T09:00:00+02:00")
    assert "around Thursday 11 June. It has not arrived" in sorry["text"]
    assert f"/choice/{found['out_of_stock']['id']}" in sorry["text"], "the stock-out's own cancel"
    assert [c["case_id"] for c in callbacks(db_url)] == [late["id"]], "the delivery case's call, no second"


def test_stock_in_after_the_day_but_the_parcel_not_left_is_told_it_leaves_shortly_without_a_call(
        db_url, tmp_path):
    """Told Thursday 4 June; the lamps come on Friday afternoon and the parcel leaves on
    Saturday afternoon. On Saturday at 09:00 the customer has had nothing since our Thursday:
    they hear the stock is in and their parcel is being made (no call booked, no "we got the
    date wrong" with a next date), then the parcel's tracking when it leaves."""
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, days=1, hours=1))   # Wednesday 3 June
    lamp_order(b, "o-lamp", "c-anne", DAY)
    received(b, "PO-1", at(DAY, days=3, hours=6), 5)                    # Friday 5 June, 15:00
    b.create_shipment("sh-lamp", "o-lamp", "s-home", ["l1"], at(DAY, days=4, hours=4))
    b.ship("sh-lamp", at(DAY, days=4, hours=5), "TRK-LAMP")             # Saturday 6 June, 14:00
    replay(db_url, b, tmp_path, "--until", at(DAY, days=6))

    told = stock_told(db_url, "o-lamp")
    assert [m["subject"] for m in told] == [
        "Votre commande o-lamp : Brass desk lamp est en rupture de stock — à vous de choisir",
        "Votre commande o-lamp : Brass desk lamp est de nouveau en stock — départ imminent",
        "Votre commande o-lamp est en route"]
    here = told[1]
    assert t(here["at"]) == t("2026-06-06T09:00:00+02:00")
    assert "vers le jeudi 4 juin, et votre colis n'est pas encore parti" in here["text"]
    assert "appeler" not in here["text"] and "TRK-LAMP" in told[2]["text"]
    assert callbacks(db_url) == []


def test_the_next_date_is_watched_even_when_nothing_else_about_the_order_falls_due(db_url, tmp_path):
    """Told Wednesday 3 June (the purchase order's Tuesday and a day); on Friday at 09:00 the
    sorry gives Saturday 6 June (the next purchase order's Friday and a day). That one is late
    too: on Monday 8 June at 09:00, before anything else about the order falls due (the
    delivery promised is that evening), the customer hears it."""
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, hours=4))            # Tuesday 2 June, 13:00
    purchase(b, "PO-2", at(DAY, days=-2), 5, at(DAY, days=3, hours=6))    # Friday 5 June, 15:00
    lamp_order(b, "o-lamp", "c-bob", DAY)
    replay(db_url, b, tmp_path, "--until", at(DAY, days=6, hours=1))      # Monday 8 June, 10:00

    told = stock_told(db_url, "o-lamp")
    assert "around Wednesday 3 June" in told[0]["text"]
    assert [(t(m["at"]), "still out of stock" in m["subject"]) for m in told[1:]] == [
        (t("2026-06-05T09:00:00+02:00"), True), (t("2026-06-08T09:00:00+02:00"), True)]
    assert "now expected around Saturday 6 June" in told[1]["text"]
    assert "around Saturday 6 June. It has not arrived" in told[2]["text"]


def test_a_message_that_gives_no_date_does_not_change_the_date_the_customer_holds_us_to(db_url, tmp_path):
    """Told Tuesday 9 June (a delivery case then repeats it). A later message that states no
    date (the delivery case's "we will call you") must not swap the date we watch for one the
    customer never heard: the sorry that comes is for Tuesday 9 June."""
    b = fc_shop()
    purchase(b, "PO-2", at(DAY, days=-1), 5, at(DAY, days=6, hours=1))   # Monday 8 June: told Tuesday 9 June
    lamp_order(b, "o-lamp", "c-bob", DAY)
    replay(db_url, b, tmp_path, "--until", at(DAY, days=20))
    texts = [m["text"] for m in messages(db_url) if m["order_id"] == "o-lamp"]
    assert not [x for x in texts if "new stock around Tuesday 16 June" in x], "a date never told"
    sorry = [x for x in texts if "It has not arrived" in x]
    assert sorry and "around Tuesday 9 June. It has not arrived" in sorry[0]


def test_the_call_a_delivery_case_left_to_the_stock_out_case_is_booked_when_that_one_is_called_off(
        db_url, tmp_path):
    """The lamp's stock-out case booked a call when its date passed; the delivery case opened
    later and left its own call to it (one person calls about the lamp). The lamp ships a
    week past the deliver-by: the stock-out case settles and calls its call off, and the
    delivery case, still open, books its call at that instant: someone still calls."""
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, days=1, hours=1))   # Wednesday 3 June (late)
    purchase(b, "PO-2", at(DAY, days=-1), 5, at(DAY, days=8, hours=1))   # Wednesday 10 June (late too)
    lamp_order(b, "o-lamp", "c-bob", DAY)
    received(b, "PO-2", at(DAY, days=12, hours=1), 5)                    # Sunday 14 June
    b.create_shipment("sh-lamp", "o-lamp", "s-home", ["l1"], at(DAY, days=12, hours=2))
    b.ship("sh-lamp", at(DAY, days=12, hours=3), "TRK-LAMP")
    replay(db_url, b, tmp_path, "--until", at(DAY, days=12, hours=4))
    late = next(c for c in cases(db_url) if c["reason"] == "late_shipment")
    assert late["status"] != "resolved", "the lamp is on its way, a week past its deliver-by"
    [call] = callbacks(db_url)
    assert call["case_id"] == late["id"], call
    booked = [t(a["at"]) for a in late["actions"] if a["type"] == "schedule_callback"]
    assert booked == [t(at(DAY, days=12, hours=3))], "when the lamp left and the other call was called off"
    assert not any("no longer need the call" in m["text"] for m in messages(db_url))
