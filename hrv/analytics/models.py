"""Next-morning rMSSD models and walk-forward model selection.

Candidates: ``persistence`` (tomorrow = the last valid reading), ``rolling_7d`` (tomorrow =
the 7-day baseline), ``ridge`` (regularized linear model) and ``tree_ensemble`` (gradient
boosted trees), the last two on journal + load features and predicting the deviation of
tomorrow's ln rMSSD from today's 7-day baseline.

Selection is by mean absolute error (in ms) of an expanding-window walk-forward
backtest: each fold trains on every day before it and predicts the days of the fold.
Below ``COLD_START_DAYS`` valid days the system is in cold start: baseline only, and
says so. Intervals come from the chosen model's own backtest residuals (empirical
quantiles in ln space), so their coverage is measured, not assumed.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hrv.analytics.features import MODEL_FEATURES

PERSISTENCE = "persistence"
ROLLING_7D = "rolling_7d"
RIDGE = "ridge"
TREES = "tree_ensemble"
BASELINES = (PERSISTENCE, ROLLING_7D)
LEARNED = (RIDGE, TREES)
CANDIDATES = (*BASELINES, *LEARNED)
COLD_START_DAYS = 14
MIN_TRAIN_ROWS = 14
MAX_FOLDS = 8
INTERVAL_LEVEL = 0.80
MIN_RESIDUALS_FOR_QUANTILES = 20
Z_80 = 1.2816
DEFAULT_LN_SD = 0.12


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

    def interval_offsets(self, model: str, fallback_sd: float) -> tuple[float, float]:
        """(low, high) offsets in ln space around a point prediction of ``model``."""
        res = np.asarray(self.residuals.get(model, []), dtype=float)
        res = res[np.isfinite(res)]
        tail = (1 - INTERVAL_LEVEL) / 2
        if len(res) >= MIN_RESIDUALS_FOR_QUANTILES:
            lo, hi = np.quantile(res, [tail, 1 - tail])
            return float(min(lo, -0.01)), float(max(hi, 0.01))
        sd = float(np.std(res, ddof=1)) if len(res) >= 5 else fallback_sd
        sd = sd if math.isfinite(sd) and sd > 0 else DEFAULT_LN_SD
        return -Z_80 * sd, Z_80 * sd

    def training_metrics(self, athlete: str) -> dict[str, Any]:
        """The contract's ``training_metrics.json`` (plus context keys)."""
        return {
            "athlete": athlete,
            "n_days": self.n_days,
            "selected_model": self.selected_model,
            "cold_start": self.cold_start,
            "candidates": {m: {"mae_ms": _r(self.mae_ms.get(m))} for m in CANDIDATES},
            "baselines": {m: {"mae_ms": _r(self.mae_ms.get(m))} for m in BASELINES},
            "n_train_rows": self.n_train_rows,
            "n_backtest_days": self.n_backtest,
            "method": (
                "walk-forward expanding-window backtest, "
                f"up to {MAX_FOLDS} folds, MAE of next-morning rMSSD in ms"
            ),
            "cold_start_reason": (
                f"{self.n_days} valid rMSSD days < {COLD_START_DAYS}: baseline only"
                if self.cold_start
                else None
            ),
        }


def _r(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 3)


def make_estimator(name: str) -> Any:
    """A fresh, unfitted learned model (sklearn imported lazily: it is slow to import)."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == RIDGE:
        from sklearn.linear_model import RidgeCV

        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            RidgeCV(alphas=(0.3, 1.0, 3.0, 10.0, 30.0, 100.0)),
        )
    if name == TREES:
        from sklearn.ensemble import HistGradientBoostingRegressor

        # The imputer drops all-empty columns (an athlete who never logs caffeine), which
        # the trees' own binning cannot handle, and keeps "was missing" as indicators.
        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True),
            HistGradientBoostingRegressor(
                max_iter=120,
                learning_rate=0.05,
                max_leaf_nodes=8,
                min_samples_leaf=12,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=0,
            ),
        )
    raise ValueError(f"unknown learned model {name!r}")


def training_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Days usable for training: a known next-morning target and a 7-day baseline."""
    rows = frame[frame["target_ln"].notna() & frame["baseline_7d_ln"].notna()]
    return rows.reset_index(drop=True)


def _x(rows: pd.DataFrame) -> np.ndarray:
    return rows[list(MODEL_FEATURES)].to_numpy(dtype=float)


def baseline_ln(rows: pd.DataFrame, name: str) -> np.ndarray:
    if name == PERSISTENCE:
        return rows["ln_rmssd_last"].fillna(rows["baseline_7d_ln"]).to_numpy(dtype=float)
    if name == ROLLING_7D:
        return rows["baseline_7d_ln"].to_numpy(dtype=float)
    raise ValueError(name)


