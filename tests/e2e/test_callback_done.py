"""A person makes the callbacks ordercare books: recorded with `ordercare callback-done`, a
callback made leaves the list, one unanswered stays, and a case settled on the phone is
resolved, unless its parcel is still in trouble (the watch keeps that case)."""

from __future__ import annotations

import json

from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, messages, ordercare, refused, replay

PLACED = "2026-05-28T09:14:00+02:00"


def shop() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-fr", lang="fr", name="Claire", phone="+33611223344").customer("c-en", lang="en", name="Sam")
    b.seller("s-1", handling_days=1).sku("book", "Le Petit Prince")
    return b


def sam_writes(db_url: str, tmp_path, *replay_args: str,
               text: str = "Hello, where is my order? I paid yesterday.") -> None:
    """Sam, who has ordered nothing, writes: a case for a person, a callback due."""
    b = shop()
    b.contact("k-1", "c-en", PLACED, text)
    replay(db_url, b, tmp_path, *replay_args)
    assert due(db_url) == ["C-c-en-desk-1"]


def claire_called(db_url: str, tmp_path, outcome: str) -> str:
    """Claire's parcel stops moving; she asks to be called; Marc calls: ``outcome``. Her case."""
    b = stuck(shop())
    b.contact("k-1", "c-fr", at(PLACED, days=4), "Mon colis ne bouge plus depuis des jours, rappelez-moi svp.",
              channel="callback_request", order_id="o-1")
    replay(db_url, b, tmp_path, "--until", at(PLACED, days=4, hours=1))
    [case_id] = due(db_url)
    ordercare("callback-done", case_id, "--agent", "marc", "--outcome", outcome,
              "--at", at(PLACED, days=4, hours=2), "--db", db_url)
    return case_id


def due(db_url: str) -> list[str]:
    return [c["case_id"] for c in json.loads(ordercare("callbacks", "--json", "--db", db_url))]


def test_a_callback_about_no_order_made_and_settled_leaves_the_list_and_resolves_the_case(db_url, tmp_path):
    sam_writes(db_url, tmp_path)
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
    said = refused("callback-done", "C-c-en-desk-1", "--agent", "lea", "--db", db_url)
    assert said.startswith("error: no callback is due on case 'C-c-en-desk-1'"), "done already"


def test_settled_on_the_phone_a_stuck_parcel_stays_watched(db_url, tmp_path):
    """Claire asks to be called about a parcel that is not moving: the call is made and marked
    settled, yet the parcel is still stuck, so the delivery case stays with the watch."""
    case_id = claire_called(db_url, tmp_path, "resolved")
    assert due(db_url) == []
    [case] = [c for c in cases(db_url) if c["id"] == case_id]
    assert case["status"] != "resolved" and any(a["type"] == "callback_done" for a in case["actions"])
    # The parcel comes: the watch resolves the case.
    replay(db_url, EventBuilder("later-").scan("TRK-1", at(PLACED, days=5), "delivered"), tmp_path)
    [case] = [c for c in cases(db_url) if c["id"] == case_id]
    assert case["status"] == "resolved"

def test_no_callback_due_is_a_clear_error(db_url, tmp_path):
    replay(db_url, shop(), tmp_path)
    said = refused("callback-done", "C-nope-1", "--agent", "lea", "--db", db_url)
    assert said == "error: no callback is due on case 'C-nope-1' (see `ordercare callbacks`)"
    said = refused("callback-done", "C-nope-1", "--agent", "lea", "--outcome", "maybe", "--db", db_url)
    assert "Invalid value for --outcome: reached, no_answer or resolved" in said


def stuck(b: EventBuilder) -> EventBuilder:
    b.order("o-1", "c-fr", PLACED, [line("l1", "book", "s-1", 12.0)])
    b.pay("o-1", at(PLACED, minutes=2), 12.0)
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], at(PLACED, hours=1))
    b.ship("sh-1", at(PLACED, hours=2), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=5), "accepted")
    return b


