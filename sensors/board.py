"""The board sensor: refreshes the squad board once per batch, and applies athletes.yaml."""

import hashlib
import json
import time

import dagster as dg

from alerts.guard import guarded
from assets import ATHLETES_PARTITIONS, AthleteRun, athlete_assets_job, squad_update_job
from assets.board import BOARD_JOB, squad_board_job
from hrv.alerting import catalogue
from hrv.alerting.book import AlertBook
from hrv.coach.roster import roster_or_defaults
from hrv.steps import forecast
from resources import DataStoreResource, SettingsResource
from sensors.common import active_athletes, describe_requests, run_requests

FORECAST_KEY = dg.AssetKey(list(forecast.KEY))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _latest_forecast(instance: dg.DagsterInstance) -> int:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=FORECAST_KEY), limit=1
    ).records
    return records[0].storage_id if records else 0


def _athlete_alerts(store: DataStoreResource) -> str:
    """What the board shows from the alert book: the firing athlete alerts (not their
    repeat counts, so a repeated failure does not refresh the board again and again)."""
    state = AlertBook(store.path).state()
    firing = sorted(
        fp for fp, s in state.items() if s.get("status") == "firing" and s.get("athlete")
    )
    return _digest("\n".join(firing))


def _board_running(instance: dg.DagsterInstance) -> bool:
    from assets import IN_PROGRESS

    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=BOARD_JOB, statuses=IN_PROGRESS), limit=1
    )
    return bool(runs)


@dg.sensor(
    name="squad_board_sensor",
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=[squad_board_job, athlete_assets_job, squad_update_job],
)
@guarded("squad_board_sensor")
def squad_board_sensor(
    context: dg.SensorEvaluationContext, store: DataStoreResource, settings: SettingsResource
) -> dg.SensorResult:
    """Keeps the coach's board current, hands-off.

    - **athletes.yaml** (`HRV_ATHLETES_FILE`) changed: the athletes whose normal-range width
      or flag thresholds changed are re-run from their features on (no restart needed); a
      file that cannot be used raises a `rejected_file` alert naming every problem, and
      the defaults stay in use until it is fixed.
    - **the board**: rebuilt when a forecast was written, athletes.yaml changed or an
      athlete's alerts changed, once the athletes' runs of the batch are done and nothing
      changed for `HRV_BOARD_QUIET_SECONDS` (one refresh per batch, not one per athlete)."""
    config = settings.get()
    cursor = json.loads(context.cursor) if context.cursor else {}
    path = config.athletes_file.expanduser().resolve()
    roster, problem = roster_or_defaults(path)
    roster_sig = _digest(problem) if problem else roster.digest
    requests: list[dg.RunRequest] = []
    notes: list[str] = []

    # --- athletes.yaml
    old_sig = cursor.get("roster")
    pipeline = roster.pipeline_digests()
    if old_sig is not None and roster_sig != old_sig:
        rel = path.name
        if problem:
            store.record_alert(catalogue.settings_rejected(rel, problem.splitlines(), roster_sig))
            notes.append(f"{rel} refused")
        else:
            store.record_alert(catalogue.settings_accepted(rel, f"settings/{rel}"))
            before: dict[str, str] = cursor.get("pipeline", {})
            known = context.instance.get_dynamic_partitions(ATHLETES_PARTITIONS)
            changed = [
                a for a in known if pipeline.get(a, pipeline["*"]) != before.get(a, before.get("*"))
            ]
            runs = [AthleteRun(a, "settings", f"settings:{a}:{roster_sig}") for a in changed]
            requests += run_requests(runs, config)
            notes.append(
                f"{rel} changed: "
                + (describe_requests(requests, len(runs)) if runs else "no athlete to re-run")
            )
    if not problem:
        cursor["pipeline"] = pipeline
    cursor["roster"] = roster_sig

    # --- the board, once the batch is done and things have been quiet for a moment
    board_sig = f"{_latest_forecast(context.instance)}:{roster_sig}:{_athlete_alerts(store)}"
    now = time.time()
    if board_sig != cursor.get("seen"):
        cursor["seen"], cursor["seen_at"] = board_sig, now
    if board_sig != cursor.get("board"):
        busy = active_athletes(context.instance)
        quiet_for = now - float(cursor.get("seen_at", now))
        if requests or busy:
            notes.append(f"board waits for {len(busy) or len(requests)} athletes' runs")
        elif quiet_for < config.board_quiet_seconds:
            notes.append(
                f"board refresh in {config.board_quiet_seconds - quiet_for:.0f} s "
                "(waiting for the batch to settle)"
            )
        elif _board_running(context.instance):
            notes.append("board refresh in progress")
        else:
            n = int(cursor.get("refreshes", 0)) + 1  # the same state may come back later
            requests.append(dg.RunRequest(run_key=f"board:{n}:{board_sig}", job_name=BOARD_JOB))
            cursor["board"], cursor["refreshes"] = board_sig, n
            notes.append("board refresh requested")
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(cursor, sort_keys=True),
        skip_reason=None if requests else ("; ".join(notes) or "board is current"),
    )
