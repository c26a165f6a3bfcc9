"""What every asset shares: the athlete partitions, retries, and check plumbing."""

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dagster as dg

from hrv.analytics.quality import CheckOutcome
from resources.folders import DataStoreResource, InboxResource, SourcesResource

# Per-athlete check results need partitioned check specs, a preview feature in Dagster
# 1.13 that we opt into deliberately (ARCHITECTURE.md); say so once, not in every log.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)

ATHLETES_PARTITIONS = "athletes"
ATHLETES = dg.DynamicPartitionsDefinition(name=ATHLETES_PARTITIONS)

# Steps that touch the filesystem retry transient OS errors with exponential backoff
# (0.5 s, 1 s, 2 s). Deterministic data errors raise dg.Failure(allow_retries=False).
FS_RETRY = dg.RetryPolicy(
    max_retries=3, delay=0.5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

T = TypeVar("T")


def data_step(what: str, fn: Callable[[], T]) -> T:
    """Run ``fn``; turn data problems into a clear, non-retried failure.

    OSError (a busy disk, a network filesystem hiccup) propagates and is retried by
    FS_RETRY; missing upstream layers and impossible inputs are not worth retrying.
    """
    try:
        return fn()
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise dg.Failure(description=f"{what}: {exc}", allow_retries=False) from exc


def check_spec(
    name: str, asset_key: dg.AssetKey, description: str, *, blocking: bool = False
) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name,
        asset=asset_key,
        description=description,
        blocking=blocking,
        partitions_def=ATHLETES,
    )


@dataclass(frozen=True)
class CheckReport:
    """One check's outcome for one athlete, as a step computed it."""

    name: str
    outcome: CheckOutcome
    severity: dg.AssetCheckSeverity


@dataclass
class StepOutput:
    """What one asset's step produced for one athlete: its metadata and its checks."""

    metadata: dict[str, Any]
    checks: list[CheckReport] = field(default_factory=list)


@dataclass
class AthleteWork:
    """What a step needs: the athlete, the folders, where to log, the files to ingest.

    The same step functions run inside an athlete's asset run (one partition) and inside
    a batch run (several athletes in one process, see assets/batch.py).
    """

    athlete: str
    store: DataStoreResource
    log: Any
    inbox: InboxResource | None = None
    sources: SourcesResource | None = None
    files: list[str] | None = None


def check_metadata(outcome: CheckOutcome, athlete: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"verdict": outcome.verdict, "athlete": athlete}
    for key, value in outcome.metadata.items():
        if isinstance(value, list):
            metadata[key] = dg.MetadataValue.json(value)
        elif value is None:
            metadata[key] = dg.MetadataValue.text("-")
        else:
            metadata[key] = value
    return metadata


def check_result(
    name: str, outcome: CheckOutcome, severity: dg.AssetCheckSeverity, athlete: str
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=outcome.passed,
        severity=severity,
        metadata=check_metadata(outcome, athlete),
        description=outcome.verdict,
    )


def materialize(
    step: Callable[[AthleteWork], StepOutput],
    context: dg.AssetExecutionContext,
    store: DataStoreResource,
    **inputs: Any,
) -> dg.MaterializeResult:
    """Run ``step`` for the run's athlete partition; its output as the asset's result.
    ``inputs`` are the other AthleteWork fields the step needs (inbox, sources, files)."""
    work = AthleteWork(context.partition_key, store, context.log, **inputs)
    out = step(work)
    return dg.MaterializeResult(
        metadata=out.metadata,
        check_results=[
            check_result(c.name, c.outcome, c.severity, work.athlete) for c in out.checks
        ],
    )
