"""Next-morning rMSSD models and walk-forward model selection.

Candidates: ``persistence`` (tomorrow = the last valid reading), ``rolling_7d`` (tomorrow =
the 7-day mean), ``recent_level`` (an exponentially weighted mean of recent nights,
``features.level_ln``), ``recent_level_journal`` (the default: the recent level moved by
the journal's published effects, ``priors.py``), ``ridge`` (regularized linear model) and
``tree_ensemble`` (gradient boosted trees), the last two on journal + load features and
predicting the deviation of tomorrow's ln rMSSD from the recent level, and
``ridge_shrunk``: ridge's deviation halved (shrunk towards the recent level). The learned
models respect the sign of known effects (``KNOWN_SIGNS``: alcohol, illness and a load
spike only lower tomorrow, sleep only raises it): the trees by monotone constraints, ridge
by dropping a feature whose fitted sign contradicts it.

Every candidate is scored on an expanding-window walk-forward backtest; the choice and
the honest numbers are in ``selection.py``, a new day without a refit in
``incremental.py``. Below ``COLD_START_DAYS`` valid days: cold start, the default only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hrv.analytics.compiled import LinearPredictor, TreesPredictor
from hrv.analytics.features import MODEL_FEATURES, no_forecast_reason
from hrv.analytics.learners import RIDGE, TREES, make_estimator, quiet_fit
from hrv.analytics.priors import prior_effect_ln
from hrv.analytics.selection import (
    BASELINES,
    DEFAULT,
    DEFAULT_LN_SD,
    LEVEL,
    PERSISTENCE,
    ROLLING_7D,
    _r,
    choose,
    conformal_offsets,
    conformal_path,
    realised_with_baselines,
    score,
)
from hrv.analytics.signs import known_signs

SHRUNK = "ridge_shrunk"  # halfway between the recent level and ridge: no extra fit
PLAIN = (*BASELINES, LEVEL, DEFAULT)  # no fit: computed from the features alone
LEARNED = (RIDGE, TREES)
CANDIDATES = (*PLAIN, *LEARNED, SHRUNK)

COLD_START_DAYS, MIN_TRAIN_ROWS, MAX_FOLDS = 14, 14, 8


@dataclass
class Prediction:
    model: str
    predicted_ms: float
    lower_ms: float
    upper_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "predicted_rmssd_ms": round(self.predicted_ms, 2),
            "lower_ms": round(self.lower_ms, 2),
            "upper_ms": round(self.upper_ms, 2),
        }


@dataclass
class SelectionResult:
    n_days: int
    n_train_rows: int
    cold_start: bool
    selected_model: str
    mae_ms: dict[str, float | None]
    n_backtest: int
    residuals: dict[str, list[float]] = field(default_factory=dict)
    backtest: pd.DataFrame | None = None
    estimators: dict[str, Any] = field(default_factory=dict)
    selection_reason: str = ""
    realised: dict[str, Any] = field(default_factory=dict)  # the procedure, out of sample
    procedure_residuals: list[float] = field(default_factory=list)  # ln, oldest first

    def interval_offsets(self, model: str, fallback_sd: float) -> tuple[float, float]:
        """(low, high) offsets in ln space around a point prediction of ``model``: for the
        selected model, from the procedure's own recent out-of-sample errors."""
        if model == self.selected_model and self.procedure_residuals:
            return conformal_offsets(self.procedure_residuals, fallback_sd)
        return conformal_offsets(self.residuals.get(model, []), fallback_sd)

    def reconstructed(self) -> pd.DataFrame:
        """Each backtest evening's forecast by the procedure, out of sample (trained on
        earlier days, chosen on earlier folds), with the interval it would have had: day
        one's forecasts vs actuals, marked ``reconstructed``, never in the live registry."""
        cols = ["for_date", "predicted_ms", "lower_ms", "upper_ms", "actual_ms", "reconstructed"]
        bt = self.backtest
        if bt is None or bt.empty or "procedure" not in bt:
            return pd.DataFrame(columns=cols)
        pred = bt["procedure"].to_numpy(dtype=float)
        actual = bt["actual_ln"].to_numpy(dtype=float)
        path = conformal_path((actual - pred).tolist(), DEFAULT_LN_SD)[: len(pred)]
        lo = np.array([p[0] for p in path])
        hi = np.array([p[1] for p in path])
        return pd.DataFrame(
            {
                "for_date": pd.to_datetime(bt["date"]) + pd.Timedelta(days=1),
                "predicted_ms": np.round(np.exp(pred), 2),
                "lower_ms": np.round(np.exp(pred + lo), 2),
                "upper_ms": np.round(np.exp(pred + hi), 2),
                "actual_ms": np.round(np.exp(actual), 2),
                "reconstructed": True,
            }
        )

    def training_metrics(self, athlete: str) -> dict[str, Any]:
        """The contract's ``training_metrics.json`` (plus context keys)."""
        return {
            "athlete": athlete,
            "n_days": self.n_days,
            "selected_model": self.selected_model,
            "cold_start": self.cold_start,
            "candidates": {m: {"mae_ms": _r(self.mae_ms.get(m))} for m in CANDIDATES},
            "baselines": {m: {"mae_ms": _r(self.mae_ms.get(m))} for m in BASELINES},
            "model_mae_ms": self.realised.get("mae_ms"),
            "realised": self.realised,
            "selection_reason": self.selection_reason,
            "n_train_rows": self.n_train_rows,
            "n_backtest_days": self.n_backtest,
            "method": (
                "walk-forward expanding-window backtest, "
                f"up to {MAX_FOLDS} folds, MAE of the next morning in ms; model_mae_ms is "
                "the whole procedure's (selection included) out of sample"
            ),
            "cold_start_reason": (
                f"{self.n_days} valid days, fewer than {COLD_START_DAYS}: the recent level "
                "moved by the journal's published effects only"
                if self.cold_start
                else None
            ),
        }


