"""The customer's choice of updates: every step, milestones (with the tracking number), or
only exceptions; and never a cheerful update that contradicts an open problem."""

from __future__ import annotations

import pytest

from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import messages, replay

PLACED = "2026-05-28T09:14:00+02:00"


def flows(policy: str, lang: str = "en") -> EventBuilder:
    """Two orders of one customer: one that goes well, one stuck in transit for good."""
    b = EventBuilder()
    b.customer("c-1", lang=lang, name="Sam", notify=policy)
    b.seller("s-1", handling_days=2).sku("cam", "Compact camera")
    b.order("o-ok", "c-1", PLACED, [line("l1", "cam", "s-1", 199.0)])
    b.pay("o-ok", at(PLACED, minutes=1), 199.0)
    b.create_shipment("sh-ok", "o-ok", "s-1", ["l1"], at(PLACED, hours=3))
    b.ship("sh-ok", at(PLACED, hours=5), "1Z999", carrier="ups")
    b.scan("1Z999", at(PLACED, hours=8), "accepted")
    b.scan("1Z999", at(PLACED, hours=20), "in_transit")
    b.scan("1Z999", at(PLACED, days=1, hours=2), "in_transit")
    b.scan("1Z999", at(PLACED, days=2), "out_for_delivery")
    b.scan("1Z999", at(PLACED, days=2, hours=5), "delivered")
    b.order("o-stuck", "c-1", PLACED, [line("l1", "cam", "s-1", 199.0)])
    b.create_shipment("sh-st", "o-stuck", "s-1", ["l1"], at(PLACED, hours=3))
    b.ship("sh-st", at(PLACED, hours=5), "1Z000", carrier="ups")
    b.scan("1Z000", at(PLACED, hours=8), "accepted")
    b.scan("1Z000", at(PLACED, hours=20), "in_transit")
    # ...and then nothing, ever. A late scan after the case opened must stay silent:
    b.scan("1Z000", at(PLACED, days=5), "out_for_delivery")
    return b


def routine(db: str, order_id: str) -> list[str]:
    return [m["subject"] for m in messages(db) if m["order_id"] == order_id and m["kind"] == "milestone"]


def problems(db: str, order_id: str) -> list[dict]:
    return [m for m in messages(db) if m["order_id"] == order_id and m["kind"] == "exception"]


