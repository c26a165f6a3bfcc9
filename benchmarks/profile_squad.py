"""Profile a squad: N athletes with a history and yesterday's model, one new journal each,
updated against a real instance (the laptop's SQLite, or PostgreSQL) in this process.

Two designs, on the same data: ``squad`` (one squad run that walks every athlete's steps
and records them per athlete, what the sensors request) and ``asset-runs`` (an asset run
of ``athlete_assets`` per athlete, executed one after the other in this warm process: the
previous squad design, and what any asset run costs).

    python -m benchmarks.profile_squad                  # 20 athletes, SQLite, squad
    python -m benchmarks.profile_squad --athletes 50 --postgres --days 365
    python -m benchmarks.profile_squad --design asset-runs --profile out.prof

Prints the seconds per athlete and where they go: the steps' own work (hrv/), Dagster's
bookkeeping (storage, events, planning), imports.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def seed(data: Path, athletes: list[str], days: int, end: dt.date) -> None:
    """``days`` of history, and yesterday's model (as the previous evening's run left it)."""
    from benchmarks.run import history
    from hrv.intake.journal import JournalEntry
    from hrv.steps.features import build_features
    from hrv.steps.model import train
    from hrv.storage.athlete_store import AthleteStore, IncomingEntry

    now = dt.datetime.now(dt.UTC)
    for i, a in enumerate(athletes):
        journals, readings = history(a, days, end, 100 + i)
        store = AthleteStore(data, a)
        store.ingest_journal(
            [IncomingEntry(JournalEntry.model_validate(j), "seed", None) for j in journals], now
        )
        store.write_readings(
            [
                {
                    "date": str(d),
                    "metric": "rmssd",
                    "value_ms": v,
                    "source_format": "seed",
                    "source_file": "seed",
                }
                for d, v in readings
            ]
        )
        build_features(data, a)
        train(data, a)


def instance_yaml(home: Path, postgres: bool, consolidated: bool = False) -> None:
    text = (ROOT / "deploy" / "dagster.local.yaml").read_text()
    if consolidated:
        text += (
            "\nevent_log_storage:\n  module: dagster.core.storage.event_log\n"
            "  class: ConsolidatedSqliteEventLogStorage\n  config:\n"
            f"    base_dir: {home}/history/\n"
        )
    if postgres:
        db = f"hrv_profile_{os.getpid()}"
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"],
            check=True,
        )
        text += (
            "\nstorage:\n  postgres:\n    postgres_db:\n      hostname: 127.0.0.1\n"
            f"      username: postgres\n      password: ''\n      db_name: {db}\n"
            "      port: 5432\n      scheme: postgresql+psycopg2\n"
        )
    (home / "dagster.yaml").write_text(text)


def categorize(stats: pstats.Stats, total: float) -> list[tuple[str, float]]:
    """Self time by the area of code it was spent in."""
    areas = {
        "hrv steps (ours)": ("/hrv/",),
        "pandas/numpy": ("/pandas/", "/numpy/"),
        "scikit-learn/scipy": ("/sklearn/", "/scipy/"),
        "matplotlib": ("/matplotlib/", "/PIL/"),
        "sqlite/sqlalchemy": ("sqlite3", "/sqlalchemy/", "_sqlite"),
        "postgres driver": ("psycopg2",),
        "dagster storage": ("/dagster/_core/storage/", "/dagster_postgres/"),
        "dagster events/execution": ("/dagster/_core/execution/", "/dagster/_core/events/"),
        "dagster definitions/planning": ("/dagster/_core/definitions/", "/dagster/_core/"),
        "serialization": ("/dagster_shared/", "/pydantic", "json"),
    }
    sums = dict.fromkeys(areas, 0.0)
    sums["other"] = 0.0
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tt, _ct, _callers) in raw.items():
        where = f"{filename}:{name}"
        for area, needles in areas.items():
            if any(n in where for n in needles):
                sums[area] += tt
                break
        else:
            sums["other"] += tt
    return sorted(sums.items(), key=lambda kv: -kv[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--athletes", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--pooled", action="store_true", help="pooled database connections")
    parser.add_argument("--consolidated", action="store_true", help="one SQLite event log")
    parser.add_argument("--profile", type=Path, help="write the cProfile stats here")
    parser.add_argument("--design", choices=("squad", "asset-runs"), default="squad")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hrv-profile-"))
    home, data, inbox = tmp / "home", tmp / "data", tmp / "inbox"
    for p in (home, data, inbox, tmp / "sources"):
        p.mkdir()
    instance_yaml(home, args.postgres, args.consolidated)
    os.environ.update(
        DAGSTER_HOME=str(home),
        HRV_DATA_DIR=str(data),
        HRV_INBOX_DIR=str(inbox),
        HRV_SOURCES_DIR=str(tmp / "sources"),
    )
    t_import = time.perf_counter()
    import dagster as dg

    from assets import ASSETS, ATHLETE_JOB, CHECKS, SQUAD_JOB, athlete_assets_job
    from assets.runs import AthleteRun, squad_run_request
    from assets.squad import pool_connections, squad_update_job
    from hrv.settings import load_settings
    from resources import build_resources

    imported = time.perf_counter() - t_import
    today = dt.date.today()
    athletes = [f"p{i:04d}" for i in range(args.athletes)]
    seed(data, athletes, args.days, today - dt.timedelta(days=1))
    resources = build_resources(load_settings())
    defs = dg.Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[athlete_assets_job, squad_update_job],
        resources=resources,
    )
    asset_job, squad_job = defs.resolve_job_def(ATHLETE_JOB), defs.resolve_job_def(SQUAD_JOB)
    instance = dg.DagsterInstance.get()
    if args.pooled or args.design == "squad":  # a squad run pools its connections itself
        pool_connections(instance)
    instance.add_dynamic_partitions("athletes", athletes)
    for a in athletes:
        (inbox / a).mkdir()
        (inbox / a / f"{today}.md").write_text("---\nsleep_hours: 7\nmood: 3\n---\n")
        old = time.time() - 60
        os.utime(inbox / a / f"{today}.md", (old, old))

    def member(a: str) -> AthleteRun:
        return AthleteRun(a, "inbox", f"profile:{a}", files=[f"{a}/{today}.md"])

    def run(group: list[str]) -> float:
        t = time.perf_counter()
        if args.design == "squad":
            request = squad_run_request([member(a) for a in group])
            result = squad_job.execute_in_process(
                run_config=request.run_config, instance=instance, tags=request.tags
            )
            assert result.success
        for a in group if args.design == "asset-runs" else []:
            m = member(a)
            result = asset_job.execute_in_process(
                run_config=m.run_config(),
                instance=instance,
                partition_key=a,
                asset_selection=m.selection(),
                tags=m.run_tags(),
            )
            assert result.success
        return time.perf_counter() - t

    first = run(athletes[:1])  # warms caches (imports on first use)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    run(athletes[1:])
    profiler.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(profiler)
    if args.profile:
        stats.dump_stats(args.profile)
    n = len(athletes) - 1
    print(
        f"{args.design}, {'PostgreSQL' if args.postgres else 'SQLite'}: imports "
        f"{imported:.2f} s, first athlete {first:.2f} s, then {wall / n:.3f} s per athlete "
        f"({n} athletes, {args.days} days, under cProfile)"
    )
    total = sum(tt for (_cc, _nc, tt, _ct, _c) in stats.stats.values())  # type: ignore[attr-defined]
    for area, seconds in categorize(stats, total):
        print(f"  {area:32s} {seconds / n:7.3f} s per athlete  {100 * seconds / total:5.1f} %")
    hrv = {
        k: v
        for k, v in stats.stats.items()  # type: ignore[attr-defined]
        if "/hrv/steps/" in k[0] and v[3] > 0
    }
    print("  steps (cumulative, per athlete):")
    for (filename, _line, name), v in sorted(hrv.items(), key=lambda kv: -kv[1][3])[:12]:
        print(f"    {Path(filename).stem}.{name:28s} {v[3] / n:7.3f} s")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
