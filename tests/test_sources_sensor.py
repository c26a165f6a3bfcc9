"""Sources sensor (changed exports -> affected athletes only) and freshness evaluation."""

import datetime as dt
import json
import os
import time

import dagster as dg
import pytest

from assets import AthleteRun
from hrv.alerting.book import read_alerts
from hrv.intake.exports import merge_readings, parse_source_file
from hrv.intake.freshness import FAIL, FRESH, NONE, WARN, FreshnessSettings, evaluate
from hrv.intake.source_folder import scan_sources
from hrv.planning.sources_tick import (
    SourceCache,
    SourceLimits,
    load_state,
    plan_sources_tick,
)
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.files import sha256_file
from sensors import freshness as freshness_module
from sensors.freshness import freshness_sensor
from sensors.sources import SOURCE_CACHE, sources_sensor
from tests.conftest import updates

OLD = time.time() - 3600


def export(path, rows, age=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("date,rmssd_ms\n" + "".join(f"{d},{v}\n" for d, v in rows))
    if age:
        os.utime(path, (OLD, OLD))
    return path


def store_as_pipeline_would(data, sources, athlete):
    """Write the readings the asset would write (the same merge)."""
    items = []
    for f in scan_sources(sources):
        r = parse_source_file(f.path, folder_athlete=f.folder_athlete, default_athlete="me")
        if r.ok and athlete in r.athletes:
            items.append((f.mtime_ns, f.rel, r))
    AthleteStore(data, athlete).write_readings(merge_readings(items, athlete))


def tick(sources, data, cache, state=None, active=(), limits=None):
    return plan_sources_tick(
        scan_sources(sources),
        now=time.time(),
        state=state or load_state(None),
        cache=cache,
        active_athletes=set(active),
        parse=lambda f: parse_source_file(
            f.path, folder_athlete=f.folder_athlete, default_athlete="me"
        ),
        content_hash=lambda f: sha256_file(f.path),
        stored_readings=lambda a: AthleteStore(data, a).readings(),
        limits=limits or SourceLimits(settle_seconds=2),
    )


def test_only_athletes_whose_readings_changed_get_runs(tmp_path):
    src, data = tmp_path / "sources", tmp_path / "data"
    export(src / "ann" / "hrv.csv", [("2026-01-01", 50), ("2026-01-02", 52)])
    export(src / "bob" / "hrv.csv", [("2026-01-01", 40)])
    cache = SourceCache()
    first = tick(src, data, cache)
    assert {r.athlete: r.changed_days for r in first.runs} == {
        "ann": ["2026-01-01", "2026-01-02"],
        "bob": ["2026-01-01"],
    }
    for a in ("ann", "bob"):
        store_as_pipeline_would(data, src, a)
    quiet = tick(src, data, cache, state=first.state)
    assert quiet.runs == [] and quiet.state["dirty"] == []

    # ann's export gains a morning: only ann, only that day
    export(src / "ann" / "hrv.csv", [("2026-01-01", 50), ("2026-01-02", 52), ("2026-01-03", 55)])
    os.utime(src / "ann" / "hrv.csv", (OLD + 10, OLD + 10))
    changed = tick(src, data, cache, state=quiet.state)
    assert [(r.athlete, r.changed_days) for r in changed.runs] == [("ann", ["2026-01-03"])]
    assert changed.runs[0].run_key.startswith("sources:ann:")


def test_identical_or_touched_exports_trigger_nothing(tmp_path):
    src, data = tmp_path / "sources", tmp_path / "data"
    f = export(src / "ann" / "hrv.csv", [("2026-01-01", 50)])
    store_as_pipeline_would(data, src, "ann")
    cache = SourceCache()
    assert tick(src, data, cache).runs == []  # already stored (e.g. after a restart)
    os.utime(f, (OLD + 100, OLD + 100))  # touched, same bytes
    parsed = []
    t = plan_sources_tick(
        scan_sources(src),
        now=time.time(),
        state=load_state(None),
        cache=cache,
        active_athletes=set(),
        parse=lambda x: parsed.append(x) or None,
        content_hash=lambda x: sha256_file(x.path),
        stored_readings=lambda a: AthleteStore(data, a).readings(),
        limits=SourceLimits(settle_seconds=2),
    )
    assert t.runs == [] and parsed == []  # same hash: not even parsed again


def test_bad_export_is_reported_once_and_does_not_stop_the_good_one(tmp_path):
    src, data = tmp_path / "sources", tmp_path / "data"
    export(src / "ann" / "hrv.csv", [("2026-01-01", 50)])
    bad = src / "bob" / "hrv.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("date,rmssd_ms\n2026-01-01,lots\n")
    os.utime(bad, (OLD, OLD))
    cache = SourceCache()
    t = tick(src, data, cache)
    assert [r.athlete for r in t.runs] == ["ann"]
    assert [r.file for r in t.newly_rejected] == ["bob/hrv.csv"]
    assert t.statuses["bob/hrv.csv"]["status"] == "rejected"
    again = tick(src, data, SourceCache(), state=t.state)  # even after a restart
    assert again.newly_rejected == []


def test_removed_export_rebuilds_the_athlete(tmp_path):
    src, data = tmp_path / "sources", tmp_path / "data"
    f = export(src / "ann" / "hrv.csv", [("2026-01-01", 50)])
    store_as_pipeline_would(data, src, "ann")
    cache = SourceCache()
    t = tick(src, data, cache)
    f.unlink()
    t2 = tick(src, data, cache, state=t.state)
    assert [(r.athlete, r.changed_days) for r in t2.runs] == [("ann", ["2026-01-01"])]


def test_newest_export_wins_and_waits_for_active_runs(tmp_path):
    src, data = tmp_path / "sources", tmp_path / "data"
    export(src / "ann" / "a.csv", [("2026-01-01", 50)])
    export(src / "ann" / "b.csv", [("2026-01-01", 60)])
    os.utime(src / "ann" / "b.csv", (OLD + 5, OLD + 5))
    cache = SourceCache()
    t = tick(src, data, cache, active={"ann"})
    assert t.runs == [] and t.pending == {"athlete ann": "waiting for the run in progress"}
    t2 = tick(src, data, cache, state=t.state)
    assert len(t2.runs) == 1
    store_as_pipeline_would(data, src, "ann")
    assert AthleteStore(data, "ann").readings()[0]["value_ms"] == "60.0"


def test_unsettled_export_waits(tmp_path):
    src, data = tmp_path / "sources", tmp_path / "data"
    export(src / "ann" / "hrv.csv", [("2026-01-01", 50)], age=False)
    t = tick(src, data, SourceCache())
    assert t.runs == [] and "settling" in t.pending["ann/hrv.csv"]


def test_runs_that_never_store_are_reported_stuck_once(tmp_path):
    src, data = tmp_path / "sources", tmp_path / "data"
    export(src / "ann" / "hrv.csv", [("2026-01-01", 50)])
    cache, state = SourceCache(), None
    limits = SourceLimits(settle_seconds=2, max_attempts=2)
    for attempt in (1, 2):
        t = tick(src, data, cache, state=state, limits=limits)
        assert [r.attempt for r in t.runs] == [attempt]
        state = t.state
    t = tick(src, data, cache, state=state, limits=limits)
    assert t.runs == [] and t.newly_stuck == [("ann", ["ann/hrv.csv"], 2)]
    assert tick(src, data, cache, state=t.state, limits=limits).newly_stuck == []


# --------------------------------------------------------------------------- freshness
def test_freshness_states_and_thresholds():
    s = FreshnessSettings(warn_hours=36, fail_hours=60)
    now = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
    assert evaluate(None, now, s).state == NONE
    assert evaluate(dt.date(2026, 11, 21), now, s).state == FRESH  # end of today: -12 h
    f = evaluate(dt.date(2026, 11, 19), now, s)  # ended 2026-11-20 00:00 -> 36 h
    assert f.state == FRESH and f.age_hours == 36.0
    assert evaluate(dt.date(2026, 11, 18), now, s).state == WARN  # 60 h: not over 60
    assert evaluate(dt.date(2026, 11, 17), now, s).state == FAIL  # 84 h
    tz = FreshnessSettings(36, 60, "Pacific/Auckland")  # the day ends 13 h earlier in UTC
    assert evaluate(dt.date(2026, 11, 19), now, tz).age_hours == 49.0


def test_freshness_settings_from_the_settings():
    from hrv.settings import Settings, SettingsError

    s = FreshnessSettings.from_settings(
        Settings.from_variables(
            {
                "HRV_FRESHNESS_WARN_HOURS": "0.25",
                "HRV_FRESHNESS_FAIL_HOURS": "0.5",
                "HRV_TIMEZONE": "Europe/Paris",
            }
        )
    )
    assert (s.warn_hours, s.fail_hours, s.timezone) == (0.25, 0.5, "Europe/Paris")
    with pytest.raises(SettingsError, match="HRV_FRESHNESS_WARN_HOURS='nonsense'"):
        Settings.from_variables({"HRV_FRESHNESS_WARN_HOURS": "nonsense"})


# --------------------------------------------------------------------------- sensors
@pytest.fixture
def fresh_caches():
    SOURCE_CACHE.entries.clear()
    freshness_module._NEWEST.clear()


READINGS_AND_DOWNSTREAM = set(AthleteRun("x", "sources", "k").selection() or [])


def sensor_tick(sensor, tree, instance, cursor=None, **settings):
    keep = ("sources", "store", "inbox", "settings")
    res = {k: v for k, v in tree.resources(**settings).items() if k in keep}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=res) as ctx:
        return sensor(ctx)


