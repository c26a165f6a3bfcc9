"""The sources sensor: changed wearable exports re-run only the athletes they change."""

import dataclasses
import datetime as dt
import json
import time

import dagster as dg

from alerts.guard import guarded
from assets import (
    ATHLETE_JOB,
    ATHLETES,
    ATHLETES_PARTITIONS,
    READINGS_AND_DOWNSTREAM,
    athlete_assets_job,
)
from assets.batch import athlete_batch_job
from hrv.alerting.catalogue import make_alert, record_alert, rejected_file_alert
from hrv.planning.sources_tick import SourceCache, SourceRun, load_state, plan_sources_tick
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.files import write_json_atomic
from resources.folders import DataStoreResource, InboxResource, SourcesResource
from sensors.common import (
    RUN_MAX_RUNTIME_SECONDS,
    BatchSettings,
    active_athletes,
    batch_run_request,
    chunks,
)

SOURCES_STATUS_FILE = "sources_status.json"

# Parsed exports survive between ticks in the code server process; after a restart
# every export is read once more and compared with the stored readings (no run unless
# something differs). Correctness never depends on this cache.
SOURCE_CACHE = SourceCache()


def run_request(run: SourceRun) -> dg.RunRequest:
    days = run.changed_days
    return dg.RunRequest(
        run_key=run.run_key,
        job_name=ATHLETE_JOB,
        partition_key=run.athlete,
        asset_selection=list(READINGS_AND_DOWNSTREAM),
        tags={
            "athlete": run.athlete,
            "hrv/trigger": "sources",
            "dagster/max_runtime": RUN_MAX_RUNTIME_SECONDS,
            "hrv/attempt": str(run.attempt),
            "hrv/changed_days": str(len(days)),
            "hrv/changed_range": f"{days[0]}..{days[-1]}" if days else "-",
        },
    )


def batch_request(runs: list[SourceRun]) -> dg.RunRequest:
    """Several athletes' changed readings in one run (assets/batch.py)."""
    return batch_run_request(
        "sources",
        [(r.athlete, r.run_key) for r in runs],
        tags={"hrv/changed_days": str(sum(len(r.changed_days) for r in runs))},
    )


@dg.sensor(
    name="sources_sensor",
    jobs=[athlete_assets_job, athlete_batch_job],
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
@guarded("sources_sensor")
def sources_sensor(
    context: dg.SensorEvaluationContext,
    sources: SourcesResource,
    store: DataStoreResource,
    inbox: InboxResource,
) -> dg.SensorResult:
    """Turns new or changed wearable exports in `sources/` into runs for the athletes whose
    readings actually changed (readings and everything downstream: features, model,
    predictions, reconciliation, summary, forecast).

    Exports are read once settled and content-hashed: a touched but identical export, or
    one whose readings are already stored, triggers nothing. A malformed export is left in
    place (it belongs to the sync tool), reported once per version as `rejected_file`, and
    listed in `data/sources_status.json`; other exports and athletes go on. When 4 or
    more athletes change in one tick (a squad syncing), they share batch runs
    (`athlete_batch`, as the inbox sensor does).
    """
    started = time.monotonic()
    batching = BatchSettings.from_env()
    limits = sources.limits()
    limits = dataclasses.replace(
        limits, max_runs_per_tick=batching.athletes_per_tick(limits.max_runs_per_tick)
    )
    active = active_athletes(context.instance)
    tick = plan_sources_tick(
        sources.scan(),
        now=time.time(),
        state=load_state(context.cursor),
        cache=SOURCE_CACHE,
        active_athletes=active,
        parse=sources.parse,
        content_hash=sources.content_hash,
        stored_readings=lambda athlete: AthleteStore(store.path, athlete).readings(),
        limits=limits,
        pending_journals={
            c.folder_athlete
            for c in inbox.scan()
            if c.folder_athlete and c.ignored is None and c.problem is None
        },
    )
    for result in tick.newly_rejected:
        folder = result.file.split("/")[0] if "/" in result.file else None
        errors = [str(e) for e in result.errors]
        alert = rejected_file_alert(f"sources/{result.file}", folder, errors, result.sha256)
        record_alert(store.path, alert)
        context.log.warning(f"export sources/{result.file} rejected: {'; '.join(errors[:3])}")
    for athlete, files, attempts in tick.newly_stuck:
        record_alert(
            store.path,
            make_alert(
                "stuck_file",
                severity="error",
                title=f"Readings for {athlete} could not be stored",
                text=f"{attempts} runs failed to store the readings of {', '.join(files)} "
                "for this athlete. The exports stay in place; see the failed runs.",
                fingerprint=f"stuck_file:{athlete}:sources",
                athlete=athlete,
            ),
        )
    known = set(context.instance.get_dynamic_partitions(ATHLETES_PARTITIONS))
    new_athletes = sorted({r.athlete for r in tick.runs} - known)
    if batching.batched(len(tick.runs)):
        requests = [batch_request(group) for group in chunks(tick.runs, batching.size)]
    else:
        requests = [run_request(r) for r in tick.runs]
    for r in tick.runs:
        context.log.info(
            f"{r.athlete}: {len(r.changed_days)} day(s) changed "
            f"({', '.join(r.changed_days[:5])}{'...' if len(r.changed_days) > 5 else ''})"
        )
    status_path = store.path / SOURCES_STATUS_FILE
    body = {"files": tick.statuses, "waiting": tick.pending}
    try:
        previous = json.loads(status_path.read_text()) if status_path.exists() else {}
    except ValueError:
        previous = {}
    if {k: previous.get(k) for k in body} != body:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        write_json_atomic(status_path, {"updated_at": now.isoformat(), **body})
    message = tick.summary() + f" ({time.monotonic() - started:.2f} s)"
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(tick.state, sort_keys=True),
        dynamic_partitions_requests=[ATHLETES.build_add_request(new_athletes)]
        if new_athletes
        else None,
        skip_reason=None if requests else message,
    )
