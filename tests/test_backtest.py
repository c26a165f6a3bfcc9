"""``hrv-sentinel backtest``: the history replayed evening by evening, out of sample."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from hrv.analytics.backtest import replay
from hrv.intake.exports import merge_readings, parse_source_file

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "exports"
CONTRACT_KEYS = {
    "athlete",
    "metric",
    "n_days",
    "evaluated_days",
    "model_mae_ms",
    "persistence_mae_ms",
    "rolling_7d_mae_ms",
    "bias_ms",
    "interval_level",
    "interval_coverage",
}


def real(rel: str, athlete: str = "a") -> list[dict]:
    result = parse_source_file(FIXTURES / rel, folder_athlete=athlete)
    return merge_readings([(0, rel, result)], athlete)


def test_an_evening_never_sees_its_future():
    """The forecasts made up to an evening are the same whether or not later mornings
    exist: nothing after the evening (selection included) leaks into them."""
    readings = real("whoop/dev-ale__recovery.json")  # 71 real nights
    whole = replay("a", [], readings, last=12)
    cut = whole.evenings[5].for_date
    truncated = replay("a", [], [r for r in readings if r["date"] <= cut], last=6)
    assert truncated.evenings == whole.evenings[:6]  # identical forecasts, bit for bit
    assert whole.evaluated_days == 12


def test_report_numbers_are_what_the_evenings_say():
    report = replay("a", [], real("whoop/dev-ale__recovery.json"), last=10)
    ev = report.evenings
    assert report.evaluated_days == len(ev) == 10
    mae = sum(abs(e.predicted_ms - e.actual_ms) for e in ev) / len(ev)
    assert report.model_mae_ms == pytest.approx(mae, abs=1e-3)
    assert report.interval_coverage == pytest.approx(sum(e.covered for e in ev) / 10, abs=1e-3)
    assert sum(report.models_used.values()) == 10


def run(tmp_path, *args):
    env = {**os.environ, "HRV_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "hrv-sentinel"), "backtest", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )


def test_cli_on_a_real_export_json_and_table(tmp_path):
    src = tmp_path / "exports" / "devale"
    src.mkdir(parents=True)
    (src / "recovery.json").write_bytes((FIXTURES / "whoop/dev-ale__recovery.json").read_bytes())
    done = run(tmp_path, "--json", "--last", "5", "--no-progress", str(tmp_path / "exports"))
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    assert set(report) >= CONTRACT_KEYS
    assert report["athlete"] == "devale" and report["evaluated_days"] == 5
    assert report["n_days"] == 71 and report["interval_level"] == 0.8
    table = run(tmp_path, "--last", "3", "--no-progress", str(tmp_path / "exports"))
    assert table.returncode == 0 and table.stdout.splitlines()[1].startswith("devale")


def test_cli_usage_errors(tmp_path):
    assert run(tmp_path, "nope").returncode == 2
    empty = run(tmp_path)  # no data store yet
    assert empty.returncode == 2 and "no history for any athlete" in empty.stderr
    assert "hrv-sentinel backtest --athlete alice --last 60" in run(tmp_path, "--help").stdout