def prime_shop() -> EventBuilder:
    """A Prime iPod from the warehouse, accepted, moving once, then stuck."""
    b = EventBuilder()
    b.customer("c-bob", lang="en", name="Bob", phone="+4470000")
    b.seller("s-audio", handling_days=1).sku("ipod", "iPod")
    b.add("fc.registered", "2026-05-01T00:00:00+02:00", {"fc_id": "fc-1", "name": "Lyon", "lat": 45.7, "lon": 4.8})
    b.add("inventory.received", "2026-05-02T00:00:00+02:00",
          {"fc_id": "fc-1", "sku": "ipod", "qty": 5, "seller_id": "s-audio"})
    b.order("o-p", "c-bob", PLACED, [line("l1", "ipod", "s-audio", 149.0, fulfilled_by="platform")], prime=True)
    b.create_shipment("sh-1", "o-p", "s-audio", ["l1"], at(PLACED, hours=3))
    b.ship("sh-1", at(PLACED, hours=4), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=6), "accepted")
    b.scan("TRK-1", at(PLACED, hours=30), "in_transit")
    return b


def test_a_call_cannot_be_recorded_before_the_stores_clock(db_url, tmp_path):
    """Applied at the clock anyway, and placed elsewhere by a replay of the log: refused."""
    sam_writes(db_url, tmp_path, "--until", at(PLACED, days=1))
    said = refused("callback-done", "C-c-en-desk-1", "--agent", "lea", "--at", at(PLACED, hours=1), "--db", db_url)
    assert said.startswith("error: ") and "clock" in said, said
    assert due(db_url) == ["C-c-en-desk-1"]


def test_orderless_reached_then_customer_asks_again(db_url, tmp_path):
    """Reached (not settled), Sam asks again to be called: due again, and the answer names a
    time to come."""
    sam_writes(db_url, tmp_path, text="Hello, where is my order? I paid yesterday. Please call me back.")
    assert due(db_url) == ["C-c-en-desk-1"]
    ordercare("callback-done", "C-c-en-desk-1", "--agent", "lea", "--outcome", "reached",
              "--at", at(PLACED, hours=1), "--db", db_url)
    assert due(db_url) == []
    later = EventBuilder("later-").contact("k-2", "c-en", at(PLACED, days=1),
                                           "Still nothing, please call me back again.", channel="callback_request")
    replay(db_url, later, tmp_path)
    [case] = cases(db_url)
    assert case["status"] == "open" and due(db_url) == ["C-c-en-desk-1"]  # called back again
    answer = [m["text"] for m in messages(db_url)][-1]
    assert "Friday 29 May" in answer and "Thursday 28 May" not in answer  # a time to come, not one gone by


def test_order_case_reached_then_customer_asks_again(db_url, tmp_path):
    """Called back, the parcel still stuck, she asks again the next day: a new call is due."""
    cid = claire_called(db_url, tmp_path, "reached")
    later = EventBuilder("later-").contact("k-2", "c-fr", at(PLACED, days=5),
                                           "Toujours rien, rappelez-moi svp.", channel="callback_request",
                                           order_id="o-1")
    replay(db_url, later, tmp_path, "--until", at(PLACED, days=5, hours=1))
    [case] = [c for c in cases(db_url) if c["id"] == cid]
    assert [a["type"] for a in case["actions"]].count("schedule_callback") == 2
    assert due(db_url) == [cid]  # she was told a person will call: one will


def test_an_orderless_case_keeps_the_customers_time_zone_whatever_the_agents(db_url, tmp_path):
    sam_writes(db_url, tmp_path)
    before = cases(db_url)[0]
    ordercare("callback-done", "C-c-en-desk-1", "--agent", "lea", "--outcome", "reached",
              "--at", "2026-05-28T08:14:00+00:00", "--db", db_url)
    after = cases(db_url)[0]
    assert after["opened_at"] == before["opened_at"] == PLACED


