"""The inbox sensor: dropped journal files become one run per athlete, hands-off."""

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import dagster as dg

from alerts.guard import guarded
from assets import ATHLETES, ATHLETES_PARTITIONS, AthleteRun, athlete_assets_job, squad_update_job
from hrv.alerting import catalogue
from hrv.intake.inbox import inbox_fingerprint
from hrv.intake.late_writers import recheck_archived
from hrv.planning.inbox_tick import (
    ParseCache,
    RunPlan,
    TickPlan,
    load_state,
    plan_tick,
    settle_wait,
)
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.files import write_json_atomic
from resources import DataStoreResource, InboxResource, SettingsResource
from sensors.common import (
    active_athletes,
    athletes_per_tick,
    describe_requests,
    run_requests,
)

INBOX_STATUS_FILE = "inbox_status.json"
POLL_INTERVAL_SECONDS = 0.2

# Validation results survive between ticks in the code server process: a settled file
# is parsed once, so a tick over 10,000 pending files costs a directory scan, not
# 10,000 parses. Correctness never depends on this cache (it is keyed by size+mtime).
PARSE_CACHE = ParseCache()
_ENTRY_CACHE: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}


def current_entries(data_dir: Path, athlete: str) -> dict[str, str]:
    """The athlete's stored entries (date -> content hash), re-read only when changed."""
    store = AthleteStore(data_dir, athlete)
    try:
        st = store.journal_log_path.stat()
        signature = (st.st_size, st.st_mtime_ns)
        cached = _ENTRY_CACHE.get(athlete)
        if cached is None or cached[0] != signature:
            cached = (signature, store.current_entry_shas())
            _ENTRY_CACHE[athlete] = cached
    except (OSError, ValueError):
        # no store yet, or an unreadable one: nothing counts as a duplicate, and the
        # run (not the sensor) meets the problem, fails, and is retried or reported
        return {}
    return cached[1]


def athlete_run(plan: RunPlan, include_readings: bool) -> AthleteRun:
    return AthleteRun(
        athlete=plan.athlete,
        trigger="inbox",
        run_key=plan.run_key,
        attempt=plan.attempt,
        files=plan.files,
        include_readings=include_readings,
        tags={"hrv/files": str(len(plan.files))},
    )


def _write_status(store: DataStoreResource, pending: dict, now: dt.datetime) -> None:
    path = store.path / INBOX_STATUS_FILE
    body = [{"file": rel, **status} for rel, status in sorted(pending.items())]
    try:
        previous = json.loads(path.read_text())["pending"] if path.exists() else None
    except (ValueError, KeyError):
        previous = None
    if previous != body:
        write_json_atomic(path, {"updated_at": now.isoformat(), "pending": body})


