"""Forecast accuracy and stock-outs of the reorder plan, each against a same-run baseline.

    python benchmarks/bench_forecast.py [--skus 200] [--days 120] [--seed 42]

1. Accuracy: every SKU's chosen model is fitted on all but the last ``--holdout`` days and
   scored on them (WAPE pooled over SKUs, MASE averaged over SKUs, scaled by the in-sample
   seasonal-naive error) next to the seasonal-naive forecast of the same days.
2. Stock: days ``--start``.. are replayed with weekly reviews (and, for our plan, a daily
   look at the surging SKUs, as its policy's ``surge_response`` says) under our plan, the
   plan without that surge answer, a naive rule
   (trailing 28-day mean × (lead time + review) + 20 %) and no reordering, from the same
   initial stock. Holding more stock always means fewer stock-outs, so both rules are also
   swept (plan: service level; naive: safety percentage) and the naive rule's stock-outs
   are interpolated at the plan's average stock: the fair, equal-stock comparison.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from typing import Any

import numpy as np

started = time.perf_counter()
import statsforecast.models  # noqa: E402,F401  (timed: the import is most of the warm-up)

IMPORT_SECONDS = time.perf_counter() - started

from ordercare.stock.demand_sim import (  # noqa: E402
    DemandProfile,
    NaiveFixedRule,
    PlanRule,
    ReorderRule,
    SimResult,
    SkuKind,
    generate_demand,
    make_profiles,
    no_reorder,
    simulate_inventory,
    total,
)
from ordercare.stock.forecast import (  # noqa: E402
    AccuracyVsNaive,
    SeriesForecast,
    SeriesKey,
    forecast_demand,
)
from ordercare.stock.reorder_policy import (  # noqa: E402
    ReorderPolicy,
    ServiceLevels,
    SurgeResponse,
    abc_classes,
    load_reorder_policy,
)

FC = "FC-BENCH"


def accuracy(
    profiles: list[DemandProfile], demand: dict[str, np.ndarray], holdout: int
) -> dict[str, object]:
    policy = load_reorder_policy()
    train = {(FC, sku): y[:-holdout] for sku, y in demand.items()}
    warm = dict(list(train.items())[:4])
    t0 = time.perf_counter()
    forecast_demand(warm, policy.forecast, horizon_days=holdout)
    first_call = time.perf_counter() - t0
    cpu0, t0 = time.process_time(), time.perf_counter()
    forecasts = forecast_demand(train, policy.forecast, horizon_days=holdout)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0

    kinds = {p.sku: p.kind for p in profiles}
    score = AccuracyVsNaive()
    for (_, sku), fc in forecasts.items():
        score.add(train[(FC, sku)], demand[sku][-holdout:], fc.mean, ("all", str(kinds[sku])))
    by_kind = {
        group: {"wape": round(wape[0], 4), "wape_seasonal_naive": round(wape[1], 4)}
        for group in list(score.actual)
        if (wape := score.wape(group)) is not None
    }
    mase = score.mean_mase()
    assert mase is not None
    return {
        "wape": by_kind["all"]["wape"],
        "wape_seasonal_naive": by_kind["all"]["wape_seasonal_naive"],
        "mase": round(mase[0], 4),
        "mase_seasonal_naive": round(mase[1], 4),
        "by_kind": {k: v for k, v in by_kind.items() if k != "all"},
        "models": dict(Counter(fc.model for fc in forecasts.values()).most_common()),
        "forecast_seconds": round(seconds, 2),
        "ms_per_series": round(1000 * seconds / len(forecasts), 1),
        "cpu_ms_per_series": round(1000 * cpu / len(forecasts), 1),
        "first_call_seconds": round(first_call, 2),
    }


PLAN_LEVELS = (0.8, 0.9, 0.95, 0.98, 0.995)
NAIVE_PCTS = (0.0, 0.2, 0.5, 1.0, 1.5)


def with_service_level(policy: ReorderPolicy, level: float) -> ReorderPolicy:
    """The same policy with one service level for every class (a point on the curve)."""
    levels = ServiceLevels(A=level, B=level, C=level, hot=max(level, policy.service_level.hot))
    return policy.model_copy(update={"service_level": levels})


def at_equal_stock(curve: list[SimResult], stock: float, field: str) -> float:
    """Linear interpolation of the naive rule's ``field`` at a given average stock."""
    points = sorted(curve, key=lambda r: r.avg_on_hand)
    xs = [r.avg_on_hand for r in points]
    ys = [float(getattr(r, field)) for r in points]
    return float(np.interp(stock, xs, ys))