def test_sources_sensor_requests_readings_and_downstream(tree, instance, fresh_caches):
    export(tree.sources / "ann" / "hrv.csv", [("2026-01-01", 50), ("2026-01-02", 51)])
    bad = tree.sources / "oops.json"
    bad.write_text('{"neither": "oura nor garmin"}')
    os.utime(bad, (OLD, OLD))
    result = sensor_tick(sources_sensor, tree, instance)
    (req,) = result.run_requests
    (ann,) = updates(result.run_requests).values()
    assert ann.athlete == "ann" and ann.selection == READINGS_AND_DOWNSTREAM
    assert req.tags["hrv/trigger"] == "sources" and req.tags["hrv/changed_days"] == "2"
    assert result.dynamic_partitions_requests[0].partition_keys == ["ann"]
    (alert,) = read_alerts(tree.data)
    assert alert["kind"] == "rejected_file" and "sources/oops.json" in alert["title"]
    status = json.loads((tree.data / "sources_status.json").read_text())
    assert status["files"]["oops.json"]["status"] == "rejected"
    assert bad.exists()  # exports are never moved


def test_freshness_sensor_alerts_and_runs_the_check_on_changes_of_state(
    tree, instance, fresh_caches
):
    instance.add_dynamic_partitions("athletes", ["ann", "bob", "cat"])
    today = dt.date.today()
    AthleteStore(tree.data, "ann").write_readings(
        [{"date": str(today), "metric": "rmssd", "value_ms": 50}]
    )
    AthleteStore(tree.data, "bob").write_readings(
        [{"date": str(today - dt.timedelta(days=5)), "metric": "rmssd", "value_ms": 50}]
    )

    def run(cursor=None):
        return sensor_tick(freshness_sensor, tree, instance, cursor, freshness_interval_seconds=1)

    first = run()
    # ann is fresh (her readings run judged her already); cat has no readings: not judged;
    # bob is stale: alerted, and his source_freshness check runs so the UI shows it
    (check,) = first.run_requests
    (bob,) = updates(first.run_requests).values()
    assert bob.athlete == "bob" and bob.selection == set()
    assert [k.name for k in bob.checks] == ["source_freshness"]
    assert check.tags["athlete"] == "bob" and check.tags["hrv/trigger"] == "clock"
    alerts = read_alerts(tree.data)
    assert [(a["athlete"], a["status"], a["severity"]) for a in alerts] == [
        ("bob", "firing", "error")
    ]

    # too soon: nothing evaluated
    skipped = run(first.cursor)
    assert "next evaluation" in skipped.skip_reason.skip_message

    time.sleep(1.1)
    same = run(first.cursor)
    assert same.run_requests == []  # no change of state, no run, no alert
    AthleteStore(tree.data, "bob").write_readings(
        [{"date": str(today), "metric": "rmssd", "value_ms": 50}]
    )
    time.sleep(1.1)
    back = run(same.cursor)
    (check,) = back.run_requests
    assert list(updates(back.run_requests)) == ["bob"]
    assert check.run_key != first.run_requests[0].run_key
    last = read_alerts(tree.data)[-1]
    assert (last["athlete"], last["status"], last["kind"]) == ("bob", "resolved", "stale_source")
    assert last["fingerprint"] == alerts[0]["fingerprint"]