def test_milestones_customer_hears_the_milestones_with_the_tracking_number(db_url, tmp_path):
    replay(db_url, flows("milestones"), tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    assert routine(db_url, "o-ok") == ["Order o-ok confirmed", "Order o-ok has shipped",
                                       "Order o-ok arrives today", "Order o-ok delivered"]
    shipped = [m for m in messages(db_url) if m["subject"] == "Order o-ok has shipped"][0]
    assert "1Z999" in shipped["text"] and "https://www.ups.com/track?tracknum=1Z999" in shipped["text"]


def test_every_step_customer_hears_each_step_once_within_the_daily_cap(db_url, tmp_path):
    replay(db_url, flows("every_step"), tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    steps = routine(db_url, "o-ok")
    assert steps[:3] == ["Order o-ok confirmed", "Payment received for order o-ok", "Order o-ok is being prepared"]
    assert steps.count("Order o-ok is on its way") == 1, "two in-transit scans, one message"
    assert "Order o-ok delivered" in steps
    # no more than the daily cap of minor updates on any one local day (milestones always go)
    minor = {"Payment received for order o-ok", "Order o-ok is being prepared", "Order o-ok is on its way"}
    per_day: dict[str, int] = {}
    for m in messages(db_url):
        if m["order_id"] == "o-ok" and m["kind"] == "milestone" and m["subject"] in minor:
            per_day[m["at"][:10]] = per_day.get(m["at"][:10], 0) + 1
    assert max(per_day.values()) <= 3


def test_a_busy_first_day_still_tells_the_every_step_customer_it_shipped_with_the_tracking(db_url, tmp_path):
    """Placed, paid, packed and shipped the same day: the cap on minor updates never swallows
    "has shipped" (nor "delivered" on a same-day delivery for a milestones customer)."""
    b = EventBuilder()
    b.seller("s-1", handling_days=2).sku("cam", "Compact camera")
    for policy, order_id in (("every_step", "o-busy"), ("milestones", "o-fast")):
        b.customer(f"c-{policy}", lang="en", name="Sam", notify=policy)
        b.order(order_id, f"c-{policy}", PLACED, [line("l1", "cam", "s-1", 199.0)])
        b.pay(order_id, at(PLACED, minutes=1), 199.0)
        b.create_shipment(f"sh-{order_id}", order_id, "s-1", ["l1"], at(PLACED, hours=2))
        b.ship(f"sh-{order_id}", at(PLACED, hours=3), f"1Z{policy}", carrier="ups")
        b.scan(f"1Z{policy}", at(PLACED, hours=4), "in_transit")
        b.scan(f"1Z{policy}", at(PLACED, hours=6), "out_for_delivery")
        b.scan(f"1Z{policy}", at(PLACED, hours=9), "delivered")
    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    for order_id in ("o-busy", "o-fast"):
        steps = routine(db_url, order_id)
        assert f"Order {order_id} has shipped" in steps and f"Order {order_id} delivered" in steps, steps
    assert len([s for s in routine(db_url, "o-busy") if s in {"Payment received for order o-busy",
                "Order o-busy is being prepared", "Order o-busy is on its way"}]) <= 3


def test_exceptions_customer_hears_nothing_routine_but_hears_at_once_when_it_is_stuck(db_url, tmp_path):
    replay(db_url, flows("exceptions", lang="fr"), tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    assert routine(db_url, "o-ok") == [] and routine(db_url, "o-stuck") == []
    [first, *rest] = problems(db_url, "o-stuck")
    assert first["lang"] == "fr" and "1Z000" in first["text"]
    assert first["at"] == at(PLACED, days=3, hours=20), "72 h after the last scan"


@pytest.mark.parametrize("policy", ["every_step", "milestones"])
def test_no_cheerful_update_while_a_parcel_is_stuck(db_url, tmp_path, policy):
    replay(db_url, flows(policy), tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    after_case = [m for m in messages(db_url) if m["order_id"] == "o-stuck" and m["kind"] == "milestone"
                  and m["at"] >= problems(db_url, "o-stuck")[0]["at"]]
    assert after_case == [], "no 'arrives today' for a parcel whose case is open"
    # an apology, one word when it is late after all, and a call: not a stream
    assert len(problems(db_url, "o-stuck")) <= 3


def test_replaying_again_sends_no_message_twice(db_url, tmp_path):
    b = flows("every_step")
    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    before = messages(db_url)
    replay(db_url, b, tmp_path, "--until", "2026-06-25T00:00:00+02:00")
    ids = [m["id"] for m in messages(db_url)]
    assert len(ids) == len(set(ids)) and messages(db_url)[: len(before)] == before


def test_a_partial_cancellation_names_what_was_cancelled_and_a_second_one_is_told_too(db_url, tmp_path):
    b = EventBuilder()
    b.customer("c-1", lang="en", name="Sam", notify="milestones")
    b.seller("s-1", handling_days=2).sku("cam", "Compact camera").sku("tripod", "Tripod")
    b.order("o-1", "c-1", PLACED, [line("l1", "cam", "s-1", 199.0), line("l2", "tripod", "s-1", 25.0)])
    b.pay("o-1", at(PLACED, minutes=1), 224.0)
    b.cancel("o-1", at(PLACED, hours=1), "customer", "changed_mind", line_ids=["l2"])
    b.cancel("o-1", at(PLACED, hours=3), "customer", "changed_mind", line_ids=["l1"])
    replay(db_url, b, tmp_path, "--until", "2026-06-01T00:00:00+02:00")
    told = [m["text"] for m in messages(db_url) if m["order_id"] == "o-1" and m["subject"] == "Order o-1 cancelled"]
    assert len(told) == 2, told
    assert "we cancelled Tripod." in told[0] and "Compact camera" not in told[0]
    assert "we cancelled Compact camera." in told[1] and "Tripod" not in told[1]
