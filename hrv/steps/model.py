"""gold/hrv_model: the next-morning model, chosen by walk-forward backtest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hrv.analytics import quality
from hrv.analytics.features import metric_of
from hrv.analytics.incremental import (
    ModelState,
    compile_fitted,
    extend_selection,
    refit_reason,
    rows_digest,
)
from hrv.analytics.models import SelectionResult, fit_final, select_model
from hrv.steps import features
from hrv.steps.graph import CheckDef, DataProblem, Step, StepContext, StepOutput
from hrv.steps.outputs import RECONSTRUCTED, TRAINING_METRICS, read_features, utcnow
from hrv.storage.athlete_store import AthleteStore, outputs_dir
from hrv.storage.files import write_json_atomic, write_text_atomic

KEY = ("gold", "hrv_model")

VS_PERSISTENCE = CheckDef(
    "model_mae_vs_persistence",
    "The forecasts' error out of sample (the whole procedure, selection included) is lower "
    "than persistence's ('tomorrow = today'). WARN: when it is not, the forecast adds no "
    "skill yet; it still ships, with the baselines' errors beside it.",
    severity="WARN",
)


def train(data_dir: Path, athlete: str) -> tuple[SelectionResult, dict[str, Any]]:
    """Extend the stored model by the new days, or select and fit again (see
    ``refit_reason``); store the state and the contract's files either way."""
    frame = read_features(data_dir, athlete)
    state = load_state(data_dir, athlete)
    reason = refit_reason(frame, state)
    if reason is None and state is not None:
        selection, drift = extend_selection(frame, state)
        if drift is None:
            state = ModelState(
                selection,
                state.fitted,
                state.fit_rows,
                _digest(frame),
                state.fitted_at,
                state.refit_reason,
            )
        reason = drift
    if reason is not None:
        selection = select_model(frame)
        fitted = compile_fitted(frame, fit_final(frame, selection))
        n_rows = selection.n_train_rows
        state = ModelState(
            _selection_state(selection),
            fitted,
            n_rows,
            _digest(frame),
            utcnow().isoformat(),
            reason,
        )
    assert state is not None
    _save_state(data_dir, athlete, state)
    out = outputs_dir(data_dir, athlete)
    if selection.backtest is not None:
        write_text_atomic(
            AthleteStore(data_dir, athlete).backtest_path,
            selection.backtest.to_csv(index=False, date_format="%Y-%m-%d"),
        )
    write_text_atomic(
        out / RECONSTRUCTED, selection.reconstructed().to_csv(index=False, date_format="%Y-%m-%d")
    )
    metrics = selection.training_metrics(athlete)
    metrics["metric"] = metric_of(frame)
    metrics["trained_at"] = utcnow().isoformat()
    metrics["models_fitted_at"] = state.fitted_at
    metrics["refit"] = reason is not None
    metrics["refit_reason"] = state.refit_reason
    metrics["days_since_fit"] = selection.n_train_rows - state.fit_rows
    write_json_atomic(out / TRAINING_METRICS, metrics)
    return selection, metrics


def _digest(frame: Any) -> str:
    from hrv.analytics.models import training_rows

    return rows_digest(training_rows(frame))


def _selection_state(selection: SelectionResult) -> SelectionResult:
    """The selection as stored: without its estimators (stored apart, once)."""
    return SelectionResult(
        n_days=selection.n_days,
        n_train_rows=selection.n_train_rows,
        cold_start=selection.cold_start,
        selected_model=selection.selected_model,
        mae_ms=selection.mae_ms,
        n_backtest=selection.n_backtest,
        residuals=selection.residuals,
        backtest=selection.backtest,
        selection_reason=selection.selection_reason,
        realised=selection.realised,
        procedure_residuals=selection.procedure_residuals,
    )


STATE_VERSION = 2


def _save_state(data_dir: Path, athlete: str, state: ModelState) -> None:
    import pickle

    store = AthleteStore(data_dir, athlete)
    store.dir.mkdir(parents=True, exist_ok=True)
    tmp = store.model_path.with_suffix(".joblib.tmp")
    body = {
        "version": STATE_VERSION,
        "selection": state.selection,
        "fitted": state.fitted,
        "fit_rows": state.fit_rows,
        "digest": state.digest,
        "fitted_at": state.fitted_at,
        "refit_reason": state.refit_reason,
    }
    with open(tmp, "wb") as f:
        pickle.dump(body, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, store.model_path)


def load_state(data_dir: Path, athlete: str) -> ModelState | None:
    """The stored model state; None when there is none, or from an older version."""
    import pickle

    path = AthleteStore(data_dir, athlete).model_path
    try:
        with open(path, "rb") as f:
            body = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception:  # an unreadable or older state is rebuilt, never trusted
        return None
    if not isinstance(body, dict) or body.get("version") != STATE_VERSION:
        return None
    return ModelState(
        body["selection"],
        body["fitted"],
        int(body["fit_rows"]),
        str(body["digest"]),
        str(body.get("fitted_at", "")),
        str(body.get("refit_reason", "")),
    )


def load_model(data_dir: Path, athlete: str) -> tuple[SelectionResult, dict[str, Any]]:
    state = load_state(data_dir, athlete)
    if state is None:
        path = AthleteStore(data_dir, athlete).model_path
        raise DataProblem(f"{path} is missing: materialize gold/hrv_model first")
    return state.selection, state.fitted


def run(ctx: StepContext) -> StepOutput:
    selection, metrics = train(ctx.data_dir, ctx.athlete)
    mae = {k: v["mae_ms"] for k, v in metrics["candidates"].items()}
    return StepOutput(
        metadata={
            "athlete": ctx.athlete,
            "selected_model": selection.selected_model,
            "cold_start": selection.cold_start,
            "n_days": selection.n_days,
            "n_backtest_days": selection.n_backtest,
            "selection_reason": selection.selection_reason,
            "refit": metrics["refit"],
            "refit_reason": metrics["refit_reason"],
            "days_since_fit": metrics["days_since_fit"],
            "model_mae_ms (realised)": metrics["realised"].get("mae_ms"),
            "interval_coverage (realised)": metrics["realised"].get("interval_coverage"),
            **{f"mae_ms/{k}": v for k, v in mae.items()},
            "training_metrics": outputs_dir(ctx.data_dir, ctx.athlete) / TRAINING_METRICS,
        },
        checks=[VS_PERSISTENCE.result(quality.model_beats_persistence(metrics))],
    )


STEP = Step(
    key=KEY,
    run=run,
    description="""Next-morning HRV model: the athlete's recent level, moved by what the journal
says, unless a candidate has earned its place.

Candidates: persistence, the 7-day mean, the recent level (a weighted mean of the last
nights), ridge regression and gradient-boosted trees on journal + load features (which
never let drinking, illness or a load spike raise a forecast), scored on a walk-forward
backtest. A candidate replaces the default only when it beat it on enough backtest days by
a clear margin; the metadata says why the model was chosen. The model error shown
(`model_mae_ms`) is what the whole procedure, selection included, achieved out of sample,
with the realised coverage of its 80% intervals. Below 14 valid days: cold start, the
default only. A new morning does not refit: the stored models forecast it (out of sample)
and the choice is made again; they are refitted after 7 new days, when a day already seen
changed, or on drift (`refit_reason`). Writes `training_metrics.json`.""",
    deps=(features.KEY,),
    checks=(VS_PERSISTENCE,),
    kinds=frozenset({"scikitlearn"}),
)