def training_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Days usable for training: a known next-morning target and a 7-day baseline."""
    rows = frame[frame["target_ln"].notna() & frame["baseline_7d_ln"].notna()]
    return rows.reset_index(drop=True)


def _x(rows: pd.DataFrame) -> np.ndarray:
    return rows[list(MODEL_FEATURES)].to_numpy(dtype=float)


def level_ln(rows: pd.DataFrame) -> np.ndarray:
    """The recent level each forecast starts from (the 7-day mean where it is missing)."""
    level = rows["level_ln"] if "level_ln" in rows else rows["baseline_7d_ln"]
    return level.fillna(rows["baseline_7d_ln"]).to_numpy(dtype=float)


def baseline_ln(rows: pd.DataFrame, name: str) -> np.ndarray:
    """The forecast in ln space of a candidate that needs no fit."""
    if name == PERSISTENCE:
        return rows["ln_rmssd_last"].fillna(rows["baseline_7d_ln"]).to_numpy(dtype=float)
    if name == ROLLING_7D:
        return rows["baseline_7d_ln"].to_numpy(dtype=float)
    if name == LEVEL:
        return level_ln(rows)
    if name == DEFAULT:  # the recent level moved by what the journal says (priors.py)
        return level_ln(rows) + prior_effect_ln(rows)
    raise ValueError(name)


def _predict(est: Any, rows: pd.DataFrame) -> np.ndarray:
    if isinstance(est, LinearPredictor | TreesPredictor):  # numpy only: no scikit-learn
        return est.predict(_x(rows))
    with quiet_fit():
        return np.asarray(est.predict(_x(rows)), dtype=float)


def _fit(name: str, rows: pd.DataFrame) -> Any:
    """Fit a learned model on the deviation of tomorrow's ln rMSSD from the recent level."""
    est = make_estimator(name)
    x = _x(rows)
    y = rows["target_ln"].to_numpy(dtype=float) - level_ln(rows)
    with quiet_fit():
        if name == TREES:  # monotone in the known effects; 0 for the indicator columns
            width = est[0].fit(x).transform(x[:1]).shape[1]
            est[-1].set_params(monotonic_cst=known_signs(width).tolist())
        est.fit(x, y)
    return est


def _fit_predict(name: str, train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, Any]:
    est = _fit(name, train)
    return level_ln(test) + _predict(est, test), est


