"""Demand forecasts: the right model family per series, honest errors, odd series handled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from ordercare.stock.demand_sim import DemandProfile, SkuKind, generate_demand
from ordercare.stock.forecast import (
    SHORT_HISTORY_MODEL,
    ZERO_MODEL,
    DemandClass,
    ForecastSettings,
    SeriesKey,
    classify,
    forecast_demand,
    history_from_frame,
    seasonal_naive,
)

CROSTON_FAMILY = {"CrostonSBA", "CrostonOptimized", "CrostonClassic", "ADIDA", "IMAPA"}
ETS_THETA_FAMILY = {"AutoETS", "Theta", "OptimizedTheta", "DynamicOptimizedTheta", "SeasonalES"}
SETTINGS = ForecastSettings()


def _slow_mover(seed: int, days: int = 90) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sells = rng.random(days) < 0.15
    return np.where(sells, rng.integers(1, 4, size=days), 0).astype(float)


def test_a_spare_part_selling_now_and_then_gets_a_croston_family_model() -> None:
    history = {("FC1", f"PART-{i}"): _slow_mover(seed=i) for i in range(3)}

    forecasts = forecast_demand(history, horizon_days=7)

    assert set(forecasts) == set(history), "every part gets a forecast"
    for fc in forecasts.values():
        assert fc.demand_class in (DemandClass.INTERMITTENT, DemandClass.LUMPY)
        assert fc.model in CROSTON_FAMILY
        assert 0 < fc.forecast_per_day < 1  # about 0.15 × 2 units a day, never a zero guess


def test_a_weekly_regular_seller_is_forecast_better_than_seasonal_naive() -> None:
    profiles = [
        DemandProfile(sku=f"CASE-{i}", kind=SkuKind.REGULAR, rate=rate, dispersion=10.0)
        for i, rate in enumerate((6.0, 10.0, 15.0, 25.0))
    ]
    demand = generate_demand(profiles, days=98, seed=12)
    train = {("FC1", sku): y[:-14] for sku, y in demand.items()}

    forecasts = forecast_demand(train, horizon_days=14)

    ours = naive = 0.0
    for (_, sku), fc in forecasts.items():
        truth = demand[sku][-14:]
        assert fc.model in ETS_THETA_FAMILY
        assert fc.demand_class in (DemandClass.SMOOTH, DemandClass.ERRATIC)
        ours += float(np.abs(truth - np.asarray(fc.mean)).sum())
        naive += float(np.abs(truth - seasonal_naive(train[("FC1", sku)], 14)).sum())
    assert ours < 0.9 * naive


def test_the_forecast_reports_its_backtest_error_and_an_interval_around_the_mean() -> None:
    y = np.random.default_rng(5).poisson(8, size=70).astype(float)

    fc = forecast_demand({("FC1", "MUG"): y}, horizon_days=10)[("FC1", "MUG")]

    assert fc.cv_mae is not None and fc.cv_mae > 0
    assert fc.cv_wape is not None and 0 < fc.cv_wape < 1
    assert len(fc.mean) == len(fc.lo) == len(fc.hi) == 10
    assert all(0 <= lo <= m <= hi for lo, m, hi in zip(fc.lo, fc.mean, fc.hi, strict=True))
    assert fc.error_sd_over(14) > fc.error_sd_over(7) > 0


def test_a_new_sku_with_a_few_days_of_sales_gets_its_mean_with_a_wide_interval() -> None:
    y = [4.0, 6.0, 5.0, 3.0, 7.0]

    fc = forecast_demand({("FC1", "NEW"): y}, horizon_days=7)[("FC1", "NEW")]

    assert fc.demand_class is DemandClass.SHORT
    assert fc.model == SHORT_HISTORY_MODEL
    assert fc.forecast_per_day == pytest.approx(5.0)
    assert fc.hi[0] - fc.lo[0] > 5.0  # wider than the mean itself: we barely know this SKU
    steady = np.random.default_rng(1).poisson(5, size=60).astype(float)
    known = forecast_demand({("FC1", "OLD"): steady}, horizon_days=7)[("FC1", "OLD")]
    assert fc.error_sd_over(14) > known.error_sd_over(14)


def test_series_without_any_sale_forecast_zero_with_no_error() -> None:
    history: dict[SeriesKey, Sequence[float] | np.ndarray] = {
        ("FC1", "DUST"): np.zeros(60),
        ("FC1", "NEVER"): [],
    }

    forecasts = forecast_demand(history, horizon_days=7)

    assert set(forecasts) == set(history), "a SKU that never sold is forecast too: zero"
    for fc in forecasts.values():
        assert fc.demand_class is DemandClass.ZERO
        assert fc.model == ZERO_MODEL
        assert fc.forecast_per_day == 0 and fc.error_sd_over(14) == 0


def test_syntetos_boylan_classes() -> None:
    steady = np.tile([5.0, 6.0, 5.0, 4.0, 6.0, 7.0, 5.0], 4)
    erratic = np.tile([1.0, 30.0, 2.0, 1.0, 25.0, 1.0, 3.0], 4)
    sparse_steady = np.tile([0.0, 0.0, 3.0, 0.0, 0.0, 3.0, 0.0], 4)
    sparse_lumpy = np.tile([0.0, 0.0, 1.0, 0.0, 0.0, 40.0, 0.0], 4)

    assert classify(steady, SETTINGS) is DemandClass.SMOOTH
    assert classify(erratic, SETTINGS) is DemandClass.ERRATIC
    assert classify(sparse_steady, SETTINGS) is DemandClass.INTERMITTENT
    assert classify(sparse_lumpy, SETTINGS) is DemandClass.LUMPY
    assert classify(np.ones(13), SETTINGS) is DemandClass.SHORT


def test_daily_history_from_sale_rows_fills_quiet_days_and_ignores_the_future() -> None:
    frame = pd.DataFrame(
        {
            "fc_id": ["FC1", "FC1", "FC1", "FC2"],
            "sku": ["A", "A", "A", "A"],
            "day": ["2026-05-01", "2026-05-03", "2026-05-09", "2026-05-02"],
            "qty": [2, 5, 99, 1],
        }
    )

    history = history_from_frame(frame, end=date(2026, 5, 4))

    assert history[("FC1", "A")].tolist() == [2.0, 0.0, 5.0, 0.0]
    assert history[("FC2", "A")].tolist() == [1.0, 0.0, 0.0]


def test_a_broken_history_is_refused_with_its_series_named() -> None:
    with pytest.raises(ValueError, match="FC1.*BROKEN"):
        forecast_demand({("FC1", "BROKEN"): [1.0, -2.0, 3.0]})


def test_settings_refuse_a_minimum_history_too_short_to_backtest() -> None:
    with pytest.raises(ValidationError, match="min_history_days"):
        ForecastSettings(min_history_days=10, cv_min_train_days=7, cv_horizon_days=7)


def test_accuracy_is_scored_against_the_seasonal_naive_forecast_of_the_same_days() -> None:
    from ordercare.stock.forecast import AccuracyVsNaive
    history = np.array([1.0, 2, 3, 4, 5, 6, 7] * 2)  # a clean weekly cycle
    truth = np.array([1.0, 2, 3, 4, 5, 6, 7])
    score = AccuracyVsNaive()
    score.add(history, truth, [2.0] * 7, ("all", "hot"))
    ours, naive = score.wape("all")
    assert naive == 0.0  # repeating last week is exact here
    assert ours == pytest.approx(sum(abs(t - 2.0) for t in truth) / truth.sum())
    assert score.wape("hot") == score.wape("all") and score.wape("other") is None
    # MASE: the in-sample seasonal-naive error is 0 on a perfect cycle: no scale, no MASE
    assert score.mean_mase() is None
    noisy = history + np.array([0, 1] * 7)
    score.add(noisy, truth, truth, ("all",))
    assert score.mean_mase() == (0.0, pytest.approx(float(np.abs(truth - noisy[-7:]).mean()) / 1.0))
