"""The inbox, live, when things go wrong: runs that keep failing, and a squad with a broken
athlete. The real dagster-daemon on a temporary embedded instance (its own, so that these
slower tests run beside the ones in test_inbox_daemon.py)."""

import datetime as dt
import json
import time

import dagster as dg
import pytest

from assets import AthleteRun
from hrv.alerting.book import read_alerts
from hrv.demo import SQUAD
from hrv.storage.athlete_store import AthleteStore
from tests.conftest import yesterday
from tests.e2e.conftest import forecast
from tests.e2e.harness import materializations, quiet, runs, wait_for

pytestmark = pytest.mark.e2e
JOURNAL_AND_DOWNSTREAM = AthleteRun("x", "inbox", "k").selection() or []


@pytest.fixture(scope="module")
def live(inbox_daemon):
    return inbox_daemon


def test_failing_runs_are_retried_then_the_file_is_reported_stuck(live):
    tree, instance, proc = live
    (tree.data / "store").mkdir(exist_ok=True)
    (tree.data / "store" / "broken").write_text("a file where a folder should be")
    (tree.inbox / "broken").mkdir()
    path = tree.inbox / "broken" / "2026-01-01.md"
    path.write_text("---\nmood: 3\n---\n")
    since = time.time()

    def stuck():
        return [a for a in read_alerts(tree.data) if a["kind"] == "stuck_file"]

    (alert,) = wait_for(stuck, 150, "a stuck_file alert", proc.tail)
    assert alert["athlete"] == "broken" and "broken/2026-01-01.md" in alert["title"]
    failed = [r for r in runs(instance, since) if r.tags.get("athlete") == "broken"]
    assert len(failed) == 2 and all(r.status == dg.DagsterRunStatus.FAILURE for r in failed)
    assert path.exists()  # still visible in the inbox, not vanished
    expected = {
        "file": "broken/2026-01-01.md",
        "athlete": "broken",
        "reason": "stuck",
        "attempts": 2,
    }

    def status_says_stuck():
        return expected in json.loads((tree.data / "inbox_status.json").read_text())["pending"]

    # within one tick the alert is recorded first and the status file rewritten right after
    wait_for(status_says_stuck, 15, "the stuck status", proc.tail)
    time.sleep(8)
    assert len(stuck()) == 1  # reported once, not every tick
    assert len([r for r in runs(instance, since) if r.tags.get("athlete") == "broken"]) == 2


def seed_athlete(tree, athlete, days, seed):
    """An athlete with stored history and readings (written directly, without runs)."""
    from hrv.demo import simulate
    from hrv.intake.journal import JournalEntry
    from hrv.storage.athlete_store import IncomingEntry

    profile = next(p for p in SQUAD if p.athlete == "alice")
    # readings up to this morning: a fresh source (no freshness check runs meanwhile)
    sim = simulate(profile, days, dt.date.today(), seed)
    store = AthleteStore(tree.data, athlete)
    store.ingest_journal(
        [
            IncomingEntry(
                JournalEntry.model_validate({**d.journal, "athlete": athlete}), "seed", None
            )
            for d in sim
            if d.journal
        ],
        dt.datetime.now(dt.UTC),
    )
    rows = [(d.date, d.morning_rmssd_ms) for d in sim if d.morning_rmssd_ms]
    store.write_readings([{"date": str(day), "metric": "rmssd", "value_ms": v} for day, v in rows])
    (tree.sources / athlete).mkdir(parents=True, exist_ok=True)
    (tree.sources / athlete / "hrv.csv").write_text(
        "date,rmssd_ms\n" + "".join(f"{day},{v}\n" for day, v in rows)
    )


