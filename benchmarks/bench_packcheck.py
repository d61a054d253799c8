"""Benchmark: the learning pack-station weight check against a fixed ±10 % rule.

Simulates a warehouse packing parcels with realistic noise, runs the learning check inside
the loop the engine runs (check at ``shipment.packed``; ``learn`` with ``passed``, or with
the inspection outcome when diverted), and scores it against the ground truth, alongside a
fixed ±10 % rule and an *oracle* (true weights, true noise) held to the same 0.5 %
false-alarm budget, which shows what is physically detectable at all.

World (all seeded):
- 400 SKUs, unit weights log-uniform 15 g - 6 kg, per-unit spread 0.2 - 2.5 % (cv);
  catalogue weights right to 3 significant digits, except 5 % of SKUs that are wrong
  (+50 to +150 g, or off by 8 - 35 %).
- Orders of 1 - 4 lines, 1 - 6 units a line, SKUs drawn by a long-tailed popularity.
- The WMS picks the packaging class from catalogue content (the policy's rule); an empty
  box varies by 3 - 5 %, and box_m really weighs 365 g where the policy says 350 g.
- Six stations, scale noise 2 - 5 g (standard deviation), mis-pack rates 0.5 - 2 %
  (1 % overall): missing unit, extra unit (same or another SKU), wrong item.
- A mis-pack's weight change ``Δ`` is compared with the parcel's true noise ``σ``:
  ``|Δ| < 3σ`` is *hidden* (no check can catch it at 0.5 % false alarms, e.g. a 30 g phone
  case missing from a 2 kg parcel), ``3σ - 5σ`` *marginal*, ``≥ 5σ`` *detectable*.

Run: ``python benchmarks/bench_packcheck.py [--parcels N] [--seed S]``. The last line
printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ordercare.fulfil.packcheck import PackCheck, PackLine
from ordercare.fulfil.packcheck_policy import PackCheckPolicy, load_policy

MISPACK_RATE = 0.01
STATION_SCALE_SD = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
STATION_MISPACK = (0.005, 0.007, 0.008, 0.010, 0.010, 0.020)  # mean 1 %
TRUE_PACKAGING = {  # name: (true mean g, true cv); box_m drifted from the policy's 350 g
    "envelope": (25.0, 0.05),
    "box_s": (150.0, 0.03),
    "box_m": (365.0, 0.03),
    "box_l": (800.0, 0.03),
}
ORACLE_K = 2.807  # two-sided 0.5 % of a normal: the oracle's false-alarm budget
HIDDEN_SIGMAS, DETECTABLE_SIGMAS = 3.0, 5.0


class Row(NamedTuple):
    """One parcel's ground truth and what each check decided."""

    station: int
    mispack: bool
    sigmas: float  # |Δ| / true noise sd; 0 for a right parcel
    learned: bool
    fixed10: bool
    oracle: bool
    basis: str
    wrong_sku: bool  # holds a SKU whose catalogue weight is wrong


@dataclass
class World:
    true_g: np.ndarray
    catalogue_g: np.ndarray
    cv: np.ndarray
    popularity_cdf: np.ndarray
    wrong: np.ndarray  # bool: catalogue weight deliberately wrong


def round_sig(x: float, digits: int = 3) -> float:
    return float(round(x, digits - 1 - int(math.floor(math.log10(abs(x))))))


def build_world(rng: np.random.Generator, n_skus: int = 400) -> World:
    true_g = np.exp(rng.uniform(math.log(15), math.log(6000), n_skus))
    cv = np.exp(rng.uniform(math.log(0.002), math.log(0.025), n_skus))
    catalogue = np.array([round_sig(w) for w in true_g])
    wrong = rng.random(n_skus) < 0.05
    for i in np.flatnonzero(wrong):
        if rng.random() < 0.5 and true_g[i] < 2000:
            catalogue[i] = round(true_g[i] - rng.uniform(50, 150))  # catalogue too light
            catalogue[i] = max(catalogue[i], 5.0)
        else:
            factor = 1 + rng.choice([-1, 1]) * rng.uniform(0.08, 0.35)
            catalogue[i] = round_sig(true_g[i] * factor)
    ranks = rng.permutation(n_skus) + 1
    popularity = 1.0 / ranks**0.9
    return World(true_g, catalogue, cv, np.cumsum(popularity / popularity.sum()), wrong)


LINES_CDF = np.cumsum([0.62, 0.23, 0.10, 0.05])
QTY_CDF = np.cumsum([0.76, 0.14, 0.05, 0.03, 0.01, 0.01])


def pick(rng: np.random.Generator, cdf: np.ndarray) -> int:
    """Index drawn from a cumulative distribution (fast path for ``rng.choice(p=...)``)."""
    return min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)