def stock(
    profiles: list[DemandProfile], demand: dict[str, np.ndarray], start: int, seed: int
) -> dict[str, object]:
    policy = load_reorder_policy()
    rng = np.random.default_rng(seed + 1)
    lead = {p.sku: int(rng.integers(3, 11)) for p in profiles}
    review = policy.review_period_days
    initial = {
        sku: math.ceil(float(y[:start].mean()) * (lead[sku] + review)) for sku, y in demand.items()
    }
    # ABC by units sold before the simulation starts (the simulator has no prices).
    classes = abc_classes({sku: float(y[:start].sum()) for sku, y in demand.items()}, policy)
    hot = [p.sku for p in profiles if p.kind is SkuKind.HOT]

    def run(rule: ReorderRule) -> dict[str, SimResult]:
        return simulate_inventory(
            demand,
            rule,
            start_day=start,
            lead_time_days=lead,
            review_period_days=review,
            initial_stock=initial,
        )

    cache: dict[tuple[int, int], dict[SeriesKey, SeriesForecast]] = {}
    plan_rule = PlanRule(policy, sku_classes=classes, forecast_cache=cache)
    cpu0, t0 = time.process_time(), time.perf_counter()
    per_sku = run(plan_rule)
    plan_seconds, plan_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    naive_per_sku = run(NaiveFixedRule(review))
    curve_plan = {
        level: total(run(PlanRule(with_service_level(policy, level), forecast_cache=cache)))
        for level in PLAN_LEVELS
    }
    naive_runs = [run(NaiveFixedRule(review, safety_pct=pct)) for pct in NAIVE_PCTS]
    curve_naive = dict(zip(NAIVE_PCTS, (total(r) for r in naive_runs), strict=True))
    kinds = {str(k): [p.sku for p in profiles if p.kind is k] for k in SkuKind}
    by_kind = {
        kind: {
            "plan": total({s: per_sku[s] for s in skus}),
            "naive_curve": [total({s: r[s] for s in skus}) for r in naive_runs],
        }
        for kind, skus in kinds.items()
        if skus
    }
    # A planner who flags the hot SKUs before their craze (hot service level from day one).
    flagged = run(PlanRule(policy, sku_classes=classes, hot=frozenset(hot), forecast_cache=cache))
    # The plan as it was before it answered surges (no daily review, no pace floor).
    quiet = policy.model_copy(update={"surge_response": SurgeResponse(enabled=False)})
    no_surge = run(PlanRule(quiet, sku_classes=classes, forecast_cache=cache))
    return {
        "plan_no_surge": total(no_surge),
        "hot_no_surge": total({s: no_surge[s] for s in hot}),
        "hot_flagged": total({s: flagged[s] for s in hot}),
        "plan_flagged": total(flagged),
        "plan": total(per_sku),
        "naive": total(naive_per_sku),
        "none": total(run(no_reorder)),
        "hot_plan": total({s: per_sku[s] for s in hot}),
        "hot_naive": total({s: naive_per_sku[s] for s in hot}),
        "curve_plan": curve_plan,
        "curve_naive": curve_naive,
        "by_kind": by_kind,
        "hot_skus": len(hot),
        "sim_days": min(len(v) for v in demand.values()) - start,
        "plan_seconds": round(plan_seconds, 1),
        "plan_cpu_seconds": round(plan_cpu, 1),
        "reviews": len(plan_rule.forecast_seconds),
    }


