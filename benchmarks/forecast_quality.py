"""Forecast quality on real nightly HRV series, replayed evening by evening (issue 13).

For each series (real exports their owners published: tests/fixtures/exports/README.md,
and a synthetic demo athlete), every evening is forecast with only what was known that
evening, selection included, by two procedures:
- ours: the recent level moved by the journal unless a candidate beats it by a margin
  the backtest supports; adaptive conformal intervals from the procedure's own recent
  out-of-sample errors;
- stock: the candidate with the lowest backtest MAE wins (the rule before issue 13).
Reported beside each: what the procedure itself would have *reported* on the evening of
its last forecast (training_metrics' model MAE), to compare with what it *achieved*.

    .venv/bin/python -m benchmarks.forecast_quality [--last N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from hrv.analytics.backtest import replay_rules
from hrv.analytics.features import build_daily_features, journal_frame, readings_frame
from hrv.analytics.models import select_model
from hrv.analytics.selection import lowest_mae
from hrv.demo import SQUAD, simulate
from hrv.intake.exports import merge_readings, parse_source_file

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "exports"
REAL = {
    "onatsf (WHOOP)": "whoop/onatsf__physiological_cycles.csv",
    "haquannes (WHOOP)": "whoop/haquannes__physiological_cycles.csv",
    "TheOneRichy (WHOOP)": "whoop/TheOneRichy__physiological_cycles.csv",
    "pedrodbsa (Garmin)": "garmin/pedrodbsa__hrv.csv",
    "dev-ale (WHOOP API)": "whoop/dev-ale__recovery.json",
    "themontypython (Oura)": "oura/themontypython__sleep.json",
    # found after the recent level's weight (0.15) was chosen on the six above: held out
    "Fletchlives15 (WHOOP)": "whoop/Fletchlives15__physiological_cycles.csv",
    "celiamorse (WHOOP)": "whoop/celiamorse__physiological_cycles.csv",
    "Jamie-Kennedy98 (WHOOP)": "whoop/Jamie-Kennedy98__physiological_cycles.csv",
    "PaulRiedlsperger (WHOOP)": "whoop/PaulRiedlsperger__physiological_cycles.csv",
    "davidlparks (Oura)": "oura/davidlparks__oura_sleep.csv",
}


def series() -> dict[str, tuple[list[dict], list[dict]]]:
    out = {}
    for name, rel in REAL.items():
        result = parse_source_file(FIXTURES / rel, folder_athlete="a")
        out[name] = ([], merge_readings([(0, rel, result)], "a"))
    profile = next(p for p in SQUAD if p.athlete == "alice")
    sim = simulate(profile, 240, dt.date(2026, 6, 30), 7)
    journal = [{**d.journal, "athlete": "a"} for d in sim if d.journal]
    readings = [
        {
            "date": d.date.isoformat(),
            "metric": "rmssd",
            "value_ms": d.morning_rmssd_ms,
            "resting_hr_bpm": None,
            "source_format": "demo",
        }
        for d in sim
        if d.morning_rmssd_ms
    ]
    out["demo alice (synthetic)"] = (journal, readings)
    return out


def reported(entries, readings, rule) -> float | None:
    """What training_metrics would say on the last evening: ours reports the realised
    MAE of the procedure, stock the selected candidate's backtest MAE."""
    frame = build_daily_features(journal_frame(entries), readings_frame(readings))
    sel = select_model(frame, rule=rule)
    if rule is None:
        return sel.realised.get("mae_ms")
    return sel.mae_ms.get(sel.selected_model)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--last", type=int, default=None, help="evenings per series")
    args = parser.parse_args(argv)
    rows = []
    head = (
        f"{'series':24} {'days':>4} {'eval':>4} | {'ours':>6} {'stock':>6} {'persist':>7} "
        f"{'7d mean':>7} | {'cov ours':>8} {'cov stk':>7} | {'rep ours':>8} {'rep stk':>7} "
        f"| {'bias':>5}"
    )
    print(head, flush=True)
    for name, (entries, readings) in series().items():
        ours, stock = replay_rules(name, entries, readings, (None, lowest_mae), last=args.last)
        row = {
            "series": name,
            "n_days": ours.n_days,
            "evaluated_days": ours.evaluated_days,
            "ours_mae_ms": ours.model_mae_ms,
            "stock_mae_ms": stock.model_mae_ms,
            "persistence_mae_ms": ours.persistence_mae_ms,
            "rolling_7d_mae_ms": ours.rolling_7d_mae_ms,
            "ours_coverage": ours.interval_coverage,
            "stock_coverage": stock.interval_coverage,
            "ours_reported_mae_ms": reported(entries, readings, None),
            "stock_reported_mae_ms": reported(entries, readings, lowest_mae),
            "ours_bias_ms": ours.bias_ms,
            "ours_models": ours.models_used,
        }
        rows.append(row)

        def f(v, w=6, d=2):
            return f"{'-':>{w}}" if v is None else f"{v:>{w}.{d}f}"

        print(
            f"{name:24} {row['n_days']:>4} {row['evaluated_days']:>4} | {f(row['ours_mae_ms'])} "
            f"{f(row['stock_mae_ms'])} {f(row['persistence_mae_ms'], 7)} "
            f"{f(row['rolling_7d_mae_ms'], 7)} | {f(row['ours_coverage'], 8)} "
            f"{f(row['stock_coverage'], 7)} | {f(row['ours_reported_mae_ms'], 8)} "
            f"{f(row['stock_reported_mae_ms'], 7)} | {f(row['ours_bias_ms'], 5, 1)}",
            flush=True,
        )
    out = Path(__file__).with_name("forecast_quality.json")
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
