"""The inbox, live: the real dagster-daemon on a temporary embedded instance.

One daemon serves the whole module; each test waits until every run has finished, so
the next test sees only its own runs.
"""

import datetime as dt
import json
import os
import time

import dagster as dg
import pytest

from assets import AthleteRun
from hrv.alerting.book import read_alerts
from hrv.demo import SQUAD, write_demo
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.registry import read_registry
from tests.conftest import Tree, yesterday
from tests.e2e.harness import daemon, embedded_home, materializations, quiet, runs, wait_for

pytestmark = pytest.mark.e2e
JOURNAL_AND_DOWNSTREAM = AthleteRun("x", "inbox", "k").selection() or []


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    tree = Tree(root)
    for p in (tree.inbox, tree.sources, tree.data):
        p.mkdir()
    home = embedded_home(root / "dagster_home")
    env = {**tree.env(), "HRV_INBOX_SETTLE_SECONDS": "1.5", "HRV_INBOX_MAX_ATTEMPTS": "2"}
    proc = daemon(home, env, root / "daemon.log").start()
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield tree, instance, proc
    finally:
        proc.stop()
        instance.dispose()


def settle(live, timeout=120):
    tree, instance, proc = live

    def done():
        pending = [
            p
            for p in tree.inbox.rglob("*")
            if p.is_file() and p.relative_to(tree.inbox).parts[0] not in ("processed", "rejected")
        ]
        return not pending and quiet(instance)

    wait_for(done, timeout, "the inbox to empty and runs to finish", proc.tail)


def forecast(tree, athlete):
    path = tree.outputs(athlete) / "agent_forecast.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_dropped_history_becomes_forecasts_for_each_athlete(live):
    tree, instance, proc = live
    squad = tuple(p for p in SQUAD if p.athlete in ("alice", "bob"))
    write_demo(tree.inbox, tree.sources, days=60, end=yesterday(), seed=3, squad=squad)
    n_files = {a: len(list((tree.inbox / a).iterdir())) for a in ("alice", "bob")}
    wait_for(
        lambda: forecast(tree, "alice") and forecast(tree, "bob"), 120, "both forecasts", proc.tail
    )
    settle(live)
    for athlete in ("alice", "bob"):
        assert len(list((tree.inbox / "processed" / athlete).iterdir())) == n_files[athlete]
        assert (
            forecast(tree, athlete)["for_date"] == (yesterday() + dt.timedelta(days=1)).isoformat()
        )
    done = [r for r in runs(instance) if r.status == dg.DagsterRunStatus.SUCCESS]
    # one inbox run per athlete, not one per file (bob dropped ~55 files). The sources
    # sensor may also have started a readings run for a brand-new athlete if it ticked
    # before the inbox run existed; the athlete tag limit serializes the two.
    inbox_runs = [r for r in done if r.tags.get("hrv/trigger") == "inbox"]
    assert sorted(r.tags["athlete"] for r in inbox_runs) == ["alice", "bob"]
    assert all(int(r.tags["hrv/files"]) == n_files[r.tags["athlete"]] for r in inbox_runs)
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs(instance))
    assert set(instance.get_dynamic_partitions("athletes")) == {"alice", "bob"}


def test_one_day_for_one_athlete_runs_exactly_its_downstream(live):
    tree, instance, proc = live
    since = time.time()
    today = dt.date.today().isoformat()
    (tree.inbox / "alice" / f"{today}.md").write_text(
        "---\nsleep_hours: 6.5\nalcohol_units: 3\ntraining:\n  - {type: run, minutes: 40, rpe: 6}\n---\n"
    )
    wait_for(
        lambda: (forecast(tree, "alice") or {}).get("based_on_date") == today,
        60,
        "alice's forecast from today's journal",
        proc.tail,
    )
    settle(live)
    new_runs = runs(instance, since)
    assert [r.tags["athlete"] for r in new_runs] == ["alice"]
    assert new_runs[0].status == dg.DagsterRunStatus.SUCCESS
    assert materializations(instance, [r.run_id for r in new_runs]) == {
        (k.to_user_string(), "alice") for k in JOURNAL_AND_DOWNSTREAM
    }


def test_bad_files_are_rejected_with_reasons(live):
    tree, _instance, _proc = live
    (tree.inbox / "bob" / "2026-02-30.md").write_text("---\nmood: 3\n---\n")
    (tree.inbox / "bob" / "typo.json").write_text('{"date": "2026-01-05", "slep_hours": 7}')
    os.symlink("/etc/hostname", tree.inbox / "2026-01-06.md")
    with (tree.inbox / "2026-01-07.md").open("wb") as fh:
        fh.truncate(3 << 20)
    settle(live)
    rejected = tree.inbox / "rejected"
    reports = {p.name: json.loads(p.read_text()) for p in rejected.rglob("*.error.json")}
    assert set(reports) == {
        "2026-02-30.md.error.json",
        "typo.json.error.json",
        "2026-01-06.md.error.json",
        "2026-01-07.md.error.json",
    }
    assert reports["2026-02-30.md.error.json"]["errors"][0]["field"] == "date"
    assert "did you mean 'sleep_hours'" in reports["typo.json.error.json"]["errors"][0]["message"]
    assert "symlink" in reports["2026-01-06.md.error.json"]["errors"][0]["message"]
    assert "journal limit" in reports["2026-01-07.md.error.json"]["errors"][0]["message"]
    alerts = [a for a in read_alerts(tree.data) if a["kind"] == "rejected_file"]
    assert len(alerts) == 4 and all(a["status"] == "firing" for a in alerts)


