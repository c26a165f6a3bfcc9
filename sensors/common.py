"""Helpers shared by the sensors: runs in progress, and grouping athletes into runs."""

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import dagster as dg

from assets import BATCH_JOB
from assets.batch import BATCH_OP

# A run of one athlete takes seconds; one still "started" after 10 minutes lost its worker
# (run monitoring fails it, run retries and the sensors take over).
RUN_MAX_RUNTIME_SECONDS = "600"
# A batch gets this much more per athlete (an athlete's work is ~1 s; this is a backstop).
BATCH_SECONDS_PER_ATHLETE = 30

IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

T = TypeVar("T")


def run_athletes(run: dg.DagsterRun) -> list[str]:
    """The athletes a run updates: its `athlete` tag, or a batch run's configured list."""
    if "athlete" in run.tags:
        return [run.tags["athlete"]]
    if run.job_name == BATCH_JOB:
        run_config: dict[str, Any] = dict(run.run_config or {})
        config = run_config.get("ops", {}).get(BATCH_OP, {}).get("config", {})
        return [str(a) for a in config.get("athletes", [])]
    return []


def active_athletes(instance: dg.DagsterInstance) -> set[str]:
    """Athletes with a run queued or in progress (any trigger: sensor, UI, retry, batch)."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS))
    return {athlete for run in runs for athlete in run_athletes(run)}


@dataclass(frozen=True)
class BatchSettings:
    """When a tick's athletes share runs: from ``min_athletes`` athletes on, in runs of at
    most ``size`` athletes. ``min_athletes`` 0 turns batching off (one run per athlete)."""

    min_athletes: int = 4
    size: int = 25

    @classmethod
    def from_env(cls) -> "BatchSettings":
        """$HRV_BATCH_MIN_ATHLETES (default 4, 0 = off) and $HRV_BATCH_SIZE (default 25)."""

        def read(name: str, default: int, low: int) -> int:
            raw = os.environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a whole number") from None
            if value < low:
                raise ValueError(f"{name}={raw!r} must be at least {low}")
            return value

        return cls(
            min_athletes=read("HRV_BATCH_MIN_ATHLETES", cls.min_athletes, 0),
            size=read("HRV_BATCH_SIZE", cls.size, 1),
        )

    def batched(self, n_athletes: int) -> bool:
        return self.min_athletes > 0 and n_athletes >= self.min_athletes

    def athletes_per_tick(self, runs_per_tick: int) -> int:
        """How many athletes a tick may take on, for at most ``runs_per_tick`` runs."""
        return runs_per_tick * self.size if self.min_athletes > 0 else runs_per_tick


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` in as few runs of at most ``size`` as possible, balanced (50 at size 25
    -> 25 + 25; 26 -> 13 + 13, so the last run is not a straggler of one)."""
    if not items:
        return []
    n = math.ceil(len(items) / size)
    base, extra = divmod(len(items), n)
    out, start = [], 0
    for k in range(n):
        end = start + base + (1 if k < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def batch_runtime(n_athletes: int) -> str:
    return str(int(RUN_MAX_RUNTIME_SECONDS) + BATCH_SECONDS_PER_ATHLETE * n_athletes)


def batch_run_request(
    trigger: str,
    members: Sequence[tuple[str, str]],
    config: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> dg.RunRequest:
    """One batch run (assets/batch.py) for ``members``: (athlete, that athlete's own run
    key). The batch's run key derives from theirs, attempts included, so a retry of the
    same files is a new run and the same tick repeated is not."""
    athletes = [athlete for athlete, _ in members]
    digest = hashlib.sha256("\n".join(key for _, key in members).encode()).hexdigest()[:16]
    batch_config = {"athletes": athletes, "trigger": trigger, **(config or {})}
    return dg.RunRequest(
        run_key=f"{trigger}-batch:{digest}",
        job_name=BATCH_JOB,
        run_config={"ops": {BATCH_OP: {"config": batch_config}}},
        tags={
            "hrv/trigger": trigger,
            "hrv/batch": str(len(athletes)),
            "dagster/max_runtime": batch_runtime(len(athletes)),
            **(tags or {}),
        },
    )
