"""The demo's scorecard judges the restock dates ordercare gave against the world's stock."""

from __future__ import annotations

from datetime import datetime

from ordercare.domain.moments import to_us
from ordercare.sim.scorecard import restock_dates


def us(s: str) -> int:
    return to_us(datetime.fromisoformat(s))


def case(order_id: str, said: str | None, rule: str | None = None) -> dict:
    c = {"order_id": order_id, "line_ids": ["l1"], "actions": [{"type": "message_customer", "rule": rule}]}
    if said is not None:
        c["restock_expected_at"] = said
    return c


def test_a_date_is_kept_when_the_stock_came_by_the_end_of_that_local_day():
    cases = [case("o-1", "2026-05-05T15:00:00+02:00"), case("o-2", "2026-05-05T15:00:00+02:00", "restock_overdue"),
             case("o-3", "2026-05-05T15:00:00+02:00", "restock_later"), case("o-4", None),
             case("o-5", "2026-05-05T15:00:00+02:00")]
    ready = {("o-1", "l1"): us("2026-05-03T23:59:00+02:00"),   # two days early
             ("o-2", "l1"): us("2026-05-06T00:30:00+02:00"),   # half an hour after that day: missed
             ("o-3", "l1"): us("2026-05-05T23:59:00+02:00"),   # the last minute of the day: kept
             ("o-4", "l1"): us("2026-05-05T10:00:00+02:00"),   # no date given: not judged
             ("o-5", "l1"): None}                              # never came: not judged
    # o-5's "still out of stock" and o-1's "it is here" went out on their delivery cases.
    delivery = [{"order_id": "o-5", "line_ids": ["l1"], "actions": [
                    {"type": "message_customer", "rule": "restock_overdue"}]},
                {"order_id": "o-1", "line_ids": ["l1"], "actions": [
                    {"type": "message_customer", "rule": "restock_arrived"}]},
                {"order_id": "o-9", "line_ids": ["l1"], "actions": [   # no stock-out: not counted
                    {"type": "message_customer", "rule": "restock_overdue"}]}]
    card = restock_dates(cases, ready, cases + delivery)
    assert (card["judged"], card["kept"], card["missed"]) == (3, 2, 1)
    assert (card["told_again"], card["told_later"], card["told_arrived"]) == (2, 1, 1)
    assert 0.0 < card["kept_days_early_median"] < 2.1


def test_the_demo_prints_the_restock_dates_next_to_the_stock_outs_ordercare_saw():
    from ordercare.sim.present import stock_notes
    seen = {"out_of_stock_cases": 4, "proactive": 4, "resolved": 4, "world_short_orders": 4,
            "world_missed_promises": 2, "missed_promises_told": 2, "missed_promises_with_delivery_case": 1,
            "restock_dates": {"judged": 3, "kept": 2, "missed": 1, "kept_days_early_median": 1.25,
                              "told_again": 1, "told_later": 0, "told_arrived": 2}}
    stock = {"naive_at_plan_stock": {"all": {"stockout_days": 9, "missed_promises": 5},
                                     "hot": {"avg_free_units": 30, "stockout_days": 4, "missed_promises": 3}},
             "forecast_accuracy": {}, "seen_by_ordercare": seen}
    assert stock_notes(stock)[-1] == (
        "restock dates told to customers waiting for stock (the last each was given): 2 of 3 kept, a median "
        "1.2 d early; 0 told at once of a supplier's later date, 1 written to again (with a call) when theirs passed, "
        "2 told the stock was in but the parcel not left yet when it passed")
