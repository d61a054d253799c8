"""A craze and the warehouse's stock: the plan's answer to a surging SKU (a daily review at
the recent pace), the buyer that applies it, and the stockroom that tells which line waits
for which receipt (first placed, first served)."""

from __future__ import annotations

import numpy as np

from ordercare.sim.clock import DAY, HOUR, START_US
from ordercare.sim.stockroom import Placement, run
from ordercare.sim.world import Sku
from ordercare.stock.demand_sim import SimStock
from ordercare.stock.reorder import StockPosition, reorder_plan
from ordercare.stock.reorder_policy import SurgeResponse, load_reorder_policy
from ordercare.stock.replenish import PlanBuyer

POLICY = load_reorder_policy()
QUIET = POLICY.model_copy(update={"surge_response": SurgeResponse(enabled=False)})
WEEK = np.array([1.1, 1.0, 1.0, 1.0, 0.9, 0.85, 1.15])


def _craze(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    before = rng.poisson(3 * np.resize(WEEK, 56))
    return np.concatenate([before, [9, 22, 25]]).astype(float)  # the toy everyone wants, since Friday


def test_a_surging_toy_is_bought_for_its_lead_time_and_a_day_at_its_new_pace():
    position = StockPosition("FC1", "TOY", available=20, lead_time_days=8)

    (row,) = reorder_plan({("FC1", "TOY"): _craze()}, [position], POLICY)
    (before,) = reorder_plan({("FC1", "TOY"): _craze()}, [position], QUIET)

    assert row.surging and before.surging
    assert row.review_period_days == 1, "reviewed every day while it surges: cover the lead time and a day"
    assert before.review_period_days == 7
    assert row.forecast_per_day >= (9 + 22 + 25) / 3 - 1e-9, "at least the pace of the last three days"
    assert row.reorder_point >= 9 * (9 + 22 + 25) / 3, "nine days at the new pace, before safety stock"
    assert row.order_qty < before.order_qty, "it buys for nine days, not fifteen: tomorrow it looks again"


def test_a_steady_seller_is_not_treated_as_a_craze():
    rng = np.random.default_rng(5)
    steady = rng.poisson(6 * np.resize(WEEK, 63)).astype(float)
    position = StockPosition("FC1", "MUG", available=10, lead_time_days=8)

    (row,) = reorder_plan({("FC1", "MUG"): steady}, [position], POLICY)
    (quiet,) = reorder_plan({("FC1", "MUG"): steady}, [position], QUIET)

    assert not row.surging and row.review_period_days == 7
    assert row.order_qty == quiet.order_qty


def test_the_buyer_reviews_everything_on_monday_and_only_what_surges_on_other_days():
    calm = np.random.default_rng(9).poisson(3 * np.resize(WEEK, 59)).astype(float)
    history = {"TOY": _craze(), "MUG": calm}
    stock = {"TOY": SimStock(10, 0, 8), "MUG": SimStock(0, 0, 8)}
    buyer = PlanBuyer(POLICY, {"TOY": "FC1", "MUG": "FC1"}, horizon_days=15)

    tuesday = buyer(1, False, history, stock)
    monday = buyer(7, True, history, stock)

    assert set(tuesday) == {"TOY"}, "the mug waits for Monday even with an empty shelf"
    assert set(monday) == {"TOY", "MUG"}
    assert PlanBuyer(QUIET, {"TOY": "FC1", "MUG": "FC1"}, horizon_days=15)(1, False, history, stock) == {}


def test_a_line_with_no_stock_waits_for_the_receipt_first_placed_first_served():
    toy = Sku("k-1", "Robot", 900, 40.0, "s-1", "fc-1", 1.0, supplier_id="sup-1", lead_time_days=1)
    placed = [START_US + 8 * HOUR + i * HOUR for i in range(4)]  # Monday morning, one an hour
    orders = [Placement(f"o-{i}", t, [("l1", toy, 1, t + 2 * DAY)]) for i, t in enumerate(placed)]

    def buy_five_on_monday(day, weekly, history, stock):
        return {"k-1": 5} if day == 0 else {}

    out = run("test", buy_five_on_monday, [toy], orders, days=3, end_us=START_US + 3 * DAY,
              history={"k-1": np.zeros(56)}, initial={"k-1": 2})

    assert set(out.short_at) == {("o-2", "l1"), ("o-3", "l1")}, "two units for four orders"
    receipt = START_US + 1 * DAY + 15 * HOUR - 2 * HOUR  # Tuesday 15:00, the milk run is back
    assert out.receipts == [(receipt, "fc-1", "k-1", "s-1", 5, "PO-0-k-1")]
    assert out.ready == {("o-2", "l1"): receipt, ("o-3", "l1"): receipt}
    assert out.stockout_days == {("k-1", "fc-1", 0)}
    assert not out.missed, "Tuesday's stock still ships them before Wednesday's ship-by"