def test_a_squad_arriving_at_once_shares_squad_runs_and_a_broken_athlete_is_isolated(live):
    tree, instance, proc = live
    good = [f"sq{i}" for i in range(4)]
    for i, athlete in enumerate([*good, "sqbad"]):
        seed_athlete(tree, athlete, 40, 50 + i)
    # sqbad's stored journal is corrupt: its run in the squad fails, nobody else's
    log = AthleteStore(tree.data, "sqbad").journal_log_path
    log.write_text(log.read_text() + "{not json\n")
    time.sleep(4)  # the sources sensor sees the exports, already stored: no runs
    since = time.time()
    for athlete in [*good, "sqbad"]:
        folder = tree.inbox / athlete
        folder.mkdir(exist_ok=True)
        (folder / f"{yesterday()}.md").write_text("---\nsleep_hours: 7\nmood: 4\n---\n")
    wait_for(lambda: all(forecast(tree, a) for a in good), 120, "the squad's forecasts", proc.tail)

    def run_failure_for_sqbad():
        return [
            a
            for a in read_alerts(tree.data)
            if a["kind"] == "run_failure" and a["athlete"] == "sqbad"
        ]

    (alert, *_) = wait_for(run_failure_for_sqbad, 60, "sqbad's run_failure alert", proc.tail)
    assert alert["subject"] == "bronze/journal_entries"
    assert "journal_log.jsonl" in alert["text"] or "JSON" in alert["text"]
    squads = [r for r in runs(instance, since) if r.job_name == "squad_update"]

    def members(run):
        return [m["athlete"] for m in run.run_config["ops"]["update_squad"]["config"]["athletes"]]

    # the tick's five athletes, spread over squad runs (one per core), each once
    assert sorted(a for r in squads for a in members(r)) == sorted([*good, "sqbad"])
    assert all(r.tags["hrv/squad"] == str(len(members(r))) for r in squads)
    (squad,) = [r for r in squads if "sqbad" in members(r)]
    assert "sqbad" in squad.tags["hrv/athletes"]
    for r in squads:
        wait_for(lambda r=r: squad_done(instance, r.run_id), 60, "the squad runs", proc.tail)
    # every athlete recorded on its own partition: materializations and checks
    done = materializations(instance, [r.run_id for r in squads])
    for athlete in good:
        assert {a for a, p in done if p == athlete} == {
            k.to_user_string() for k in JOURNAL_AND_DOWNSTREAM
        }
        assert list((tree.inbox / athlete).iterdir()) == []
        assert (
            forecast(tree, athlete)["for_date"]
            == (dt.date.today() + dt.timedelta(days=1)).isoformat()
        )
    assert not {a for a, p in done if p == "sqbad"} & {"bronze/journal_entries"}
    # sqbad's squad run fails, naming sqbad; the others succeed; nobody else is alerted
    statuses = {r.run_id: instance.get_run_by_id(r.run_id).status for r in squads}
    assert statuses.pop(squad.run_id) == dg.DagsterRunStatus.FAILURE
    assert set(statuses.values()) <= {dg.DagsterRunStatus.SUCCESS}
    assert squad.run_id in alert["link"]  # the link in Slack opens the squad run
    assert not [
        a
        for a in read_alerts(tree.data)
        if a["kind"] == "run_failure"
        and a["status"] == "firing"
        and (a["athlete"] in good or a["athlete"] is None)
    ]
    # sqbad's file is retried alone (a run of its own), then reported stuck; never lost
    wait_for(
        lambda: [
            a
            for a in read_alerts(tree.data)
            if a["kind"] == "stuck_file" and a["athlete"] == "sqbad"
        ],
        120,
        "sqbad's stuck_file alert",
        proc.tail,
    )
    retries = [
        r
        for r in runs(instance, since)
        if r.tags.get("athlete") == "sqbad" and r.job_name == "athlete_assets"
    ]
    # a retry is an asset run of its own: its failure shows on sqbad's partitions
    assert len(retries) == 1 and retries[0].job_name == "athlete_assets"
    assert retries[0].status == dg.DagsterRunStatus.FAILURE
    assert (tree.inbox / "sqbad" / f"{yesterday()}.md").exists()
    settle_runs = wait_for(lambda: quiet(instance), 60, "runs to finish", proc.tail)
    assert settle_runs


def squad_done(instance, run_id):
    run = instance.get_run_by_id(run_id)
    return run is not None and run.is_finished
