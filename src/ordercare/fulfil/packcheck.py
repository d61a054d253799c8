"""Pack-station weight check that learns what a right parcel weighs.

Why learn: a fixed "±10 %" rule is at once too loose and too tight. A 300 g unit missing from
a 4 kg parcel passes it, and a SKU whose catalogue weight is 15 % off is diverted on every
parcel, forever. The scale itself is good to a few grams. What spreads a parcel's weight is
the packaging and each unit's own variation, and both are learnt here from parcels known to
be right: those that passed, and those diverted that inspection found ``ok``.

Model of a right parcel (grams)::

    measured = packaging(class) + offset(class) + Σ qty_i · w_i + noise
    var(noise) = F(class) + Σ qty_i · U_i + Σ qty_i² · se_i²

- ``w_i`` is a SKU's true unit weight: the median of the unit weights implied by its recent
  right parcels. When it is far from the catalogue weight, with proof, the SKU is *flagged*
  for correction and the check uses the estimate meanwhile.
- ``U_i`` is the SKU's per-unit variance. It is fitted so that the squared standardised
  residuals of its recent right parcels, largest 10 % trimmed, average what normal noise
  would give: a robust scale estimate (like the MAD rule, but wasting less data) that
  accounts for each parcel's quantity and for the other SKUs sharing the box.
- ``F`` is the scale's and the packaging's variance (the policy's spec). ``offset`` is the
  median miss of a packaging class against the catalogue, because boxes change supplier.
- The tolerance is ``k · σ``. ``k`` starts at the policy's ``k_sigma``, and each packaging
  class widens it when its own high quantile of |residual / σ| shows heavier tails than
  normal.

Until a SKU and its packaging class have enough history the policy's default tolerance
applies. Everything here is pure: no clock, no database; the state is a msgspec Struct
that the engine persists (``dumps`` / ``loads``) and feeds in event-time order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, TypeVar, get_args

import msgspec
import numpy as np

from ordercare.fulfil.packcheck_policy import PackagingClass, PackCheckPolicy, load_policy

Outcome = Literal["passed", "ok", "repacked", "wrong_item", "missing_item"]
Basis = Literal["default", "learned"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
INSPECTION_OUTCOMES: tuple[str, ...] = OUTCOMES[1:]
_RIGHT = ("passed", "ok")  # the measured weight is the true weight of these lines
MISPACKS = ("repacked", "wrong_item", "missing_item")  # inspection found a mis-pack (and put it right)
REASON = "weight_mismatch"
ACTION = "divert_for_inspection"

_MAD_TO_SD = 1.4826  # MAD x this = standard deviation, for normal data
_KEEP = 0.90  # share of squared standardised residuals kept (the largest 10 % are trimmed)
_CUT = NormalDist().inv_cdf((1 + _KEEP) / 2) ** 2  # chi-square(1) quantile at _KEEP
# Mean of a chi-square(1) variable below _CUT: what the kept squares average for normal data.
_KEPT_MEAN = (_KEEP - math.sqrt(2 * _CUT / math.pi) * math.exp(-_CUT / 2)) / _KEEP
_MEDIAN_SE = 1.2533  # sqrt(pi/2): standard error of a median relative to that of a mean
_REFRESH_EVERY = 16  # class statistics are recomputed after this many new residuals
_UNASSIGNED = "unassigned"
T = TypeVar("T", int, float)


class PackLine(msgspec.Struct, frozen=True):
    """One order line in the parcel; ``weight_g`` is the catalogue unit weight."""

    sku: str
    qty: int
    weight_g: float


class Expected(msgspec.Struct, frozen=True):
    """What the parcel should weigh, how far it may be off, and on what knowledge."""

    expected_g: float
    tolerance_g: float
    sigma_g: float
    basis: Basis
    packaging: str
    corrected_skus: tuple[str, ...] = ()


class Verdict(msgspec.Struct, frozen=True):
    """The check's answer; ``deviation_g`` is measured minus expected (negative = light)."""

    divert: bool
    expected_g: float
    tolerance_g: float
    deviation_g: float
    reason: str
    basis: Basis
    action: str | None = None
    packaging: str = ""
    corrected_skus: tuple[str, ...] = ()


class CatalogueFlag(msgspec.Struct, frozen=True):
    """A catalogue weight shown wrong by the scale: correct it in the catalogue."""

    sku: str
    catalogue_g: float
    estimated_g: float
    evidence: int
    error_g: float
    stderr_g: float


class StationFigures(msgspec.Struct, frozen=True):
    """A pack station's record; ``pack_accuracy`` only sees mis-packs the check caught."""

    station: str
    parcels: int
    diverted: int
    mismatch_rate: float
    confirmed_mispacks: int
    pack_accuracy: float
    inspection_hit_rate: float | None
    outcomes: dict[str, int]


