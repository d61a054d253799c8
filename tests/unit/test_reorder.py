"""Reorder points and quantities: driven by lead time, service level and forecast error."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Sequence

import numpy as np
import pytest

from ordercare.rules import RulesError, parse_rules
from ordercare.stock.demand_sim import (
    DemandProfile,
    PlanRule,
    SkuKind,
    generate_demand,
    make_profiles,
    no_reorder,
    simulate_inventory,
    total,
)
from ordercare.stock.forecast import SeriesForecast, SeriesKey, forecast_demand
from ordercare.stock.reorder import (
    CONTRACT_FIELDS,
    StockPosition,
    plan_reorders,
    reorder_plan,
    suggestions,
)
from ordercare.stock.reorder_policy import (
    ReorderPolicy,
    ServiceLevels,
    SkuOverride,
    abc_classes,
    load_reorder_policy,
)

POLICY = load_reorder_policy()
Forecasts = dict[SeriesKey, SeriesForecast]
WEEK = [0.8, 0.8, 0.9, 0.9, 1.1, 1.4, 1.1]


def _steady(rate: float, days: int = 63, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(rate * np.resize(WEEK, days)).astype(float)


@pytest.fixture(scope="module")
def steady_forecast() -> Forecasts:
    return forecast_demand({("FC1", "MUG"): _steady(6.0)}, POLICY.forecast, horizon_days=28)


def _with_level(level: float) -> ReorderPolicy:
    levels = ServiceLevels(A=level, B=level, C=level, hot=0.99)
    return POLICY.model_copy(update={"service_level": levels})


def test_reorder_point_grows_with_the_supplier_lead_time(steady_forecast: Forecasts) -> None:
    positions = [StockPosition("FC1", "MUG", available=50, lead_time_days=d) for d in (2, 7, 14)]

    points = [plan_reorders([p], steady_forecast, POLICY)[0].reorder_point for p in positions]

    assert points[0] < points[1] < points[2]


def test_reorder_point_and_safety_stock_grow_with_the_service_level(
    steady_forecast: Forecasts,
) -> None:
    position = StockPosition("FC1", "MUG", available=50, lead_time_days=7)

    rows = [
        plan_reorders([position], steady_forecast, _with_level(lv))[0] for lv in (0.8, 0.95, 0.99)
    ]

    assert rows[0].safety_stock < rows[1].safety_stock < rows[2].safety_stock
    assert rows[0].reorder_point < rows[1].reorder_point < rows[2].reorder_point
    assert [r.service_level for r in rows] == [0.8, 0.95, 0.99]


def test_safety_stock_follows_the_forecast_error_not_a_percentage() -> None:
    rng = np.random.default_rng(8)
    steady = rng.poisson(10, size=63).astype(float)
    wild = rng.choice([0.0, 5.0, 25.0], size=63, p=[0.3, 0.4, 0.3])  # same mean, far noisier
    history = {("FC1", "STEADY"): steady, ("FC1", "WILD"): wild}
    positions = [
        StockPosition("FC1", sku, available=0, lead_time_days=7) for sku in ("STEADY", "WILD")
    ]

    calm, noisy = reorder_plan(history, positions, POLICY)

    assert calm.forecast_per_day == pytest.approx(noisy.forecast_per_day, rel=0.35)
    assert noisy.safety_stock > 1.5 * calm.safety_stock


def test_a_hot_toy_whose_demand_jumps_is_reordered_before_it_runs_out() -> None:
    rng = np.random.default_rng(4)
    before = rng.poisson(3 * np.resize(WEEK, 56))
    craze = rng.poisson(20, size=5)  # everybody wants it since Monday
    history = {("FC1", "TOY"): np.concatenate([before, craze]).astype(float)}
    # 60 units: 17 days of cover at the old pace, so a rule of thumb would still wait.
    position = StockPosition("FC1", "TOY", available=60, supplier_id="SUP-9", lead_time_days=7)

    (row,) = reorder_plan(history, [position], POLICY)

    assert row.available > 0 and row.order_qty > 0
    assert row.forecast_per_day > 10
    assert row.days_of_cover is not None and row.days_of_cover < row.lead_time_days
    assert row.surging
    assert row.supplier_id == "SUP-9"
    (calm,) = reorder_plan({("FC1", "TOY"): before.astype(float)}, [position], POLICY)
    assert calm.order_qty < row.order_qty / 5


def test_days_of_cover_is_available_stock_over_the_daily_forecast() -> None:
    six_a_day = forecast_demand({("FC1", "MUG"): np.full(63, 6.0)}, POLICY.forecast, horizon_days=28)
    stocked, owed = (StockPosition("FC1", "MUG", available=a, lead_time_days=7) for a in (42, -5))

    (row,) = plan_reorders([stocked], six_a_day, POLICY)
    (short,) = plan_reorders([owed], six_a_day, POLICY)

    assert (row.forecast_per_day, row.days_of_cover) == (6.0, 7.0), "42 units at 6 a day: a week"
    assert short.days_of_cover == 0.0, "more owed than held: no cover at all"


def test_rows_carry_the_contract_fields_and_say_why(steady_forecast: Forecasts) -> None:
    (row,) = plan_reorders([StockPosition("FC1", "MUG", available=3)], steady_forecast, POLICY)

    payload = row.to_json()

    assert list(payload)[: len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)
    assert {"model", "service_level", "safety_stock"} <= set(payload)
    assert payload["lead_time_days"] == POLICY.default_lead_time_days


def test_orders_come_in_whole_packs_and_at_least_the_minimum(steady_forecast: Forecasts) -> None:
    overrides = {"MUG": SkuOverride(pack_size=12, min_order_qty=36)}
    policy = POLICY.model_copy(update={"sku_overrides": overrides})

    (short,) = plan_reorders([StockPosition("FC1", "MUG", available=0)], steady_forecast, policy)
    (almost,) = plan_reorders(
        [StockPosition("FC1", "MUG", available=short.reorder_point - 1)], steady_forecast, policy
    )

    assert short.order_qty % 12 == 0 and short.order_qty >= short.reorder_point
    assert almost.order_qty == 36


def test_stock_on_order_counts_and_enough_stock_orders_nothing(steady_forecast: Forecasts) -> None:
    (need,) = plan_reorders([StockPosition("FC1", "MUG", available=10)], steady_forecast, POLICY)
    covered = StockPosition("FC1", "MUG", available=10, on_order=need.reorder_point)
    rich = StockPosition("FC1", "MUG", available=10 * need.reorder_point)

    rows = plan_reorders([covered, rich], steady_forecast, POLICY)

    assert need.order_qty > 0
    assert [r.order_qty for r in rows] == [0, 0]
    assert suggestions(rows) == []


def test_skus_without_sales_or_history_get_no_order_and_no_cover_figure() -> None:
    positions = [
        StockPosition("FC1", "DUST", available=5),
        StockPosition("FC1", "UNSEEN", available=0),
        StockPosition("FC1", "NEW", available=2),
    ]
    history: dict[SeriesKey, Sequence[float] | np.ndarray] = {
        ("FC1", "DUST"): np.zeros(40),
        ("FC1", "NEW"): [3.0, 4.0, 2.0],
    }

    dust, unseen, new = reorder_plan(history, positions, POLICY)

    assert (dust.order_qty, dust.days_of_cover, dust.model) == (0, None, "Zero")
    assert (unseen.order_qty, unseen.days_of_cover) == (0, None)
    assert new.model == "ShortHistoryMean" and new.order_qty > 0


def test_abc_classes_follow_the_revenue_pareto() -> None:
    # A while the SKUs before it make under 80 % of revenue, B under 95 %, then C.
    revenue = {"BIG": 800.0, "MID": 120.0, "SMALL": 50.0, "TINY": 30.0}

    assert abc_classes(revenue, POLICY) == {"BIG": "A", "MID": "B", "SMALL": "B", "TINY": "C"}


def test_hot_flag_in_the_policy_raises_the_service_level(steady_forecast: Forecasts) -> None:
    policy = POLICY.model_copy(update={"sku_overrides": {"MUG": SkuOverride(hot=True)}})

    (row,) = plan_reorders([StockPosition("FC1", "MUG", available=0)], steady_forecast, policy)

    assert row.hot and row.service_level == POLICY.service_level.hot


def test_a_typo_in_the_policy_file_names_the_file_the_key_and_the_line() -> None:
    text = "service_level: {A: 0.98, B: 0.95, C: 0.9, hot: 0.99}\nreview_perod_days: 7\n"

    with pytest.raises(RulesError) as err:
        parse_rules(text, ReorderPolicy, "reorder_policy.yaml")

    assert "reorder_policy.yaml: review_perod_days (line 2)" in str(err.value)


def test_a_service_level_of_one_is_refused() -> None:
    text = (
        "service_level: {A: 1.0, B: 0.95, C: 0.9, hot: 0.99}\n"
        "abc_revenue_share: {A: 0.8, B: 0.95}\nreview_period_days: 7\n"
        "default_lead_time_days: 7\n"
    )

    with pytest.raises(RulesError, match=r"service_level\.A \(line 1\)"):
        parse_rules(text, ReorderPolicy, "reorder_policy.yaml")


def test_demand_simulation_is_seeded_and_has_hot_spikes() -> None:
    profiles = make_profiles(30, days=90, seed=1)

    first = generate_demand(profiles, days=90, seed=1)
    again = generate_demand(profiles, days=90, seed=1)

    assert all(np.array_equal(first[s], again[s]) for s in first)
    hot = [p for p in profiles if p.kind is SkuKind.HOT]
    assert hot and all(p.spike_day is not None for p in hot)


def test_the_plan_prevents_most_stock_outs_that_doing_nothing_causes() -> None:
    profiles = [
        DemandProfile(sku="REG", kind=SkuKind.REGULAR, rate=8.0),
        DemandProfile(sku="SLOW", kind=SkuKind.INTERMITTENT, rate=2.0, demand_probability=0.2),
    ]
    demand = generate_demand(profiles, days=63, seed=2)
    lead = {"REG": 5, "SLOW": 5}
    initial = {s: math.ceil(float(y[:35].mean()) * 12) for s, y in demand.items()}

    def run(rule: object) -> int:
        results = simulate_inventory(
            demand,
            rule,  # type: ignore[arg-type]
            start_day=35,
            lead_time_days=lead,
            review_period_days=7,
            initial_stock=initial,
        )
        return total(results).stockout_days

    assert run(PlanRule(POLICY)) < run(no_reorder) / 3


def test_loading_the_policy_does_not_pay_for_importing_statsforecast() -> None:
    code = (
        "import sys; import ordercare.stock.reorder_policy, ordercare.stock.reorder; "
        "print('statsforecast' in sys.modules)"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "False"
