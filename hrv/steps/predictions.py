"""gold/model_predictions: tomorrow morning's rMSSD from every candidate, with intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hrv.analytics import quality
from hrv.analytics.features import finite_or_none, metric_of
from hrv.analytics.models import (
    PERSISTENCE,
    no_forecast_reason,
    predict_next,
)
from hrv.analytics.selection import INTERVAL_LEVEL
from hrv.steps import features, model
from hrv.steps.graph import CheckDef, Step, StepContext, StepOutput
from hrv.steps.outputs import MODEL_PREDICTIONS, read_features, selected_prediction, utcnow
from hrv.storage.athlete_store import outputs_dir
from hrv.storage.files import write_json_atomic

KEY = ("gold", "model_predictions")

IN_RANGE = CheckDef(
    "prediction_in_physiological_range",
    "Every prediction and interval bound is a finite number within 2-600 ms, with lower <= "
    "predicted <= upper. ERROR, blocking: an impossible forecast is not written, registered "
    "or recommended on; the previous files stay in place.",
    severity="ERROR",
    blocking=True,
)


def compute_predictions(data_dir: Path, athlete: str) -> dict[str, Any]:
    """Tomorrow's predictions of every candidate, the selected one flagged."""
    frame = read_features(data_dir, athlete)
    selection, fitted = model.load_model(data_dir, athlete)
    for_date, preds = predict_next(frame, selection, fitted)
    last = frame.tail(1)
    guess = finite_or_none(last["hrv_guess_ms"].iloc[0]) if len(last) else None
    # after a gap only the last reading forecasts until the 7-day mean is rebuilt
    selected = selection.selected_model if selection.selected_model in preds else PERSISTENCE
    ordered = sorted(preds.values(), key=lambda p: p.model != selected)
    reason = None if preds else no_forecast_reason(frame) or "no forecast"
    return {
        "athlete": athlete,
        "metric": metric_of(frame),
        "generated_at": utcnow().isoformat(),
        "for_date": for_date.date().isoformat() if for_date is not None else None,
        "based_on_date": last["date"].iloc[0].date().isoformat() if len(last) else None,
        "selected_model": selected if preds else selection.selected_model,
        "selection_reason": (
            selection.selection_reason
            if selected == selection.selected_model
            else "the 7-day mean is rebuilding after a gap: the last reading carries the forecast"
        ),
        "cold_start": selection.cold_start,
        "interval_level": INTERVAL_LEVEL,
        "user_guess_ms": guess,
        "predictions": [p.to_dict() | {"selected": p.model == selected} for p in ordered],
        "no_forecast_reason": reason,
    }


def run(ctx: StepContext) -> StepOutput:
    doc = compute_predictions(ctx.data_dir, ctx.athlete)
    outcome = quality.prediction_in_range(doc)
    if outcome.passed:
        write_json_atomic(outputs_dir(ctx.data_dir, ctx.athlete) / MODEL_PREDICTIONS, doc)
    else:
        ctx.log.error(f"prediction for {ctx.athlete} not written: {outcome.verdict}")
    chosen = selected_prediction(doc) or {}
    return StepOutput(
        metadata={
            "athlete": ctx.athlete,
            "for_date": doc.get("for_date"),
            "model": chosen.get("model"),
            "metric": doc.get("metric"),
            "predicted_ms": chosen.get("predicted_rmssd_ms"),
            "interval_ms": [chosen.get("lower_ms"), chosen.get("upper_ms")],
            "written": outcome.passed,
        },
        checks=[IN_RANGE.result(outcome)],
    )


STEP = Step(
    key=KEY,
    run=run,
    description="""Tomorrow morning's rMSSD from every candidate, with 80% intervals.

Intervals come from each model's own backtest residuals. The selected model is flagged.
Written to `model_predictions.json` only when the range check passes.""",
    deps=(model.KEY, features.KEY),
    checks=(IN_RANGE,),
)
