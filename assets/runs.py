"""The two kinds of run the sensors request: one athlete's asset run, or a squad run.

An athlete's update is always an asset run of the ``athlete_assets`` job for that
athlete's partition, selecting the step that changed (the journal, or the readings) and
everything downstream of it in the step graph. Run alone, it is a queued run of its own.
In a squad run (many athletes in one sensor tick), the ``update_squad`` op executes the
very same asset run for each athlete in turn, in its own already-warm process
(``execute_in_process`` against the instance): each athlete still gets a real run with
its partition, its checks planned and evaluated, its materializations and its tags, so
the UI shows it exactly like a run of its own, without paying a new process per athlete.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from pydantic import Field

from hrv.steps import GRAPH, features, journal, readings
from hrv.steps.graph import StepKey

ATHLETE_JOB = "athlete_assets"
SQUAD_JOB = "squad_update"
SQUAD_OP = "update_squad"
JOURNAL_OP = "__".join(journal.KEY)
# what changed -> the first step to re-run ("settings": the athlete's athletes.yaml entry)
TRIGGERS: dict[str, StepKey] = {
    "inbox": journal.KEY,
    "sources": readings.KEY,
    "settings": features.KEY,
}

# A run of one athlete takes seconds; one still "started" after 10 minutes lost its
# worker (run monitoring fails it, and the sensors take its files up again).
RUN_MAX_RUNTIME_SECONDS = 600
# A squad run gets this much more per athlete (an athlete's work is ~1 s; a backstop).
SQUAD_SECONDS_PER_ATHLETE = 30


@dataclass(frozen=True)
class AthleteRun:
    """One athlete's update: what a sensor decided, as a run of ``athlete_assets``."""

    athlete: str
    trigger: str  # "inbox" (journal files), "sources" (readings), "settings", "clock" (checks)
    run_key: str
    attempt: int = 1
    files: list[str] | None = None  # inbox: the files to ingest
    include_readings: bool = False  # inbox: the athlete has no readings stored yet
    tags: dict[str, str] = field(default_factory=dict)

    def selection(self) -> list[dg.AssetKey]:
        """The assets this run materializes (with their checks)."""
        if self.trigger == "clock":
            return []  # only checks: see check_selection
        roots = [TRIGGERS[self.trigger]]
        if self.trigger == "inbox" and self.include_readings:
            roots.append(readings.KEY)
        return [dg.AssetKey(list(k)) for k in GRAPH.downstream(roots)]

    def check_selection(self) -> list[dg.AssetCheckKey] | None:
        """Checks run on their own (clock runs); None: the selected assets' checks."""
        if self.trigger != "clock":
            return None
        return [
            dg.AssetCheckKey(dg.AssetKey(list(step.key)), check.name)
            for step, check in GRAPH.check_defs()
            if check.evaluate is not None
        ]

    def run_config(self) -> dict[str, Any]:
        if self.trigger != "inbox":
            return {}
        return {"ops": {JOURNAL_OP: {"config": {"files": self.files}}}}

    def run_tags(self) -> dict[str, str]:
        return {
            "athlete": self.athlete,
            "hrv/trigger": self.trigger,
            "hrv/attempt": str(self.attempt),
            "dagster/max_runtime": str(RUN_MAX_RUNTIME_SECONDS),
            **self.tags,
        }

    def run_request(self) -> dg.RunRequest:
        return dg.RunRequest(
            run_key=self.run_key,
            job_name=ATHLETE_JOB,
            partition_key=self.athlete,
            asset_selection=self.selection(),
            asset_check_keys=self.check_selection(),
            run_config=self.run_config(),
            tags=self.run_tags(),
        )

    def as_config(self) -> dict[str, Any]:
        return {
            "athlete": self.athlete,
            "trigger": self.trigger,
            "run_key": self.run_key,
            "attempt": self.attempt,
            "files": self.files,
            "include_readings": self.include_readings,
            "tags": self.tags,
        }


class AthleteRunConfig(dg.Config):
    athlete: str
    trigger: str = Field(
        description="'inbox' (journal files), 'sources' (readings), 'settings' (the "
        "athlete's athletes.yaml entry) or 'clock' (checks)."
    )
    run_key: str
    attempt: int = 1
    files: list[str] | None = None
    include_readings: bool = False
    tags: dict[str, str] = Field(default_factory=dict)

    def spec(self) -> AthleteRun:
        return AthleteRun(
            self.athlete,
            self.trigger,
            self.run_key,
            self.attempt,
            self.files,
            self.include_readings,
            dict(self.tags),
        )


