"""gold/hrv_model: the next-morning model, chosen by walk-forward backtest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hrv.analytics import quality
from hrv.analytics.features import metric_of
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
    """Select a model by walk-forward backtest, fit it on all days, store both."""
    import joblib

    frame = read_features(data_dir, athlete)
    selection = select_model(frame)
    fitted = fit_final(frame, selection)
    store = AthleteStore(data_dir, athlete)
    store.dir.mkdir(parents=True, exist_ok=True)
    tmp = store.model_path.with_suffix(".joblib.tmp")
    joblib.dump({"selection": _selection_state(selection), "fitted": fitted}, tmp)
    os.replace(tmp, store.model_path)
    if selection.backtest is not None:
        write_text_atomic(
            store.backtest_path, selection.backtest.to_csv(index=False, date_format="%Y-%m-%d")
        )
    write_text_atomic(
        outputs_dir(data_dir, athlete) / RECONSTRUCTED,
        selection.reconstructed().to_csv(index=False, date_format="%Y-%m-%d"),
    )
    metrics = selection.training_metrics(athlete)
    metrics["metric"] = metric_of(frame)
    metrics["trained_at"] = utcnow().isoformat()
    write_json_atomic(outputs_dir(data_dir, athlete) / TRAINING_METRICS, metrics)
    return selection, metrics


def _selection_state(selection: SelectionResult) -> SelectionResult:
    return SelectionResult(
        n_days=selection.n_days,
        n_train_rows=selection.n_train_rows,
        cold_start=selection.cold_start,
        selected_model=selection.selected_model,
        mae_ms=selection.mae_ms,
        n_backtest=selection.n_backtest,
        residuals=selection.residuals,
        selection_reason=selection.selection_reason,
        realised=selection.realised,
        procedure_residuals=selection.procedure_residuals,
    )


def load_model(data_dir: Path, athlete: str) -> tuple[SelectionResult, dict[str, Any]]:
    import joblib

    path = AthleteStore(data_dir, athlete).model_path
    if not path.exists():
        raise DataProblem(f"{path} is missing: materialize gold/hrv_model first")
    state = joblib.load(path)
    return state["selection"], state["fitted"]


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
default only. Writes `training_metrics.json`.""",
    deps=(features.KEY,),
    checks=(VS_PERSISTENCE,),
    kinds=frozenset({"scikitlearn"}),
)
