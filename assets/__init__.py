"""The per-athlete asset graph, generated from the step graph (``hrv/steps``), and the two
jobs the sensors run: one athlete's assets, and a squad of athletes."""

from typing import Any

import dagster as dg

from assets.board import squad_board, squad_board_job
from assets.common import ATHLETES, ATHLETES_PARTITIONS, asset_key
from assets.factory import build_asset, build_checks
from assets.runs import (
    ATHLETE_JOB,
    IN_PROGRESS,
    SQUAD_JOB,
    SQUAD_OP,
    AthleteRun,
    SquadConfig,
    run_athletes,
    run_squad,
    squad_run_request,
)
from hrv.settings import load_settings
from hrv.steps import GRAPH
from resources.folders import DataStoreResource
from resources.settings import SettingsResource

ASSETS = [build_asset(step, load_settings()) for step in GRAPH]
CHECKS = [check for step in GRAPH for check in build_checks(step)]
ASSET_KEYS = {step.key: asset_key(step) for step in GRAPH}

athlete_assets_job = dg.define_asset_job(
    ATHLETE_JOB,
    selection=dg.AssetSelection.assets(*ASSETS) | dg.AssetSelection.checks(*CHECKS),
    partitions_def=ATHLETES,
    description="One athlete's asset graph and checks (the part a trigger affects is selected "
    "per run; the freshness sensor selects only the source_freshness check).",
)

_JOBS: dict[frozenset[tuple[str, str]], dg.JobDefinition] = {}


def athlete_job(store: DataStoreResource) -> dg.JobDefinition:
    """``athlete_assets`` bound to the squad run's resources, as a runnable job (built once
    per process and settings, not once per athlete)."""
    key = frozenset(store.settings.values.items())
    if key not in _JOBS:
        # the same settings as this run's, as one carrier shared by both resources
        carrier = SettingsResource(values=dict(store.settings.values))
        defs = dg.Definitions(
            assets=ASSETS,
            asset_checks=CHECKS,
            jobs=[athlete_assets_job],
            resources={"settings": carrier, "store": DataStoreResource(settings=carrier)},
        )
        _JOBS[key] = defs.resolve_job_def(ATHLETE_JOB)
    return _JOBS[key]


_POOLED: set[int] = set()


def pool_connections(instance: dg.DagsterInstance) -> None:
    """Keep the database connections of a squad's process open between its athletes' runs,
    as the webserver does (PostgreSQL: a new connection per query otherwise; measured 2.4 s
    -> 1.0 s per athlete; SQLite: nothing changes)."""
    if id(instance) not in _POOLED:
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=4)
        _POOLED.add(id(instance))


@dg.op(name=SQUAD_OP, out=dg.Out(dg.Nothing))
def update_squad(
    context: dg.OpExecutionContext,
    config: SquadConfig,
    store: DataStoreResource,
) -> dg.Output[None]:
    """Updates several athletes, each in an asset run of its own (`athlete_assets`, the
    same steps, checks and retries as a single athlete's run), executed one after the other
    in this process. One athlete's failure never stops the others; the squad run fails at
    the end if any athlete's run failed, naming them (each failed run alerts on its own)."""
    members = [m.spec() for m in config.athletes]
    pool_connections(context.instance)
    rows: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for outcome in run_squad(context, athlete_job(store), members):
        verdict = "ok" if outcome.success else f"failed at {', '.join(outcome.failed_steps)}"
        context.log.info(
            f"{outcome.athlete}: run {outcome.run_id[:8]} {verdict} ({outcome.seconds:.2f} s)"
        )
        row = {"athlete": outcome.athlete, "run_id": outcome.run_id, "seconds": outcome.seconds}
        rows.append(row | {"status": verdict})
        if not outcome.success:
            failed.append(row | {"steps": outcome.failed_steps})
    table = "\n".join(
        f"| {r['athlete']} | [{r['run_id'][:8]}](/runs/{r['run_id']}) | {r['status']} "
        f"| {r['seconds']:.2f} |"
        for r in rows
    )
    metadata: dict[str, Any] = {
        "athletes": len(rows),
        "failed": len(failed),
        "runs": dg.MetadataValue.md(
            "| athlete | run | status | seconds |\n|---|---|---|---|\n" + table
        ),
    }
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(rows)} athletes failed: "
            + ", ".join(f"{f['athlete']} ({f['run_id'][:8]})" for f in failed[:10]),
            metadata={**metadata, "failed_runs": dg.MetadataValue.json(failed)},
            allow_retries=False,
        )
    return dg.Output(None, metadata=metadata)


@dg.job(name=SQUAD_JOB, executor_def=dg.in_process_executor)
def squad_update_job() -> None:
    """Several athletes updated by one run: each athlete gets its own asset run, executed
    in this run's process (the sensors' choice when many athletes change at once)."""
    update_squad()


# One process per run: a run is one athlete's small graph, and a process per step (the
# multiprocess executor) would cost more than the steps themselves.
defs = dg.Definitions(
    assets=[*ASSETS, squad_board],
    asset_checks=CHECKS,
    jobs=[athlete_assets_job, squad_update_job, squad_board_job],
    executor=dg.in_process_executor,
)

__all__ = [
    "ASSETS",
    "ASSET_KEYS",
    "ATHLETES",
    "ATHLETES_PARTITIONS",
    "ATHLETE_JOB",
    "CHECKS",
    "IN_PROGRESS",
    "SQUAD_JOB",
    "AthleteRun",
    "athlete_assets_job",
    "athlete_job",
    "defs",
    "run_athletes",
    "squad_run_request",
    "squad_update_job",
]
