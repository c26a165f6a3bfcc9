"""Real exports that their owners published (origins in tests/fixtures/exports/README.md):
every one yields exactly the nights its README row says, through the same reader the
sources sensor uses, and ``hrv-sentinel check`` prints the same counts."""

import io
import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from hrv.intake.exports import parse_source_bytes, parse_source_file

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(
    r"^\| `(?P<file>[^`]+)` \| (?P<format>[a-z0-9_]+) \| (?P<verdict>[a-z_]+) \| "
    r"(?P<nights>\d+) \| (?P<span>[0-9.\- —]+) \| (?P<skipped>\d+) \|"
)


def expected() -> list[dict[str, str]]:
    """The README's table: one row per real file, with what it must yield."""
    rows = []
    for line in (FIXTURES / "README.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            rows.append(m.groupdict())
    return rows


EXPECTED = expected()
IDS = [row["file"] for row in EXPECTED]


def span(result) -> str:
    dates = sorted({r.date for r in result.readings})
    return f"{dates[0]}..{dates[-1]}" if dates else "—"


def test_the_readme_lists_every_fixture_and_nothing_else():
    on_disk = {
        p.relative_to(FIXTURES).as_posix()
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.suffix != ".md"
    }
    assert on_disk == set(IDS) and len(IDS) >= 12


@pytest.mark.parametrize("row", EXPECTED, ids=IDS)
def test_each_real_export_yields_its_nights(row):
    result = parse_source_file(FIXTURES / row["file"], folder_athlete="someone")
    assert result.format == row["format"]
    assert result.verdict == row["verdict"], [str(e) for e in result.errors]
    nights = {(r.date, r.metric) for r in result.readings}
    assert len(nights) == len(result.readings) == int(row["nights"])  # one per wake day
    assert span(result) == row["span"].strip()
    assert result.n_skipped == int(row["skipped"])
    # every row is accounted for: read into a night, or skipped with a reason (Apple
    # Health averages a night's samples into one reading)
    accounted = len(result.readings) + result.n_skipped
    if result.format == "apple_health":
        assert result.rows_read >= accounted
    else:
        assert result.rows_read == accounted


@pytest.mark.parametrize(
    "row", [r for r in EXPECTED if int(r["nights"]) > 0], ids=lambda r: r["file"]
)
def test_zipped_as_downloaded_gives_the_same_nights(row):
    path = FIXTURES / row["file"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"export/{path.name}", path.read_bytes())
    result = parse_source_bytes("export.zip", buf.getvalue(), folder_athlete="someone")
    assert result.verdict == row["verdict"]
    assert len(result.readings) == int(row["nights"]) and span(result) == row["span"].strip()


def test_check_prints_the_same_counts(tmp_path):
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "hrv-sentinel"), "check", "--json", str(FIXTURES)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    got = {Path(v["file"]).relative_to(FIXTURES).as_posix(): v for v in json.loads(done.stdout)}
    for row in EXPECTED:
        v = got[row["file"]]
        assert (v["verdict"], v["nights"], sum(v["skipped"].values())) == (
            row["verdict"],
            int(row["nights"]),
            int(row["skipped"]),
        ), row["file"]


def test_whoop_nights_match_the_main_sleeps_of_the_owners_sleeps_file():
    """onatsf's sleeps.csv says which sleep opened each cycle (Nap=false) and when it
    ended: every HRV read from physiological_cycles.csv lands on that wake day, also the
    11 rows whose sleep columns show a nap taken later in the cycle."""
    import csv

    folder = FIXTURES / "whoop"
    cycles = list(csv.DictReader((folder / "onatsf__physiological_cycles.csv").open()))
    sleeps = list(csv.DictReader((folder / "onatsf__sleeps.csv").open()))
    wake_day = {
        s["Cycle start time"]: s["Wake onset"][:10]
        for s in sleeps
        if s["Nap"] == "false" and s["Sleep onset"] == s["Cycle start time"]
    }
    result = parse_source_file(folder / "onatsf__physiological_cycles.csv")
    read = {r.date.isoformat(): r.value_ms for r in result.readings}
    scored = [c for c in cycles if c["Heart rate variability (ms)"]]
    shows_a_later_nap = [c for c in scored if c["Sleep onset"] != c["Cycle start time"]]
    assert len(scored) == len(read) == 235 and len(shows_a_later_nap) == 11
    for c in scored:
        day = wake_day[c["Cycle start time"]]
        assert read[day] == float(c["Heart rate variability (ms)"]), c["Cycle start time"]
