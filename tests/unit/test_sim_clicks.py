"""Simulated customers and one-click choices: the same customers, told the same thing at the
same time, with and without choices in our message. Those who click do not also write; the
others behave exactly alike (common random numbers), so the difference is the clicks alone."""

from __future__ import annotations

from ordercare.sim.clock import DAY, HOUR
from ordercare.sim.people import P_CLICK, P_TOLD_BEFORE_NOTICE, Inbox, react
from ordercare.sim.truth import OrderFacts, Problem

T0 = 1_780_000_000 * 1_000_000
N = 4000


def world() -> list[OrderFacts]:
    orders = []
    for i in range(N):
        o = OrderFacts(f"o-{i}", f"c-{i}", "en", 120, T0, T0 + 3 * DAY, 20.0, False)
        o.problems.append(Problem(o.order_id, o.customer_id, "stalled", T0 + DAY, ("carrier", "x"), ["l1"],
                                  notice_at=T0 + 3 * DAY))
        orders.append(o)
    return orders


def inbox(orders: list[OrderFacts], choices: tuple[str, ...]) -> Inbox:
    told = T0 + DAY + HOUR  # we wrote an hour after it broke, long before they noticed
    by = {(o.order_id, "delivery"): [told] for o in orders}
    offers = {(o.order_id, "delivery"): (told, f"C-{o.order_id}-1", choices) for o in orders} if choices else {}
    return Inbox(by, {}, offers)


def test_who_would_answer_our_message_mostly_clicks_instead():
    orders = world()
    plain, no_clicks = react(orders, inbox(orders, ()), seed=5, end=T0 + 30 * DAY, prefix="k-")
    offered, clicks = react(orders, inbox(orders, ("wait", "refund", "replacement")), seed=5,
                            end=T0 + 30 * DAY, prefix="k-")
    assert no_clicks == []
    replies = [c for c in plain if c.topic == "reply"]
    assert abs(len(replies) / N - P_TOLD_BEFORE_NOTICE) < 0.015, "told first, a few still write"
    assert abs(len(clicks) / len(replies) - P_CLICK) < 0.1
    clicked = {k.order_id for k in clicks}
    assert clicked <= {c.order_id for c in replies}, "only someone who would have written clicks"
    assert not [c for c in offered if c.order_id in clicked], "a click replaces the letter and its chase"
    kept = [(c.order_id, c.at, c.text) for c in plain if c.order_id not in clicked]
    assert kept == [(c.order_id, c.at, c.text) for c in offered], "everyone else behaves exactly alike"
    assert {k.choice for k in clicks} == {"refund", "replacement"}
    assert all(k.case_id == f"C-{k.order_id}-1" and k.at % 1_000_000 == 0 for k in clicks)


def test_a_message_that_offers_no_replacement_gets_no_replacement_click():
    orders = world()
    _, clicks = react(orders, inbox(orders, ("wait", "refund")), seed=5, end=T0 + 30 * DAY, prefix="k-")
    assert clicks and {k.choice for k in clicks} == {"refund"}


def test_what_is_found_in_the_box_is_reported_from_the_delivery_message_instead_of_written():
    orders = []
    for i in range(N):
        o = OrderFacts(f"o-{i}", f"c-{i}", "en", 120, T0, T0 + 3 * DAY, 20.0, False)
        o.problems.append(Problem(o.order_id, o.customer_id, "damaged", T0 + 2 * DAY, ("sku", "k"), ["l1"],
                                  notice_at=T0 + 2 * DAY + 6 * HOUR))
        orders.append(o)
    delivered = {o.order_id: T0 + 2 * DAY for o in orders}
    plain, none = react(orders, Inbox({}, {}), seed=5, end=T0 + 30 * DAY, prefix="k-")
    linked, reports = react(orders, Inbox({}, {}, {}, delivered), seed=5, end=T0 + 30 * DAY, prefix="k-")
    assert none == [] and reports and all(k.report and k.problem.kind == "damaged" for k in reports)
    written = {c.order_id for c in plain if c.nth == 1 and c.problem is not None}
    assert {k.order_id for k in reports} <= written, "only someone who would have written reports"
    assert abs(len(reports) / len(written) - P_CLICK) < 0.1
    assert not [c for c in linked if c.problem is not None and c.order_id in {k.order_id for k in reports}]
    late = react(orders, Inbox({}, {}, {}, {o: t + 30 * DAY for o, t in delivered.items()}), seed=5,
                 end=T0 + 30 * DAY, prefix="k-")[1]
    assert late == [], "no link yet when they write: they write"
