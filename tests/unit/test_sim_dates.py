"""Simulated customers waiting for stock and the dates we told them: told a day and nothing
since, they write the day after it; any word of ours before then (the item has left, a new
date) or the parcel at their door holds them back; the twin, told nothing, never writes
about a date it was never given."""

from __future__ import annotations

from ordercare.sim.clock import DAY, HOUR
from ordercare.sim.people import NO_MESSAGES, P_DATE_MISSED, Inbox, react
from ordercare.sim.truth import OrderFacts, ParcelFacts, Problem

T0 = 20_600 * DAY  # midnight UTC, 2026-05-27
TZ = 120           # the customers live at +02:00
N = 3000
TOLD_DAY = 20_605  # the day we said new stock comes (days since the epoch): 2026-06-01
MIDNIGHT_AFTER = (TOLD_DAY + 2) * DAY - TZ * 60_000_000  # the end of the day after it, their time


def world(delivered: int | None = None) -> list[OrderFacts]:
    orders = []
    for i in range(N):
        o = OrderFacts(f"o-{i}", f"c-{i}", "en", TZ, T0, T0 + 3 * DAY, 20.0, False)
        o.problems.append(Problem(o.order_id, o.customer_id, "stockout", T0, ("sku", "LAMP"), ["l1"]))
        if delivered is not None:
            o.parcels.append(ParcelFacts(f"sh-{i}", ("fc", "FC-1"), ["l1"], delivered_at=delivered))
        orders.append(o)
    return orders


def told(orders: list[OrderFacts], *more: tuple[int, int]) -> Inbox:
    """The stock-out message at T0 + 1 h saying TOLD_DAY, and ``more`` (time, day) after it."""
    said = [(T0 + HOUR, TOLD_DAY), *more]
    by = {(o.order_id, "out_of_stock"): [t for t, _ in said] for o in orders}
    return Inbox(by, {}, dates={o.order_id: list(said) for o in orders})


def dated(contacts: list) -> list:
    return [c for c in contacts if c.told == "date_missed"]


def test_a_date_that_passes_in_silence_brings_a_letter_the_day_after_it():
    orders = world()
    written = dated(react(orders, told(orders), seed=3, end=T0 + 40 * DAY, prefix="k-")[0])
    assert abs(len(written) / N - P_DATE_MISSED) < 0.04
    assert all(MIDNIGHT_AFTER < c.at <= MIDNIGHT_AFTER + 20 * HOUR for c in written), \
        "not before the day after the day we said is over"
    assert all(c.nth == 1 and c.topic == "date_missed" and c.problem.kind == "stockout" for c in written)
    assert dated(react(orders, NO_MESSAGES, seed=3, end=T0 + 40 * DAY, prefix="t-")[0]) == [], \
        "the twin was given no date"


def test_a_word_before_then_holds_them_until_the_new_date_passes_in_turn():
    orders = world()
    new_day = TOLD_DAY + 5
    # We said sorry with a new date the morning after the day, before their patience ran out.
    inbox = told(orders, (MIDNIGHT_AFTER - 10 * HOUR, new_day))
    written = dated(react(orders, inbox, seed=3, end=T0 + 40 * DAY, prefix="k-")[0])
    after_new = (new_day + 2) * DAY - TZ * 60_000_000
    assert written and all(after_new < c.at for c in written), "only once the new date has passed as well"
    baseline = dated(react(orders, told(orders), seed=3, end=T0 + 40 * DAY, prefix="k-")[0])
    assert {c.order_id for c in written} == {c.order_id for c in baseline}, "the same customers, later"


def test_the_parcel_at_the_door_or_a_word_that_it_left_is_an_answer():
    home = world(delivered=MIDNIGHT_AFTER - HOUR)
    assert dated(react(home, told(home), seed=3, end=T0 + 40 * DAY, prefix="k-")[0]) == []
    orders = world()
    shipped_news = told(orders)
    for o in orders:
        shipped_news.by_family[(o.order_id, "out_of_stock")].append(MIDNIGHT_AFTER - 30 * HOUR)
    assert dated(react(orders, shipped_news, seed=3, end=T0 + 40 * DAY, prefix="k-")[0]) == []


def test_our_sorry_at_nine_the_morning_after_holds_back_those_who_had_not_written_yet():
    """Our word comes at 09:00 the morning their patience runs out: those who write at 08:00
    have written; the others read it first and wait for the new date."""
    orders = world()
    nine = MIDNIGHT_AFTER + 9 * HOUR
    inbox = told(orders, (nine, TOLD_DAY + 30))
    written = dated(react(orders, inbox, seed=3, end=T0 + 20 * DAY, prefix="k-")[0])
    baseline = dated(react(orders, told(orders), seed=3, end=T0 + 20 * DAY, prefix="k-")[0])
    early = [c for c in baseline if c.at < nine]
    assert early and len(early) < len(baseline) / 4, "a few write between 08:00 and 09:00"
    assert {c.order_id for c in written} == {c.order_id for c in early}
