"""What the file sensors share: runs in progress, and turning a tick's athletes into runs."""

import math
from collections.abc import Sequence
from typing import TypeVar

import dagster as dg

from assets import IN_PROGRESS, AthleteRun, run_athletes, squad_run_request
from hrv.settings import Settings

T = TypeVar("T")


def active_athletes(instance: dg.DagsterInstance) -> set[str]:
    """Athletes with a run queued or in progress (any trigger: sensor, UI, squad)."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS))
    return {athlete for run in runs for athlete in run_athletes(run)}


def squads_enabled(settings: Settings, n_athletes: int) -> bool:
    return settings.squad_min_athletes > 0 and n_athletes >= settings.squad_min_athletes


def athletes_per_tick(settings: Settings, runs_per_tick: int) -> int:
    """How many athletes a tick may take on, for at most ``runs_per_tick`` runs."""
    return runs_per_tick * settings.squad_size if settings.squad_min_athletes > 0 else runs_per_tick


def chunks(items: Sequence[T], size: int, at_least: int = 1) -> list[list[T]]:
    """``items`` in as few runs of at most ``size`` as possible, and in at least
    ``at_least`` runs (while each keeps an item), balanced (50 at size 25 -> 25 + 25; 26 ->
    13 + 13, so the last run is not a straggler of one)."""
    if not items:
        return []
    n = min(max(math.ceil(len(items) / size), at_least), len(items))
    base, extra = divmod(len(items), n)
    out, start = [], 0
    for k in range(n):
        end = start + base + (1 if k < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def squad_chunks(runs: Sequence[AthleteRun], settings: Settings) -> list[list[AthleteRun]]:
    """A tick's athletes as squad runs: spread over ``HRV_SQUAD_RUNS`` runs so that the
    cores (or the run launcher's workers) share them, at most ``HRV_SQUAD_SIZE`` athletes a
    run, and no run smaller than ``HRV_SQUAD_MIN_ATHLETES``."""
    spread = min(settings.squad_runs, max(len(runs) // max(settings.squad_min_athletes, 1), 1))
    return chunks(runs, settings.squad_size, at_least=spread)


def run_requests(runs: Sequence[AthleteRun], settings: Settings) -> list[dg.RunRequest]:
    """A run per athlete, or squad runs when the tick has many athletes. An athlete whose
    last update failed is retried in an asset run of its own, where Dagster shows the
    failure on the athlete's asset partitions if it happens again."""
    retries = [r for r in runs if r.attempt > 1]
    fresh = [r for r in runs if r.attempt <= 1]
    if not squads_enabled(settings, len(fresh)):
        return [r.run_request() for r in runs]
    squads = [squad_run_request(group) for group in squad_chunks(fresh, settings)]
    return squads + [r.run_request() for r in retries]


def describe_requests(requests: Sequence[dg.RunRequest], n_athletes: int) -> str:
    """'2 squad runs for 40 athletes' or '3 runs' (what was launched, not per athlete)."""
    squads = sum(1 for r in requests if "hrv/squad" in (r.tags or {}))
    if squads:
        return f"{squads} squad run(s) for {n_athletes} athletes"
    return f"{len(requests)} run(s)"
