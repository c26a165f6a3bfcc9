"""What every generated asset shares: the athlete partitions, the retry policy, and the
translation of a step's plain output into Dagster metadata and check results."""

import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from assets.check_target import TargetMaterialization
from hrv.intake.freshness import FreshnessSettings
from hrv.settings import Settings
from hrv.steps.graph import (
    RETRY_DELAYS_SECONDS,
    CheckDef,
    CheckResult,
    DataProblem,
    Log,
    Markdown,
    Step,
    StepContext,
    StepOutput,
)
from resources.folders import DataStoreResource

# Per-athlete check results need partitioned check specs, a preview feature in Dagster
# 1.13 that we opt into deliberately (ARCHITECTURE.md); say so once, not in every log.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)

ATHLETES_PARTITIONS = "athletes"
ATHLETES = dg.DynamicPartitionsDefinition(name=ATHLETES_PARTITIONS)

# Transient filesystem errors (a busy disk, a network filesystem hiccup) are retried with
# exponential backoff: 0.5 s, 1 s, 2 s. Data problems fail at once (see run_step).
FS_RETRY = dg.RetryPolicy(
    max_retries=len(RETRY_DELAYS_SECONDS),
    delay=RETRY_DELAYS_SECONDS[0],
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)

SEVERITY = {"ERROR": dg.AssetCheckSeverity.ERROR, "WARN": dg.AssetCheckSeverity.WARN}


def asset_key(step: Step) -> dg.AssetKey:
    return dg.AssetKey(list(step.key))


def metadata_value(value: Any) -> Any:
    """A step's plain metadata value as the UI should show it. Numbers become text: the UI
    plots numeric metadata across every materialization of an asset, and for a
    per-athlete asset that joins different athletes into one meaningless line (the squad
    board's counts stay numbers: its plot is the squad over time)."""
    if isinstance(value, bool):
        return dg.MetadataValue.text("yes" if value else "no")
    if isinstance(value, int):
        return dg.MetadataValue.text(str(value))
    if isinstance(value, float):
        return dg.MetadataValue.text(f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}")
    if isinstance(value, Markdown):
        return dg.MetadataValue.md(str(value))
    if isinstance(value, Path):
        return dg.MetadataValue.path(str(value))
    if isinstance(value, (list, dict)):
        return dg.MetadataValue.json(value)
    if value is None:
        return dg.MetadataValue.text("-")
    return value


def ui_metadata(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: metadata_value(value) for key, value in values.items()}


def check_spec(step: Step, check: CheckDef) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        check.name,
        asset=asset_key(step),
        description=check.description,
        blocking=check.blocking,
        partitions_def=ATHLETES,
    )


def _check_fields(step: Step, result: CheckResult, athlete: str) -> dict[str, Any]:
    """What both executions record of a check result (an asset run's AssetCheckResult and
    a squad run's AssetCheckEvaluation): the same name, verdict, severity and metadata."""
    severity = result.severity or step.check(result.name).severity
    return {
        "check_name": result.name,
        "passed": result.passed,
        "severity": SEVERITY[severity],
        "metadata": ui_metadata({"verdict": result.verdict, "athlete": athlete, **result.metadata}),
        "description": result.verdict,
    }


def check_result(step: Step, result: CheckResult, athlete: str) -> dg.AssetCheckResult:
    """A check result in an asset run (Dagster names the partition and the target)."""
    return dg.AssetCheckResult(**_check_fields(step, result, athlete))


def check_evaluation(
    step: Step, result: CheckResult, athlete: str, target: TargetMaterialization | None
) -> dg.AssetCheckEvaluation:
    """The same check result recorded by a squad run: it names the athlete's partition and
    the materialization it checked, as an asset run's evaluation does."""
    return dg.AssetCheckEvaluation(
        asset_key=asset_key(step),
        blocking=step.check(result.name).blocking,
        partition=athlete,
        target_materialization_data=target,
        **_check_fields(step, result, athlete),
    )


def step_context(
    athlete: str,
    settings: Settings,
    store: DataStoreResource,
    log: Log,
    files: list[str] | None = None,
) -> StepContext:
    return StepContext(
        athlete=athlete,
        data_dir=settings.data_dir.expanduser().resolve(),
        inbox_dir=settings.inbox_dir.expanduser().resolve(),
        sources_dir=settings.sources_dir.expanduser().resolve(),
        default_athlete=settings.default_athlete,
        log=log,
        raise_alert=store.record_alert,
        files=files,
        freshness=FreshnessSettings.from_settings(settings),
        athletes_file=settings.athletes_file.expanduser().resolve(),
        settle_seconds=settings.inbox_settle_seconds,
    )


def run_step(step: Step, ctx: StepContext) -> StepOutput:
    """Run ``step``; a data problem (or a missing or malformed layer) fails at once,
    without retries, with a message that says what was being done. ``OSError`` is left to
    the asset's retry policy."""
    started = time.perf_counter()
    try:
        out = step.run(ctx)
    except (DataProblem, FileNotFoundError, ValueError, KeyError) as exc:
        raise dg.Failure(
            description=f"{step.path} for {ctx.athlete}: {type(exc).__name__}: {exc}",
            allow_retries=False,
        ) from exc
    out.metadata.setdefault("step_seconds", round(time.perf_counter() - started, 3))
    return out