class SquadConfig(dg.Config):
    athletes: list[AthleteRunConfig] = Field(description="Each athlete's update, in order.")


def squad_run_request(members: Sequence[AthleteRun]) -> dg.RunRequest:
    """One squad run for ``members``. Its run key derives from theirs (attempts
    included): a retry of the same files is a new run, the same tick repeated is not."""
    import hashlib

    names = [m.athlete for m in members]
    digest = hashlib.sha256("\n".join(m.run_key for m in members).encode()).hexdigest()[:16]
    shown = ", ".join(names[:12]) + (f" +{len(names) - 12} more" if len(names) > 12 else "")
    triggers = sorted({m.trigger for m in members})
    return dg.RunRequest(
        run_key=f"squad:{digest}",
        job_name=SQUAD_JOB,
        run_config={"ops": {SQUAD_OP: {"config": {"athletes": [m.as_config() for m in members]}}}},
        tags={
            "hrv/trigger": ",".join(triggers),
            "hrv/squad": str(len(names)),
            "hrv/athletes": shown,
            "dagster/max_runtime": str(
                RUN_MAX_RUNTIME_SECONDS + SQUAD_SECONDS_PER_ATHLETE * len(names)
            ),
        },
    )


def squad_athletes(run: dg.DagsterRun) -> list[str]:
    """The athletes a squad run updates (from its run config)."""
    run_config: dict[str, Any] = dict(run.run_config or {})
    config = run_config.get("ops", {}).get(SQUAD_OP, {}).get("config", {})
    return [str(a.get("athlete")) for a in config.get("athletes", []) if isinstance(a, dict)]


def run_athletes(run: dg.DagsterRun) -> list[str]:
    """The athletes a run updates: its `athlete` tag, or a squad run's list."""
    if "athlete" in run.tags:
        return [run.tags["athlete"]]
    if run.job_name == SQUAD_JOB:
        return squad_athletes(run)
    return []


IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
ATHLETE_WAIT_SECONDS = RUN_MAX_RUNTIME_SECONDS


def wait_for_athlete(context: dg.OpExecutionContext, athlete: str) -> None:
    """Wait (up to a run's maximum runtime) while another run of ``athlete`` is queued or
    in progress; a squad's own athlete runs are never among them (they run one by one)."""
    deadline = time.monotonic() + ATHLETE_WAIT_SECONDS
    said = False
    while time.monotonic() < deadline:
        others = context.instance.get_runs(
            filters=dg.RunsFilter(statuses=IN_PROGRESS, tags={"athlete": athlete})
        )
        if not others:
            return
        if not said:
            context.log.info(f"{athlete}: waiting for run {others[0].run_id[:8]} to finish")
            said = True
        time.sleep(0.5)
    context.log.warning(f"{athlete}: another run is still in progress; going ahead")


@dataclass
class SquadOutcome:
    athlete: str
    run_id: str
    success: bool
    seconds: float
    failed_steps: list[str]


def run_squad(
    context: dg.OpExecutionContext,
    job: dg.JobDefinition,
    members: Sequence[AthleteRun],
) -> Iterator[SquadOutcome]:
    """Each member's asset run, executed in this process against the instance, once no
    other run of that athlete is in progress (another sensor may have started one in the
    same moment as this squad: two runs of one athlete never overlap)."""
    for member in members:
        started = time.monotonic()
        wait_for_athlete(context, member.athlete)
        checks = member.check_selection()
        if checks is None:
            runnable, selection = job, member.selection()
        else:  # checks alone, without materializing their asset
            runnable = job.get_subset(asset_selection=set(), asset_check_selection=set(checks))
            selection = None
        result = runnable.execute_in_process(
            run_config=member.run_config(),
            instance=context.instance,
            partition_key=member.athlete,
            asset_selection=selection,
            tags={**member.run_tags(), "hrv/squad_run": context.run_id},
            raise_on_error=False,
        )
        failed = [e.step_key or "?" for e in result.get_step_failure_events()]
        yield SquadOutcome(
            member.athlete,
            result.run_id,
            result.success,
            round(time.monotonic() - started, 2),
            failed,
        )
