"""The freshness sensor: per-athlete source freshness, on its own clock, no run needed."""

import datetime as dt
import json
import os
import time

import dagster as dg

from alerts.guard import guarded
from assets import ATHLETES_PARTITIONS, READINGS_KEY
from assets import check_names as C
from hrv.alerting.catalogue import make_alert, record_alert
from hrv.intake import freshness
from hrv.storage.athlete_store import AthleteStore
from resources.folders import DataStoreResource, SourcesResource

DEFAULT_INTERVAL_SECONDS = 60.0
_NEWEST: dict[str, tuple[tuple[int, int], dt.date | None]] = {}


def interval_seconds() -> float:
    raw = os.environ.get("HRV_FRESHNESS_INTERVAL_SECONDS")
    try:
        return max(1.0, float(raw)) if raw else DEFAULT_INTERVAL_SECONDS
    except ValueError:
        return DEFAULT_INTERVAL_SECONDS


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


def stale_alert(athlete: str, new: freshness.Freshness, verdict: str) -> dict:
    if new.state == freshness.FRESH:
        return {
            "status": "resolved",
            "severity": "info",
            "title": f"{athlete}: wearable data is fresh again",
            "text": verdict,
        }
    return {
        "status": "firing",
        "severity": "error" if new.state == freshness.FAIL else "warning",
        "title": f"{athlete}: wearable source is stale ({new.state})",
        "text": f"{verdict}. Check the wearable sync for this athlete.",
    }


@dg.sensor(
    name="freshness_sensor",
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
@guarded("freshness_sensor")
def freshness_sensor(
    context: dg.SensorEvaluationContext, sources: SourcesResource, store: DataStoreResource
) -> dg.SensorResult:
    """Evaluates every athlete's source freshness once a minute
    (`HRV_FRESHNESS_INTERVAL_SECONDS`), without waiting for a run.

    On a change of state (fresh, warn, fail) it records the `source_freshness` check
    result for that athlete's `bronze/wearable_readings` partition and an alert record
    (`stale_source`: firing when a source goes stale, resolved when data arrives again).
    Athletes without any readings are not judged.
    """
    cursor = json.loads(context.cursor) if context.cursor else {}
    states: dict[str, str] = cursor.get("states", {})
    now_ts = time.time()
    due_in = cursor.get("last", 0) + interval_seconds() - now_ts
    if due_in > 0:
        return dg.SensorResult(
            skip_reason=f"next evaluation in {due_in:.0f} s", cursor=context.cursor
        )
    settings = sources.freshness()
    now = dt.datetime.now(dt.UTC)
    events: list[dg.AssetCheckEvaluation] = []
    counts: dict[str, int] = {}
    for athlete in context.instance.get_dynamic_partitions(ATHLETES_PARTITIONS):
        result = freshness.evaluate(
            newest_reading(AthleteStore(store.path, athlete)), now, settings
        )
        counts[result.state] = counts.get(result.state, 0) + 1
        old = states.get(athlete, freshness.FRESH)
        if result.state == freshness.NONE:
            states.pop(athlete, None)
            continue
        first_time = athlete not in states
        states[athlete] = result.state
        if not first_time and old == result.state:
            continue
        verdict = result.verdict(settings)
        events.append(
            dg.AssetCheckEvaluation(
                asset_key=READINGS_KEY,
                check_name=C.SOURCE_FRESHNESS,
                passed=result.fresh,
                severity=dg.AssetCheckSeverity.ERROR
                if result.state == freshness.FAIL
                else dg.AssetCheckSeverity.WARN,
                partition=athlete,
                description=verdict,
                metadata={
                    "verdict": verdict,
                    "athlete": athlete,
                    "state": result.state,
                    "newest_reading": result.newest_date or "-",
                    "age_hours": result.age_hours or 0.0,
                    "evaluated_by": "freshness_sensor",
                },
            )
        )
        if first_time and result.fresh:
            continue  # nothing to say about a source that was never stale
        record_alert(
            store.path,
            make_alert(
                "stale_source",
                fingerprint=f"stale_source:{athlete}",
                athlete=athlete,
                **stale_alert(athlete, result, verdict),
            ),
        )
        context.log.info(f"{athlete}: {old} -> {result.state} ({verdict})")
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no athletes"
    return dg.SensorResult(
        asset_events=events,
        cursor=json.dumps({"last": now_ts, "states": states}, sort_keys=True),
        skip_reason=None if events else f"evaluated: {summary}",
    )
