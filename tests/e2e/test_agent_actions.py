"""A person acts on a case (`ordercare act`): on the phone with Bob, Léa refunds the case
that never came, sends a replacement, fixes the address of every parcel. Each is done by the
desk's own code (a line is never refunded twice), recorded on the case with her name and note
and in the event log, and told to the customer. Through the command line, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json

from ordercare.sim.builder import at, line
from tests.e2e.cli import cases, messages, ordercare, refused, replay
from tests.e2e.test_replacement_requests import case_never_came, first_case_replaced, requests
from tests.e2e.test_self_service import PLACED, shop, two_parcels_stuck
from tests.support.replaylog import replay_log_into, state

CALL = "2026-06-09T11:00:00+02:00"
END = "2026-06-25T00:00:00+02:00"


def act(db: str, case_id: str, *args: str, expect: int = 0) -> str:
    return ordercare("act", case_id, *args, "--db", db, expect=expect)


def replies(db: str, case_id: str) -> list[dict]:
    return [m for m in messages(db) if m["case_id"] == case_id and m["kind"] == "reply"]


def test_an_agent_refunds_one_line_once_and_the_customer_is_told(db_url, tmp_path):
    b = case_never_came(shop())
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [case] = cases(db_url)
    out = act(db_url, case["id"], "refund", "--agent", "lea", "--note", "Bob called, refund the case", "--at", CALL)
    assert "done and recorded" in out
    [case] = cases(db_url)
    [done] = [a for a in case["actions"] if a["type"] == "agent_action"]
    assert (done["rule"], done["note"], done["line_ids"]) == ("lea:refund", "Bob called, refund the case", ["l2"])
    assert [(a["amount"], a["line_ids"]) for a in case["actions"] if a["type"] == "refund"] == [(9.9, ["l2"])]
    assert case["status"] == "resolved", "the only line owed is made good"
    [told] = replies(db_url, case["id"])
    assert "As agreed with our team, here is what we have done about Pink silicone case" in told["text"]
    assert "9.90" in told["text"] and "iPod nano 8GB" not in told["text"]

    assert "recorded already" in act(db_url, case["id"], "refund", "--agent", "lea", "--note",
                                     "Bob called, refund the case", "--at", CALL)
    act(db_url, case["id"], "refund", "--agent", "tom", "--at", "2026-06-09T12:00:00+02:00")
    [case] = cases(db_url)
    assert len([a for a in case["actions"] if a["type"] == "refund"]) == 1, "a line is paid back once"
    assert len(replies(db_url, case["id"])) == 1, "nothing done, nothing to tell"
    dossier = json.loads(ordercare("dossier", "o-5", "--json", "--db", db_url))
    assert dossier["refunded"] == 9.9


def test_an_agent_sends_a_replacement_asked_of_the_seller_with_an_honest_date(db_url, tmp_path):
    b = case_never_came(shop())
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [case] = cases(db_url)
    act(db_url, case["id"], "replace", "--agent", "lea", "--at", CALL)
    [rq] = requests(db_url)
    assert (rq["to"], rq["case_id"], rq["requested_at"], rq["status"]) == ("s-books", case["id"], CALL, "open")
    [told] = replies(db_url, case["id"])
    assert "We are sending you a new Pink silicone case for iPod nano free of charge; it leaves us by Thursday" \
        in told["text"], told["text"]


def test_an_agent_fixes_the_address_of_every_parcel_still_on_its_way_once(db_url, tmp_path):
    b = two_parcels_stuck(shop(), "o-6")
    replay(db_url, b, tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    [case] = cases(db_url)
    act(db_url, case["id"], "update_address", "--agent", "lea", "--line1", "3 rue des Lilas", "--postcode",
        "69003", "--city", "Lyon", "--at", "2026-06-05T13:00:00+02:00")
    file = json.loads(ordercare("dossier", "o-6", "--json", "--db", db_url))
    assert (file["address"]["line1"], file["address"]["city"]) == ("3 rue des Lilas", "Lyon")
    [case] = cases(db_url)
    [fix] = [a for a in case["actions"] if a["type"] == "update_address"]
    assert fix["shipment_ids"] == ["sh-a", "sh-b"]
    [told] = replies(db_url, case["id"])
    assert "All 2 parcels of this order now go to 3 rue des Lilas, 69003 Lyon" in told["text"]
    assert case["status"] == "open", "the parcels are still stuck: the watch keeps the case"


def test_resolve_closes_a_case_but_not_one_whose_parcel_is_still_in_trouble(db_url, tmp_path):
    b = two_parcels_stuck(shop(), "o-6")
    b.contact("k-1", "c-bob", at(PLACED, days=1), "Can I pay by bank transfer next time?", order_id="o-6")
    replay(db_url, b, tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    by_origin = {c["origin"]: c for c in cases(db_url)}
    act(db_url, by_origin["proactive"]["id"], "resolve", "--agent", "lea", "--at", "2026-06-05T13:00:00+02:00")
    act(db_url, by_origin["customer"]["id"], "resolve", "--agent", "lea", "--note", "answered on the phone",
        "--at", "2026-06-05T13:00:00+02:00")
    now = {c["origin"]: c for c in cases(db_url)}
    assert now["proactive"]["status"] == "open", "still stuck: the watch owns it"
    assert now["customer"]["status"] == "resolved"
    assert not replies(db_url, now["customer"]["id"])[1:], "closing says nothing more to the customer"


def test_act_refuses_what_it_cannot_do(db_url, tmp_path):
    b = case_never_came(shop())
    b.order("o-9", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5)])
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [case] = [c for c in cases(db_url) if c["order_id"] == "o-5"]
    def act_refused(case_id: str, *args: str) -> str:
        return refused("act", case_id, *args, "--agent", "lea", "--db", db_url)

    assert act_refused("C-nope", "refund") == "error: no case 'C-nope' (see `ordercare cases`)"
    assert act_refused(case["id"], "refund", "--lines", "l7") == "error: order o-5 has no line l7"
    assert "update_address needs --line1, --postcode and --city" in act_refused(case["id"], "update_address")
    assert "Invalid value for ACTION: refund, refund_with_return" in act_refused(case["id"], "teleport")
    [again] = [c for c in cases(db_url) if c["id"] == case["id"]]
    assert again["actions"] == case["actions"], "nothing was done"


def test_what_agents_did_replays_to_the_same_state(db_url, twin_url, tmp_path):
    b = case_never_came(shop())
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [case] = cases(db_url)
    act(db_url, case["id"], "replace", "--agent", "lea", "--at", CALL)
    replay(db_url, b, tmp_path, "--until", "2026-06-16T00:00:00+02:00")
    [chase] = [c for c in cases(db_url) if c["reason"] == "late_shipment"]
    act(db_url, chase["id"], "refund", "--agent", "tom", "--at", "2026-06-16T09:00:00+02:00")
    replay(db_url, b, tmp_path, "--until", END)
    replay_log_into(db_url, twin_url, tmp_path, "--until", END)
    assert state(twin_url) == state(db_url)


def test_an_act_at_the_stores_clock_comes_after_what_fell_due_then_and_replays_the_same(db_url, twin_url, tmp_path):
    """The chase opens at the replacement's ship-by and the store's clock stands there; Léa
    refunds at once, at the clock: recorded just after it, so a replay of the log, which plays
    an event before the deadlines of its own instant, finds the case too."""
    b = case_never_came(shop())
    first_case_replaced(db_url, b, tmp_path)
    replay(db_url, b, tmp_path, "--until", "2026-06-09T12:00:00+02:00")
    [rq] = requests(db_url)
    replay(db_url, b, tmp_path, "--until", rq["ship_by"])
    [chase] = [c for c in cases(db_url) if c["reason"] == "late_shipment"]
    assert chase["opened_at"] == rq["ship_by"]
    act(db_url, chase["id"], "refund", "--agent", "lea", "--at", rq["ship_by"])
    [after] = [c for c in cases(db_url) if c["id"] == chase["id"]]
    assert [a["amount"] for a in after["actions"] if a["type"] == "refund"] == [9.9]
    replay(db_url, b, tmp_path, "--until", END)
    replay_log_into(db_url, twin_url, tmp_path, "--until", END)
    assert state(twin_url) == state(db_url)


def test_a_guarantee_claim_refunds_the_customer_it_says_is_covered(db_url, tmp_path):
    b = case_never_came(shop())
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [case] = cases(db_url)
    out = act(db_url, case["id"], "guarantee_claim", "--agent", "lea", "--at", CALL)
    assert "refund" in out and "guarantee_claim" in out
    [case] = cases(db_url)
    assert [a["amount"] for a in case["actions"] if a["type"] == "guarantee_claim"] == [9.9], "claimed from s-books"
    assert [a["amount"] for a in case["actions"] if a["type"] == "refund"] == [9.9], "and paid to Bob"
    [told] = replies(db_url, case["id"])
    assert "our guarantee covers you" in told["text"] and "refunded 9.90" in told["text"]


def test_a_line_named_twice_is_sent_again_once(db_url, tmp_path):
    b = case_never_came(shop())
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    [case] = cases(db_url)
    act(db_url, case["id"], "replace", "--agent", "lea", "--lines", "l2,l2", "--at", CALL)
    [rq] = requests(db_url)
    assert [ln["line_id"] for ln in rq["lines"]] == ["l2"]


def test_replace_again_on_a_replacement_nobody_sent_asks_anew_and_says_so(db_url, tmp_path):
    b = case_never_came(shop())
    first_case_replaced(db_url, b, tmp_path)
    replay(db_url, b, tmp_path, "--until", "2026-06-16T00:00:00+02:00")
    [chase] = [c for c in cases(db_url) if c["reason"] == "late_shipment"]
    out = act(db_url, chase["id"], "replace", "--agent", "lea", "--at", "2026-06-16T09:00:00+02:00")
    assert "done and recorded: replace" in out
    old, new = requests(db_url)
    assert (old["status"], new["status"], new["to"]) == ("cancelled", "open", "s-books")
    told = replies(db_url, chase["id"])[-1]["text"]
    assert "it leaves us by" in told and "on its way" not in told
