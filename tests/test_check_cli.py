"""``hrv-sentinel check``: the command ``make install`` puts in ``.venv/bin/``, run as a user
runs it, on a tree laid out as the sensors see it."""

import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from hrv.intake.exports import parse_source_file

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ROOT / ".venv" / "bin" / "hrv-sentinel"
CONTRACT_KEYS = {
    "file",
    "verdict",
    "kind",
    "vendor",
    "athlete",
    "metric",
    "nights",
    "first_date",
    "last_date",
    "skipped",
    "errors",
}
# two nights and a 31-minute nap that wakes on the same day as the night before it
WHOOP = (
    "Cycle start time,Cycle end time,Cycle timezone,Recovery score %,Resting heart rate (bpm),"
    "Heart rate variability (ms),Sleep onset,Wake onset,Asleep duration (min)\n"
    "2026-01-02 14:28:00,,UTC+01:00,12,60,30,2026-01-02 14:28:00,2026-01-02 15:37:00,31\n"
    "2026-01-01 23:00:00,2026-01-02 14:28:00,UTC+01:00,80,48,70,"
    "2026-01-01 23:00:00,2026-01-02 07:00:00,430\n"
    "2025-12-31 23:00:00,2026-01-01 23:00:00,UTC+01:00,70,49,66,"
    "2025-12-31 23:00:00,2026-01-01 07:10:00,440\n"
)
WORKOUTS = (
    "Cycle start time,Cycle end time,Cycle timezone,Workout start time,Workout end time,"
    "Duration (min),Activity name,Activity Strain\n"
    "2026-01-01 23:00:00,,UTC+01:00,2026-01-02 17:00:00,2026-01-02 18:00:00,60,Running,12\n"
)


def run(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HRV_INBOX_DIR": str(tree / "inbox"),
        "HRV_SOURCES_DIR": str(tree / "sources"),
        "HRV_DATA_DIR": str(tree / "data"),
    }
    return subprocess.run(
        [str(COMMAND), *args], cwd=tree, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "inbox" / "processed").mkdir(parents=True)
    (tmp_path / "sources" / "bob").mkdir(parents=True)
    (tmp_path / "inbox" / "2026-01-01.md").write_text("---\nsleep_hours: 7\n---\nfine\n")
    (tmp_path / "inbox" / "processed" / "2025-01-01.md").write_text("archived: not read")
    (tmp_path / "sources" / "bob" / "physiological_cycles.csv").write_text(WHOOP)
    (tmp_path / "sources" / "bob" / "workouts.csv").write_text(WORKOUTS)
    return tmp_path


def by_file(out: str) -> dict[str, dict]:
    return {v["file"]: v for v in json.loads(out)}


def test_json_says_what_the_sensors_would_do_with_every_file(tree):
    done = run(tree, "check", "--json", "inbox", "sources")
    assert done.returncode == 0, done.stderr
    got = by_file(done.stdout)
    assert set(got) == {
        "inbox/2026-01-01.md",
        "sources/bob/physiological_cycles.csv",
        "sources/bob/workouts.csv",
    }  # the inbox archive is not read by the sensor, so not by check
    for v in got.values():
        assert set(v) >= CONTRACT_KEYS
    whoop = got["sources/bob/physiological_cycles.csv"]
    assert whoop["verdict"] == "partial" and whoop["vendor"] == "WHOOP"
    assert whoop["kind"] == "wearable_export" and whoop["athlete"] == "bob"
    assert whoop["metric"] == "rmssd" and whoop["nights"] == 2
    assert (whoop["first_date"], whoop["last_date"]) == ("2026-01-01", "2026-01-02")
    assert whoop["skipped"] == {"a nap or daytime sleep, not the night": 1}
    assert got["sources/bob/workouts.csv"]["verdict"] == "not_hrv"
    journal = got["inbox/2026-01-01.md"]
    assert journal["kind"] == "journal" and journal["verdict"] == "ok"
    assert journal["athlete"] == "me" and journal["nights"] == 1


