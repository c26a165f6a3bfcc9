"""Gold: the model, its predictions, the append-only registry, reconciliation, summary."""

from typing import Any

import dagster as dg

from assets import check_names as C
from assets.bronze import wearable_readings
from assets.common import (
    ATHLETES,
    FS_RETRY,
    AthleteWork,
    CheckReport,
    StepOutput,
    check_spec,
    data_step,
    materialize,
)
from assets.silver import daily_features
from hrv import pipeline
from hrv.analytics import quality
from hrv.storage.athlete_store import outputs_dir
from hrv.storage.registry import read_registry, verify_registry
from resources.folders import DataStoreResource

MODEL_KEY = dg.AssetKey(["gold", "hrv_model"])
PREDICTIONS_KEY = dg.AssetKey(["gold", "model_predictions"])
REGISTRY_KEY = dg.AssetKey(["gold", "predictions_registry"])
RECONCILIATION_KEY = dg.AssetKey(["gold", "reconciliation"])
SUMMARY_KEY = dg.AssetKey(["gold", "intelligence_summary"])


@dg.asset(
    key=MODEL_KEY,
    group_name="gold",
    partitions_def=ATHLETES,
    deps=[daily_features],
    retry_policy=FS_RETRY,
    kinds={"scikitlearn"},
    check_specs=[
        check_spec(
            C.MODEL_VS_PERSISTENCE,
            MODEL_KEY,
            "The selected model's walk-forward MAE is lower than persistence ('tomorrow = "
            "today'). WARN: when nothing beats persistence the journal adds no skill yet; "
            "the forecast still ships, with the baselines' MAE beside it.",
        ),
    ],
)
def hrv_model(context: dg.AssetExecutionContext, store: DataStoreResource) -> dg.MaterializeResult:
    """Next-morning rMSSD model, chosen by walk-forward backtest MAE.

    Candidates: persistence, 7-day mean, ridge regression and gradient-boosted trees on
    journal + load features. Below 14 valid days: cold start, baseline only. Writes
    `training_metrics.json` (selected model, every candidate's MAE, the baselines' MAE).
    """
    return materialize(model_step, context, store)


def model_step(work: AthleteWork) -> StepOutput:
    athlete, data_dir = work.athlete, work.store.path
    selection, metrics = data_step("training", lambda: pipeline.train(data_dir, athlete))
    outcome = quality.model_beats_persistence(metrics)
    mae = {k: v["mae_ms"] for k, v in metrics["candidates"].items()}
    return StepOutput(
        metadata={
            "athlete": athlete,
            "selected_model": selection.selected_model,
            "cold_start": selection.cold_start,
            "n_days": selection.n_days,
            "n_backtest_days": selection.n_backtest,
            **{
                f"mae_ms/{k}": (v if v is not None else dg.MetadataValue.text("-"))
                for k, v in mae.items()
            },
            "training_metrics": dg.MetadataValue.path(
                str(outputs_dir(data_dir, athlete) / pipeline.TRAINING_METRICS)
            ),
        },
        checks=[CheckReport(C.MODEL_VS_PERSISTENCE, outcome, dg.AssetCheckSeverity.WARN)],
    )


@dg.asset(
    key=PREDICTIONS_KEY,
    group_name="gold",
    partitions_def=ATHLETES,
    deps=[hrv_model, daily_features],
    retry_policy=FS_RETRY,
    check_specs=[
        check_spec(
            C.PREDICTION_RANGE,
            PREDICTIONS_KEY,
            "Every prediction and interval bound is a finite number within 5-300 ms, with "
            "lower <= predicted <= upper. ERROR, blocking: an impossible forecast is not "
            "written, registered or recommended on; the previous files stay in place.",
            blocking=True,
        ),
    ],
)
def model_predictions(
    context: dg.AssetExecutionContext, store: DataStoreResource
) -> dg.MaterializeResult:
    """Tomorrow morning's rMSSD from every candidate, with 80% intervals.

    Intervals come from each model's own backtest residuals. The selected model is
    flagged. Written to `model_predictions.json` only when the range check passes.
    """
    return materialize(predictions_step, context, store)


def predictions_step(work: AthleteWork) -> StepOutput:
    athlete, data_dir = work.athlete, work.store.path
    doc = data_step("predicting", lambda: pipeline.compute_predictions(data_dir, athlete))
    outcome = quality.prediction_in_range(doc)
    if outcome.passed:
        pipeline.write_predictions(data_dir, athlete, doc)
    else:
        work.log.error(f"prediction for {athlete} not written: {outcome.verdict}")
    chosen = pipeline.selected_prediction(doc) or {}
    return StepOutput(
        metadata={
            "athlete": athlete,
            "for_date": doc.get("for_date") or "-",
            "model": chosen.get("model", "-"),
            "predicted_rmssd_ms": chosen.get("predicted_rmssd_ms", dg.MetadataValue.text("-")),
            "interval_ms": dg.MetadataValue.json([chosen.get("lower_ms"), chosen.get("upper_ms")]),
            "written": outcome.passed,
        },
        checks=[CheckReport(C.PREDICTION_RANGE, outcome, dg.AssetCheckSeverity.ERROR)],
    )


