"""Helpers shared by the sensors."""

import dagster as dg

IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def active_athletes(instance: dg.DagsterInstance) -> set[str]:
    """Athletes with a run queued or in progress (any trigger: sensor, UI, retry)."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS))
    return {r.tags["athlete"] for r in runs if "athlete" in r.tags}
