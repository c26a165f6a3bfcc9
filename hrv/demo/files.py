"""The demo squad as a user would drop it: journals in inbox/, vendor exports in sources/."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path

import numpy as np
import yaml

from hrv.demo.simulate import SQUAD, AthleteProfile, DemoDay, MeasuredDay, simulate


def _md(journal: dict, athlete: str | None, note: str) -> str:
    front = dict(journal)
    if athlete:
        front = {"athlete": athlete, **front}
    return "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n" + note + "\n"


NOTES = (
    "Felt fine.",
    "Long day at work.",
    "Legs heavy after the session.",
    "Slept badly, noisy.",
    "Good energy today.",
    "Dinner with friends.",
    "Bit of a sore throat.",
    "Easy day.",
)


def write_journals(profile: AthleteProfile, days: list[DemoDay], inbox: Path, seed: int) -> int:
    rng = np.random.default_rng(seed + 1)
    entries = [d.journal for d in days if d.journal]
    n = 0
    if profile.journal_style == "csv_plus_md":
        folder = inbox / profile.athlete
        folder.mkdir(parents=True, exist_ok=True)
        history, recent = entries[:-14], entries[-14:]
        buf = io.StringIO()
        cols = [
            "date",
            "sleep_hours",
            "sleep_quality",
            "stress",
            "mood",
            "soreness",
            "alcohol_units",
            "caffeine_mg",
            "late_meal",
            "illness",
            "travel",
            "training_type",
            "training_minutes",
            "training_rpe",
            "hrv_guess_ms",
        ]
        writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        writer.writeheader()
        for e in history:
            row = {k: e.get(k) for k in cols if k in e}
            if e["training"]:
                s = e["training"][0]
                row.update(
                    training_type=s["type"], training_minutes=s["minutes"], training_rpe=s["rpe"]
                )
            writer.writerow(row)
        (folder / "history.csv").write_text(buf.getvalue(), encoding="utf-8")
        n += 1
        for e in recent:
            body = {k: v for k, v in e.items() if k != "date"}
            (folder / f"{e['date']}.md").write_text(_md(body, None, str(rng.choice(NOTES))))
            n += 1
    elif profile.journal_style == "json_yaml":
        folder = inbox / profile.athlete
        folder.mkdir(parents=True, exist_ok=True)
        for i, e in enumerate(entries):
            if i % 2:
                (folder / f"{e['date']}.yaml").write_text(yaml.safe_dump(e, sort_keys=False))
            else:
                (folder / f"{e['date']}.json").write_text(json.dumps(e, indent=1))
            n += 1
    elif profile.journal_style == "md_named":
        for e in entries:
            path = inbox / f"{profile.athlete}-{e['date']}.md"
            path.write_text(_md(e, profile.athlete, str(rng.choice(NOTES))))
            n += 1
    else:
        for e in entries:
            body = {k: v for k, v in e.items() if k != "date"}
            (inbox / f"{e['date']}.md").write_text(_md(body, None, str(rng.choice(NOTES))))
            n += 1
    return n


def write_sources(
    profile: AthleteProfile, days: list[DemoDay], sources: Path, seed: int
) -> list[Path]:
    rng = np.random.default_rng(seed + 2)
    measured = [
        MeasuredDay(d.date, d.morning_rmssd_ms, d.resting_hr_bpm)
        for d in days
        if d.morning_rmssd_ms is not None
    ]
    written: list[Path] = []
    if profile.source_style == "generic_csv":
        path = sources / profile.athlete / "hrv.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["date,rmssd_ms,resting_hr_bpm"]
        lines += [f"{d.date},{d.morning_rmssd_ms},{d.resting_hr_bpm}" for d in measured]
        path.write_text("\n".join(lines) + "\n")
        written.append(path)
    elif profile.source_style == "whoop":
        path = sources / profile.athlete / "physiological_cycles.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = [
            "Cycle start time",
            "Cycle end time",
            "Cycle timezone",
            "Recovery score %",
            "Resting heart rate (bpm)",
            "Heart rate variability (ms)",
            "Day Strain",
            "Sleep onset",
            "Wake onset",
        ]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        for d in measured:
            onset = dt.datetime.combine(
                d.date - dt.timedelta(days=1), dt.time(23, 0)
            ) + dt.timedelta(minutes=int(rng.integers(0, 90)))
            wake = dt.datetime.combine(d.date, dt.time(6, 30)) + dt.timedelta(
                minutes=int(rng.integers(0, 60))
            )
            w.writerow(
                [
                    onset.strftime("%Y-%m-%d %H:%M:%S"),
                    "",
                    "UTC+00:00",
                    int(
                        np.clip(
                            50
                            + 80 * (math.log(d.morning_rmssd_ms) - math.log(profile.base_rmssd_ms)),
                            1,
                            99,
                        )
                    ),
                    d.resting_hr_bpm,
                    d.morning_rmssd_ms,
                    round(float(rng.uniform(5, 18)), 1),
                    onset.strftime("%Y-%m-%d %H:%M:%S"),
                    wake.strftime("%Y-%m-%d %H:%M:%S"),
                ]
            )
        path.write_text(buf.getvalue())
        written.append(path)
    elif profile.source_style == "garmin":
        path = sources / profile.athlete / "hrv_summary.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = [
            {
                "hrvSummary": {
                    "calendarDate": d.date.isoformat(),
                    "weeklyAvg": None,
                    "lastNightAvg": round(d.morning_rmssd_ms),
                    "lastNight5MinHigh": round(d.morning_rmssd_ms * 1.4),
                    "status": "BALANCED",
                }
            }
            for d in measured
        ]
        path.write_text(json.dumps(doc, indent=1))
        written.append(path)
    else:
        sources.mkdir(parents=True, exist_ok=True)
        path = sources / "oura_sleep.json"
        data = []
        for d in measured:
            data.append(
                {
                    "id": f"s-{d.date}",
                    "day": d.date.isoformat(),
                    "type": "long_sleep",
                    "average_hrv": round(d.morning_rmssd_ms),
                    "lowest_heart_rate": d.resting_hr_bpm,
                    "total_sleep_duration": 26000,
                }
            )
            if rng.random() < 0.1:
                data.append(
                    {
                        "id": f"n-{d.date}",
                        "day": d.date.isoformat(),
                        "type": "late_nap",
                        "average_hrv": 20,
                        "lowest_heart_rate": 60,
                        "total_sleep_duration": 1800,
                    }
                )
        path.write_text(json.dumps({"data": data, "next_token": None}, indent=1))
        written.append(path)
        xml = sources / "export.xml"
        recs = []
        for d in measured:
            sdnn = round(d.morning_rmssd_ms * 1.15 + float(rng.normal(0, 4)), 1)
            stamp = f"{d.date} 07:{int(rng.integers(0, 59)):02d}:00 +0000"
            recs.append(
                f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" '
                f'sourceName="Watch" unit="ms" creationDate="{stamp}" startDate="{stamp}" '
                f'endDate="{stamp}" value="{sdnn}"/>'
            )
        xml.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
            + "\n".join(recs)
            + "\n</HealthData>\n"
        )
        written.append(xml)
    return written


def write_demo(
    inbox: Path,
    sources: Path,
    days: int = 180,
    end: dt.date | None = None,
    seed: int = 7,
    squad: tuple[AthleteProfile, ...] = SQUAD,
) -> dict[str, list[DemoDay]]:
    end = end or (dt.date.today() - dt.timedelta(days=1))
    inbox.mkdir(parents=True, exist_ok=True)
    sources.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, profile in enumerate(squad):
        sim = simulate(profile, days, end, seed + 101 * k)
        n_files = write_journals(profile, sim, inbox, seed + k)
        srcs = write_sources(profile, sim, sources, seed + k)
        print(
            f"{profile.athlete:8s} {n_files:4d} journal files, sources: "
            + ", ".join(str(p) for p in srcs)
        )
        out[profile.athlete] = sim
    return out
