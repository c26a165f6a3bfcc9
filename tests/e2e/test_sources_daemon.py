"""Wearable exports and freshness, live: the real dagster-daemon on an embedded instance."""

import datetime as dt
import json
import os
import time

import dagster as dg
import pytest

from assets import AthleteRun
from hrv.alerting.book import read_alerts
from hrv.demo import SQUAD, write_demo
from hrv.steps import readings
from tests.conftest import Tree
from tests.e2e.harness import daemon, embedded_home, materializations, quiet, runs, wait_for

pytestmark = pytest.mark.e2e
TODAY = dt.date.today()
READINGS_AND_DOWNSTREAM = AthleteRun("x", "sources", "k").selection() or []
READINGS_KEY = dg.AssetKey(list(readings.KEY))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources_live")
    tree = Tree(root)
    for p in (tree.inbox, tree.sources, tree.data):
        p.mkdir()
    home = embedded_home(root / "dagster_home")
    env = {
        **tree.env(),
        "HRV_INBOX_SETTLE_SECONDS": "1",
        "HRV_SOURCES_SETTLE_SECONDS": "1",
        # fractions of an hour, so that "stale" and "fresh again" happen within the test
        "HRV_FRESHNESS_WARN_HOURS": "0.25",
        "HRV_FRESHNESS_FAIL_HOURS": "0.5",
        "HRV_FRESHNESS_INTERVAL_SECONDS": "2",
    }
    squad = tuple(p for p in SQUAD if p.athlete in ("alice", "bob"))
    write_demo(tree.inbox, tree.sources, days=40, end=TODAY, seed=5, squad=squad)
    proc = daemon(home, env, root / "daemon.log").start()
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        wait_for(
            lambda: (
                all((tree.outputs(a) / "agent_forecast.json").exists() for a in ("alice", "bob"))
                and quiet(instance)
            ),
            150,
            "the first forecasts",
            proc.tail,
        )
        yield tree, instance, proc
    finally:
        proc.stop()
        instance.dispose()


def idle(live, seconds=12):
    """Wait for quiet, then make sure it stays quiet for a few sensor ticks."""
    _, instance, proc = live
    wait_for(lambda: quiet(instance), 120, "runs to finish", proc.tail)
    time.sleep(seconds)
    wait_for(lambda: quiet(instance), 120, "runs to finish", proc.tail)


def append_reading(path, day, value):
    with path.open("a") as fh:
        fh.write(f"{day},{value},50\n")


def test_updating_one_export_runs_that_athlete_only(live):
    tree, instance, proc = live
    idle(live, 6)
    since = time.time()
    recon_before = json.loads((tree.outputs("alice") / "reconciliation.json").read_text())
    csv = tree.sources / "alice" / "hrv.csv"
    lines = csv.read_text().splitlines()
    # alice's wearable re-syncs: the morning of yesterday changes value
    day, value, rhr = lines[-2].split(",")
    lines[-2] = f"{day},{float(value) + 7.5},{rhr}"
    csv.write_text("\n".join(lines) + "\n")
    wait_for(
        lambda: [r for r in runs(instance, since) if r.status == dg.DagsterRunStatus.SUCCESS],
        60,
        "the readings run",
        proc.tail,
    )
    idle(live, 6)
    new = runs(instance, since)
    assert [(r.tags["athlete"], r.tags["hrv/trigger"]) for r in new] == [("alice", "sources")]
    assert new[0].tags["hrv/changed_days"] == "1"
    assert materializations(instance, [new[0].run_id]) == {
        (k.to_user_string(), "alice") for k in READINGS_AND_DOWNSTREAM
    }
    recon = json.loads((tree.outputs("alice") / "reconciliation.json").read_text())
    assert recon["generated_at"] != recon_before["generated_at"]


def test_identical_export_triggers_nothing(live):
    tree, instance, _ = live
    idle(live, 2)
    since = time.time()
    csv = tree.sources / "bob" / "physiological_cycles.csv"
    csv.write_bytes(csv.read_bytes())  # same bytes, new mtime
    later = time.time() + 60
    os.utime(csv, (later, later))
    time.sleep(11)  # two sensor ticks
    assert runs(instance, since) == []