@contextlib.contextmanager
def _quiet_imputer() -> Iterator[None]:
    """Journals often leave whole fields empty; the imputer drops them by design.

    Also one thread per fit: runs already work in parallel (one per athlete), and on a
    few hundred rows OpenMP threads only fight each other (measured: 4 concurrent runs on
    2 cores spent 4.4 s in this step instead of ~1 s).
    """
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.filterwarnings("ignore", message="Skipping features without any observed")
        yield


def _predict(est: Any, rows: pd.DataFrame) -> np.ndarray:
    with _quiet_imputer():
        return np.asarray(est.predict(_x(rows)), dtype=float)


def _fit(name: str, rows: pd.DataFrame) -> Any:
    """Fit a learned model on the deviation of tomorrow's ln rMSSD from the baseline."""
    est = make_estimator(name)
    y = (rows["target_ln"] - rows["baseline_7d_ln"]).to_numpy(dtype=float)
    with _quiet_imputer():
        est.fit(_x(rows), y)
    return est


def _fit_predict(name: str, train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, Any]:
    est = _fit(name, train)
    return test["baseline_7d_ln"].to_numpy(dtype=float) + _predict(est, test), est


def _mae_ms(pred_ln: np.ndarray, actual_ln: np.ndarray) -> float:
    return float(np.mean(np.abs(np.exp(pred_ln) - np.exp(actual_ln))))


def select_model(frame: pd.DataFrame, *, max_folds: int = MAX_FOLDS) -> SelectionResult:
    """Walk-forward backtest of every candidate; the lowest MAE wins (ties: simplest)."""
    n_days = int(frame["rmssd_valid"].sum()) if "rmssd_valid" in frame else 0
    rows = training_rows(frame)
    n = len(rows)
    cold = n_days < COLD_START_DAYS or n <= MIN_TRAIN_ROWS
    mae: dict[str, float | None] = dict.fromkeys(CANDIDATES)
    residuals: dict[str, list[float]] = {}
    if n == 0:
        return SelectionResult(n_days, 0, True, PERSISTENCE if n_days else ROLLING_7D, mae, 0)

    start = min(MIN_TRAIN_ROWS, n) if not cold else 0
    eval_rows = rows.iloc[start:]
    actual = eval_rows["target_ln"].to_numpy(dtype=float)
    preds: dict[str, np.ndarray] = {b: baseline_ln(eval_rows, b) for b in BASELINES}
    if not cold:
        idx = np.arange(start, n)
        blocks = np.array_split(idx, min(max_folds, len(idx)))
        for name in LEARNED:
            out = np.empty(len(idx))
            pos = 0
            for block in blocks:
                train = rows.iloc[: block[0]]
                test = rows.iloc[block[0] : block[-1] + 1]
                out[pos : pos + len(block)], _ = _fit_predict(name, train, test)
                pos += len(block)
            preds[name] = out
    for name, pred in preds.items():
        mae[name] = _mae_ms(pred, actual)
        residuals[name] = (actual - pred).tolist()

    order = [c for c in CANDIDATES if mae[c] is not None]
    if cold:
        selected = ROLLING_7D if mae[ROLLING_7D] is not None else PERSISTENCE
    else:
        selected = min(order, key=lambda c: (round(mae[c] or 0.0, 6), CANDIDATES.index(c)))
    backtest = pd.DataFrame({"date": eval_rows["date"].to_numpy(), "actual_ln": actual})
    for name, pred in preds.items():
        backtest[name] = pred
    return SelectionResult(
        n_days=n_days,
        n_train_rows=n,
        cold_start=cold,
        selected_model=selected,
        mae_ms=mae,
        n_backtest=len(eval_rows),
        residuals=residuals,
        backtest=backtest,
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
    """The last day with a 7-day baseline: its features forecast the next morning."""
    usable = frame[frame["baseline_7d_ln"].notna()]
    return usable.iloc[[-1]] if len(usable) else frame.iloc[0:0]


def predict_next(
    frame: pd.DataFrame, selection: SelectionResult, fitted: dict[str, Any]
) -> tuple[pd.Timestamp | None, dict[str, Prediction]]:
    """Predict the morning after the latest usable day, for every available candidate."""
    row = latest_feature_row(frame)
    if row.empty:
        return None, {}
    for_date = pd.Timestamp(row["date"].iloc[0]) + pd.Timedelta(days=1)
    fallback_sd = float(row["normal_sd_ln"].iloc[0]) if "normal_sd_ln" in row else DEFAULT_LN_SD
    fallback_sd = fallback_sd if math.isfinite(fallback_sd) else DEFAULT_LN_SD
    centre: dict[str, float] = {b: float(baseline_ln(row, b)[0]) for b in BASELINES}
    for name, est in fitted.items():
        centre[name] = float(row["baseline_7d_ln"].iloc[0] + _predict(est, row)[0])
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