def test_a_zip_as_downloaded_gives_the_same_counts(tree):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("my_whoop_data/physiological_cycles.csv", WHOOP)
        zf.writestr("my_whoop_data/workouts.csv", WORKOUTS)
    (tree / "sources" / "bob" / "physiological_cycles.csv").unlink()
    (tree / "sources" / "bob" / "workouts.csv").unlink()
    (tree / "sources" / "bob" / "my_whoop_data.zip").write_bytes(buf.getvalue())
    done = run(tree, "check", "--json", "sources/bob/my_whoop_data.zip")
    (v,) = json.loads(done.stdout)
    assert done.returncode == 0
    assert (v["verdict"], v["vendor"], v["nights"], v["athlete"]) == ("partial", "WHOOP", 2, "bob")


def test_a_wearable_export_in_the_inbox_is_rejected_with_where_it_belongs(tree):
    (tree / "inbox" / "bob").mkdir()
    (tree / "inbox" / "bob" / "physiological_cycles.csv").write_text(WHOOP)
    done = run(tree, "check", "inbox")
    assert done.returncode == 1
    line = next(x for x in done.stdout.splitlines() if "physiological_cycles" in x)
    assert line.startswith("✗ inbox/bob/physiological_cycles.csv: rejected:")
    assert "wearable export (WHOOP (whoop_cycles), 2 nights)" in line
    assert "go in sources/bob/" in line


def test_human_output_lists_skipped_rows_with_reasons(tree):
    done = run(tree, "check", "sources/bob")
    assert done.returncode == 0
    out = done.stdout
    assert "✓ sources/bob/physiological_cycles.csv: WHOOP (whoop_cycles) for bob, 2 nights" in out
    assert "1 × a nap or daytime sleep, not the night" in out
    assert "e.g. row 2:" in out and "31 min asleep" in out
    assert "○ sources/bob/workouts.csv: no HRV data" in out
    assert out.rstrip().endswith("2 file(s): 1 not_hrv, 1 partial")


def test_exit_status_means_something(tree):
    assert run(tree, "check", "sources/bob/workouts.csv").returncode == 3  # nothing usable
    missing = run(tree, "check", "nope.csv")
    assert missing.returncode == 2 and "nope.csv: no such file or folder" in missing.stderr
    (tree / "bad.json").write_text('{"date": "2026-01-01", "slep_hours": 7}')
    bad = run(tree, "check", "--json", "bad.json")
    (v,) = json.loads(bad.stdout)
    assert bad.returncode == 1 and v["kind"] == "journal" and v["verdict"] == "rejected"
    assert any("did you mean 'sleep_hours'" in e for e in v["errors"])
    usage = run(tree, "check")
    assert usage.returncode == 2


def test_help_shows_examples(tree):
    done = run(tree, "check", "--help")
    assert done.returncode == 0
    assert "hrv-sentinel check ~/Downloads/my_whoop_data.zip" in done.stdout
    assert "exit status: 0 all usable" in done.stdout


def test_a_loose_file_is_judged_by_content_for_the_named_athlete(tree):
    (tree / "hrv.csv").write_text("date;rmssd_ms\n2026-01-01;50,5\n2026-01-02;52\n")
    done = run(tree, "check", "--json", "--athlete", "ann", "hrv.csv")
    (v,) = json.loads(done.stdout)
    assert (v["verdict"], v["athlete"], v["nights"], v["format"]) == ("ok", "ann", 2, "generic_csv")


def test_progress_is_reported_as_a_big_export_is_read(tmp_path):
    """The bar of ``check`` follows the bytes the parser has really read."""
    rows = "".join(f"2026-01-{d:02d},{40 + d}\n" for d in range(1, 29))
    path = tmp_path / "big.csv"
    path.write_text("date,rmssd_ms\n" + rows + "# padding\n" * 400_000)
    seen: list[int] = []
    result = parse_source_file(path, progress=seen.append)
    assert len(result.readings) == 28
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size and len(seen) >= 2