@dg.asset(
    key=REGISTRY_KEY,
    group_name="gold",
    partitions_def=ATHLETES,
    deps=[model_predictions],
    retry_policy=FS_RETRY,
    kinds={"csv"},
    check_specs=[
        check_spec(
            C.REGISTRY_APPEND_ONLY,
            REGISTRY_KEY,
            "`predictions_registry.csv` is append-only: every earlier append is still a "
            "byte-identical prefix (checked against a SHA-256 ledger). ERROR, blocking: an "
            "edited or truncated registry makes reconciliation meaningless.",
            blocking=True,
        ),
    ],
)
def predictions_registry(
    context: dg.AssetExecutionContext, store: DataStoreResource
) -> dg.MaterializeResult:
    """Every forecast ever made, appended once and never rewritten.

    Columns: made_at, athlete, for_date, model, predicted_rmssd_ms, lower_ms, upper_ms,
    user_guess_ms, role (selected or baseline). A re-run with unchanged inputs appends
    nothing; a changed forecast for the same morning appends a new row.
    """
    return materialize(registry_step, context, store)


def registry_step(work: AthleteWork) -> StepOutput:
    athlete, data_dir = work.athlete, work.store.path
    registry, ledger = pipeline.registry_paths(data_dir, athlete)
    before = verify_registry(registry, ledger)
    appended = 0
    if before.passed:
        appended = data_step(
            "registering", lambda: pipeline.register_predictions(data_dir, athlete)
        )
    after = verify_registry(registry, ledger) if before.passed else before
    outcome = quality.CheckOutcome(
        after.passed,
        f"{after.n_rows} rows from {after.n_appends} appends intact"
        if after.passed
        else after.problems[0],
        {"n_rows": after.n_rows, "n_appends": after.n_appends, "problems": after.problems},
    )
    return StepOutput(
        metadata={
            "athlete": athlete,
            "appended_rows": appended,
            "n_rows": len(read_registry(registry)),
            "path": dg.MetadataValue.path(str(registry)),
        },
        checks=[CheckReport(C.REGISTRY_APPEND_ONLY, outcome, dg.AssetCheckSeverity.ERROR)],
    )


@dg.asset(
    key=RECONCILIATION_KEY,
    group_name="gold",
    partitions_def=ATHLETES,
    deps=[predictions_registry, wearable_readings],
    retry_policy=FS_RETRY,
    check_specs=[
        check_spec(
            C.RECONCILIATION_COVERAGE,
            RECONCILIATION_KEY,
            "With 10+ forecasts reconciled, the 80% intervals cover at least 60% of the "
            "measured mornings. WARN: lower coverage means overconfident forecasts.",
        ),
    ],
)
def reconciliation(
    context: dg.AssetExecutionContext, store: DataStoreResource
) -> dg.MaterializeResult:
    """Registered forecasts scored against the readings that arrived for their mornings.

    MAE, bias and interval coverage of the selected model, the baselines and the
    athlete's own guesses, over the last 7, 28 and all days: `reconciliation.json`.
    """
    return materialize(reconciliation_step, context, store)


def reconciliation_step(work: AthleteWork) -> StepOutput:
    athlete, data_dir = work.athlete, work.store.path
    doc = data_step("reconciling", lambda: pipeline.reconcile_athlete(data_dir, athlete))
    outcome = quality.reconciliation_coverage(doc)

    def num(v: Any) -> Any:
        return v if v is not None else dg.MetadataValue.text("-")

    return StepOutput(
        metadata={
            "athlete": athlete,
            "n_reconciled": doc["n_reconciled"],
            "mae_ms": num(doc["mae_ms"]),
            "bias_ms": num(doc["bias_ms"]),
            "interval_coverage": num(doc["interval_coverage"]),
            "user_guess_mae_ms": num(doc["user_guess_mae_ms"]),
        },
        checks=[CheckReport(C.RECONCILIATION_COVERAGE, outcome, dg.AssetCheckSeverity.WARN)],
    )


@dg.asset(
    key=SUMMARY_KEY,
    group_name="gold",
    partitions_def=ATHLETES,
    deps=[daily_features, hrv_model, model_predictions, reconciliation],
    retry_policy=FS_RETRY,
    kinds={"json", "matplotlib"},
)
def intelligence_summary(
    context: dg.AssetExecutionContext, store: DataStoreResource
) -> dg.MaterializeResult:
    """The athlete at a glance: latest rMSSD, baseline vs normal range, CV, load ratio,
    trend, model skill and reconciliation, plus a chart of the last 120 days
    (`intelligence_summary.json` + `.png`)."""
    return materialize(summary_step, context, store)


def summary_step(work: AthleteWork) -> StepOutput:
    athlete, data_dir = work.athlete, work.store.path
    doc = data_step("summarizing", lambda: pipeline.summarize(data_dir, athlete))
    chart = outputs_dir(data_dir, athlete) / pipeline.INTELLIGENCE_CHART
    return StepOutput(
        metadata={
            "athlete": athlete,
            "baseline_status": doc.get("baseline_status") or "-",
            "latest_rmssd_ms": doc.get("latest_rmssd_ms") or dg.MetadataValue.text("-"),
            "chart": dg.MetadataValue.path(str(chart)),
        }
    )