def test_after_the_prime_call_the_two_days_late_rule_calls_again(db_url, tmp_path):
    """Prime a day late: called. Two days late and still stuck: the later rule books another."""
    replay(db_url, prime_shop(), tmp_path, "--until", "2026-06-03T09:00:00+02:00")
    [cb] = json.loads(ordercare("callbacks", "--json", "--db", db_url))
    assert cb["rule"] == "prime_late_1d"
    ordercare("callback-done", cb["case_id"], "--agent", "lea", "--outcome", "reached",
              "--at", "2026-06-03T10:00:00+02:00", "--db", db_url)
    replay(db_url, EventBuilder("x-"), tmp_path, "--until", "2026-06-05T09:00:00+02:00")
    [again] = json.loads(ordercare("callbacks", "--json", "--db", db_url))
    assert again["case_id"] == cb["case_id"] and again["rule"] == "late_2d"


def test_no_answer_then_settled_at_the_same_minute_are_two_records(db_url, tmp_path):
    sam_writes(db_url, tmp_path)
    t = at(PLACED, hours=1)
    ordercare("callback-done", "C-c-en-desk-1", "--agent", "lea", "--outcome", "no_answer", "--at", t,
              "--db", db_url)
    out = ordercare("callback-done", "C-c-en-desk-1", "--agent", "lea", "--outcome", "resolved", "--at", t,
                    "--db", db_url)
    assert "recorded: resolved" in out and due(db_url) == []
    [case] = cases(db_url)
    assert [a["type"] for a in case["actions"] if a["type"].startswith("callback")] == [
        "callback_attempt", "callback_done"]
    again = refused("callback-done", "C-c-en-desk-1", "--agent", "lea", "--outcome", "resolved", "--at", t,
                    "--db", db_url)
    assert again.startswith("error: no callback is due on case 'C-c-en-desk-1'"), "nothing due any more"


def test_the_agents_note_is_on_the_case_for_the_next_agent(db_url, tmp_path):
    sam_writes(db_url, tmp_path)
    ordercare("callback-done", "C-c-en-desk-1", "--agent", "lea", "--outcome", "no_answer",
              "--note", "voicemail full, try after 18h", "--at", at(PLACED, hours=1), "--db", db_url)
    [case] = cases(db_url)
    [attempt] = [a for a in case["actions"] if a["type"] == "callback_attempt"]
    assert attempt["note"] == "voicemail full, try after 18h" and attempt["rule"] == "lea"
    [cb] = json.loads(ordercare("callbacks", "--json", "--db", db_url))
    assert cb["attempts"] == [{"at": at(PLACED, hours=1), "agent": "lea", "note": "voicemail full, try after 18h"}]
    assert "voicemail full" in " ".join(ordercare("callbacks", "--db", db_url).split())


def test_the_parcel_comes_before_the_watchs_call_the_call_is_called_off_and_said_so(db_url, tmp_path):
    """Bob's Prime iPod is a day late: the watch books a call and tells him. The iPod comes
    before anyone phoned: nobody is sent to call about a parcel that has come, and the
    message saying it arrived says the call is off (and how to reach us anyway)."""
    replay(db_url, prime_shop(), tmp_path, "--until", "2026-06-03T09:00:00+02:00")
    [cb] = json.loads(ordercare("callbacks", "--json", "--db", db_url))
    assert cb["rule"] == "prime_late_1d"
    replay(db_url, EventBuilder("x-").scan("TRK-1", "2026-06-03T11:00:00+02:00", "delivered"), tmp_path)
    assert due(db_url) == []
    [case] = cases(db_url)
    assert case["status"] == "resolved"
    assert [a["type"] for a in case["actions"] if a["type"].startswith(("schedule_callback", "callback"))] == [
        "schedule_callback", "callback_withdrawn"]
    [arrived] = [m for m in messages(db_url) if m["case_id"] == case["id"] and "was delivered on" in m["text"]]
    assert "you no longer need the call we had planned" in arrived["text"]
    said = refused("callback-done", case["id"], "--agent", "lea", "--db", db_url)
    assert said.startswith(f"error: no callback is due on case '{case['id']}'")
    # Days later the "two days late" rule would have come due: the case is resolved, no call.
    replay(db_url, EventBuilder("y-"), tmp_path, "--until", "2026-06-07T09:00:00+02:00")
    assert due(db_url) == []
    assert not [m for m in messages(db_url) if "will call you" in m["text"] and m["at"] > arrived["at"]]


