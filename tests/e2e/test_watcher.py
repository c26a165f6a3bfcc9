"""The watchdog watcher: a verdict per dropped file in well under a second, read-only."""

import os
import queue
import subprocess
import sys
import threading
import time

import pytest

from tests.e2e.harness import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture
def watcher(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hrv.cli.watcher", "--inbox", str(inbox)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
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
        proc.wait(timeout=10)


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
