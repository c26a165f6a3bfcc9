"""gold/predictions_registry: every forecast ever made, appended once, never rewritten."""

from __future__ import annotations

from pathlib import Path

from hrv.analytics.models import BASELINES
from hrv.analytics.quality import CheckOutcome
from hrv.steps import predictions
from hrv.steps.graph import CheckDef, Step, StepContext, StepOutput
from hrv.steps.outputs import MODEL_PREDICTIONS, read_json_output, registry_paths, utcnow
from hrv.storage.registry import (
    BASELINE,
    SELECTED,
    append_forecasts,
    read_registry,
    verify_registry,
)

KEY = ("gold", "predictions_registry")

APPEND_ONLY = CheckDef(
    "registry_append_only",
    "`predictions_registry.csv` is append-only: every earlier append is still a "
    "byte-identical prefix (checked against a SHA-256 ledger). ERROR, blocking: an edited or "
    "truncated registry makes reconciliation meaningless.",
    severity="ERROR",
    blocking=True,
)


def register_predictions(data_dir: Path, athlete: str) -> int:
    """Append the selected forecast and the baselines' to the registry (if new)."""
    doc = read_json_output(data_dir, athlete, MODEL_PREDICTIONS)
    if doc.get("for_date") is None:
        return 0
    rows = []
    for p in doc["predictions"]:
        role = SELECTED if p["selected"] else BASELINE if p["model"] in BASELINES else None
        if role is None:
            continue
        rows.append(
            {
                "athlete": athlete,
                "for_date": doc["for_date"],
                "model": p["model"],
                "predicted_rmssd_ms": p["predicted_rmssd_ms"],
                "lower_ms": p["lower_ms"],
                "upper_ms": p["upper_ms"],
                "user_guess_ms": doc.get("user_guess_ms"),
                "role": role,
                "metric": doc.get("metric") or "rmssd",
            }
        )
        if role == SELECTED and p["model"] in BASELINES:
            rows.append(rows[-1] | {"role": BASELINE})
    registry, ledger = registry_paths(data_dir, athlete)
    return append_forecasts(registry, ledger, rows, utcnow())


def run(ctx: StepContext) -> StepOutput:
    registry, ledger = registry_paths(ctx.data_dir, ctx.athlete)
    before = verify_registry(registry, ledger)
    appended = register_predictions(ctx.data_dir, ctx.athlete) if before.passed else 0
    after = verify_registry(registry, ledger) if before.passed else before
    outcome = CheckOutcome(
        after.passed,
        f"{after.n_rows} rows from {after.n_appends} appends intact"
        if after.passed
        else after.problems[0],
        {"n_rows": after.n_rows, "n_appends": after.n_appends, "problems": after.problems},
    )
    return StepOutput(
        metadata={
            "athlete": ctx.athlete,
            "appended_rows": appended,
            "n_rows": len(read_registry(registry)),
            "path": registry,
        },
        checks=[APPEND_ONLY.result(outcome)],
    )


STEP = Step(
    key=KEY,
    run=run,
    description="""Every forecast ever made, appended once and never rewritten.

Columns: made_at, athlete, for_date, model, predicted_rmssd_ms, lower_ms, upper_ms,
user_guess_ms, role (selected or baseline). A re-run with unchanged inputs appends nothing;
a changed forecast for the same morning appends a new row.""",
    deps=(predictions.KEY,),
    checks=(APPEND_ONLY,),
    kinds=frozenset({"csv"}),
)
