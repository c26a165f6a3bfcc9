"""The watchdog watcher: a verdict per dropped file in well under a second, read-only."""

import datetime as dt
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

from hrv.intake.journal import JournalEntry
from hrv.storage.athlete_store import AthleteStore, IncomingEntry
from tests.e2e.harness import ROOT
from tests.test_check_cli import WHOOP

pytestmark = pytest.mark.e2e


@pytest.fixture
def watcher(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "sources").mkdir()
    store = AthleteStore(tmp_path / "data", "ann")
    store.ingest_journal(
        [IncomingEntry(JournalEntry(date=dt.date(2026, 11, 1), athlete="ann", mood=3), "x", None)],
        dt.datetime.now(dt.UTC),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hrv.cli.watcher",
            "--inbox",
            str(inbox),
            "--data",
            str(tmp_path / "data"),
            "--sources",
            str(tmp_path / "sources"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "HRV_INBOX_SETTLE_SECONDS": "1",
            "HRV_SOURCES_SETTLE_SECONDS": "1",
        },
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put((time.monotonic(), line.rstrip("\n")))

    threading.Thread(target=pump, daemon=True).start()
    first = lines.get(timeout=20)[1]
    assert "watching" in first
    try:
        yield inbox, lines
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
            raise AssertionError("the watcher did not stop on SIGTERM within 20 s") from None


def next_line(lines, needle, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            at, line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if needle in line:
            return at, line
    raise AssertionError(f"no line with {needle!r} within {timeout} s")


def test_verdicts_arrive_in_well_under_a_second_and_nothing_is_moved(watcher):
    inbox, lines = watcher
    (inbox / "ann").mkdir()
    time.sleep(0.3)

    t0 = time.monotonic()
    (inbox / "ann" / "2026-11-20.md").write_text("---\nsleep_hours: 7\n---\nok\n")
    at, line = next_line(lines, "2026-11-20.md")
    assert line.split(" ", 1)[1].startswith("✓ ann/2026-11-20.md: accepted for ann, 2026-11-20")
    assert at - t0 < 1.0

    t0 = time.monotonic()
    (inbox / "bad.json").write_text('{"date": "2026-11-20", "slep_hours": 7}')
    os.utime(inbox / "bad.json", (time.time() - 60, time.time() - 60))
    at, line = next_line(lines, "bad.json")
    assert "✗ will be rejected bad.json" in line and "did you mean 'sleep_hours'" in line
    assert at - t0 < 1.0

    t0 = time.monotonic()
    (inbox / "h.csv").write_text("date,mood\n2026-11-01,3\n2026-11-02,4\n")
    at, line = next_line(lines, "h.csv")
    assert "accepted for me, 2 days 2026-11-01..2026-11-02" in line and at - t0 < 1.0

    # read-only: every file is still where it was dropped
    assert sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file()) == [
        "ann/2026-11-20.md",
        "bad.json",
        "h.csv",
    ]


def test_sensor_archiving_is_reported(watcher):
    inbox, lines = watcher
    (inbox / "processed").mkdir()
    time.sleep(0.3)
    (inbox / "x.md").write_text("---\ndate: 2026-11-20\n---\n")
    next_line(lines, "x.md: accepted")
    os.replace(inbox / "x.md", inbox / "processed" / "x.md")
    next_line(lines, "→ processed/x.md: archived by the inbox sensor")


def test_a_file_put_into_the_archive_by_hand_is_told_it_will_not_be_read(watcher):
    inbox, lines = watcher
    (inbox / "rejected").mkdir(exist_ok=True)
    time.sleep(0.3)
    (inbox / "rejected" / "fixed.md").write_text("---\ndate: 2026-11-20\n---\n")
    next_line(lines, "✗ rejected/fixed.md: not read: inbox/rejected/ is an archive; move the file")


def test_duplicates_corrections_and_every_new_version_get_a_verdict(watcher):
    inbox, lines = watcher
    (inbox / "ann").mkdir()
    time.sleep(0.3)
    # ann's stored entry for 2026-11-01 says mood 3 (see the fixture)
    (inbox / "ann" / "2026-11-01.md").write_text("---\nmood: 3\n---\n")
    _, line = next_line(lines, "2026-11-01.md")
    assert "same content as stored for ann, will be archived without a run" in line
    (inbox / "ann" / "2026-11-01.md").write_text("---\nmood: 4\n---\n")  # a new version
    _, line = next_line(lines, "2026-11-01.md")
    assert "accepted for ann, 2026-11-01 (corrects the stored 2026-11-01)" in line
    (inbox / "ann" / "2026-11-01.md").write_text("---\nmood: 3\n---\n")  # and back
    _, line = next_line(lines, "2026-11-01.md")
    assert "same content as stored" in line


def test_a_file_that_will_be_rejected_says_so_once_settled_and_temp_files_are_silent(watcher):
    inbox, lines = watcher
    (inbox / "rejected" / "ann").mkdir(parents=True)
    time.sleep(0.3)
    t0 = time.monotonic()
    (inbox / "typo.json").write_text('{"date": "2026-11-20", "slep_hours": 7}')
    at, line = next_line(lines, "typo.json")
    assert "✗ will be rejected typo.json" in line and "did you mean 'sleep_hours'" in line
    assert 0.9 <= at - t0 < 3.0  # once settled (1 s here), never "not valid yet"
    # the sensor's temporary error report in the archive is not news
    (inbox / "rejected" / "ann" / ".2026-11-22.md.error.json.abc123.tmp").write_text("{}")
    (inbox / ".2026-11-22.md").write_text("x")  # hidden: no verdict of its own
    # the sensor archives by renaming within the inbox
    os.replace(inbox / ".2026-11-22.md", inbox / "rejected" / "ann" / "2026-11-22.md")
    _, line = next_line(lines, "rejected/")
    assert line.endswith("→ rejected/ann/2026-11-22.md: rejected by the inbox sensor")


def test_sources_drops_get_the_same_verdicts_as_check(watcher):
    inbox, lines = watcher
    sources = inbox.parent / "sources"
    (sources / "bob").mkdir()
    time.sleep(0.3)
    t0 = time.monotonic()
    (sources / "bob" / "physiological_cycles.csv").write_text(WHOOP)
    at, line = next_line(lines, "physiological_cycles.csv")
    assert "✓ sources/bob/physiological_cycles.csv: WHOOP (whoop_cycles) for bob, 2 nights" in line
    assert "2026-01-01..2026-01-02; 1 row skipped" in line and at - t0 < 1.0
    _, line = next_line(lines, "a nap or daytime sleep, not the night")
    (sources / "bob" / "workouts.csv").write_text(
        "Cycle start time,Cycle end time,Cycle timezone,Workout start time,Workout end time,"
        "Duration (min),Activity name,Activity Strain\n"
        "2026-01-01 23:00:00,,UTC+01:00,2026-01-02 17:00:00,2026-01-02 18:00:00,60,Running,12\n"
    )
    _, line = next_line(lines, "workouts.csv")
    assert "○ sources/bob/workouts.csv: no HRV data" in line
    t0 = time.monotonic()
    (sources / "bob" / "broken.json").write_text('{"data": [{"day": "2026-01-01"}]}')
    at, line = next_line(lines, "broken.json")
    assert "✗ sources/bob/broken.json: will be rejected:" in line and at - t0 >= 0.9
    (sources / "bob" / "notes.pdf").write_text("not an export")  # not listed by the sensor
    (sources / "bob" / "export.xml.part").write_text("<")  # a download in progress
    with pytest.raises(AssertionError):
        next_line(lines, "sources/bob/", timeout=1.5)
