"""The sources sensor: changed wearable exports re-run only the athletes they change."""

import dataclasses
import datetime as dt
import json
import time

import dagster as dg

from alerts.guard import guarded
from assets import ATHLETES, ATHLETES_PARTITIONS, AthleteRun, athlete_assets_job, squad_update_job
from hrv.alerting import catalogue
from hrv.planning.sources_tick import SourceCache, SourceRun, load_state, plan_sources_tick
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.files import write_json_atomic
from resources import DataStoreResource, InboxResource, SettingsResource, SourcesResource
from sensors.common import active_athletes, athletes_per_tick, describe_requests, run_requests

SOURCES_STATUS_FILE = "sources_status.json"

# Parsed exports survive between ticks in the code server process; after a restart
# every export is read once more and compared with the stored readings (no run unless
# something differs). Correctness never depends on this cache.
SOURCE_CACHE = SourceCache()


def athlete_run(run: SourceRun) -> AthleteRun:
    days = run.changed_days
    return AthleteRun(
        athlete=run.athlete,
        trigger="sources",
        run_key=run.run_key,
        attempt=run.attempt,
        tags={
            "hrv/changed_days": str(len(days)),
            "hrv/changed_range": f"{days[0]}..{days[-1]}" if days else "-",
        },
    )


@dg.sensor(
    name="sources_sensor",
    jobs=[athlete_assets_job, squad_update_job],
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
@guarded("sources_sensor")
def sources_sensor(
    context: dg.SensorEvaluationContext,
    sources: SourcesResource,
    store: DataStoreResource,
    inbox: InboxResource,
    settings: SettingsResource,
) -> dg.SensorResult:
    """Turns new or changed wearable exports in `sources/` into runs for the athletes whose
    readings actually changed (readings and everything downstream: features, model,
    predictions, reconciliation, summary, forecast).

    Exports are read once settled and content-hashed: a touched but identical export, or
    one whose readings are already stored, triggers nothing. A malformed export is left in
    place (it belongs to the sync tool), reported once per version as `rejected_file`, and
    listed in `data/sources_status.json`; other exports and athletes go on. When 4 or
    more athletes change in one tick (a squad syncing), they share squad runs
    (`squad_update`, as the inbox sensor does).
    """
    started = time.monotonic()
    config = settings.get()
    limits = sources.limits()
    limits = dataclasses.replace(
        limits, max_runs_per_tick=athletes_per_tick(config, limits.max_runs_per_tick)
    )
    files = sources.scan()
    state = load_state(context.cursor)
    unchanged = (
        not state["dirty"]
        and all(
            (c := SOURCE_CACHE.entries.get(f.rel)) is not None and c.signature == f.signature
            for f in files
        )
        and len(files) == len(SOURCE_CACHE.entries)
    )
    # nothing changed since the last tick: no athlete to judge, no need to ask the instance
    active = set() if unchanged else active_athletes(context.instance)
    tick = plan_sources_tick(
        files,
        now=time.time(),
        state=state,
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
        store.record_alert(catalogue.export_rejected(result.file, folder, errors, result.sha256))
        context.log.warning(f"export sources/{result.file} rejected: {'; '.join(errors[:3])}")
    for athlete, stuck_files, attempts in tick.newly_stuck:
        store.record_alert(catalogue.readings_stuck(athlete, stuck_files, attempts))
    changed = {r.athlete for r in tick.runs}
    known = set(context.instance.get_dynamic_partitions(ATHLETES_PARTITIONS)) if changed else set()
    new_athletes = sorted(changed - known)
    requests = run_requests([athlete_run(r) for r in tick.runs], config)
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
    launched = describe_requests(requests, len(tick.runs)) + " requested, " if requests else ""
    message = launched + tick.summary() + f" ({time.monotonic() - started:.2f} s)"
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(tick.state, sort_keys=True),
        dynamic_partitions_requests=[ATHLETES.build_add_request(new_athletes)]
        if new_athletes
        else None,
        skip_reason=None if requests else message,
    )
