"""The Intervals.icu sensor: hands-off wellness for athletes who sync to Intervals.icu."""

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import dagster as dg

from alerts.guard import guarded
from hrv.coach.roster import roster_or_defaults
from hrv.planning.intervals_tick import load_state, plan_intervals_tick
from hrv.storage.athlete_store import outputs_dir
from hrv.storage.files import write_json_atomic
from resources import DataStoreResource, IntervalsIcuResource, SettingsResource, SourcesResource

STATUS_FILE = "intervals_icu_status.json"


@dg.sensor(
    name="intervals_icu_sensor",
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
@guarded("intervals_icu_sensor")
def intervals_icu_sensor(
    context: dg.SensorEvaluationContext,
    intervals_icu: IntervalsIcuResource,
    sources: SourcesResource,
    store: DataStoreResource,
    settings: SettingsResource,
) -> dg.SensorResult:
    """Pulls daily wellness (HRV, SDNN, resting HR) from Intervals.icu for every athlete
    with an `intervals_icu_id` in `athletes.yaml`, every `INTERVALS_ICU_POLL_MINUTES`.

    What it pulls becomes the athlete's export `sources/<athlete>/intervals.icu/wellness.json`,
    rewritten only when something changed; `sources_sensor` then runs the athlete exactly as
    for an export dropped by hand (only when a reading changed). With
    `INTERVALS_ICU_WRITE_BACK=1` the day's recommendation and advice go into the athlete's
    wellness comments on Intervals.icu, below whatever the athlete or coach wrote there.
    A refused key, an athlete who does not share, or a service that is down is one
    `source_api_error` alert (resolved when it works again), retried slowly; this sensor
    starts no run itself. State: `data/intervals_icu_status.json`.
    """
    config = settings.get()
    roster, problem = roster_or_defaults(config.athletes_file.expanduser().resolve())
    targets = {a: c.intervals_icu_id for a, c in roster.athletes.items() if c.intervals_icu_id}
    if not targets:
        why = f" ({problem.splitlines()[0]})" if problem else ""
        return dg.SensorResult(
            skip_reason=f"no athlete has an intervals_icu_id in the athletes file{why}",
            cursor=context.cursor,
        )
    client = intervals_icu.client()
    if client is None:
        return dg.SensorResult(
            skip_reason=f"INTERVALS_ICU_API_KEY is not set: {len(targets)} athlete(s) with "
            "an intervals_icu_id are not pulled",
            cursor=context.cursor,
        )
    started = time.monotonic()
    try:
        result = plan_intervals_tick(
            client,
            targets,
            state=load_state(context.cursor),
            now=time.time(),
            today=dt.datetime.now(config.tz).date(),
            limits=intervals_icu.limits(),
            sources_dir=sources.path,
            forecast_path=lambda a: outputs_dir(store.path, a) / "agent_forecast.json",
        )
    finally:
        client.close()
    for alert in result.alerts:
        store.record_alert(alert)
        context.log.warning(f"{alert.title}: {alert.text}")
    for athlete in result.changed:
        context.log.info(f"{athlete}: new wellness from Intervals.icu")
    write_status(store.path / STATUS_FILE, result.state)
    summary = f"{result.summary()} ({client.requests_made} requests, "
    summary += f"{time.monotonic() - started:.2f} s)"
    return dg.SensorResult(cursor=json.dumps(result.state, sort_keys=True), skip_reason=summary)


def write_status(path: Path, state: dict[str, Any]) -> None:
    """What a person needs to see: per athlete, the last pull, the newest day, any error."""

    def stamp(ts: float | None) -> str | None:
        if not ts:
            return None
        return dt.datetime.fromtimestamp(ts, dt.UTC).replace(microsecond=0).isoformat()

    body = {
        "service": {
            "error": state["service"].get("error"),
            "retry_at": stamp(state["service"].get("not_before")),
        },
        "athletes": {
            a: {
                "intervals_icu_id": e.get("id"),
                "pulled_at": stamp(e.get("pulled_at")),
                "newest_hrv_day": e.get("through"),
                "error": e.get("error"),
                "write_back_error": e.get("push_error"),
                "next_pull_at": stamp(e.get("next")),
            }
            for a, e in sorted(state["athletes"].items())
        },
    }
    try:
        if json.loads(path.read_text()) == body:
            return
    except (OSError, ValueError):
        pass
    write_json_atomic(path, body)