class SkuStats(msgspec.Struct):
    """What right parcels taught about one SKU (recent window, oldest first)."""

    catalogue_g: float
    seen: int = 0
    qty: list[int] = msgspec.field(default_factory=list)
    unit_g: list[float] = msgspec.field(default_factory=list)
    other_var: list[float] = msgspec.field(default_factory=list)
    estimate_g: float = 0.0
    stderr_g: float = 0.0
    unit_var: float = 0.0


class ClassStats(msgspec.Struct):
    """What right parcels taught about one packaging class."""

    residual_g: list[float] = msgspec.field(default_factory=list)
    abs_z: list[float] = msgspec.field(default_factory=list)
    added: int = 0
    offset_g: float = 0.0
    k_sigma: float = 0.0  # 0 until the class has enough history


class StationStats(msgspec.Struct):
    passed: int = 0
    outcomes: dict[str, int] = msgspec.field(default_factory=dict)


class PackState(msgspec.Struct):
    """All learnt state: plain, serialisable, owned by the engine."""

    version: int = 1
    skus: dict[str, SkuStats] = msgspec.field(default_factory=dict)
    classes: dict[str, ClassStats] = msgspec.field(default_factory=dict)
    stations: dict[str, StationStats] = msgspec.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Item:
    """One SKU of a parcel as the check sees it now."""

    sku: str
    qty: int
    catalogue_g: float
    weight_g: float
    unit_var: float
    est_var: float
    settled: bool
    flagged: bool

    @property
    def var(self) -> float:
        return self.qty * self.unit_var + self.qty**2 * self.est_var


def _push(values: list[T], value: T, window: int) -> None:
    """Append and keep only the ``window`` most recent values: old evidence ages out."""
    values.append(value)
    if len(values) > window:
        del values[: len(values) - window]


def _positive(measured_g: float) -> float:
    """A measured weight as a plain float (numpy scalars would not serialise), or an error."""
    if not measured_g > 0:  # also refuses NaN
        raise ValueError(f"measured weight must be positive grams, got {measured_g!r}")
    return float(measured_g)


