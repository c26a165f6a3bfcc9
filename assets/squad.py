"""The squad run: one run updates many athletes (``assets/executor.py`` walks each one's
steps and records its materializations and check evaluations on its partition)."""

import time
from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg

from assets.executor import AthleteUpdate, Event, MemberOutcome
from assets.runs import (
    IN_PROGRESS,
    RUN_MAX_RUNTIME_SECONDS,
    SQUAD_JOB,
    SQUAD_OP,
    AthleteRun,
    SquadConfig,
    run_athletes,
)
from resources.folders import DataStoreResource
from resources.settings import SettingsResource

PROGRESS_EVERY_SECONDS = 10.0
_POOLED: set[int] = set()


def pool_connections(instance: dg.DagsterInstance) -> None:
    """Keep the database connections of a squad's process open between its athletes, as
    the webserver does (PostgreSQL: a new connection per query otherwise, ~4x the cost of
    recording an athlete; SQLite: nothing changes)."""
    if id(instance) not in _POOLED:
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=4)
        _POOLED.add(id(instance))


def earlier_runs_athletes(records: Sequence[dg.RunRecord], run_id: str) -> set[str]:
    """The athletes that in-progress runs created before ``run_id``'s are updating. Only
    earlier runs count: two runs that share an athlete (two sensors deciding in the same
    moment) never wait for each other; the later one waits."""
    mine = next((r for r in records if r.dagster_run.run_id == run_id), None)
    created = (mine.create_timestamp, mine.storage_id) if mine else None
    return {
        a
        for r in records
        if r.dagster_run.run_id != run_id
        and (created is None or (r.create_timestamp, r.storage_id) < created)
        for a in run_athletes(r.dagster_run)
    }


def busy_athletes(context: dg.OpExecutionContext, athletes: set[str]) -> set[str]:
    """Which of ``athletes`` an earlier run is updating right now (one query)."""
    records = context.instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS))
    return earlier_runs_athletes(records, context.run_id) & athletes


def wait_for_athlete(context: dg.OpExecutionContext, athlete: str) -> None:
    """Wait (up to a run's maximum runtime) while a run created before this one is
    updating ``athlete``: two runs of one athlete never overlap (a sensor or a person in
    the UI may have started one in the same moment as this squad)."""
    deadline = time.monotonic() + RUN_MAX_RUNTIME_SECONDS
    said = False
    while time.monotonic() < deadline:
        if not busy_athletes(context, {athlete}):
            return
        if not said:
            context.log.info(f"{athlete}: waiting for an earlier run of this athlete to finish")
            said = True
        time.sleep(0.5)
    context.log.warning(f"{athlete}: an earlier run is still in progress; going ahead")


def run_members(
    context: dg.OpExecutionContext,
    members: Sequence[AthleteRun],
    settings: SettingsResource,
    store: DataStoreResource,
) -> Iterator[Event | MemberOutcome]:
    """Each member's events as they happen, then its outcome."""
    current = settings.get()
    busy = busy_athletes(context, {m.athlete for m in members})
    last_said = time.monotonic()
    for done, member in enumerate(members, start=1):
        if member.athlete in busy:
            wait_for_athlete(context, member.athlete)
        outcome = yield from AthleteUpdate(context, member, current, store).events()
        yield outcome
        if time.monotonic() - last_said > PROGRESS_EVERY_SECONDS:
            context.log.info(f"{done} of {len(members)} athletes updated")
            last_said = time.monotonic()


def _table(outcomes: Sequence[MemberOutcome]) -> str:
    rows = "\n".join(
        f"| {o.athlete} | {o.status} | {len(o.materialized)} | "
        f"{', '.join(o.failed_checks) or '-'} | {o.seconds:.2f} |"
        for o in outcomes
    )
    return "| athlete | status | assets | failed checks | seconds |\n|---|---|---|---|---|\n" + rows


@dg.op(name=SQUAD_OP, out=dg.Out(dg.Nothing))
def update_squad(
    context: dg.OpExecutionContext,
    config: SquadConfig,
    settings: SettingsResource,
    store: DataStoreResource,
) -> Iterator[Any]:
    """Updates several athletes in this one run: for each, the step that changed and
    everything downstream, with the same steps, checks, blocking rules and retries as an
    athlete's own asset run. Each athlete's materializations and check results are
    recorded on the athlete's partition, so every asset's and check's Partitions tab shows
    the athlete as if it had run alone. One athlete's failure never stops the others; the
    run fails at the end naming each failed athlete and asset (and each is alerted)."""
    members = [m.spec() for m in config.athletes]
    pool_connections(context.instance)
    started = time.monotonic()
    outcomes: list[MemberOutcome] = []
    for item in run_members(context, members, settings, store):
        if isinstance(item, MemberOutcome):
            outcomes.append(item)
        else:
            yield item
    failed = [o for o in outcomes if not o.success]
    elapsed = time.monotonic() - started
    context.log.info(
        f"{len(outcomes) - len(failed)} of {len(outcomes)} athletes updated in {elapsed:.1f} s"
    )
    metadata: dict[str, Any] = {
        "athletes": len(outcomes),
        "failed": len(failed),
        "seconds_per_athlete": round(elapsed / max(len(outcomes), 1), 3),
        "athletes_updated": dg.MetadataValue.md(_table(outcomes)),
    }
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(outcomes)} athletes failed: "
            + "; ".join(f"{o.athlete} at {w}: {e}" for o in failed[:10] for w, e in o.failures),
            metadata={
                **metadata,
                "failures": dg.MetadataValue.json(
                    [
                        {"athlete": o.athlete, "asset": where, "error": error}
                        for o in failed
                        for where, error in o.failures
                    ]
                ),
            },
            allow_retries=False,
        )
    yield dg.Output(None, metadata=metadata)


@dg.job(name=SQUAD_JOB, executor_def=dg.in_process_executor)
def squad_update_job() -> None:
    """Several athletes updated by one run, each recorded on its own partition (the
    sensors' choice when many athletes change at once; see the op)."""
    update_squad()