def select_model(
    frame: pd.DataFrame,
    *,
    max_folds: int = MAX_FOLDS,
    rule: Callable[[dict[str, np.ndarray], tuple[str, ...]], tuple[str, str]] | None = None,
    reuse: SelectionResult | None = None,
) -> SelectionResult:
    """Walk-forward backtest of every candidate, the choice (see ``choose``) and the
    procedure's own realised out-of-sample error and interval coverage.

    ``reuse``: a selection on the same frame (by another rule) whose candidates' backtest
    predictions are taken instead of refitting them (the benchmark compares rules)."""
    rule = rule or choose
    n_days = int(frame["rmssd_valid"].sum()) if "rmssd_valid" in frame else 0
    rows = training_rows(frame)
    n = len(rows)
    cold = n_days < COLD_START_DAYS
    learned_ok = not cold and n > MIN_TRAIN_ROWS
    mae: dict[str, float | None] = dict.fromkeys(CANDIDATES)
    if n == 0:
        why = "no day with a 7-day mean and a next morning yet"
        return SelectionResult(
            n_days, 0, True, DEFAULT if n_days else PERSISTENCE, mae, 0, selection_reason=why
        )

    start = min(MIN_TRAIN_ROWS, n) if learned_ok else 0
    eval_rows = rows.iloc[start:]
    actual = eval_rows["target_ln"].to_numpy(dtype=float)
    preds = {b: baseline_ln(eval_rows, b) for b in PLAIN}
    idx = np.arange(start, n)
    blocks = np.array_split(idx, min(max_folds, len(idx))) if len(idx) else []
    if learned_ok and reuse is not None and reuse.backtest is not None:
        preds |= {c: reuse.backtest[c].to_numpy(dtype=float) for c in (*LEARNED, SHRUNK)}
    elif learned_ok:
        for name in LEARNED:
            out = np.empty(len(idx))
            pos = 0
            for block in blocks:
                train = rows.iloc[: block[0]]
                test = rows.iloc[block[0] : block[-1] + 1]
                out[pos : pos + len(block)], _ = _fit_predict(name, train, test)
                pos += len(block)
            preds[name] = out
        preds[SHRUNK] = (preds[RIDGE] + preds[LEVEL]) / 2
    mae, residuals, abs_err = score(preds, actual, CANDIDATES)
    allowed = CANDIDATES if learned_ok else PLAIN

    # the procedure replayed: each fold forecast by the model chosen on earlier folds only
    realised_pred = np.empty(len(idx))
    pos = 0
    for block in blocks:
        seen = {k: v[:pos] for k, v in abs_err.items()}
        model = rule(seen, allowed)[0] if pos and not cold else DEFAULT
        model = model if model in preds else PERSISTENCE
        realised_pred[pos : pos + len(block)] = preds[model][pos : pos + len(block)]
        pos += len(block)
    proc_res = actual - realised_pred
    if cold:
        selected = DEFAULT
        why = (
            f"cold start: {n_days} valid days, fewer than {COLD_START_DAYS}: the recent "
            "level, moved by what the journal says (published effect sizes)"
        )
    else:
        selected, why = rule(abs_err, allowed)
    backtest = pd.DataFrame({"date": eval_rows["date"].to_numpy(), "actual_ln": actual})
    for name, pred in preds.items():
        backtest[name] = pred
    backtest["procedure"] = realised_pred
    return SelectionResult(
        n_days=n_days,
        n_train_rows=n,
        cold_start=cold,
        selected_model=selected,
        mae_ms=mae,
        n_backtest=len(eval_rows),
        residuals=residuals,
        backtest=backtest,
        selection_reason=why,
        realised=realised_with_baselines(realised_pred, actual, preds),
        procedure_residuals=proc_res.tolist(),
    )


def fit_final(frame: pd.DataFrame, selection: SelectionResult) -> dict[str, Any]:
    """Fit the learned candidates on all training rows (for the forecast of tomorrow)."""
    rows = training_rows(frame)
    fitted: dict[str, Any] = {}
    if selection.cold_start or len(rows) <= MIN_TRAIN_ROWS:
        return fitted
    for name in LEARNED:
        fitted[name] = _fit(name, rows)
    return fitted


def latest_feature_row(frame: pd.DataFrame) -> pd.DataFrame:
    """The latest day of data: its features forecast the next morning."""
    return frame.iloc[[-1]] if len(frame) else frame.iloc[0:0]


def predict_next(
    frame: pd.DataFrame, selection: SelectionResult, fitted: dict[str, Any]
) -> tuple[pd.Timestamp | None, dict[str, Prediction]]:
    """Predict the morning after the latest day of data, for every available candidate.

    After a gap in wearing the device the 7-day mean is rebuilding (fewer than 3 valid
    nights in the last 7): only the last reading (persistence) forecasts, with its own
    interval; with no reading in the last 7 days there is no forecast at all
    (``no_forecast_reason`` says why). The date is never in the past."""
    row = latest_feature_row(frame)
    if row.empty:
        return None, {}
    for_date = pd.Timestamp(row["date"].iloc[0]) + pd.Timedelta(days=1)
    if no_forecast_reason(frame) is not None:
        return for_date, {}
    fallback_sd = float(row["normal_sd_ln"].iloc[0]) if "normal_sd_ln" in row else DEFAULT_LN_SD
    fallback_sd = fallback_sd if math.isfinite(fallback_sd) else DEFAULT_LN_SD
    centre = {b: float(baseline_ln(row, b)[0]) for b in PLAIN}
    if math.isfinite(float(row["baseline_7d_ln"].iloc[0])):
        for name, est in fitted.items():
            centre[name] = float(level_ln(row)[0] + _predict(est, row)[0])
        if RIDGE in centre:
            centre[SHRUNK] = (centre[RIDGE] + centre[LEVEL]) / 2
    out: dict[str, Prediction] = {}
    for name, ln_pred in centre.items():
        if not math.isfinite(ln_pred):
            continue
        lo, hi = selection.interval_offsets(name, fallback_sd)
        out[name] = Prediction(
            model=name,
            predicted_ms=math.exp(ln_pred),
            lower_ms=math.exp(ln_pred + lo),
            upper_ms=math.exp(ln_pred + hi),
        )
    return for_date, out