@dg.sensor(
    name="inbox_sensor",
    jobs=[athlete_assets_job, squad_update_job],
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
@guarded("inbox_sensor")
def inbox_sensor(
    context: dg.SensorEvaluationContext,
    inbox: InboxResource,
    store: DataStoreResource,
    settings: SettingsResource,
) -> dg.SensorResult:
    """Turns journal files dropped into `inbox/` or `inbox/<athlete>/` into runs.

    Settled files are validated; bad ones move to `inbox/rejected/` with a
    `<name>.error.json` and a `rejected_file` alert. Valid files become one run per
    athlete (journal and everything downstream of it), never two at once for the same
    athlete. When 4 or more athletes have files in one tick, they share squad runs of up
    to 25 athletes (`squad_update`; HRV_SQUAD_MIN_ATHLETES, HRV_SQUAD_SIZE), in which each
    athlete still gets an asset run of its own, without a new process each. A file
    identical to what is already stored is archived without a run. A file still pending
    after 3 runs is reported as `stuck_file`; the skip message and
    `data/inbox_status.json` say why every pending file is waiting.
    """
    started = time.monotonic()
    config = settings.get()
    limits = inbox.limits()
    # with squad runs, a tick's run budget covers that many squads of athletes
    limits = dataclasses.replace(
        limits, max_runs_per_tick=athletes_per_tick(config, limits.max_runs_per_tick)
    )

    def plan_now() -> TickPlan:
        # An empty inbox needs no instance (asking it costs more than the whole idle tick).
        # Otherwise ask which athletes are busy *before* the scan that is planned on: see
        # ARCHITECTURE.md.
        if not inbox.anything_pending():
            active: set[str] = set()
        else:
            active = active_athletes(context.instance)
        candidates = inbox.scan()
        wait = settle_wait(candidates, time.time(), limits.settle_seconds)
        if wait > 0:  # a file was just dropped: let it settle now rather than next tick
            time.sleep(min(wait, limits.settle_seconds + 0.05))
            active = active_athletes(context.instance)
            candidates = inbox.scan()
        return plan_tick(
            candidates,
            now=time.time(),
            state=load_state(context.cursor),
            active_athletes=active,
            parse=inbox.parse,
            restat=inbox.restat,
            cache=PARSE_CACHE,
            limits=limits,
            current_entries=lambda athlete: current_entries(store.path, athlete),
        )

    # files archived in the last minutes and written to since: back in the inbox first
    for rel in recheck_archived(store.path, inbox.path, time.time()):
        context.log.warning(f"{rel} changed after it was read and archived: reading it again")
    fingerprint = inbox_fingerprint(inbox.path)
    plan = plan_now()
    # Nothing to do: keep watching the folders (one stat each) for a while instead of
    # returning and being called again only ~5 s later, so a file dropped now is taken
    # within ~0.2 s + its settle time. An idle plan changed nothing, so planning again
    # from the same cursor is the same tick, one look later.
    # A change that leaves the plan idle (a run archiving its files) keeps the watch on.
    if plan.idle() and limits.poll_seconds > 0:
        deadline = time.monotonic() + limits.poll_seconds
        while plan.idle() and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_SECONDS)
            now_fingerprint = inbox_fingerprint(inbox.path)
            if now_fingerprint != fingerprint:
                fingerprint = now_fingerprint
                plan = plan_now()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for candidate, result in plan.rejects:
        athlete = candidate.folder_athlete or (result.athletes[0] if result.athletes else None)
        errors = [str(e) for e in result.errors]
        if not candidate.path.exists() and not candidate.path.is_symlink():
            context.log.info(f"{candidate.rel} is gone: nothing to reject")
            continue
        # the alert first: a file is never moved away unreported (data/ read-only, disk
        # full: it stays in the inbox, pending, and is tried again next tick)
        try:
            store.record_alert(
                catalogue.journal_rejected(candidate.rel, athlete, errors, result.sha256)
            )
        except OSError as exc:
            context.log.warning(f"{candidate.rel} stays in the inbox: its alert: {exc}")
            continue
        try:
            inbox.reject(candidate, result, now)
        except FileNotFoundError:  # a run archived it, or its owner removed it, meanwhile
            context.log.info(f"{candidate.rel} is gone: nothing to reject")
            continue
        except OSError as exc:  # unmovable: report, never raise
            context.log.warning(f"could not reject {candidate.rel}: {exc}")
            continue
        context.log.info(f"rejected {candidate.rel}: {'; '.join(errors[:3])}")
    for candidate in plan.duplicates:
        try:
            inbox.archive(candidate)
            context.log.info(f"{candidate.rel}: same content as stored, archived without a run")
        except OSError as exc:
            context.log.warning(f"could not archive duplicate {candidate.rel}: {exc}")
    for rel, athlete, attempts in plan.newly_stuck:
        store.record_alert(catalogue.journal_stuck(rel, athlete, attempts))
        context.log.error(f"{rel} ({athlete}) is stuck after {attempts} runs")

    seen = plan.athletes_seen
    known = set(context.instance.get_dynamic_partitions(ATHLETES_PARTITIONS)) if seen else set()
    new_athletes = sorted(seen - known)
    no_readings = {
        p.athlete
        for p in plan.runs
        if not AthleteStore(store.path, p.athlete).readings_path.exists()
    }
    requests = run_requests(
        [athlete_run(p, include_readings=p.athlete in no_readings) for p in plan.runs], config
    )
    _write_status(store, plan.pending, now)
    launched = describe_requests(requests, len(plan.runs)) + " requested, " if requests else ""
    message = launched + plan.summary() + f" ({time.monotonic() - started:.2f} s)"
    if requests:
        context.log.info(message)
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(plan.state, sort_keys=True),
        dynamic_partitions_requests=[ATHLETES.build_add_request(new_athletes)]
        if new_athletes
        else None,
        skip_reason=None if requests else message,
    )