def draw_order(rng: np.random.Generator, world: World) -> dict[int, int]:
    n_lines = pick(rng, LINES_CDF) + 1
    order: dict[int, int] = {}
    while len(order) < n_lines:
        order.setdefault(pick(rng, world.popularity_cdf), pick(rng, QTY_CDF) + 1)
    return order


def mispack(
    rng: np.random.Generator, world: World, order: dict[int, int]
) -> tuple[str, dict[int, int]]:
    """One packing error: returns the inspection outcome it leads to and what was packed."""
    packed = dict(order)
    kind = str(rng.choice(["missing", "extra", "wrong"], p=[0.4, 0.3, 0.3]))
    if kind == "missing" and sum(order.values()) == 1:
        kind = str(rng.choice(["extra", "wrong"]))
    line = int(rng.choice(list(order)))
    if kind == "missing":
        packed[line] -= 1
        return "missing_item", packed
    other = pick(rng, world.popularity_cdf)
    if kind == "extra":
        extra = line if rng.random() < 0.5 else other
        packed[extra] = packed.get(extra, 0) + 1
        return "repacked", packed
    while other == line:
        other = pick(rng, world.popularity_cdf)
    packed[line] -= 1
    packed[other] = packed.get(other, 0) + 1
    return "wrong_item", packed


def run(n_parcels: int, seed: int, policy: PackCheckPolicy) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    world = build_world(rng)
    pc = PackCheck(policy)
    rows: list[Row] = []
    hidden_examples: dict[str, str] = {}  # one per kind of mis-pack
    started = time.perf_counter()
    for _ in range(n_parcels):
        order = draw_order(rng, world)
        st = int(rng.integers(len(STATION_SCALE_SD)))
        lines = [PackLine(f"S{s:03d}", q, float(world.catalogue_g[s])) for s, q in order.items()]
        content_cat = sum(q * world.catalogue_g[s] for s, q in order.items())
        box = policy.packaging_for(content_cat, sum(order.values()))
        pack_mean, pack_cv = TRUE_PACKAGING[box.name]
        outcome, packed = "ok", order
        if rng.random() < STATION_MISPACK[st]:
            outcome, packed = mispack(rng, world, order)
        units = [(s, q) for s, q in packed.items() if q > 0]
        measured = rng.normal(pack_mean, pack_cv * pack_mean) + rng.normal(0, STATION_SCALE_SD[st])
        for s, q in units:
            measured += rng.normal(world.true_g[s], world.cv[s] * world.true_g[s], q).sum()
        measured = float(max(round(measured), 1))
        true_expected = pack_mean + sum(q * world.true_g[s] for s, q in order.items())
        sigma = math.sqrt(
            STATION_SCALE_SD[st] ** 2
            + (pack_cv * pack_mean) ** 2
            + sum(q * (world.cv[s] * world.true_g[s]) ** 2 for s, q in order.items())
        )
        delta = sum(q * world.true_g[s] for s, q in packed.items()) - (true_expected - pack_mean)
        verdict = pc.check(lines, measured, f"st{st + 1}")
        if verdict.divert:
            pc.learn(lines, measured, outcome, f"st{st + 1}")
        else:
            pc.learn(lines, measured, "passed", f"st{st + 1}")
        fixed_expected = box.weight_g + content_cat
        fixed = abs(measured - fixed_expected) > 0.10 * fixed_expected
        oracle = abs(measured - true_expected) > ORACLE_K * sigma
        is_mispack = packed is not order
        z = abs(delta) / sigma if is_mispack else 0.0
        if is_mispack and z < HIDDEN_SIGMAS and outcome not in hidden_examples:
            hidden_examples[outcome] = (
                f"{outcome}: Δ {delta:+.0f} g in a {true_expected:.0f} g parcel (σ {sigma:.0f} g)"
            )
        has_wrong = any(world.wrong[s] for s in order)
        rows.append(Row(st, is_mispack, z, verdict.divert, fixed, oracle, verdict.basis, has_wrong))
    seconds = time.perf_counter() - started
    return score(rows, pc, world, hidden_examples, seconds, n_parcels, seed, policy)


def rates(rows: list[Row], check: str) -> tuple[float, float, float, float]:
    """Recall (all), recall (detectable), recall (marginal), false-alarm rate of a check."""
    mis = [r for r in rows if r.mispack]
    det = [r for r in mis if r.sigmas >= DETECTABLE_SIGMAS]
    marg = [r for r in mis if HIDDEN_SIGMAS <= r.sigmas < DETECTABLE_SIGMAS]
    right = [r for r in rows if not r.mispack]

    def share(rs: list[Row]) -> float:
        return sum(getattr(r, check) for r in rs) / len(rs) if rs else float("nan")

    return share(mis), share(det), share(marg), share(right)


