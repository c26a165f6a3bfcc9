"""The freshness sensor: per-athlete source freshness, on its own clock."""

import datetime as dt
import json
import time

import dagster as dg

from alerts.guard import guarded
from assets import ATHLETES_PARTITIONS, AthleteRun, athlete_assets_job, squad_update_job
from hrv.alerting import catalogue
from hrv.intake import freshness
from hrv.settings import load_settings
from hrv.storage.athlete_store import AthleteStore
from resources import DataStoreResource, SettingsResource, SourcesResource
from sensors.common import run_requests

_NEWEST: dict[str, tuple[tuple[int, int], dt.date | None]] = {}


def newest_reading(store: AthleteStore) -> dt.date | None:
    """Newest reading date, re-read only when readings.csv changed."""
    try:
        st = store.readings_path.stat()
    except OSError:
        return None
    sig = (st.st_size, st.st_mtime_ns)
    hit = _NEWEST.get(store.athlete)
    if hit is None or hit[0] != sig:
        hit = (sig, freshness.newest_reading_date(store.readings()))
        _NEWEST[store.athlete] = hit
    return hit[1]


@dg.sensor(
    name="freshness_sensor",
    # no need to be called more often than it evaluates (HRV_FRESHNESS_INTERVAL_SECONDS)
    minimum_interval_seconds=max(5, int(load_settings().freshness_interval_seconds)),
    default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=[athlete_assets_job, squad_update_job],
)
@guarded("freshness_sensor")
def freshness_sensor(
    context: dg.SensorEvaluationContext,
    sources: SourcesResource,
    store: DataStoreResource,
    settings: SettingsResource,
) -> dg.SensorResult:
    """Judges every athlete's source freshness once a minute
    (`HRV_FRESHNESS_INTERVAL_SECONDS`), without waiting for new data.

    When an athlete's state changes (fresh, warn, fail) it sends a `stale_source` alert
    (firing when a source goes stale, resolved when data arrives again) and runs that
    athlete's `source_freshness` check alone (a run of `athlete_assets` that selects only that
    check), so the check's status on
    `bronze/wearable_readings` follows the clock. Athletes without readings are not judged.
    """
    config = settings.get()
    cursor = json.loads(context.cursor) if context.cursor else {}
    states: dict[str, str] = cursor.get("states", {})
    now_ts = time.time()
    due_in = cursor.get("last", 0) + config.freshness_interval_seconds - now_ts
    if due_in > 0:
        return dg.SensorResult(
            skip_reason=f"next evaluation in {due_in:.0f} s", cursor=context.cursor
        )
    thresholds = sources.freshness()
    now = dt.datetime.now(dt.UTC)
    to_check: list[AthleteRun] = []
    counts: dict[str, int] = {}
    for athlete in context.instance.get_dynamic_partitions(ATHLETES_PARTITIONS):
        result = freshness.evaluate(
            newest_reading(AthleteStore(store.path, athlete)), now, thresholds
        )
        counts[result.state] = counts.get(result.state, 0) + 1
        old = states.get(athlete, freshness.FRESH)
        if result.state == freshness.NONE:
            states.pop(athlete, None)
            continue
        first_time = athlete not in states
        states[athlete] = result.state
        if first_time and result.fresh:
            continue  # judged by the run that stored the readings; nothing to say
        if not first_time and old == result.state:
            continue
        to_check.append(
            AthleteRun(athlete, "clock", f"freshness:{athlete}:{result.state}:{int(now_ts)}")
        )
        verdict = result.verdict(thresholds)
        if result.fresh:
            store.record_alert(catalogue.source_fresh(athlete, verdict))
        else:
            failing = result.state == freshness.FAIL
            store.record_alert(catalogue.source_stale(athlete, failing, result.state, verdict))
        context.log.info(f"{athlete}: {old} -> {result.state} ({verdict})")
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no athletes"
    requests = run_requests(to_check, config)
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps({"last": now_ts, "states": states}, sort_keys=True),
        skip_reason=None if requests else f"evaluated: {summary}",
    )
