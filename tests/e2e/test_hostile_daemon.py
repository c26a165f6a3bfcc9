"""Hostile and odd inputs, all at once, against the real daemon: each file concerned gets
its reason, the rest keep flowing, nothing is lost or doubled."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import pytest

from hrv.alerting.book import read_alerts
from hrv.intake.journal import JournalEntry
from hrv.intake.source_folder import NOT_REGULAR
from hrv.storage.athlete_store import AthleteStore, IncomingEntry
from tests.e2e.conftest import forecast, live_daemon
from tests.e2e.harness import quiet, wait_for

pytestmark = pytest.mark.e2e


def csv_rows(days: int, end: dt.date, base: float) -> str:
    rows = ["date,rmssd_ms,resting_hr_bpm"]
    for k in range(days):
        day = end - dt.timedelta(days=days - 1 - k)
        rows.append(f"{day},{base + (k * 7) % 11:.1f},{50 + k % 5}.0")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_daemon(
        tmp_path_factory, "hostile", HRV_INBOX_SETTLE_SECONDS="1", HRV_SOURCES_SETTLE_SECONDS="1"
    ) as live:
        yield live


def test_hostile_files_get_their_reasons_and_the_rest_flows(live):
    tree, instance, proc = live
    today = dt.date.today()
    day = today - dt.timedelta(days=3)

    # ann's day is stored as 7 h of sleep; a correction (9 h) and its revert (7 h, newer)
    # arrive in one tick
    AthleteStore(tree.data, "ann").ingest_journal(
        [
            IncomingEntry(
                JournalEntry.model_validate({"date": day, "athlete": "ann", "sleep_hours": 7}),
                "seed",
                None,
            )
        ],
        dt.datetime.now(dt.UTC),
    )
    ann = tree.inbox / "ann"
    ann.mkdir()
    staged = tree.root / "staged"
    staged.mkdir()
    (staged / "fix.md").write_text(f"---\ndate: {day}\nsleep_hours: 9\n---\n")
    (staged / "undo.md").write_text(f"---\ndate: {day}\nsleep_hours: 7\n---\n")
    now = time.time()
    os.utime(staged / "fix.md", (now - 60, now - 60))
    os.utime(staged / "undo.md", (now - 30, now - 30))
    # a journal from a clock 10 minutes ahead
    (staged / f"{today}.md").write_text("---\nmood: 4\nsleep_hours: 8\n---\nclock ahead\n")
    os.utime(staged / f"{today}.md", (now + 600, now + 600))
    # an editor at work: Emacs's lock symlink and autosave
    os.symlink("me@laptop.4242:1700000000", ann / f".#{today}.md")
    (ann / f"#{today}.md#").write_text("---\nmood: 1\n")
    # a JSON journal typed with a key twice
    (staged / "twice.json").write_text(
        f'{{"date": "{today - dt.timedelta(days=1)}", "sleep_hours": 7, "sleep_hours": 5}}'
    )
    for name in ("fix.md", "undo.md", f"{today}.md", "twice.json"):
        os.rename(staged / name, ann / name)

    # sources: bob's export beside a named pipe; carl's export named by a Latin-1 tool
    (tree.sources / "bob").mkdir()
    os.mkfifo(tree.sources / "bob" / "live.csv")
    (tree.sources / "bob" / "hrv.csv").write_text(csv_rows(40, today, 60.0))
    (tree.sources / "carl").mkdir()
    with open(os.fsencode(tree.sources / "carl") + b"/caf\xe9.csv", "wb") as fh:
        fh.write(csv_rows(40, today, 45.0).encode())

    def done():
        pending = [p for p in ann.iterdir() if not p.name.startswith(("#", "."))]
        return not pending and forecast(tree, "bob") and forecast(tree, "carl") and quiet(instance)

    wait_for(done, 240, "every file decided and bob's and carl's forecasts", proc.tail)

    # the newest file of the tick won; both versions are in the audit log
    versions = [
        v for v in AthleteStore(tree.data, "ann").journal_versions() if v["date"] == str(day)
    ]
    assert [v["entry"]["sleep_hours"] for v in versions] == [7, 9, 7]
    # the clock-ahead journal was read, once
    stored = {v["date"]: v for v in AthleteStore(tree.data, "ann").journal_versions()}
    assert stored[str(today)]["entry"]["sleep_hours"] == 8
    processed = sorted(p.name for p in (tree.inbox / "processed" / "ann").iterdir())
    assert processed == sorted(["fix.md", "undo.md", f"{today}.md"])
    # the duplicate key: rejected, naming the key and both values
    report = json.loads((tree.inbox / "rejected" / "ann" / "twice.json.error.json").read_text())
    assert "duplicate key 'sleep_hours'" in json.dumps(report)
    # the editor's files: left alone, never rejected nor alerted
    assert (ann / f".#{today}.md").is_symlink() and (ann / f"#{today}.md#").exists()
    alerts = read_alerts(tree.data)
    assert not [a for a in alerts if f"{today}.md#" in json.dumps(a) or ".#" in json.dumps(a)]
    # the pipe: reported with its reason, never opened; bob's readings read beside it
    status = json.loads((tree.data / "sources_status.json").read_text())
    assert NOT_REGULAR in json.dumps(status)
    assert [a for a in alerts if a["kind"] == "rejected_file" and "live.csv" in a["title"]]
    assert forecast(tree, "bob")["athlete"] == "bob"
    # the Latin-1 name: renamed to its escaped bytes and read
    assert (tree.sources / "carl" / "caf%E9.csv").exists()
    assert len(AthleteStore(tree.data, "carl").readings()) == 40


def test_rows_written_after_the_file_was_archived_are_read_too(live):
    """A CSV journal whose writer stalls past the settle time: the first rows are read and
    the file archived; the rows written afterwards land in the archived file. It goes back
    to the inbox and is read again: the store holds every row, and the archived bytes are
    the bytes stored."""
    tree, instance, proc = live
    days = [dt.date.today() - dt.timedelta(days=10 - i) for i in range(7)]
    rows = [f"{d},{6 + i % 3},{2 + i % 3}\n" for i, d in enumerate(days)]
    (tree.inbox / "cleo").mkdir()
    path = tree.inbox / "cleo" / "history.csv"
    archived = tree.inbox / "processed" / "cleo" / "history.csv"
    with path.open("w") as fh:
        fh.write("date,sleep_hours,stress\n" + "".join(rows[:5]))
        fh.flush()
        wait_for(archived.exists, 90, "the first five rows read and the file archived", proc.tail)
        fh.write("".join(rows[5:]))  # the writer wakes up: into the archived file
    stored = lambda: {v["date"] for v in AthleteStore(tree.data, "cleo").journal_versions()}  # noqa: E731
    wait_for(lambda: len(stored()) == 7 and quiet(instance), 120, "all seven rows", proc.tail)
    assert stored() == {str(d) for d in days}
    (final,) = list((tree.inbox / "processed" / "cleo").iterdir())
    assert final.read_text() == "date,sleep_hours,stress\n" + "".join(rows)
    assert not [p for p in (tree.inbox / "cleo").iterdir()]


def test_a_journal_saved_again_slowly_while_its_run_starts_is_not_rejected(live):
    """An editor re-saves the file (half of it, a pause, the rest) after its run was
    requested: whatever the run reads, the file is never rejected as half a journal."""
    tree, instance, proc = live
    day = dt.date.today() - dt.timedelta(days=1)
    (tree.inbox / "bea").mkdir()
    path = tree.inbox / "bea" / f"{day}.md"
    full = "---\nsleep_hours: 7.5\nmood: 4\nstress: 2\n---\nslow save\n"
    path.write_text("---\nsleep_hours: 7\n---\n")
    since = time.time()
    wait_for(
        lambda: (
            any(r.tags.get("athlete") == "bea" for r in instance.get_runs() if r.status is not None)
            and time.time() > since
        ),
        60,
        "a run for bea",
        proc.tail,
    )
    # the slow save: half, then the rest 0.6 s later. (Shorter than the settle time: a
    # writer that stalls longer than that fools any settle-time rule, the sensor's too.)
    with path.open("w") as fh:
        fh.write(full[:20])
        fh.flush()
        time.sleep(0.6)
        fh.write(full[20:])
    stored = lambda: {  # noqa: E731
        v["date"]: v["entry"] for v in AthleteStore(tree.data, "bea").journal_versions()
    }
    wait_for(
        lambda: stored().get(str(day), {}).get("mood") == 4 and quiet(instance),
        120,
        "the full journal stored",
        proc.tail,
    )
    assert not (tree.inbox / "rejected" / "bea").exists()


def test_a_typod_day_already_stored_is_withdrawn_by_a_file_with_its_audit_trail(live):
    """A day stored with a typo'd year (2062: before dates were bounded, or a true mistake)
    is withdrawn by dropping a withdrawal for it; the features end at the real last day
    again, and the log keeps the entry, the withdrawal, who dropped it and why."""
    tree, instance, proc = live
    today = dt.date.today()
    store = AthleteStore(tree.data, "dev")
    (tree.sources / "dev").mkdir()
    (tree.sources / "dev" / "hrv.csv").write_text(csv_rows(30, today, 50.0))
    typo = dt.date(2062, today.month, min(today.day, 28))
    # stored as an older version would have accepted it (the validator refuses it today)
    entry = JournalEntry.model_construct(
        **{
            **JournalEntry.model_validate({"date": today, "athlete": "dev"}).model_dump(),
            "date": typo,
            "sleep_hours": 7.0,
        }
    )
    store.ingest_journal([IncomingEntry(entry, "dev/typo.md", None)], dt.datetime.now(dt.UTC))
    (tree.inbox / "dev").mkdir()
    (tree.inbox / "dev" / "withdraw.md").write_text(
        f"---\ndate: {typo}\nwithdrawn: true\nreason: typo for {today.year}\n---\n"
    )
    wait_for(
        lambda: (
            (tree.inbox / "processed" / "dev" / "withdraw.md").exists()
            and store.features_path.exists()
            and quiet(instance)
        ),
        180,
        "the withdrawal processed and features rebuilt",
        proc.tail,
    )
    assert str(typo) not in {e["date"] for e in store.effective_journal()}
    last = store.features_path.read_text().strip().splitlines()[-1].split(",")[0]
    assert last <= str(today + dt.timedelta(days=1)), last
    (first, withdrawal) = [v for v in store.journal_versions() if v["date"] == str(typo)]
    assert withdrawal["entry"]["withdrawn"] is True
    assert withdrawal["entry"]["reason"] == f"typo for {today.year}"
    assert withdrawal["supersedes"] == first["entry_sha"]
    assert withdrawal["source_file"] == "dev/withdraw.md" and withdrawal["ingested_at"]


def test_typos_limits_and_an_unwritable_data_folder_on_the_daemon(live):
    """On the running daemon: a journal dated 2062 is rejected naming the date; two files
    with the same 255-byte name both end rejected with their reports; while data/ cannot
    take the alert (alerts.jsonl is a folder here, which stops root too) a bad file stays
    in the inbox, and once it can, the alert is recorded and the file moves."""
    from hrv.alerting.book import ALERTS_FILE

    tree, _instance, proc = live
    (tree.inbox / "gus").mkdir()
    typo = tree.inbox / "gus" / "2062-11-20.md"
    typo.write_text("---\nsleep_hours: 7\n---\n")
    report = tree.inbox / "rejected" / "gus" / "2062-11-20.md.error.json"
    wait_for(report.exists, 60, "the 2062 journal rejected", proc.tail)
    assert "2062-11-20 is after tomorrow" in report.read_text()

    long_name = "n" * 252 + ".md"
    for k in range(2):
        (tree.inbox / "gus" / long_name).write_text(f"---\nmood: {8 + k}\n---\n")
        wait_for(
            lambda k=k: len(list((tree.inbox / "rejected" / "gus").glob("n*.error.json"))) == k + 1,
            60,
            f"long name {k + 1} rejected with its report",
            proc.tail,
        )

    alerts = tree.data / ALERTS_FILE
    kept = alerts.read_bytes() if alerts.exists() else b""
    alerts.unlink(missing_ok=True)
    alerts.mkdir()
    bad = tree.inbox / "gus" / "stress.md"
    bad.write_text("---\nstress: 11\n---\n")
    time.sleep(10)  # two inbox ticks at least
    assert bad.exists()  # not moved away unreported
    alerts.rmdir()
    alerts.write_bytes(kept)
    wait_for(
        lambda: not bad.exists(), 60, "the bad file rejected once data/ is writable", proc.tail
    )
    assert [a for a in read_alerts(tree.data) if "gus/stress.md" in a["title"]]
    # the report is written right after the move (it names where the file went)
    wait_for(
        (tree.inbox / "rejected" / "gus" / "stress.md.error.json").exists,
        10,
        "the rejected file's report",
        proc.tail,
    )