def score(
    rows: list[Row],
    pc: PackCheck,
    world: World,
    hidden_examples: dict[str, str],
    seconds: float,
    n_parcels: int,
    seed: int,
    policy: PackCheckPolicy,
) -> dict[str, object]:
    half = rows[len(rows) // 2 :]
    warmup = rates(rows[: len(rows) // 10], "learned")
    mis = [r for r in rows if r.mispack]
    hidden = [r for r in mis if r.sigmas < HIDDEN_SIGMAS]
    learned, fixed, oracle = rates(rows, "learned"), rates(rows, "fixed10"), rates(rows, "oracle")
    steady = rates(half, "learned")
    print(f"pack check benchmark: {n_parcels} parcels, seed {seed}, {seconds:.1f} s")
    print(
        f"mis-packs {len(mis)} ({len(mis) / len(rows):.2%}): detectable "
        f"{sum(r.sigmas >= DETECTABLE_SIGMAS for r in mis)}, marginal "
        f"{sum(HIDDEN_SIGMAS <= r.sigmas < DETECTABLE_SIGMAS for r in mis)}, hidden {len(hidden)}"
    )
    print(f"{'check':<22}{'recall':>8}{'detect.':>9}{'marginal':>10}{'false al.':>11}")
    for name, r in (
        ("learned (all parcels)", learned),
        ("learned (1st tenth)", warmup),
        ("learned (2nd half)", steady),
        ("fixed ±10 %", fixed),
        ("oracle (true weights)", oracle),
    ):
        print(f"{name:<22}{r[0]:>8.3f}{r[1]:>9.3f}{r[2]:>10.3f}{r[3]:>11.4f}")
    print("hidden mis-packs (no weight check can see them), e.g.:")
    for example in hidden_examples.values():
        print(f"  {example}")
    right = [r for r in rows if not r.mispack]
    fa_wrong = sum(r.learned for r in right if r.wrong_sku)
    print(
        f"learned false alarms: {sum(r.learned for r in right)}, of which {fa_wrong} on parcels "
        f"holding a SKU with a wrong catalogue weight (before it was learnt)"
    )
    material = {
        f"S{i:03d}"
        for i in range(len(world.true_g))
        if abs(world.catalogue_g[i] - world.true_g[i])
        >= max(policy.catalogue.flag_abs_g, policy.catalogue.flag_rel * world.true_g[i])
    }
    flagged = {f.sku for f in pc.catalogue_flags()}
    seen = set(pc.state.skus)
    print(
        f"catalogue: {len(material & seen)} SKUs materially wrong and packed, "
        f"{len(flagged & material)} flagged, {len(flagged - material)} flagged wrongly"
    )
    print(f"{'station':<9}{'parcels':>8}{'diverted':>9}{'mismatch':>9}{'accuracy':>9}{'hit':>6}")
    for s in pc.station_report():
        hit = f"{s.inspection_hit_rate:.2f}" if s.inspection_hit_rate is not None else "-"
        print(
            f"{s.station:<9}{s.parcels:>8}{s.diverted:>9}{s.mismatch_rate:>9.4f}"
            f"{s.pack_accuracy:>9.4f}{hit:>6}"
        )
    return {
        "parcels": n_parcels,
        "mispack_rate": MISPACK_RATE,
        "mispacks": len(mis),
        "learned_recall": round(learned[0], 4),
        "learned_false_alarm_rate": round(learned[3], 5),
        "fixed10_recall": round(fixed[0], 4),
        "fixed10_false_alarm_rate": round(fixed[3], 5),
        "detectable_recall": round(learned[1], 4),
        "fixed10_detectable_recall": round(fixed[1], 4),
        "oracle_recall": round(oracle[0], 4),
        "oracle_detectable_recall": round(oracle[1], 4),
        "oracle_false_alarm_rate": round(oracle[3], 5),
        "marginal_recall": round(learned[2], 4),
        "warmup_false_alarm_rate": round(warmup[3], 5),
        "steady_recall": round(steady[0], 4),
        "steady_detectable_recall": round(steady[1], 4),
        "steady_false_alarm_rate": round(steady[3], 5),
        "hidden_mispacks": len(hidden),
        "hidden_caught": sum(r.learned for r in hidden),
        "learned_basis_share": round(sum(r.basis == "learned" for r in rows) / len(rows), 4),
        "catalogue_wrong_material": len(material & seen),
        "catalogue_flagged_right": len(flagged & material),
        "catalogue_flagged_wrongly": len(flagged - material),
        "detectable_definition": f"|delta| >= {DETECTABLE_SIGMAS} x true noise sd",
        "seed": seed,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = run(args.parcels, args.seed, load_policy())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