def test_malformed_export_is_rejected_while_the_good_one_beside_it_is_processed(live):
    tree, instance, proc = live
    idle(live, 2)
    since = time.time()
    (tree.sources / "bob" / "broken.json").write_text(
        '{"data": [{"day": "2026-01-01", "average_hrv": "high"}]}'
    )
    cycles = tree.sources / "bob" / "physiological_cycles.csv"
    text = cycles.read_text().splitlines()
    text.append(text[-1].replace(str(TODAY), str(TODAY + dt.timedelta(days=1))))
    cycles.write_text("\n".join(text) + "\n")
    wait_for(
        lambda: [a for a in read_alerts(tree.data) if "broken.json" in a["title"]],
        60,
        "the rejection alert",
        proc.tail,
    )
    wait_for(
        lambda: [r for r in runs(instance, since) if r.status == dg.DagsterRunStatus.SUCCESS],
        60,
        "bob's run",
        proc.tail,
    )
    idle(live, 2)
    assert [r.tags["athlete"] for r in runs(instance, since)] == ["bob"]
    status = json.loads((tree.data / "sources_status.json").read_text())
    assert status["files"]["bob/broken.json"]["status"] == "rejected"
    assert "average_hrv" in status["files"]["bob/broken.json"]["errors"][0]
    assert status["files"]["bob/physiological_cycles.csv"]["status"] == "ok"


def freshness_events(instance, athlete):
    """The athlete's source_freshness results, newest first, with the run of each."""
    key = dg.AssetCheckKey(READINGS_KEY, readings.FRESHNESS.name)
    out = []
    for rec in instance.event_log_storage.get_asset_check_execution_history(key, limit=500):
        data = rec.event.dagster_event.event_specific_data if rec.event else None
        if isinstance(data, dg.AssetCheckEvaluation) and data.partition == athlete:
            out.append((rec.run_id or None, data))
    return out


def test_stale_source_fires_then_resolves_when_data_arrives(live):
    tree, instance, proc = live
    old = [(TODAY - dt.timedelta(days=d), 50 + d) for d in range(12, 2, -1)]
    folder = tree.sources / "carol"
    folder.mkdir()
    csv = folder / "hrv.csv"
    csv.write_text("date,rmssd_ms,resting_hr_bpm\n" + "".join(f"{d},{v},50\n" for d, v in old))

    def carol_alerts():
        return [
            a
            for a in read_alerts(tree.data)
            if a["kind"] == "stale_source" and a["athlete"] == "carol"
        ]

    (firing,) = wait_for(carol_alerts, 90, "carol's stale_source alert", proc.tail)
    assert firing["status"] == "firing" and firing["severity"] == "error"
    assert "over the 0.5 h fail threshold" in firing["text"]
    latest = wait_for(lambda: freshness_events(instance, "carol"), 30, "the check result")
    assert not latest[0][1].passed
    # the freshness sensor ran carol's check in a run of its own (so the UI shows it)
    clock_runs = wait_for(
        lambda: [r for r in runs(instance) if r.tags.get("hrv/trigger") == "clock"],
        30,
        "carol's check run",
        proc.tail,
    )
    assert {r.tags["athlete"] for r in clock_runs} == {"carol"}

    append_reading(csv, TODAY, 61)  # the sync works again
    wait_for(lambda: len(carol_alerts()) == 2, 90, "the resolved alert", proc.tail)
    resolved = carol_alerts()[1]
    assert resolved["status"] == "resolved" and resolved["fingerprint"] == firing["fingerprint"]
    # the alert resolves when the freshness sensor sees the new reading stored; the check's
    # passing evaluation is recorded by the run that stored it, a moment later
    wait_for(
        lambda: freshness_events(instance, "carol")[0][1].passed,  # newest evaluation first
        60,
        "carol's freshness check to pass",
        proc.tail,
    )
    # alice and bob stayed fresh all along: never an alert for them
    assert not [
        a
        for a in read_alerts(tree.data)
        if a["kind"] == "stale_source" and a["athlete"] in ("alice", "bob")
    ]
