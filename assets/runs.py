"""The two kinds of run the sensors request: one athlete's asset run, or a squad run.

An athlete's update is the step that changed (the journal, or the readings) and
everything downstream of it in the step graph. Alone, it is an asset run of the
``athlete_assets`` job for the athlete's partition. With many athletes in one sensor
tick, they share squad runs (``squad_update``): one run walks the same steps for each of
its athletes and records each athlete's materializations and check evaluations on the
athlete's partition (``assets/executor.py``), without a run of its own per athlete.
"""

from __future__ import annotations

from collections.abc import Sequence
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

    def steps(self) -> list[StepKey]:
        """The steps this update runs, in graph order (a clock run: none, only checks)."""
        if self.trigger == "clock":
            return []  # only checks: see check_selection
        roots = [TRIGGERS[self.trigger]]
        if self.trigger == "inbox" and self.include_readings:
            roots.append(readings.KEY)
        return GRAPH.downstream(roots)

    def selection(self) -> list[dg.AssetKey]:
        """The assets this run materializes (with their checks)."""
        return [dg.AssetKey(list(k)) for k in self.steps()]

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
    # a run of one athlete carries the athlete's own tags (the run coordinator's one run
    # per athlete, the Runs page's filter by athlete)
    alone = members[0].run_tags() if len(members) == 1 else {}
    return dg.RunRequest(
        run_key=f"squad:{digest}",
        job_name=SQUAD_JOB,
        run_config={"ops": {SQUAD_OP: {"config": {"athletes": [m.as_config() for m in members]}}}},
        tags={
            **alone,
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
