"""gold/reconciliation: registered forecasts scored against the mornings that arrived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hrv.analytics import quality
from hrv.analytics.features import forecast_metric, readings_frame
from hrv.analytics.reconcile import reconcile, reconstructed_stats
from hrv.steps import readings, registry
from hrv.steps.graph import CheckDef, Step, StepContext, StepOutput
from hrv.steps.outputs import RECONCILIATION, RECONSTRUCTED, registry_paths, utcnow
from hrv.storage.athlete_store import AthleteStore, outputs_dir
from hrv.storage.files import write_json_atomic
from hrv.storage.registry import read_registry

KEY = ("gold", "reconciliation")

COVERAGE = CheckDef(
    "reconciliation_interval_coverage",
    "With 10+ forecasts reconciled, the 80% intervals cover at least 60% of the measured "
    "mornings. WARN: lower coverage means overconfident forecasts.",
    severity="WARN",
)


def actual_values(data_dir: Path, athlete: str) -> tuple[str, dict[str, float]]:
    """The athlete's metric (as the features use it) and its measured value per morning."""
    rows = AthleteStore(data_dir, athlete).readings()
    metric = forecast_metric(readings_frame(rows))
    out = {}
    for r in rows:
        if r["metric"] == metric:
            try:
                out[r["date"]] = float(r["value_ms"])
            except ValueError:
                continue
    return metric, out


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    try:
        with path.open(newline="") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        return []


def reconcile_athlete(data_dir: Path, athlete: str) -> dict[str, Any]:
    path, _ = registry_paths(data_dir, athlete)
    metric, actuals = actual_values(data_dir, athlete)
    doc = reconcile(athlete, read_registry(path), actuals, metric)
    rebuilt = reconstructed_stats(read_csv_rows(outputs_dir(data_dir, athlete) / RECONSTRUCTED))
    doc["n_reconstructed"] = rebuilt["n"]
    doc["reconstructed"] = rebuilt
    doc["generated_at"] = utcnow().isoformat()
    write_json_atomic(outputs_dir(data_dir, athlete) / RECONCILIATION, doc)
    return doc


def run(ctx: StepContext) -> StepOutput:
    doc = reconcile_athlete(ctx.data_dir, ctx.athlete)
    return StepOutput(
        metadata={
            "athlete": ctx.athlete,
            "n_reconciled": doc["n_reconciled"],
            "mae_ms": doc["mae_ms"],
            "bias_ms": doc["bias_ms"],
            "interval_coverage": doc["interval_coverage"],
            "user_guess_mae_ms": doc["user_guess_mae_ms"],
            "n_reconstructed": doc["n_reconstructed"],
            "reconstructed_mae_ms": doc["reconstructed"]["mae_ms"],
            "reconstructed_interval_coverage": doc["reconstructed"]["interval_coverage"],
        },
        checks=[COVERAGE.result(quality.reconciliation_coverage(doc))],
    )


STEP = Step(
    key=KEY,
    run=run,
    description="""Registered forecasts scored against the readings that arrived for their mornings.

MAE, bias and interval coverage of the selected model, the baselines and the athlete's own
guesses, over the last 7, 28 and all days: `reconciliation.json`. Beside them, apart, the
reconstructed forecasts (each past evening's forecast re-made out of sample), so an athlete
who arrives with months of history has numbers on day one (`n_reconstructed`).""",
    deps=(registry.KEY, readings.KEY),
    checks=(COVERAGE,),
)