def test_slow_writer_is_never_read_half_written(live):
    tree, _instance, _proc = live
    path = tree.inbox / "bob" / "slow.md"
    day = (dt.date.today() - dt.timedelta(days=400)).isoformat()
    text = f"---\ndate: {day}\nsleep_hours: 7\nmood: 4\n---\n" + "A long evening entry. " * 40
    chunks = [text[i : i + 60] for i in range(0, len(text), 60)]
    with path.open("w") as fh:
        for chunk in chunks[:-1]:
            fh.write(chunk)
            fh.flush()
            time.sleep(4.0 / len(chunks))  # ~4 s in all, pauses well under the settle time
        fh.write(chunks[-1])
    settle(live)
    assert (tree.inbox / "processed" / "bob" / "slow.md").exists()
    assert not (tree.inbox / "rejected" / "bob" / "slow.md").exists()
    entry = next(e for e in AthleteStore(tree.data, "bob").effective_journal() if e["date"] == day)
    assert entry["notes"].count("A long evening entry.") == 40


def test_duplicates_do_nothing_and_corrections_supersede(live):
    tree, instance, _proc = live
    processed = sorted((tree.inbox / "processed" / "alice").glob("*.md"))[0]
    store = AthleteStore(tree.data, "alice")
    versions = len(store.journal_versions())
    registry_rows = len(read_registry(tree.outputs("alice") / "predictions_registry.csv"))
    since = time.time()
    # the same bytes again (the demo's Markdown files take their date from the file name)
    (tree.inbox / "alice" / processed.name).write_bytes(processed.read_bytes())
    settle(live)
    assert (tree.inbox / "processed" / "alice" / f"{processed.stem}.dup1.md").exists()
    assert runs(instance, since) == []  # archived without a run
    assert len(store.journal_versions()) == versions

    day = yesterday().isoformat()
    (tree.inbox / "alice" / f"{day}.md").write_text(
        "---\nillness: true\nsleep_hours: 5\n---\nCorrection: came down with a fever.\n"
    )
    settle(live)
    mine = [v for v in store.journal_versions() if v["date"] == day]
    assert len(mine) == 2 and mine[1]["supersedes"] == mine[0]["entry_sha"]
    assert mine[1]["entry"]["illness"] is True
    assert len(read_registry(tree.outputs("alice") / "predictions_registry.csv")) >= registry_rows


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
    sim = simulate(profile, days, yesterday() - dt.timedelta(days=1), seed)
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


def test_a_squad_arriving_at_once_shares_one_squad_run_and_a_broken_athlete_is_isolated(live):
    tree, instance, proc = live
    good = [f"sq{i}" for i in range(6)]
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
    assert len(squads) == 1
    squad = squads[0]
    config = squad.run_config["ops"]["update_squad"]["config"]
    assert sorted(m["athlete"] for m in config["athletes"]) == sorted([*good, "sqbad"])
    assert squad.tags["hrv/squad"] == "7" and "sq0" in squad.tags["hrv/athletes"]
    wait_for(lambda: squad_done(instance, squad.run_id), 60, "the squad run to end", proc.tail)
    # every athlete got an asset run of its own, inside the squad run
    members = {
        r.tags["athlete"]: r
        for r in runs(instance, since)
        if r.tags.get("hrv/squad_run") == squad.run_id
    }
    assert sorted(members) == sorted([*good, "sqbad"])
    for athlete in good:
        run = members[athlete]
        assert run.job_name == "athlete_assets" and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == athlete
        done = materializations(instance, [run.run_id])
        assert done == {(k.to_user_string(), athlete) for k in JOURNAL_AND_DOWNSTREAM}
        assert list((tree.inbox / athlete).iterdir()) == []
        assert (
            forecast(tree, athlete)["for_date"] == (yesterday() + dt.timedelta(days=1)).isoformat()
        )
    assert members["sqbad"].status == dg.DagsterRunStatus.FAILURE
    # the squad run fails, naming sqbad; its own failure is not alerted (sqbad's run is)
    assert instance.get_run_by_id(squad.run_id).status == dg.DagsterRunStatus.FAILURE
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
        if r.tags.get("athlete") == "sqbad"
        and r.tags.get("hrv/trigger") == "inbox"
        and "hrv/squad_run" not in r.tags
    ]
    assert len(retries) == 1 and retries[0].job_name == "athlete_assets"
    assert (tree.inbox / "sqbad" / f"{yesterday()}.md").exists()
    settle_runs = wait_for(lambda: quiet(instance), 60, "runs to finish", proc.tail)
    assert settle_runs


def squad_done(instance, run_id):
    run = instance.get_run_by_id(run_id)
    return run is not None and run.is_finished
