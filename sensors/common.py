"""Helpers shared by the sensors."""

import dagster as dg

# A run of one athlete takes seconds; one still "started" after 10 minutes lost its worker
# (run monitoring fails it, run retries and the sensors take over).
RUN_MAX_RUNTIME_SECONDS = "600"

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