def _median(values: Sequence[float]) -> float:
    """Median of a short list; plain Python beats numpy's call overhead at this size."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


class PackCheck:
    """The learning weight check. ``check`` is a pure query; only ``learn`` changes state."""

    def __init__(self, policy: PackCheckPolicy | None = None, state: PackState | None = None):
        self.policy = policy if policy is not None else load_policy()
        self.state = state if state is not None else PackState()
        q = self.policy.learning.tail_quantile
        self._normal_tail = NormalDist().inv_cdf((1 + q) / 2)

    def dumps(self) -> bytes:
        """The learnt state as JSON bytes: the engine stores it; the policy stays in its file."""
        return msgspec.json.encode(self.state)

    @classmethod
    def loads(cls, data: bytes, policy: PackCheckPolicy | None = None) -> PackCheck:
        """A check resumed from ``dumps`` output (typed decoding refuses a corrupt state)."""
        return cls(policy, msgspec.json.decode(data, type=PackState))

    # -- the check ---------------------------------------------------------------------
    def expected(self, lines: Sequence[PackLine], packaging: str | None = None) -> Expected:
        """Expected weight and tolerance for these lines (``packaging`` if the box is known)."""
        box, items, offset = self._view(lines, packaging)
        cs = self.state.classes.get(box.name)
        var = self._fixed_var(box) + sum(it.var for it in items)
        expected_g = box.weight_g + offset + sum(it.qty * it.weight_g for it in items)
        sigma = math.sqrt(var)
        corrected = tuple(it.sku for it in items if it.flagged)
        if cs is not None and cs.k_sigma > 0 and all(it.settled for it in items):
            tol = max(self.policy.learning.min_tolerance_g, cs.k_sigma * sigma)
            return Expected(expected_g, tol, sigma, "learned", box.name, corrected)
        d = self.policy.default_tolerance
        tol = max(d.abs_g, d.rel * expected_g)
        return Expected(expected_g, tol, sigma, "default", box.name, corrected)

    def check(
        self,
        lines: Sequence[PackLine],
        measured_g: float,
        station: str | None = None,
        packaging: str | None = None,
    ) -> Verdict:
        """Should this parcel be diverted for inspection before it leaves?

        ``station`` is accepted for symmetry with ``learn``; the figures per station are
        counted by ``learn`` so that asking twice never counts twice.
        """
        measured_g = _positive(measured_g)
        exp = self.expected(lines, packaging)
        deviation = measured_g - exp.expected_g
        divert = abs(deviation) > exp.tolerance_g
        return Verdict(
            divert=divert,
            expected_g=exp.expected_g,
            tolerance_g=exp.tolerance_g,
            deviation_g=deviation,
            reason=REASON if divert else "within_tolerance",
            basis=exp.basis,
            action=ACTION if divert else None,
            packaging=exp.packaging,
            corrected_skus=exp.corrected_skus,
        )

    # -- learning ----------------------------------------------------------------------
    def learn(
        self,
        lines: Sequence[PackLine],
        measured_g: float,
        outcome: str,
        station: str | None = None,
        packaging: str | None = None,
    ) -> None:
        """Record a packed parcel's fate: ``passed`` (not diverted) or an inspection outcome.

        Only ``passed`` and ``ok`` teach weights: their measured weight is the true weight of
        these lines. ``repacked``, ``wrong_item`` and ``missing_item`` were mis-packs; they
        count against the station, and their weight is not evidence about the SKUs.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        measured_g = _positive(measured_g)
        self._count_station(station, outcome)
        if outcome not in _RIGHT:
            return
        box, items, offset = self._view(lines, packaging)
        cs = self.state.classes.setdefault(box.name, ClassStats())
        fixed_var = self._fixed_var(box)
        learning = self.policy.learning
        if not any(it.flagged for it in items):
            content = sum(it.qty * it.catalogue_g for it in items)
            miss = round(measured_g - box.weight_g - content, 2)
            _push(cs.residual_g, miss, learning.class_window)
        if all(it.settled for it in items):
            expected_g = box.weight_g + offset + sum(it.qty * it.weight_g for it in items)
            sigma = math.sqrt(fixed_var + sum(it.var for it in items))
            _push(cs.abs_z, round(abs(measured_g - expected_g) / sigma, 4), learning.class_window)
        cs.added += 1
        if cs.added % _REFRESH_EVERY == 0 or cs.added == learning.offset_min_history:
            self._refresh_class(cs)
        for it in items:
            others = [o for o in items if o is not it]
            if not all(o.settled for o in others):
                continue  # two unknowns in one parcel: the residual cannot be attributed
            rest_g = box.weight_g + offset + sum(o.qty * o.weight_g for o in others)
            st = self.state.skus.setdefault(it.sku, SkuStats(catalogue_g=it.catalogue_g))
            st.catalogue_g = it.catalogue_g
            st.seen += 1
            _push(st.qty, it.qty, learning.sku_window)
            # Rounded to far below the scale's resolution: it halves the stored state.
            _push(st.unit_g, round((measured_g - rest_g) / it.qty, 2), learning.sku_window)
            other_var = round(fixed_var + sum(o.var for o in others), 2)
            _push(st.other_var, other_var, learning.sku_window)
            self._refresh_sku(st)

    # -- reports -----------------------------------------------------------------------
    def catalogue_flags(self) -> list[CatalogueFlag]:
        """SKUs whose catalogue weight is proven wrong, largest error first."""
        flags = [
            CatalogueFlag(
                sku=sku,
                catalogue_g=st.catalogue_g,
                estimated_g=round(st.estimate_g, 1),
                evidence=len(st.unit_g),
                error_g=round(st.estimate_g - st.catalogue_g, 1),
                stderr_g=round(st.stderr_g, 1),
            )
            for sku, st in self.state.skus.items()
            if self._flagged(st, st.catalogue_g)
        ]
        return sorted(flags, key=lambda f: (-abs(f.error_g), f.sku))

    def station_report(self) -> list[StationFigures]:
        """Per station: parcels, diversions, what inspection found, and pack accuracy."""
        report = []
        for name in sorted(self.state.stations):
            s = self.state.stations[name]
            diverted = sum(s.outcomes.values())
            parcels = s.passed + diverted
            confirmed = sum(s.outcomes.get(o, 0) for o in MISPACKS)
            report.append(
                StationFigures(
                    station=name,
                    parcels=parcels,
                    diverted=diverted,
                    mismatch_rate=diverted / parcels if parcels else 0.0,
                    confirmed_mispacks=confirmed,
                    pack_accuracy=1 - confirmed / parcels if parcels else 1.0,
                    inspection_hit_rate=confirmed / diverted if diverted else None,
                    outcomes={o: s.outcomes.get(o, 0) for o in INSPECTION_OUTCOMES},
                )
            )
        return report

    # -- internals ---------------------------------------------------------------------
    def _view(
        self, lines: Sequence[PackLine], packaging: str | None
    ) -> tuple[PackagingClass, list[_Item], float]:
        """The parcel's packaging class, its SKUs as currently known, the class offset."""
        if not lines:
            raise ValueError("a parcel needs at least one line")
        merged: dict[str, tuple[int, float]] = {}
        for line in lines:
            if line.qty < 1 or not line.weight_g > 0:
                raise ValueError(
                    f"line {line.sku!r}: qty must be >= 1 and weight_g > 0, "
                    f"got qty={line.qty!r} weight_g={line.weight_g!r}"
                )
            qty = merged.get(line.sku, (0, 0.0))[0] + int(line.qty)
            merged[line.sku] = (qty, float(line.weight_g))
        content = sum(q * w for q, w in merged.values())
        items_count = sum(q for q, _ in merged.values())
        box = (
            self.policy.packaging_named(packaging)
            if packaging is not None
            else self.policy.packaging_for(content, items_count)
        )
        items = [self._item(sku, q, w) for sku, (q, w) in merged.items()]
        cs = self.state.classes.get(box.name)
        return box, items, cs.offset_g if cs is not None else 0.0

    def _item(self, sku: str, qty: int, catalogue_g: float) -> _Item:
        learning = self.policy.learning
        prior_var = (learning.unit_cv_prior * catalogue_g) ** 2
        st = self.state.skus.get(sku)
        if st is None:
            return _Item(sku, qty, catalogue_g, catalogue_g, prior_var, 0.0, False, False)
        settled = len(st.unit_g) >= learning.min_history
        flagged = self._flagged(st, catalogue_g)
        if not (settled or flagged):
            return _Item(sku, qty, catalogue_g, catalogue_g, prior_var, 0.0, False, False)
        unit_var = st.unit_var if settled else prior_var
        return _Item(
            sku, qty, catalogue_g, st.estimate_g, unit_var, st.stderr_g**2, settled, flagged
        )

    def _flagged(self, st: SkuStats, catalogue_g: float) -> bool:
        c = self.policy.catalogue
        if len(st.unit_g) < c.flag_min_evidence:
            return False
        error = abs(st.estimate_g - catalogue_g)
        return error >= max(c.flag_abs_g, c.flag_rel * catalogue_g) and (
            error >= c.flag_z * st.stderr_g
        )

    def _fixed_var(self, box: PackagingClass) -> float:
        return self.policy.scale.noise_g**2 + (box.weight_cv * box.weight_g) ** 2

    def _refresh_sku(self, st: SkuStats) -> None:
        """Median unit weight, its standard error, and the per-unit variance ``U``."""
        learning = self.policy.learning
        u = st.unit_g
        est = _median(u)
        mad_sd = _MAD_TO_SD * _median([abs(x - est) for x in u])
        st.estimate_g = est
        st.stderr_g = _MEDIAN_SE * max(mad_sd, self.policy.scale.noise_g) / math.sqrt(len(u))
        # Solve trimmed_mean(e² / (other + q·U)) = what normal data gives, by fixed-point
        # steps: each multiplies U by how much too wide or too narrow the current fit is.
        # Trimming the largest 10 % keeps a slipped-through mis-pack from inflating U while
        # wasting far less data than a median of squares (the MAD rule) would.
        q = np.asarray(st.qty, dtype=float)
        e2 = (q * (np.asarray(u) - est)) ** 2
        other = np.asarray(st.other_var)
        keep = max(1, round(_KEEP * len(u)))
        floor = max((learning.unit_cv_floor * est) ** 2, 1e-6)
        cap = max((0.5 * est) ** 2, floor)
        unit_var = min(max(st.unit_var or (learning.unit_cv_prior * est) ** 2, floor), cap)
        for _ in range(12):
            kept = np.partition(e2 / (other + q * unit_var), keep - 1)[:keep]
            new = min(max(unit_var * float(kept.sum()) / keep / _KEPT_MEAN, floor), cap)
            done = abs(new - unit_var) <= 0.01 * unit_var
            unit_var = new
            if done:
                break
        st.unit_var = unit_var

    def _refresh_class(self, cs: ClassStats) -> None:
        """Packaging offset (median miss) and the tail multiplier ``k`` of the class."""
        learning = self.policy.learning
        if len(cs.residual_g) >= learning.offset_min_history:
            cs.offset_g = float(np.median(cs.residual_g))
        if len(cs.abs_z) >= learning.class_min_history:
            tail = float(np.quantile(cs.abs_z, learning.tail_quantile))
            k = learning.k_sigma * tail / self._normal_tail
            cs.k_sigma = min(max(k, learning.k_sigma), learning.k_sigma_max)

    def _count_station(self, station: str | None, outcome: str) -> None:
        s = self.state.stations.setdefault(station or _UNASSIGNED, StationStats())
        if outcome == "passed":
            s.passed += 1
        else:
            s.outcomes[outcome] = s.outcomes.get(outcome, 0) + 1
