"""Daily demand forecasts per (fc_id, sku), with the model chosen per series by backtest.

Why per series: one FC sells a phone case every hour and a spare part twice a month. No
single model is right for both, so each series is classified (Syntetos-Boylan: average
demand interval ADI and squared coefficient of variation CV² of the non-zero sizes), the
class restricts the candidates (ETS/Theta for regular sellers, Croston/ADIDA/IMAPA for
intermittent ones) and a rolling-origin cross-validation picks the candidate with the lowest
MAE on that series (within one series, MAE and WAPE rank models identically).

Why the CV residuals matter beyond model choice: they are the honest measure of how wrong
the forecast is on *this* series, so they give both the prediction interval (an empirical,
conformal-style quantile of the absolute errors — the Croston family has no native
intervals) and the error variance that ``reorder`` turns into safety stock.

Pure: no database, no clock. The caller hands in daily counts, oldest first, every series
ending on the same day (the day before the forecast origin).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ordercare.rules import StrictModel

if TYPE_CHECKING:
    import pandas as pd


SeriesKey = tuple[str, str]
"""(fc_id, sku): demand is forecast where the stock is."""

RegularModel = Literal["AutoETS", "Theta", "OptimizedTheta", "DynamicOptimizedTheta", "SeasonalES"]
IntermittentModel = Literal["CrostonSBA", "CrostonOptimized", "CrostonClassic", "ADIDA", "IMAPA"]

SHORT_HISTORY_MODEL = "ShortHistoryMean"
ZERO_MODEL = "Zero"


class DemandClass(StrEnum):
    """Syntetos-Boylan demand classes, plus the two cases no model is fitted to."""

    SMOOTH = "smooth"
    ERRATIC = "erratic"
    INTERMITTENT = "intermittent"
    LUMPY = "lumpy"
    ZERO = "zero"
    SHORT = "short"


class ForecastSettings(StrictModel):
    """Forecasting knobs; loaded from the ``forecast:`` section of the reorder policy."""

    min_history_days: int = Field(default=14, ge=1)
    season_length: int = Field(default=7, ge=1)
    horizon_days: int = Field(default=28, ge=1)
    cv_horizon_days: int = Field(default=7, ge=1)
    cv_windows: int = Field(default=4, ge=1)
    cv_min_train_days: int = Field(default=7, ge=2)
    cv_refit: bool = False
    interval_level: int = Field(default=90, gt=0, lt=100)
    adi_cutoff: float = Field(default=1.32, gt=1.0)
    cv2_cutoff: float = Field(default=0.49, gt=0.0)
    short_history_sd_factor: float = Field(default=2.0, ge=1.0)
    ets_model: str = Field(default="ANA", pattern=r"^[AZ][NAZ][NAZ]$")
    regular_models: tuple[RegularModel, ...] = Field(
        default=("AutoETS", "Theta", "SeasonalES"), min_length=1
    )
    intermittent_models: tuple[IntermittentModel, ...] = Field(
        default=("CrostonSBA", "ADIDA", "IMAPA"), min_length=1
    )

    @model_validator(mode="after")
    def _history_covers_one_backtest(self) -> ForecastSettings:
        needed = self.cv_min_train_days + self.cv_horizon_days
        if self.min_history_days < needed:
            raise ValueError(
                f"min_history_days ({self.min_history_days}) must be at least "
                f"cv_min_train_days + cv_horizon_days ({needed}): a series is only "
                "modelled when it can be backtested once"
            )
        return self


@dataclass(frozen=True)
class SeriesForecast:
    """The forecast of one series and how much to trust it.

    The error over ``d`` days is modelled as independent daily noise plus a persistent
    level error: ``var(d) = error_var_day * d + error_var_level * d²``. Both terms come from
    the CV residuals (per-day errors and per-window totals); the second one is why a
    forecast that is consistently a bit low over a long lead time needs more safety stock
    than the square-root rule would say.
    """

    key: SeriesKey
    model: str
    demand_class: DemandClass
    mean: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    level: int
    error_var_day: float
    error_var_level: float
    cv_mae: float | None
    cv_wape: float | None
    history_days: int

    @property
    def forecast_per_day(self) -> float:
        """Average forecast demand per day over the whole horizon."""
        return float(np.mean(self.mean)) if self.mean else 0.0

    def demand_over(self, days: int) -> float:
        """Expected demand over the next ``days`` days (beyond the horizon: last week's pace)."""
        mean = self.mean
        if days <= len(mean):
            return float(sum(mean[:days]))
        tail = mean[-7:] if mean else (0.0,)
        return float(sum(mean)) + (days - len(mean)) * float(np.mean(tail))

    def error_sd_over(self, days: int) -> float:
        """Standard deviation of the forecast error of the demand total over ``days`` days."""
        return math.sqrt(self.error_var_day * days + self.error_var_level * days * days)


def adi_cv2(y: np.ndarray) -> tuple[float, float]:
    """Average demand interval and squared CV of the non-zero demand sizes."""
    nonzero = y[y > 0]
    if nonzero.size == 0:
        return math.inf, 0.0
    adi = y.size / nonzero.size
    mean = float(nonzero.mean())
    cv2 = float(nonzero.var() / (mean * mean))
    return adi, cv2


def classify(y: np.ndarray, settings: ForecastSettings) -> DemandClass:
    """Syntetos-Boylan class; all-zero and short histories get their own class."""
    if not np.any(y > 0):
        return DemandClass.ZERO
    if y.size < settings.min_history_days:
        return DemandClass.SHORT
    adi, cv2 = adi_cv2(y)
    frequent = adi < settings.adi_cutoff
    steady = cv2 < settings.cv2_cutoff
    if frequent:
        return DemandClass.SMOOTH if steady else DemandClass.ERRATIC
    return DemandClass.INTERMITTENT if steady else DemandClass.LUMPY


def seasonal_naive(y: np.ndarray, horizon: int, season: int = 7) -> np.ndarray:
    """Repeat the last season: the baseline every model here must beat."""
    if y.size == 0:
        return np.zeros(horizon)
    last = y[-season:]
    return np.resize(last, horizon).astype(float)


class AccuracyVsNaive:
    """Forecast error against what happened, beside the seasonal-naive forecast of the same
    days: WAPE pooled per group, MASE averaged over series and scaled by each series'
    in-sample seasonal-naive error. One scorer for the demo and the forecast benchmark."""

    def __init__(self) -> None:
        self.error: dict[str, float] = defaultdict(float)
        self.error_naive: dict[str, float] = defaultdict(float)
        self.actual: dict[str, float] = defaultdict(float)
        self.mase: list[float] = []
        self.mase_naive: list[float] = []

    def add(self, history: np.ndarray, truth: np.ndarray, forecast: Sequence[float],
            groups: Sequence[str] = ("all",)) -> None:
        """One forecast of ``len(truth)`` days made after ``history``, counted in ``groups``."""
        horizon = truth.size
        err = float(np.abs(truth - np.asarray(forecast[:horizon])).sum())
        err_naive = float(np.abs(truth - seasonal_naive(history, horizon)).sum())
        for group in groups:
            self.error[group] += err
            self.error_naive[group] += err_naive
            self.actual[group] += float(truth.sum())
        scale = float(np.abs(history[7:] - history[:-7]).mean()) if history.size > 7 else 0.0
        if scale > 0:
            self.mase.append(err / horizon / scale)
            self.mase_naive.append(err_naive / horizon / scale)

    def wape(self, group: str = "all") -> tuple[float, float] | None:
        """(ours, seasonal naive) for ``group``; None when it sold nothing."""
        if self.actual[group] <= 0:
            return None
        return self.error[group] / self.actual[group], self.error_naive[group] / self.actual[group]

    def mean_mase(self) -> tuple[float, float] | None:
        if not self.mase:
            return None
        return float(np.mean(self.mase)), float(np.mean(self.mase_naive))


def history_from_frame(
    frame: pd.DataFrame, *, end: date, start: date | None = None
) -> dict[SeriesKey, np.ndarray]:
    """Dense daily counts from a tidy frame ``fc_id, sku, day, qty`` (one row per sale day).

    Days without a row are zero sales. Each series runs from ``start`` (or its first row)
    to ``end`` inclusive; rows after ``end`` are ignored, so the caller controls time.
    """
    import pandas as pd

    missing = {"fc_id", "sku", "day", "qty"} - set(frame.columns)
    if missing:
        raise ValueError(f"demand frame lacks columns: {', '.join(sorted(missing))}")
    days = pd.to_datetime(frame["day"]).dt.normalize()
    last = pd.Timestamp(end)
    data = frame.assign(day=days)
    data = data[data["day"] <= last]
    out: dict[SeriesKey, np.ndarray] = {}
    for (fc_id, sku), group in data.groupby(["fc_id", "sku"], sort=True):
        first = pd.Timestamp(start) if start is not None else group["day"].min()
        index = pd.date_range(first, last, freq="D")
        daily = group.groupby("day")["qty"].sum().reindex(index, fill_value=0)
        out[(str(fc_id), str(sku))] = daily.to_numpy(dtype=float)
    return out


def forecast_demand(
    history: Mapping[SeriesKey, Sequence[float] | np.ndarray],
    settings: ForecastSettings | None = None,
    *,
    horizon_days: int | None = None,
) -> dict[SeriesKey, SeriesForecast]:
    """Forecast every series ``horizon_days`` ahead with its own CV-chosen model.

    ``history`` maps (fc_id, sku) to daily demand, oldest first, all ending on the same day.
    Series with no demand get a zero forecast; series shorter than ``min_history_days``
    get their mean with a deliberately wide error (see ``_fallback_forecast``).
    """
    s = settings or ForecastSettings()
    horizon = horizon_days or s.horizon_days
    arrays = {key: _as_counts(key, values) for key, values in history.items()}
    out: dict[SeriesKey, SeriesForecast] = {}
    plans: dict[tuple[tuple[str, ...], int], list[SeriesKey]] = defaultdict(list)
    classes: dict[SeriesKey, DemandClass] = {}
    for key, y in arrays.items():
        cls = classes[key] = classify(y, s)
        if cls in (DemandClass.ZERO, DemandClass.SHORT):
            out[key] = _fallback_forecast(key, cls, y, horizon, s)
        else:
            plans[_cv_plan(y, cls, s)].append(key)
    with warnings.catch_warnings():
        # Theta's seasonality test divides by zero on constant series; harmless.
        warnings.simplefilter("ignore")
        chosen: dict[str, list[tuple[SeriesKey, np.ndarray]]] = defaultdict(list)
        for (candidates, windows), keys in plans.items():
            for key, (model, errors) in _select(keys, arrays, candidates, windows, s).items():
                chosen[model].append((key, errors))
        for model, picked in chosen.items():
            keys = [key for key, _ in picked]
            means = _fit_forecast(keys, arrays, model, horizon, s)
            for (key, errors), mean in zip(picked, means, strict=True):
                out[key] = _cv_forecast(key, classes[key], model, arrays[key], mean, errors, s)
    return {key: out[key] for key in arrays}


def _as_counts(key: SeriesKey, values: Sequence[float] | np.ndarray) -> np.ndarray:
    y = np.asarray(values, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"demand history for {key}: expected a flat list of daily counts")
    if y.size and (not np.all(np.isfinite(y)) or float(y.min()) < 0):
        raise ValueError(f"demand history for {key}: counts must be finite and >= 0")
    return y


def _cv_plan(y: np.ndarray, cls: DemandClass, s: ForecastSettings) -> tuple[tuple[str, ...], int]:
    """Candidates and number of CV windows this series can afford.

    AutoETS cannot fit a seasonal model on fewer than two seasons, so it is dropped when the
    shortest training window would be that small rather than silently replaced.
    """
    regular = cls in (DemandClass.SMOOTH, DemandClass.ERRATIC)
    candidates: tuple[str, ...] = s.regular_models if regular else s.intermittent_models
    h = s.cv_horizon_days
    windows = max(1, min(s.cv_windows, (y.size - s.cv_min_train_days) // h))
    train = y.size - windows * h
    if train < 2 * s.season_length and len(candidates) > 1:
        candidates = tuple(c for c in candidates if c != "AutoETS") or candidates
    return candidates, windows


def _make_model(name: str, s: ForecastSettings) -> Any:
    # statsforecast (and the statsmodels it pulls in) costs seconds to import: only the
    # commands that forecast pay for it, not ``ordercare check`` loading this policy.
    from statsforecast import models as sfm

    m = s.season_length
    if name == "AutoETS":
        return sfm.AutoETS(season_length=m, model=s.ets_model, alias=name)
    seasonal = {
        "Theta": sfm.Theta,
        "OptimizedTheta": sfm.OptimizedTheta,
        "DynamicOptimizedTheta": sfm.DynamicOptimizedTheta,
        "SeasonalES": sfm.SeasonalExponentialSmoothingOptimized,
    }
    if name in seasonal:
        return seasonal[name](season_length=m, alias=name)
    intermittent = {
        "CrostonSBA": sfm.CrostonSBA,
        "CrostonOptimized": sfm.CrostonOptimized,
        "CrostonClassic": sfm.CrostonClassic,
        "ADIDA": sfm.ADIDA,
        "IMAPA": sfm.IMAPA,
    }
    return intermittent[name](alias=name)


def _engine(name: str, s: ForecastSettings, *, final: bool) -> Any:
    """One single-threaded statsforecast runner per model (the caller owns the CPU).

    A series the model cannot fit falls back rather than failing the batch: to the naive
    forecast in the backtest (it rolls forward, and scores badly so it is rarely chosen),
    to the historic mean in the final fit.
    """
    from statsforecast import StatsForecast
    from statsforecast.models import HistoricAverage, Naive

    fallback = HistoricAverage() if final else Naive()
    return StatsForecast(models=[_make_model(name, s)], freq=1, n_jobs=1, fallback_model=fallback)


def _long_frame(keys: list[SeriesKey], arrays: Mapping[SeriesKey, np.ndarray]) -> pd.DataFrame:
    """statsforecast's tidy input; integer days aligned so every series ends on the same ds."""
    import pandas as pd

    lengths = np.array([arrays[k].size for k in keys])
    end = int(lengths.max())
    ds = np.concatenate([np.arange(end - n, end) for n in lengths])
    ids = np.repeat(np.arange(len(keys)), lengths)
    y = np.concatenate([arrays[k] for k in keys])
    return pd.DataFrame({"unique_id": ids, "ds": ds, "y": y})


def _select(
    keys: list[SeriesKey],
    arrays: Mapping[SeriesKey, np.ndarray],
    candidates: tuple[str, ...],
    windows: int,
    s: ForecastSettings,
) -> dict[SeriesKey, tuple[str, np.ndarray]]:
    """Rolling-origin CV of every candidate; per series, the lowest-MAE model and its errors.

    Returns the chosen model's errors (actual - forecast) shaped (windows, cv_horizon_days).
    Ties go to the earlier candidate, so the order in the policy is a preference order.
    """
    frame = _long_frame(keys, arrays)
    h = s.cv_horizon_days
    errors: list[np.ndarray] = []
    for name in candidates:
        sf = _engine(name, s, final=False)
        refit = s.cv_refit or not hasattr(sf.models[0], "forward")
        cv = sf.cross_validation(
            h=h, df=frame, n_windows=windows, step_size=h, refit=refit
        ).sort_values(["unique_id", "cutoff", "ds"])
        err = cv["y"].to_numpy() - cv[name].to_numpy()
        errors.append(err.reshape(len(keys), windows, h))
    stacked = np.stack(errors)  # (models, series, windows, h)
    mae = np.abs(stacked).mean(axis=(2, 3))
    best = mae.argmin(axis=0)
    return {key: (candidates[best[i]], stacked[best[i], i]) for i, key in enumerate(keys)}


def _fit_forecast(
    keys: list[SeriesKey],
    arrays: Mapping[SeriesKey, np.ndarray],
    name: str,
    horizon: int,
    s: ForecastSettings,
) -> np.ndarray:
    """Fit the chosen model on the full history of every series that chose it."""
    sf = _engine(name, s, final=True)
    fc = sf.forecast(h=horizon, df=_long_frame(keys, arrays)).sort_values(["unique_id", "ds"])
    means: np.ndarray = fc[name].to_numpy(dtype=float).reshape(len(keys), horizon)
    means[means < 0] = 0.0  # demand is never negative; ETS/Theta can dip below zero
    return means


def _cv_forecast(
    key: SeriesKey,
    cls: DemandClass,
    model: str,
    y: np.ndarray,
    mean: np.ndarray,
    errors: np.ndarray,
    s: ForecastSettings,
) -> SeriesForecast:
    """Assemble the forecast with its empirical interval and error variances."""
    h = errors.shape[1]
    var_day = float(np.mean(errors**2))
    var_window = float(np.mean(errors.sum(axis=1) ** 2))
    var_level = max(0.0, (var_window - var_day * h) / (h * h))
    half_width = float(np.quantile(np.abs(errors), s.interval_level / 100))
    actual_total = float(y[-errors.size :].sum())
    abs_total = float(np.abs(errors).sum())
    return SeriesForecast(
        key=key,
        model=model,
        demand_class=cls,
        mean=tuple(float(v) for v in mean),
        lo=tuple(max(0.0, float(v) - half_width) for v in mean),
        hi=tuple(float(v) + half_width for v in mean),
        level=s.interval_level,
        error_var_day=var_day,
        error_var_level=var_level,
        cv_mae=abs_total / errors.size,
        cv_wape=abs_total / actual_total if actual_total > 0 else None,
        history_days=int(y.size),
    )


def _fallback_forecast(
    key: SeriesKey, cls: DemandClass, y: np.ndarray, horizon: int, s: ForecastSettings
) -> SeriesForecast:
    """No model fitted: zero for a series that never sold, the mean for a short one.

    A short history's error is wide on purpose: the daily spread is at least Poisson
    (``sqrt(mean)``) and at least the sample spread, times ``short_history_sd_factor``; and
    the level itself is uncertain by ``sd / sqrt(n)``, a term that grows with the square of
    the days covered.
    """
    mean = float(y.mean()) if cls is DemandClass.SHORT else 0.0
    sd = var_level = 0.0
    if cls is DemandClass.SHORT:
        sample_sd = float(y.std(ddof=1)) if y.size > 1 else 0.0
        sd = max(sample_sd, math.sqrt(mean)) * s.short_history_sd_factor
        var_level = sd * sd / y.size
    half_width = NormalDist().inv_cdf(0.5 + s.interval_level / 200) * sd
    return SeriesForecast(
        key=key,
        model=SHORT_HISTORY_MODEL if cls is DemandClass.SHORT else ZERO_MODEL,
        demand_class=cls,
        mean=(mean,) * horizon,
        lo=(max(0.0, mean - half_width),) * horizon,
        hi=(mean + half_width,) * horizon,
        level=s.interval_level,
        error_var_day=sd * sd,
        error_var_level=var_level,
        cv_mae=None,
        cv_wape=None,
        history_days=int(y.size),
    )
