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
from tests.conftest import yesterday
from tests.e2e.conftest import forecast, settle
from tests.e2e.harness import materializations, runs, wait_for

pytestmark = pytest.mark.e2e
JOURNAL_AND_DOWNSTREAM = AthleteRun("x", "inbox", "k").selection() or []


@pytest.fixture(scope="module")
def live(inbox_daemon):
    return inbox_daemon


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
    alerts = wait_for(  # the alert follows the move by a moment
        lambda: (
            (a := [x for x in read_alerts(tree.data) if x["kind"] == "rejected_file"])
            and len(a) >= 4
            and a
        ),
        30,
        "four rejected-file alerts",
    )
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