def describe(r: SimResult) -> str:
    return (
        f"stock-out days {r.stockout_days:5d}  missed orders {r.missed_orders:6d}  "
        f"fill rate {r.fill_rate:.3f}  avg units on hand {r.avg_on_hand:7.0f}  "
        f"POs {r.orders_placed}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--holdout", type=int, default=14)
    parser.add_argument("--start", type=int, default=64, help="first simulated stock day")
    args = parser.parse_args(argv)
    t_all = time.perf_counter()

    profiles = make_profiles(args.skus, days=args.days, seed=args.seed)
    demand = generate_demand(profiles, days=args.days, seed=args.seed)
    kinds = Counter(str(p.kind) for p in profiles)
    print(f"{args.skus} SKUs x {args.days} days, seed {args.seed}: {dict(kinds)}")
    print(f"import statsforecast: {IMPORT_SECONDS:.2f} s")

    acc = accuracy(profiles, demand, args.holdout)
    print(
        f"accuracy on the last {args.holdout} days: WAPE {acc['wape']} vs seasonal naive "
        f"{acc['wape_seasonal_naive']} (ratio {acc['wape'] / acc['wape_seasonal_naive']:.3f}); "  # type: ignore[operator]
        f"MASE {acc['mase']} vs {acc['mase_seasonal_naive']} "
        f"(ratio {acc['mase'] / acc['mase_seasonal_naive']:.3f})"  # type: ignore[operator]
    )
    print(f"  by kind: {acc['by_kind']}")
    print(f"  models chosen: {acc['models']}")
    print(
        f"  {acc['forecast_seconds']} s for {args.skus} series ({acc['ms_per_series']} ms wall, "
        f"{acc['cpu_ms_per_series']} ms CPU each, CV included); "
        f"first call on 4 series {acc['first_call_seconds']} s"
    )

    st = stock(profiles, demand, args.start, args.seed)
    plan: SimResult = st["plan"]  # type: ignore[assignment]
    naive: SimResult = st["naive"]  # type: ignore[assignment]
    none: SimResult = st["none"]  # type: ignore[assignment]
    hot_plan: SimResult = st["hot_plan"]  # type: ignore[assignment]
    hot_naive: SimResult = st["hot_naive"]  # type: ignore[assignment]
    print(
        f"stock over {st['sim_days']} days, weekly review, lead 3-10 days, lost sales "
        f"(plan: {st['reviews']} forecasts in {st['plan_seconds']} s wall, "
        f"{st['plan_cpu_seconds']} s CPU):"
    )
    for name, r in (("plan (policy)", plan), ("naive +20 %", naive), ("no reorder", none)):
        print(f"  {name:16s} {describe(r)}")
    print(f"  hot items only ({st['hot_skus']}): plan {describe(hot_plan)}")
    print(f"  {'':22s}naive {describe(hot_naive)}")
    hot_flagged: SimResult = st["hot_flagged"]  # type: ignore[assignment]
    print(f"  {'flagged hot ahead:':22s} plan {describe(hot_flagged)}")
    no_surge: SimResult = st["plan_no_surge"]  # type: ignore[assignment]
    hot_no_surge: SimResult = st["hot_no_surge"]  # type: ignore[assignment]
    print(f"  plan without its surge answer: {describe(no_surge)}")
    print(f"  {'':22s}hot  {describe(hot_no_surge)}")
    print("  trade-off curves (same forecasts, service level swept / safety % swept):")
    curve_plan: dict[float, SimResult] = st["curve_plan"]  # type: ignore[assignment]
    curve_naive: dict[float, SimResult] = st["curve_naive"]  # type: ignore[assignment]
    for level, r in curve_plan.items():
        print(f"    plan  SL {level:5.3f}  {describe(r)}")
    for pct, r in curve_naive.items():
        print(f"    naive +{pct * 100:3.0f} %   {describe(r)}")
    naive_curve = list(curve_naive.values())
    equal_days = at_equal_stock(naive_curve, plan.avg_on_hand, "stockout_days")
    equal_missed = at_equal_stock(naive_curve, plan.avg_on_hand, "missed_orders")
    print(
        f"  naive rule at the plan's stock ({plan.avg_on_hand:.0f} units): "
        f"{equal_days:.0f} stock-out days, {equal_missed:.0f} missed orders (interpolated)"
    )
    by_kind: dict[str, dict[str, Any]] = st["by_kind"]  # type: ignore[assignment]
    for kind, d in by_kind.items():
        p = d["plan"]
        days = at_equal_stock(d["naive_curve"], p.avg_on_hand, "stockout_days")
        missed = at_equal_stock(d["naive_curve"], p.avg_on_hand, "missed_orders")
        print(
            f"    {kind:12s} plan {p.stockout_days:4d} stock-out days / {p.missed_orders:5d} "
            f"missed at {p.avg_on_hand:6.0f} units; naive at that stock {days:4.0f} / {missed:5.0f}"
        )
    summary = {
        "series": args.skus,
        "days": args.days,
        "holdout_days": args.holdout,
        "wape": acc["wape"],
        "wape_seasonal_naive": acc["wape_seasonal_naive"],
        "wape_ratio": round(acc["wape"] / acc["wape_seasonal_naive"], 3),  # type: ignore[operator]
        "mase": acc["mase"],
        "mase_seasonal_naive": acc["mase_seasonal_naive"],
        "mase_ratio": round(acc["mase"] / acc["mase_seasonal_naive"], 3),  # type: ignore[operator]
        "ms_per_series": acc["ms_per_series"],
        "cpu_ms_per_series": acc["cpu_ms_per_series"],
        "import_seconds": round(IMPORT_SECONDS, 2),
        "first_call_seconds": acc["first_call_seconds"],
        "stockout_days_plan": plan.stockout_days,
        "stockout_days_naive": naive.stockout_days,
        "stockout_days_naive_equal_stock": round(equal_days),
        "stockout_days_none": none.stockout_days,
        "missed_orders_plan": plan.missed_orders,
        "missed_orders_naive": naive.missed_orders,
        "missed_orders_naive_equal_stock": round(equal_missed),
        "missed_orders_none": none.missed_orders,
        "fill_rate_plan": round(plan.fill_rate, 4),
        "fill_rate_naive": round(naive.fill_rate, 4),
        "avg_on_hand_plan": round(plan.avg_on_hand),
        "avg_on_hand_naive": round(naive.avg_on_hand),
        "stockout_days_hot_plan": hot_plan.stockout_days,
        "stockout_days_hot_naive": hot_naive.stockout_days,
        "stockout_days_hot_plan_flagged_ahead": hot_flagged.stockout_days,
        "missed_orders_hot_plan": hot_plan.missed_orders,
        "missed_orders_hot_naive": hot_naive.missed_orders,
        "missed_orders_hot_plan_flagged_ahead": hot_flagged.missed_orders,
        "stockout_days_plan_no_surge": no_surge.stockout_days,
        "missed_orders_plan_no_surge": no_surge.missed_orders,
        "avg_on_hand_plan_no_surge": round(no_surge.avg_on_hand),
        "stockout_days_hot_plan_no_surge": hot_no_surge.stockout_days,
        "missed_orders_hot_plan_no_surge": hot_no_surge.missed_orders,
        "avg_on_hand_hot_plan": round(hot_plan.avg_on_hand),
        "avg_on_hand_hot_plan_no_surge": round(hot_no_surge.avg_on_hand),
        "total_seconds": round(time.perf_counter() - t_all + IMPORT_SECONDS, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
