"""Alerts from finished runs: failures (not the ones Dagster will retry) and check results."""

import dagster as dg

from hrv.alerting.catalogue import make_alert, record_alert
from resources.folders import DataStoreResource

WILL_RETRY_TAG = "dagster/will_retry"


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


def _check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list:
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
    """An event's athlete: its partition (batch runs hold several), else the run's tag."""
    return partition or run.tags.get("athlete")


def _check_alerts(
    store: DataStoreResource, run: dg.DagsterRun, evaluations: list, fire: bool
) -> int:
    """Record check_failure alerts (firing when ``fire``) and resolutions; count firing."""
    fired = 0
    for ev in evaluations:
        athlete = _athlete(run, getattr(ev, "partition", None))
        asset = ev.asset_key.to_user_string()
        subject = f"{asset}:{ev.check_name}"
        fingerprint = f"check_failure:{athlete or '-'}:{subject}"
        link = f"/assets/{asset}?view=checks" + (f"&partition={athlete}" if athlete else "")
        if ev.passed:
            record_alert(
                store.path,
                make_alert(
                    "check_failure",
                    status="resolved",
                    severity="info",
                    title=f"Check {ev.check_name} passes again"
                    + (f" for {athlete}" if athlete else ""),
                    text=_verdict(ev),
                    fingerprint=fingerprint,
                    athlete=athlete,
                    subject=subject,
                    link=link,
                ),
            )
        elif fire:
            error = ev.severity == dg.AssetCheckSeverity.ERROR
            record_alert(
                store.path,
                make_alert(
                    "check_failure",
                    severity="error" if error else "warning",
                    title=f"Check {ev.check_name} failed ({ev.severity.value})"
                    + (f" for {athlete}" if athlete else ""),
                    text=_verdict(ev),
                    fingerprint=fingerprint,
                    athlete=athlete,
                    subject=subject,
                    link=f"/runs/{run.run_id}",
                ),
            )
            fired += 1
    return fired


@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=1,
)
def run_failure_alerts(context: dg.RunFailureSensorContext, store: DataStoreResource) -> None:
    """One `run_failure` alert per failed step of a failed run, naming the athlete, the
    asset, the error's first lines and the run's failed checks, with a link to the run.

    Runs that Dagster will retry (tag `dagster/will_retry=true`) are not alerted: their
    retry is. A later successful run of the same athlete and asset resolves the alert.
    """
    run = context.dagster_run
    if run.tags.get(WILL_RETRY_TAG, "").lower() == "true":
        context.log.info(f"run {run.run_id} failed but will be retried: no alert")
        return
    evaluations = _check_evaluations(context.instance, run.run_id)
    _check_alerts(store, run, evaluations, fire=False)  # passing checks still resolve
    failures = _failures(context)
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
        record_alert(
            store.path,
            make_alert(
                "run_failure",
                severity="error",
                title="Run failed"
                + (f" for {athlete}" if athlete else "")
                + (f" at {subject}" if subject else ""),
                text="\n".join(lines),
                fingerprint=f"run_failure:{athlete or '-'}:{subject or run.job_name}",
                athlete=athlete,
                subject=subject,
                link=f"/runs/{run.run_id}",
            ),
        )


def _failures(
    context: dg.RunFailureSensorContext,
) -> list[tuple[str | None, str | None, list[str]]]:
    """(athlete, asset, error lines) per failure: one per failed step of an athlete's run,
    one per failed athlete of a batch run (its failure's `failures` metadata)."""
    run = context.dagster_run
    out: list[tuple[str | None, str | None, list[str]]] = []
    steps = context.get_step_failure_events()
    for step in steps:
        data = step.event_specific_data
        user = getattr(data, "user_failure_data", None)
        listed = (getattr(user, "metadata", None) or {}).get("failures")
        if listed is not None and isinstance(listed.value, list):
            for f in listed.value:
                out.append(
                    (f.get("athlete"), f.get("asset"), str(f.get("error", "")).splitlines()[:6])
                )
            continue
        error = getattr(data, "error", None)
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
        record_alert(
            store.path,
            make_alert(
                "run_failure",
                status="resolved",
                severity="info",
                title=f"{asset} materializes again" + (f" for {athlete}" if athlete else ""),
                text=f"Run {run.run_id[:8]} materialized it.",
                fingerprint=f"run_failure:{athlete or '-'}:{asset}",
                athlete=athlete,
                subject=asset,
                link=f"/runs/{run.run_id}",
            ),
        )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="run_success_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=1,
)
def run_success_alerts(context: dg.RunStatusSensorContext, store: DataStoreResource) -> None:
    """Checks that failed in a run that succeeded (ERROR or WARN) become `check_failure`
    alerts; checks that pass again, and assets that materialize again after a failed run,
    send `resolved`."""
    run = context.dagster_run
    _check_alerts(store, run, _check_evaluations(context.instance, run.run_id), fire=True)
    _resolve_materialized(store, run, context.instance)
