"""A new day without a refit: the stored models forecast it, out of sample.

Selecting and fitting every candidate on a year of history costs ~0.5 s an athlete; a new
morning costs a forecast. ``refit_reason`` says when the stored state cannot be extended
(none yet, a day already seen changed, enough new days since the fit); ``extend_selection``
appends the new days to the backtest (each candidate's forecast by the models fitted
before it, the procedure's by the model it had chosen) and chooses again, and reports
drift. ``compile_fitted`` stores the fitted models as numpy predictors (``compiled.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hrv.analytics.compiled import compile_estimator
from hrv.analytics.features import MODEL_FEATURES
from hrv.analytics.learners import RIDGE, quiet_fit
from hrv.analytics.models import (
    CANDIDATES,
    COLD_START_DAYS,
    DEFAULT,
    LEVEL,
    MIN_TRAIN_ROWS,
    PLAIN,
    SHRUNK,
    SelectionResult,
    _predict,
    _x,
    baseline_ln,
    level_ln,
    training_rows,
)
from hrv.analytics.selection import choose, realised_with_baselines, score

# A new day extends the backtest with the stored models' forecasts (out of sample: they
# were fitted before that day); the candidates are refitted and reselected from scratch
# once this many days arrived since their fit, when earlier days changed, or on drift.
REFIT_AFTER_DAYS = 7
# drift: the forecasts since the last fit missed by this many times the procedure's MAE
DRIFT_FACTOR = 2.0
MIN_DRIFT_DAYS = 3
# the columns a model's training rows are made of: when any of them changed for a day
# already seen (a correction, readings merged late), the models are fitted again
ROW_COLUMNS = (
    *MODEL_FEATURES,
    "date",
    "target_ln",
    "baseline_7d_ln",
    "level_ln",
    "ln_rmssd_last",
)


def rows_digest(rows: pd.DataFrame) -> str:
    """A fingerprint of training rows (what a fitted state was built from)."""
    import hashlib

    cols = [c for c in ROW_COLUMNS if c in rows]
    hashed = pd.util.hash_pandas_object(rows[cols], index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:24]


@dataclass
class ModelState:
    """What ``gold/hrv_model`` stores: the selection with its backtest, the learned models
    and what they were fitted on, so that a new day costs a forecast, not a refit."""

    selection: SelectionResult
    fitted: dict[str, Any]
    fit_rows: int  # training rows the learned models were fitted on
    digest: str  # rows_digest of the selection's training rows
    fitted_at: str = ""
    refit_reason: str = ""


def refit_reason(frame: pd.DataFrame, state: ModelState | None) -> str | None:
    """Why the candidates must be fitted and selected again (None: a new day extends the
    stored backtest). Cheap: no model is touched."""
    if state is None:
        return "no stored model yet"
    sel = state.selection
    rows = training_rows(frame)
    n, seen = len(rows), sel.n_train_rows
    n_days = int(frame["rmssd_valid"].sum()) if "rmssd_valid" in frame else 0
    if sel.cold_start or n_days < COLD_START_DAYS or seen <= MIN_TRAIN_ROWS:
        return "cold start: every day refits (it costs nothing yet)"
    if sel.backtest is None or "procedure" not in sel.backtest:
        return "the stored model has no backtest to extend"
    if n < seen:
        return "days already seen changed (fewer training days than before)"
    if rows_digest(rows.iloc[:seen]) != state.digest:
        return "days already seen changed (a correction or late readings)"
    if n - state.fit_rows >= REFIT_AFTER_DAYS:
        return f"{n - state.fit_rows} new days since the models were fitted"
    return None


def extend_selection(frame: pd.DataFrame, state: ModelState) -> tuple[SelectionResult, str | None]:
    """The stored selection extended by the new training days: every candidate forecasts
    them with the models fitted before them (out of sample), the procedure with the model
    it had chosen, and the choice is made again on all backtest days. Also returns a
    reason to refit when the new days show drift (the forecasts missed by far more than
    the procedure's usual error)."""
    sel = state.selection
    assert sel.backtest is not None
    rows = training_rows(frame)
    new = rows.iloc[sel.n_train_rows :]
    if new.empty:  # the journal of the latest evening, no new morning: nothing to score
        return sel, None
    actual_new = new["target_ln"].to_numpy(dtype=float)
    preds_new = {b: baseline_ln(new, b) for b in PLAIN}
    for name, est in state.fitted.items():
        preds_new[name] = level_ln(new) + _predict(est, new)
    if RIDGE in preds_new:
        preds_new[SHRUNK] = (preds_new[RIDGE] + preds_new[LEVEL]) / 2
    model = sel.selected_model if sel.selected_model in preds_new else DEFAULT
    preds_new["procedure"] = preds_new[model]
    added = pd.DataFrame({"date": new["date"].to_numpy(), "actual_ln": actual_new})
    for name in sel.backtest.columns:
        if name not in added:
            added[name] = preds_new.get(name, np.full(len(new), np.nan))
    backtest = pd.concat([sel.backtest, added], ignore_index=True)
    actual = backtest["actual_ln"].to_numpy(dtype=float)
    preds = {c: backtest[c].to_numpy(dtype=float) for c in CANDIDATES if c in backtest}
    mae, residuals, abs_err = score(preds, actual, CANDIDATES)
    selected, why = choose(abs_err, tuple(preds))
    procedure = backtest["procedure"].to_numpy(dtype=float)
    realised = realised_with_baselines(procedure, actual, preds)
    n_days = int(frame["rmssd_valid"].sum()) if "rmssd_valid" in frame else 0
    extended = SelectionResult(
        n_days=n_days,
        n_train_rows=len(rows),
        cold_start=False,
        selected_model=selected,
        mae_ms=mae,
        n_backtest=len(backtest),
        residuals=residuals,
        backtest=backtest,
        selection_reason=why,
        realised=realised,
        procedure_residuals=(actual - procedure).tolist(),
    )
    since_fit = backtest.iloc[state.fit_rows - len(rows) :] if state.fit_rows < len(rows) else added
    miss = float(np.mean(np.abs(np.exp(since_fit["procedure"]) - np.exp(since_fit["actual_ln"]))))
    usual = sel.realised.get("mae_ms")
    drift = None
    if usual and len(since_fit) >= MIN_DRIFT_DAYS and miss > DRIFT_FACTOR * float(usual):
        drift = (
            f"drift: the last {len(since_fit)} forecasts missed by {miss:.1f} ms on average, "
            f"over {DRIFT_FACTOR:g}x the usual {float(usual):.1f} ms"
        )
    return extended, drift


def compile_fitted(frame: pd.DataFrame, fitted: dict[str, Any]) -> dict[str, Any]:
    """The fitted models as numpy predictors (``compiled.py``) where they agree with
    scikit-learn on the training rows; the scikit-learn pipeline otherwise."""
    if not fitted:
        return {}
    x = _x(training_rows(frame))
    with quiet_fit():
        return {name: compile_estimator(name, est, x) or est for name, est in fitted.items()}