def test_a_call_the_customer_asked_for_stays_due_when_the_parcel_comes(db_url, tmp_path):
    """Claire asked to be called about her stuck parcel; it comes before the call: she asked
    to talk, so the call stays on the list (the agent sees the case is resolved)."""
    b = stuck(shop())
    b.contact("k-1", "c-fr", at(PLACED, days=4), "Mon colis ne bouge plus depuis des jours, rappelez-moi svp.",
              channel="callback_request", order_id="o-1")
    b.scan("TRK-1", at(PLACED, days=4, hours=3), "delivered")
    replay(db_url, b, tmp_path)
    [cb] = json.loads(ordercare("callbacks", "--json", "--db", db_url))
    assert cb["rule"] == "desk" and cb["case_status"] == "resolved"
    [case] = [c for c in cases(db_url) if c["id"] == cb["case_id"]]
    assert not [a for a in case["actions"] if a["type"] == "callback_withdrawn"]
    assert not [m for m in messages(db_url) if "n'est plus nécessaire" in m["text"]]


def test_a_refund_chosen_after_the_watchs_call_was_booked_calls_it_off(db_url, tmp_path):
    """Bob, told we will call, clicks "refund" in our message instead: refunded, and the
    reply says the call is no longer needed; the call leaves the list."""
    replay(db_url, prime_shop().pay("o-p", at(PLACED, minutes=1), 149.0), tmp_path,
           "--until", "2026-06-03T09:00:00+02:00")
    [cb] = json.loads(ordercare("callbacks", "--json", "--db", db_url))
    replay(db_url, EventBuilder("x-").choose("o-p", cb["case_id"], "2026-06-03T09:30:00+02:00", "refund"), tmp_path)
    assert due(db_url) == []
    [case] = cases(db_url)
    assert case["status"] == "resolved" and any(a["type"] == "refund" for a in case["actions"])
    [reply] = [m for m in messages(db_url) if m["at"] == "2026-06-03T09:30:00+02:00"]
    assert "We have refunded" in reply["text"] and "you no longer need the call we had planned" in reply["text"]


def test_a_refund_chosen_on_an_order_not_charged_yet_goes_to_a_person_and_says_why(db_url, tmp_path):
    """Bob's payment was never captured: choosing "refund" pays nothing back (there is
    nothing to), claims nothing done, and a person looks at it; the case stays open."""
    replay(db_url, prime_shop(), tmp_path, "--until", "2026-06-03T09:00:00+02:00")
    [cb] = json.loads(ordercare("callbacks", "--json", "--db", db_url))
    replay(db_url, EventBuilder("x-").choose("o-p", cb["case_id"], "2026-06-03T09:30:00+02:00", "refund"), tmp_path)
    [case] = cases(db_url)
    assert case["status"] == "open" and not [a for a in case["actions"] if a["type"] == "refund"]
    assert [a.get("rule") for a in case["actions"] if a["type"] == "escalate"] == ["nothing_paid"]
    [reply] = [m for m in messages(db_url) if m["at"] == "2026-06-03T09:30:00+02:00"]
    assert "No payment has been taken for iPod yet, so there is nothing to pay back" in reply["text"]
    assert "will get back to you within a day" in reply["text"] and "We have refunded" not in reply["text"]
    assert due(db_url) == [cb["case_id"]]  # not resolved: the watch's call still stands
