"""Model choice and forecasting with statsforecast, per series.

Candidates by history length (days from a series' first report to the origin):
- under ``min_model_history_days``: the weekly seasonal-naive baseline alone;
- from there: also ``ETS`` (statsforecast AutoETS, additive error and weekly season, no trend: "ANA"),
  fitted on the last ``train_window_days`` days;
- from ``yearly_min_history_days`` (two years): also ``ETS_YEARLY``, the same ETS on the series minus its
  value 364 days earlier (52 weeks, so weekdays stay aligned) — the yearly term — added back afterwards.

The fixed "ANA" specification rather than a full AutoETS search, and yearly differencing rather than
MSTL with a 365-day season, are deliberate: on this machine the search and MSTL cost 10–30× more for the
~30 series a day, and the daily run must stay within a minute.

The model of each series is the candidate with the lowest mean MASE over ``backtest_windows``
rolling-origin windows of ``horizon_days`` each (scaled by the in-sample weekly seasonal-naive error, so
the baseline scores ≈ 1); a candidate that cannot be fitted in every window is not a candidate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from alatau_pipeline.forecasting.config import LEVELS, SEASON, YEAR_LAG, ForecastConfig
from alatau_pipeline.forecasting.series import SERIES_KEY

BASELINE = "SeasonalNaive"
ETS = "ETS"
ETS_YEARLY = "ETS_YEARLY"
MIN_ETS_TRAIN = 2 * SEASON * 2  # an ETS with a weekly season needs a few cycles to fit

FORECAST_SCHEMA: dict[str, pl.DataType] = {
    "crossing_code": pl.String(),
    "direction": pl.String(),
    "metric": pl.String(),
    "target_date": pl.Date(),
    "horizon_days": pl.Int64(),
    "model": pl.String(),
    "yhat": pl.Float64(),
    "lo_80": pl.Float64(),
    "hi_80": pl.Float64(),
    "lo_95": pl.Float64(),
    "hi_95": pl.Float64(),
    "naive_scale": pl.Float64(),
    "backtest_mase": pl.Float64(),
    "baseline_mase": pl.Float64(),
    "history_days": pl.Int64(),
}


@dataclass
class SeriesResult:
    forecasts: pl.DataFrame  # FORECAST_SCHEMA rows (without origin)
    backtest: pl.DataFrame  # one row per series and candidate: mean MASE over windows


def candidates(history_days: int, config: ForecastConfig) -> list[str]:
    models = [BASELINE]
    if history_days >= config.min_model_history_days:
        models.append(ETS)
    if history_days >= config.yearly_min_history_days:
        models.append(ETS_YEARLY)
    return models


def _min_train(model: str) -> int:
    return {BASELINE: SEASON, ETS: MIN_ETS_TRAIN, ETS_YEARLY: YEAR_LAG + MIN_ETS_TRAIN}[model]


def _predict(model: str, train: dict[str, np.ndarray], h: int, config: ForecastConfig, level: bool) -> dict:
    """Forecast every series of ``train`` (id → values) with one statsforecast call.

    Returns id → {"mean": array, "lo-80": ..., ...} (intervals only when ``level``).
    """
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    if not train:
        return {}
    window = config.train_window_days
    frames = []
    for uid, values in train.items():
        y = values
        if model == ETS_YEARLY:
            y = values[YEAR_LAG:] - values[:-YEAR_LAG]
        y = y[-window:]
        frames.append(pd.DataFrame({"unique_id": uid, "ds": pd.RangeIndex(len(y)), "y": y}))
    df = pd.concat(frames, ignore_index=True)
    sf_model = SeasonalNaive(season_length=SEASON) if model == BASELINE else AutoETS(season_length=SEASON, model="ANA")
    sf = StatsForecast(models=[sf_model], freq=1, n_jobs=1)
    out = sf.forecast(df=df, h=h, level=list(LEVELS) if level else None)
    name = type(sf_model).__name__
    result = {}
    for uid, group in out.groupby("unique_id", sort=False):
        cols = {"mean": group[name].to_numpy()}
        if level:
            for lv in LEVELS:
                cols[f"lo-{lv}"] = group[f"{name}-lo-{lv}"].to_numpy()
                cols[f"hi-{lv}"] = group[f"{name}-hi-{lv}"].to_numpy()
        if model == ETS_YEARLY:
            # Add the yearly term back: the value 364 days before each target day.
            values = train[uid]
            base = values[len(values) - YEAR_LAG : len(values) - YEAR_LAG + h]
            cols = {k: v + base for k, v in cols.items()}
        result[uid] = cols
    return result


def naive_scale(values: np.ndarray, observed: np.ndarray) -> float:
    """In-sample MAE of the weekly seasonal-naive forecast, over pairs of really observed days."""
    both = observed[SEASON:] & observed[:-SEASON]
    if not both.any():
        return float("nan")
    return float(np.mean(np.abs(values[SEASON:] - values[:-SEASON])[both]))


def forecast_origin(history: pl.DataFrame, config: ForecastConfig) -> SeriesResult:
    """Backtest the candidates of every series in ``history`` (from ``series.history_until``), choose one
    per series and forecast ``horizon_days`` after the last day with 80 % and 95 % intervals."""
    h = config.horizon_days
    series: dict[str, tuple[tuple, np.ndarray, np.ndarray, dt.date]] = {}
    for key, group in history.group_by(SERIES_KEY, maintain_order=True):
        observed = group.get_column("observed").to_numpy()
        if observed.sum() < SEASON:
            continue  # under a week of real values: nothing to forecast from
        uid = "|".join(key)
        series[uid] = (key, group.get_column("y").to_numpy(), observed, group.get_column("ds").max())

    # Rolling-origin backtest: window k trains on all but the last k·h days and is scored on the next h.
    errors: dict[tuple[str, str], list[float]] = {}
    eligible: dict[str, list[str]] = {}
    for uid, (_, values, _, _) in series.items():
        n = len(values)
        windows = [n - k * h for k in range(1, config.backtest_windows + 1)]
        eligible[uid] = [
            m for m in candidates(n, config) if m == BASELINE or all(c >= _min_train(m) for c in windows)
        ]
    for k in range(1, config.backtest_windows + 1):
        for model in (BASELINE, ETS, ETS_YEARLY):
            train = {}
            for uid, (_, values, _, _) in series.items():
                cut = len(values) - k * h
                if model in eligible[uid] and cut >= _min_train(model):
                    train[uid] = values[:cut]
            for uid, pred in _predict(model, train, h, config, level=False).items():
                _, values, observed, _ = series[uid]
                cut = len(values) - k * h
                actual, seen = values[cut : cut + h], observed[cut : cut + h]
                scale = naive_scale(values[:cut], observed[:cut])
                if seen.any() and scale > 0:
                    mae = float(np.mean(np.abs(actual - pred["mean"])[seen]))
                    errors.setdefault((uid, model), []).append(mae / scale)

    chosen: dict[str, str] = {}
    backtest_rows = []
    for uid in series:
        scores = {m: float(np.mean(errors[(uid, m)])) for m in eligible[uid] if (uid, m) in errors}
        # Ties and series without any scorable window keep the baseline.
        best = min(scores, key=lambda m: (scores[m], m != BASELINE)) if scores else BASELINE
        chosen[uid] = best
        for model, score in scores.items():
            backtest_rows.append({"series": uid, "model": model, "mase": score, "chosen": model == best})

    rows = []
    for model in (BASELINE, ETS, ETS_YEARLY):
        train = {uid: series[uid][1] for uid, m in chosen.items() if m == model}
        for uid, pred in _predict(model, train, h, config, level=True).items():
            key, values, observed, last = series[uid]
            scores = {m: float(np.mean(errors[(uid, m)])) for m in eligible[uid] if (uid, m) in errors}
            for step in range(h):
                rows.append({
                    "crossing_code": key[0], "direction": key[1], "metric": key[2],
                    "target_date": last + dt.timedelta(days=step + 1), "horizon_days": step + 1, "model": model,
                    "yhat": pred["mean"][step], "lo_80": pred["lo-80"][step], "hi_80": pred["hi-80"][step],
                    "lo_95": pred["lo-95"][step], "hi_95": pred["hi-95"][step],
                    "naive_scale": naive_scale(values, observed), "backtest_mase": scores.get(model),
                    "baseline_mase": scores.get(BASELINE), "history_days": len(values),
                })
    forecasts = pl.DataFrame(rows, schema=FORECAST_SCHEMA)
    # Traffic is never negative: clip the point forecast and both intervals at zero.
    # NaN (an interval from too few residuals, a scale without observed pairs) is stored as null: unknown.
    forecasts = forecasts.with_columns(
        pl.col("yhat", "lo_80", "hi_80", "lo_95", "hi_95").clip(lower_bound=0.0).fill_nan(None),
        pl.col("naive_scale").fill_nan(None),
    )
    backtest = pl.DataFrame(
        backtest_rows, schema={"series": pl.String, "model": pl.String, "mase": pl.Float64, "chosen": pl.Boolean}
    )
    return SeriesResult(forecasts=forecasts.sort(*SERIES_KEY, "target_date"), backtest=backtest)