def test_athletes_with_pending_journals_wait_for_their_inbox_run(tmp_path):
    src, data = tmp_path / "sources", tmp_path / "data"
    export(src / "ann" / "hrv.csv", [("2026-01-01", 50)])
    export(src / "bob" / "hrv.csv", [("2026-01-01", 40)])
    cache = SourceCache()
    t = plan_sources_tick(
        scan_sources(src),
        now=time.time(),
        state=load_state(None),
        cache=cache,
        active_athletes=set(),
        parse=lambda f: parse_source_file(f.path, folder_athlete=f.folder_athlete),
        content_hash=lambda f: sha256_file(f.path),
        stored_readings=lambda a: AthleteStore(data, a).readings(),
        limits=SourceLimits(settle_seconds=2),
        pending_journals={"ann"},
    )
    assert [r.athlete for r in t.runs] == ["bob"]
    assert t.pending == {"athlete ann": "waiting for pending journal files"}
    assert "ann" in t.state["dirty"]  # decided on a later tick


def test_a_squad_syncing_at_once_shares_squad_runs(tree, instance, fresh_caches):
    athletes = [f"a{i}" for i in range(5)]
    for a in athletes:
        export(tree.sources / a / "hrv.csv", [("2026-01-01", 50), ("2026-01-02", 51)])
    store_as_pipeline_would(tree.data, tree.sources, "a4")  # a4's readings are stored
    result = sensor_tick(sources_sensor, tree, instance, squad_size=3)
    assert [r.job_name for r in result.run_requests] == ["squad_update", "squad_update"]
    configs = [r.run_config["ops"]["update_squad"]["config"] for r in result.run_requests]
    assert [[m["athlete"] for m in c["athletes"]] for c in configs] == [["a0", "a1"], ["a2", "a3"]]
    members = [m for c in configs for m in c["athletes"]]
    assert {m["trigger"] for m in members} == {"sources"}
    assert [m["tags"]["hrv/changed_days"] for m in members] == ["2"] * 4
