"""Batch runs: several athletes' graphs in one run, for bursts (a squad syncing at once).

A run costs about 3 s before any athlete's work starts (a new process, importing Dagster,
the code and scikit-learn, run bookkeeping); the work itself is under 1 s per athlete.
When a sensor tick has many athletes to update, one run per athlete would spend most of
its time on that fixed cost, so the sensors group athletes into batch runs instead.

A batch run executes, for each athlete in turn, the very step functions the assets run
(`assets.bronze.journal_step`, ...), and records what an asset run would: one
materialization per asset and athlete partition, and every check's evaluation for that
partition. Blocking checks block as they do in an asset run: an ERROR from a blocking
check stops that athlete's downstream steps (the materialization is recorded first).
One athlete's failure never stops the others; the run fails at the end naming every
failed athlete and asset (metadata `failures`), which `run_failure_alerts` turns into one
alert per athlete and asset.
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
from pydantic import Field

from assets.agent import FORECAST_KEY, forecast_step
from assets.bronze import JOURNAL_KEY, READINGS_KEY, journal_step, readings_step
from assets.common import AthleteWork, StepOutput, check_metadata
from assets.gold import (
    MODEL_KEY,
    PREDICTIONS_KEY,
    RECONCILIATION_KEY,
    REGISTRY_KEY,
    SUMMARY_KEY,
    model_step,
    predictions_step,
    reconciliation_step,
    registry_step,
    summary_step,
)
from assets.silver import FEATURES_KEY, features_step
from resources.folders import DataStoreResource, InboxResource, SourcesResource

BATCH_JOB = "athlete_batch"
BATCH_OP = "update_athletes"
TRIGGERS = ("inbox", "sources")

# Topological order of one athlete's graph; a batch runs the part its trigger affects.
STEPS: dict[dg.AssetKey, Callable[[AthleteWork], StepOutput]] = {
    READINGS_KEY: readings_step,
    JOURNAL_KEY: journal_step,
    FEATURES_KEY: features_step,
    MODEL_KEY: model_step,
    PREDICTIONS_KEY: predictions_step,
    REGISTRY_KEY: registry_step,
    RECONCILIATION_KEY: reconciliation_step,
    SUMMARY_KEY: summary_step,
    FORECAST_KEY: forecast_step,
}

# The same transient-error policy as FS_RETRY on the assets: 3 retries, 0.5 / 1 / 2 s.
RETRY_DELAYS = (0.5, 1.0, 2.0)


class AthleteBatchConfig(dg.Config):
    athletes: list[str] = Field(description="The athletes to update, in order.")
    trigger: str = Field(
        default="inbox",
        description="'inbox': journal and everything downstream; 'sources': wearable "
        "readings and everything downstream.",
    )
    files: dict[str, list[str]] = Field(
        default_factory=dict,
        description="inbox trigger: inbox-relative paths of each athlete's files to ingest.",
    )
    with_readings: list[str] = Field(
        default_factory=list,
        description="inbox trigger: athletes whose readings are built too (none stored yet).",
    )


def steps_for(trigger: str, with_readings: bool) -> list[dg.AssetKey]:
    """The assets one athlete's part of a batch materializes, in dependency order."""
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger {trigger!r} is not one of {', '.join(TRIGGERS)}")
    keys = list(STEPS)
    if trigger == "sources":
        return [k for k in keys if k != JOURNAL_KEY]
    return keys if with_readings else [k for k in keys if k != READINGS_KEY]


def blocking_checks() -> set[tuple[dg.AssetKey, str]]:
    from assets import ALL_ASSETS

    return {
        (spec.asset_key, spec.name)
        for asset in ALL_ASSETS
        for spec in asset.check_specs
        if spec.blocking
    }


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, dg.Failure):
        return exc.description or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def run_step(step: Callable[[AthleteWork], StepOutput], work: AthleteWork) -> StepOutput:
    """One step for one athlete; transient OS errors are retried like FS_RETRY does."""
    for delay in (*RETRY_DELAYS, None):
        try:
            return step(work)
        except OSError as exc:
            if delay is None:
                raise
            work.log.warning(f"{work.athlete}: {exc}; retrying in {delay} s")
            time.sleep(delay)
    raise AssertionError("unreachable")


def run_athlete(
    work: AthleteWork,
    keys: list[dg.AssetKey],
    blocking: set[tuple[dg.AssetKey, str]],
    failures: list[dict[str, Any]],
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """Materialize one athlete's assets in order, yielding each event as it happens (so
    it is stored even if the run dies later); a failure is appended to ``failures`` and
    stops this athlete's remaining steps."""
    for key in keys:
        try:
            out = run_step(STEPS[key], work)
        except Exception as exc:  # one athlete's failure must not stop the batch
            work.log.error(f"{work.athlete}: {key.to_user_string()} failed: {exc}")
            failures.append(
                {"athlete": work.athlete, "asset": key.to_user_string(), "error": _error_text(exc)}
            )
            return
        yield dg.AssetMaterialization(asset_key=key, partition=work.athlete, metadata=out.metadata)
        stopped = []
        for check in out.checks:
            is_blocking = (key, check.name) in blocking
            yield (
                dg.AssetCheckEvaluation(
                    asset_key=key,
                    check_name=check.name,
                    passed=check.outcome.passed,
                    severity=check.severity,
                    metadata=check_metadata(check.outcome, work.athlete),
                    description=check.outcome.verdict,
                    partition=work.athlete,
                    blocking=is_blocking,
                )
            )
            failed_error = (
                not check.outcome.passed and check.severity == dg.AssetCheckSeverity.ERROR
            )
            if is_blocking and failed_error:
                stopped.append(f"blocking check {check.name} failed: {check.outcome.verdict}")
        if stopped:
            failures.append(
                {
                    "athlete": work.athlete,
                    "asset": key.to_user_string(),
                    "error": "; ".join(stopped),
                }
            )
            return


@dg.op(name=BATCH_OP, out={})
def athlete_batch(
    context: dg.OpExecutionContext,
    config: AthleteBatchConfig,
    inbox: InboxResource,
    sources: SourcesResource,
    store: DataStoreResource,
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """Updates several athletes in one run: each athlete's journal (or readings) and
    everything downstream, with the same steps and checks as the per-athlete assets.
    Each asset partition's materialization and check results are recorded as an asset
    run would record them. Failed athletes are listed in the run's failure."""
    blocking = blocking_checks()
    failures: list[dict[str, Any]] = []
    started = time.monotonic()
    for athlete in config.athletes:
        work = AthleteWork(
            athlete,
            store,
            context.log,
            inbox=inbox,
            sources=sources,
            files=config.files.get(athlete),
        )
        keys = steps_for(config.trigger, athlete in config.with_readings)
        yield from run_athlete(work, keys, blocking, failures)
    elapsed = time.monotonic() - started
    context.log.info(
        f"{len(config.athletes) - len(failures)} of {len(config.athletes)} athletes updated "
        f"in {elapsed:.1f} s"
    )
    if failures:
        listed = "; ".join(f"{f['athlete']} at {f['asset']}" for f in failures[:10])
        raise dg.Failure(
            description=f"{len(failures)} of {len(config.athletes)} athletes failed: {listed}",
            metadata={"failures": dg.MetadataValue.json(failures)},
            allow_retries=False,
        )


@dg.job(name=BATCH_JOB, executor_def=dg.in_process_executor)
def athlete_batch_job() -> None:
    """Several athletes updated in one run (the sensors' choice for bursts of athletes)."""
    athlete_batch()
