"""Alerts from finished runs: failures (not the ones Dagster will retry) and check results.

A squad run records each athlete's materializations and check evaluations on the
athlete's partition, and fails at the end listing each failed athlete and asset (its
failure's ``failures`` metadata): each becomes the same alert that athlete's own asset
run would have raised.
"""

from typing import Any

import dagster as dg

from assets import ATHLETE_JOB, SQUAD_JOB
from hrv.alerting import catalogue
from resources import DataStoreResource

WILL_RETRY_TAG = "dagster/will_retry"
# The run status sensors watch every code location (runs executed in process by tests
# and benchmarks carry no code-location origin) and keep the runs of these jobs.
OUR_JOBS = frozenset({ATHLETE_JOB, SQUAD_JOB, "morning_briefing"})


def _asset_of_step(step_key: str | None) -> str | None:
    return step_key.replace("__", "/") if step_key else None


def error_lines(error: object) -> list[str]:
    """The root cause first (a retried step's own message is only "Exceeded max_retries"),
    then the outer messages."""
    chain: list[str] = []
    while error is not None and len(chain) < 5:
        message = str(getattr(error, "message", "") or "").strip()
        if message:
            chain.append(message)
        error = getattr(error, "cause", None) or getattr(error, "context", None)
    if not chain:
        return []
    lines = chain[-1].splitlines()[:6]
    for outer in reversed(chain[:-1]):
        lines.append(f"({outer.splitlines()[0]})")
    return lines


def _check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[Any]:
    out = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        if entry.dagster_event is not None:
            out.append(entry.dagster_event.event_specific_data)
    return out


def _verdict(evaluation: object) -> str:
    metadata = getattr(evaluation, "metadata", {}) or {}
    verdict = metadata.get("verdict")
    text = getattr(verdict, "value", None) or getattr(evaluation, "description", None)
    return str(text or "check failed")


def _athlete(run: dg.DagsterRun, partition: str | None) -> str | None:
    """An event's athlete: its partition, else the run's tag."""
    return partition or run.tags.get("athlete")


def _check_alerts(
    store: DataStoreResource,
    run: dg.DagsterRun,
    evaluations: list[Any],
    fire: bool,
    quiet: set[str | None] | frozenset = frozenset(),
) -> None:
    """Record check_failure alerts (firing when ``fire``, except for the athletes in
    ``quiet``, whose run failure lists them) and resolutions."""
    for ev in evaluations:
        athlete = _athlete(run, getattr(ev, "partition", None))
        asset = ev.asset_key.to_user_string()
        if ev.passed:
            store.record_alert(catalogue.check_passed(athlete, asset, ev.check_name, _verdict(ev)))
        elif fire and athlete not in quiet:
            severity: catalogue.Severity = (
                "error" if ev.severity == dg.AssetCheckSeverity.ERROR else "warning"
            )
            store.record_alert(
                catalogue.check_failed(
                    athlete, asset, ev.check_name, severity, _verdict(ev), run.run_id
                )
            )


@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=1,
    monitor_all_code_locations=True,
)
def run_failure_alerts(context: dg.RunFailureSensorContext, store: DataStoreResource) -> None:
    """One `run_failure` alert per failed step of a failed run (a squad run: per failed
    athlete), naming the athlete, the asset, the error's first lines and the athlete's
    failed checks, with a link to the run.

    Runs that Dagster will retry (tag `dagster/will_retry=true`) are not alerted: their
    retry is. A later successful run of the same athlete and asset resolves the alert.
    """
    run = context.dagster_run
    if run.job_name not in OUR_JOBS:
        return
    if run.tags.get(WILL_RETRY_TAG, "").lower() == "true":
        context.log.info(f"run {run.run_id} failed but will be retried: no alert")
        return
    evaluations = _check_evaluations(context.instance, run.run_id)
    failures = _failures(context)
    # passing checks still resolve; in a squad, the athletes that did not fail alert their
    # failed checks as their own successful run would
    failed_athletes = {athlete for athlete, _, _ in failures}
    _check_alerts(store, run, evaluations, run.job_name == SQUAD_JOB, quiet=failed_athletes)
    # what did materialize is fine again, unless it is what failed (a blocking check)
    _resolve_materialized(store, run, context.instance, skip={(a, s) for a, s, _ in failures})

    def failed_checks(athlete: str | None) -> list[str]:
        return [
            f"{ev.check_name} ({ev.severity.value}): {_verdict(ev)}"
            for ev in evaluations
            if not ev.passed and _athlete(run, getattr(ev, "partition", None)) == athlete
        ]

    for athlete, subject, lines in failures:
        checks = failed_checks(athlete)
        if checks:
            lines = [*lines, "", "Failed checks:", *(f"- {c}" for c in checks)]
        store.record_alert(
            catalogue.run_failed(athlete, subject or run.job_name, lines, run.run_id)
        )


def _squad_failures(user_failure: object) -> list[tuple[str | None, str | None, list[str]]]:
    """A squad run's failed athletes, from its failure's ``failures`` metadata."""
    value = (getattr(user_failure, "metadata", None) or {}).get("failures")
    rows = getattr(value, "value", None) or []
    return [
        (row.get("athlete"), row.get("asset"), str(row.get("error") or "failed").splitlines()[:6])
        for row in rows
        if isinstance(row, dict)
    ]


def _failures(
    context: dg.RunFailureSensorContext,
) -> list[tuple[str | None, str | None, list[str]]]:
    """(athlete, asset, error lines), one per failed step (a squad: per failed athlete)."""
    run = context.dagster_run
    out: list[tuple[str | None, str | None, list[str]]] = []
    for step in context.get_step_failure_events():
        user_failure = getattr(step.event_specific_data, "user_failure_data", None)
        if run.job_name == SQUAD_JOB and _squad_failures(user_failure):
            out.extend(_squad_failures(user_failure))
            continue
        error = getattr(step.event_specific_data, "error", None)
        lines = error_lines(error) or (context.failure_event.message or "").strip().splitlines()[:6]
        out.append((run.tags.get("athlete"), _asset_of_step(step.step_key), lines))
    if not out:
        lines = (context.failure_event.message or "").strip().splitlines()[:6]
        out.append((run.tags.get("athlete"), None, lines))
    return out


def _resolve_materialized(
    store: DataStoreResource,
    run: dg.DagsterRun,
    instance: dg.DagsterInstance,
    skip: set[tuple[str | None, str | None]] | frozenset = frozenset(),
) -> None:
    """Assets (per athlete) that materialized in this run resolve their run_failure alert,
    except the (athlete, asset) pairs in ``skip``."""
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        event = entry.dagster_event
        if event is None:
            continue
        materialization = event.step_materialization_data.materialization
        asset = materialization.asset_key.to_user_string()
        athlete = _athlete(run, materialization.partition)
        if (athlete, asset) in skip:
            continue
        store.record_alert(catalogue.run_recovered(athlete, asset, run.run_id))


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="run_success_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=1,
    monitor_all_code_locations=True,
)
def run_success_alerts(context: dg.RunStatusSensorContext, store: DataStoreResource) -> None:
    """Checks that failed in a run that succeeded (ERROR or WARN) become `check_failure`
    alerts; checks that pass again, and assets that materialize again after a failed run,
    send `resolved`."""
    run = context.dagster_run
    if run.job_name not in OUR_JOBS:
        return
    _check_alerts(store, run, _check_evaluations(context.instance, run.run_id), fire=True)
    _resolve_materialized(store, run, context.instance)
