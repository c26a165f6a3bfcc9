"""`make bench`: ours vs the stock design, measured in the same run on the same data.

Prints a table and writes benchmarks/results.json:
{scenario: {"ours": number, "stock": number | null, "unit": "...", "note": "..."}}.
Real daemon, embedded SQLite instance (deploy/dagster.local.yaml), this machine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from benchmarks.stock import definitions as stock_defs
from hrv.analytics.features import build_daily_features, journal_frame, readings_frame
from hrv.analytics.models import LEARNED, _fit, _predict, fit_final, select_model, training_rows
from hrv.demo import SQUAD, simulate
from hrv.intake.journal import JournalEntry
from hrv.storage.athlete_store import AthleteStore, IncomingEntry
from sensors.inbox import PARSE_CACHE, inbox_sensor
from tests.conftest import Tree
from tests.e2e.harness import BIN, ROOT, DagsterProcess, embedded_home, wait_for

RESULTS: dict[str, dict] = {}
TODAY = dt.date.today()
PROFILE = next(p for p in SQUAD if p.athlete == "alice")


def record(name: str, ours: float, stock: float | None, unit: str, note: str = "") -> None:
    RESULTS[name] = {
        "ours": round(ours, 3),
        "stock": None if stock is None else round(stock, 3),
        "unit": unit,
        "note": note,
    }
    ratio = f"{stock / ours:8.1f}x" if stock and ours else "       -"
    print(
        f"{name:24s} {ours:10.2f} {'' if stock is None else f'{stock:10.2f}':>10s} "
        f"{ratio}  {unit}  {note}",
        flush=True,
    )


def history(athlete: str, days: int, end: dt.date, seed: int):
    sim = simulate(PROFILE, days, end, seed)
    journals = [{**d.journal, "athlete": athlete} for d in sim if d.journal]
    readings = [(d.date, d.morning_rmssd_ms) for d in sim if d.morning_rmssd_ms]
    return journals, readings


def write_sources(tree: Tree, athlete: str, readings) -> None:
    (tree.sources / athlete).mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{d},{v}\n" for d, v in readings)
    (tree.sources / athlete / "hrv.csv").write_text("date,rmssd_ms\n" + rows)


def median_time(fn: Callable[[], object], n: int) -> float:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


# --------------------------------------------------------------------------- train
def stock_daily_refit(frame) -> None:
    """The obvious walk-forward: refit every learned model for every evaluation day."""
    rows = training_rows(frame)
    for i in range(14, len(rows)):
        for name in LEARNED:
            _predict(_fit(name, rows.iloc[:i]), rows.iloc[[i]])


def bench_train() -> None:
    times = {}
    for days in (90, 365, 1095):
        journals, readings = history("ann", days, TODAY, 3)
        frame = build_daily_features(
            journal_frame(JournalEntry.model_validate(j).model_dump(mode="json") for j in journals),
            readings_frame(
                {
                    "date": str(d),
                    "metric": "rmssd",
                    "value_ms": v,
                    "resting_hr_bpm": None,
                    "source_format": "b",
                }
                for d, v in readings
            ),
        )
        ours = median_time(lambda f=frame: fit_final(f, select_model(f)), 3)
        stock = median_time(lambda f=frame: stock_daily_refit(f), 1) if days <= 365 else None
        times[days] = ours
        note = "stock: refit every day" + ("" if days <= 365 else " (not run: ~minutes)")
        record(f"train_{days}d", ours, stock, "s", note)
    growth = times[1095] / times[365]
    RESULTS["train_1095d"]["note"] += (
        f"; 365->1095 days x{growth:.2f} for 3x data (linear or better)"
    )


# --------------------------------------------------------------------------- forecast
FORECAST_EVENINGS = 30  # per series here; `make bench-forecast` replays 120


def bench_forecast() -> None:
    """Forecast error on real nightly series (120+ nights), the last evenings replayed as
    they arrived: ours and the stock rule (lowest backtest MAE) against the 7-day mean."""
    from benchmarks.forecast_quality import series
    from hrv.analytics.backtest import replay_rules
    from hrv.analytics.selection import lowest_mae

    ours_rel, stock_rel, ours_cov, stock_cov = [], [], [], []
    for name, (entries, readings) in series().items():
        if "synthetic" in name or len(readings) < 120:
            continue
        ours, stock = replay_rules(
            name, entries, readings, (None, lowest_mae), last=FORECAST_EVENINGS
        )
        base = ours.rolling_7d_mae_ms
        if not (base and ours.model_mae_ms and stock.model_mae_ms):
            continue
        ours_rel.append(ours.model_mae_ms / base)
        stock_rel.append(stock.model_mae_ms / base)
        ours_cov.append(ours.interval_coverage or 0.0)
        stock_cov.append(stock.interval_coverage or 0.0)
    n = len(ours_rel)
    record(
        "forecast_mae_vs_7d_mean",
        statistics.median(ours_rel),
        statistics.median(stock_rel),
        "ratio",
        f"median over {n} real series of MAE / 7-day mean's MAE, last {FORECAST_EVENINGS} "
        f"evenings each (worst: ours {max(ours_rel):.2f}, stock {max(stock_rel):.2f})",
    )
    record(
        "forecast_coverage_80",
        statistics.median(ours_cov),
        statistics.median(stock_cov),
        "share",
        f"median share of mornings inside the 80% interval, same {n} series",
    )


# --------------------------------------------------------------------------- tick
def make_files(root: Path, n_pending: int, n_processed: int) -> None:
    old = time.time() - 3600
    for i in range(n_pending):
        folder = root / "inbox" / f"a{i % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        day = TODAY - dt.timedelta(days=i // 100)
        p = folder / f"{day}-{i}.json"
        p.write_text(f'{{"date": "{day}", "mood": {1 + i % 5}}}')
        os.utime(p, (old, old))
    for i in range(n_processed):
        folder = root / "inbox" / "processed" / f"a{i % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"old-{i}.json").touch()


def bench_tick() -> None:
    with (
        tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp,
        dg.instance_for_test() as instance,
    ):
        root = Path(tmp)
        tree = Tree(root)
        tree.data.mkdir()
        res = {k: v for k, v in tree.resources().items() if k in ("inbox", "store", "settings")}
        make_files(root, 10_000, 10_000)

        def ours_tick():
            with dg.build_sensor_context(instance=instance, resources=res) as ctx:
                return inbox_sensor(ctx)

        def stock_tick():
            os.environ["HRV_INBOX_DIR"] = str(tree.inbox)
            return stock_defs.stock_inbox_sensor(dg.build_sensor_context(instance=instance))

        PARSE_CACHE._data.clear()
        t0 = time.perf_counter()
        first = ours_tick()
        cold = time.perf_counter() - t0
        warm_10k = median_time(ours_tick, 5)
        stock_10k = median_time(stock_tick, 3)
        make_files(root, 0, 90_000)  # the archive grows to 100,000
        warm_100k = median_time(ours_tick, 5)
        stock_100k = median_time(stock_tick, 3)
        n_stock = len(stock_tick().run_requests)
        record(
            "tick_10k_pending_10k_done",
            warm_10k,
            stock_10k,
            "s",
            f"first (cold) tick {cold:.2f} s: validates 10,000 files once",
        )
        record(
            "tick",
            warm_100k,
            stock_100k,
            "s",
            f"10,000 pending, 100,000 processed; ours requests {len(first.run_requests)} "
            f"runs per tick, stock {n_stock} (+~0.4 s each to submit: "
            f"~{n_stock * 0.4:.0f} s, past the 60 s tick timeout)",
        )


# --------------------------------------------------------------------------- daemon
class Daemon:
    def __init__(
        self,
        defs_file: Path,
        tree: Tree,
        root: Path,
        env: dict[str, str],
        server: bool = False,
    ):
        if server:  # the server's instance: PostgreSQL from DAGSTER_PG_* in env
            import shutil

            self.home = root / "home-server"
            self.home.mkdir(parents=True)
            shutil.copy(ROOT / "dagster.yaml", self.home / "dagster.yaml")
            os.environ.update(env)  # this process opens the same instance
        else:
            self.home = embedded_home(root / f"home-{defs_file.parent.name}")
        full = {
            **os.environ,
            **tree.env(),
            **env,
            "DAGSTER_HOME": str(self.home),
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = DagsterProcess(
            [str(BIN / "dagster-daemon"), "run", "-f", str(defs_file), "-d", str(ROOT)],
            full,
            root / f"daemon-{defs_file.parent.name}.log",
        )

    def __enter__(self) -> Daemon:
        self.proc.start()
        self.instance = dg.DagsterInstance.from_config(str(self.home))
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.stop()
        self.instance.dispose()

    def peak_rss(self) -> float | None:
        values = []
        records = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["agent", "agent_forecast"])), limit=1000
        ).records
        # the forecast step logs it (developer data: not in the asset's metadata)
        for run_id in {r.run_id for r in records}:
            for entry in self.instance.all_logs(run_id):
                match = re.search(r"run worker peak RSS ([0-9.]+) MB", entry.user_message or "")
                if match:
                    values.append(float(match.group(1)))
        return max(values) if values else None


def forecast_mtime(tree: Tree, athlete: str) -> int:
    p = tree.outputs(athlete) / "agent_forecast.json"
    return p.stat().st_mtime_ns if p.exists() else 0


def seed_history_file(tree: Tree, athlete: str, days: int, seed: int) -> None:
    journals, readings = history(athlete, days, TODAY - dt.timedelta(days=8), seed)
    write_sources(tree, athlete, readings)
    folder = tree.inbox / athlete
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{athlete}-history.json").write_text(json.dumps(journals))


def single_drops(d: Daemon, tree: Tree, athlete: str, n: int) -> list[float]:
    out = []
    for k in range(1, n + 1):
        day = TODAY - dt.timedelta(days=8) + dt.timedelta(days=k)
        before = forecast_mtime(tree, athlete)
        t0 = time.time()
        (tree.inbox / athlete / f"{athlete}-{day}.md").write_text(
            f"---\ndate: {day}\nsleep_hours: 7\nmood: {k % 5 + 1}\n---\n"
        )
        wait_for(
            lambda b=before: forecast_mtime(tree, athlete) != b,
            180,
            f"{athlete}'s forecast",
            d.proc.tail,
            interval=0.05,
        )
        out.append(time.time() - t0)
        time.sleep(1)
    return out


def drain(d: Daemon, tree: Tree, athlete: str, timeout: float) -> None:
    wait_for(
        lambda: not any((tree.inbox / athlete).iterdir()) and forecast_mtime(tree, athlete),
        timeout,
        f"{athlete}'s burst",
        d.proc.tail,
        interval=0.1,
    )


def burst_files(tree: Tree, athlete: str, n: int, seed: int) -> list[tuple[Path, str]]:
    journals, readings = history(athlete, 365, TODAY - dt.timedelta(days=8), seed)
    write_sources(tree, athlete, readings)
    folder = tree.inbox / athlete
    return [(folder / f"{athlete}-{j['date']}.json", json.dumps(j)) for j in journals[:n]]


def bench_daemon(root: Path) -> float:
    """Laptop (SQLite): one journal's latency and a year's burst, ours and stock; returns
    stock's seconds per file (what its squads would cost)."""
    settle = {"HRV_INBOX_SETTLE_SECONDS": "1", "HRV_SOURCES_SETTLE_SECONDS": "1"}
    tree = Tree(root / "ours")
    for p in (tree.inbox, tree.sources, tree.data):
        p.mkdir(parents=True)
    ours = Daemon(ROOT / "definitions.py", tree, root / "ours", settle)
    stree = Tree(root / "stock")
    for p in (stree.inbox, stree.sources, stree.data):
        p.mkdir(parents=True)
    stock = Daemon(ROOT / "benchmarks" / "stock" / "definitions.py", stree, root / "stock", settle)

    with ours:
        seed_history_file(tree, "vet", 365, 1)
        wait_for(lambda: forecast_mtime(tree, "vet"), 240, "vet's history", ours.proc.tail)
        time.sleep(2)
        lat = single_drops(ours, tree, "vet", 5)
        files = burst_files(tree, "rookie", 365, 2)
        t0 = time.time()
        for path, text in files:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        drain(ours, tree, "rookie", 600)
        burst = time.time() - t0
        record("latency", statistics.median(lat), None, "s", "(stock below)")
        record("burst", burst, None, "s", "(stock below)")
        rss = ours.peak_rss()

    with stock:
        seed_history_file(stree, "vet", 365, 1)
        wait_for(lambda: forecast_mtime(stree, "vet"), 300, "stock vet's history", stock.proc.tail)
        time.sleep(2)
        slat = single_drops(stock, stree, "vet", 3)
        subset = 12
        sfiles = burst_files(stree, "rookie", subset, 2)
        t0 = time.time()
        for path, text in sfiles:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        drain(stock, stree, "rookie", 900)
        per_file = (time.time() - t0) / subset
        sburst = per_file * 365
        srss = stock.peak_rss()

    record(
        "latency",
        statistics.median(lat),
        statistics.median(slat),
        "s",
        f"one journal -> agent_forecast.json, year of history; median of {len(lat)} "
        f"(max {max(lat):.1f}) vs {len(slat)}",
    )
    record(
        "burst",
        burst,
        sburst,
        "s",
        f"365 files at once -> all processed; stock measured on {subset} files, x365/{subset}",
    )
    record("memory_run_worker", rss or 0.0, srss, "MB", "peak RSS of a run worker (max over runs)")
    return per_file


TEMPLATES = 25  # distinct simulated athletes a squad is seeded from


def seed_squad(
    d: Daemon, tree: Tree, athletes: list[str], days: int, end: dt.date | None = None
) -> None:
    """``days`` of history for each athlete, and yesterday's model, as a normal morning
    finds them (written directly, no runs): ``TEMPLATES`` distinct athletes simulated and
    trained, the rest copies of them under their own names (seeding 1,000 athletes by
    training each would take longer than the squad)."""
    import shutil

    from hrv.steps.features import build_features
    from hrv.steps.model import train

    now = dt.datetime.now(dt.UTC)
    d.instance.add_dynamic_partitions("athletes", athletes)
    for i, a in enumerate(athletes):
        store = AthleteStore(tree.data, a)
        if i < TEMPLATES:
            journals, readings = history(a, days, end or TODAY - dt.timedelta(days=1), 100 + i)
            store.ingest_journal(
                [IncomingEntry(JournalEntry.model_validate(j), "seed", None) for j in journals],
                now,
            )
            store.write_readings(
                [
                    {
                        "date": str(day),
                        "metric": "rmssd",
                        "value_ms": v,
                        "source_format": "seed",
                        "source_file": "seed",
                    }
                    for day, v in readings
                ]
            )
            build_features(tree.data, a)
            train(tree.data, a)
        else:
            template = athletes[i % TEMPLATES]
            shutil.copytree(AthleteStore(tree.data, template).dir, store.dir)
            log = store.dir / "journal_log.jsonl"
            log.write_text(log.read_text().replace(f'"{template}"', f'"{a}"'))
        src = tree.sources / athletes[i % TEMPLATES] / "hrv.csv"
        (tree.sources / a).mkdir(parents=True, exist_ok=True)
        if i >= TEMPLATES:
            shutil.copy(src, tree.sources / a / "hrv.csv")
        else:
            write_sources(tree, a, readings)


def drop_days(tree: Tree, athletes: list[str], days: list[dt.date]) -> None:
    """One journal per athlete and day, as a squad's phones or a sync would drop them."""
    for a in athletes:
        folder = tree.inbox / a
        folder.mkdir(parents=True, exist_ok=True)
        for day in days:
            (folder / f"{day}.md").write_text(f"---\ndate: {day}\nsleep_hours: 7\nmood: 3\n---\n")


def wait_squad(d: Daemon, tree: Tree, athletes: list[str], timeout: float) -> None:
    """Every athlete's forecast rewritten and every dropped file taken."""

    def done() -> bool:
        return all(
            forecast_mtime(tree, a) and not any((tree.inbox / a).iterdir()) for a in athletes
        )

    wait_for(done, timeout, "the squad", d.proc.tail, interval=0.5)


def bench_squad(
    d: Daemon, tree: Tree, n: int = 200, days: int = 60, files: int = 1
) -> tuple[float, list[str]]:
    """``n`` athletes with ``days`` stored and yesterday's models, then ``files`` new days
    each (the last ``files`` days up to today), dropped at once."""
    athletes = [f"sq{i:04d}" for i in range(n)]
    seed_squad(d, tree, athletes, days - files, TODAY - dt.timedelta(days=files))
    time.sleep(8)  # let the sources sensor see the (already stored) exports: no runs
    t0 = time.time()
    drop_days(tree, athletes, [TODAY - dt.timedelta(days=k) for k in range(files - 1, -1, -1)])
    wait_squad(d, tree, athletes, 1800)
    return time.time() - t0, athletes


CHECKS_QUERY = """{ assetNodes { assetKey { path }
  assetChecksOrError { ... on AssetChecks { checks { name
    partitionStatuses { ... on AssetCheckDefaultPartitionStatuses {
      succeededPartitions failedPartitions } } } } } } }"""


def check_coverage(d: Daemon, tree: Tree, root: Path, athletes: list[str]) -> tuple[float, int]:
    """(share of (check, athlete) pairs the UI counts, number of checks): the webserver's
    GraphQL `partitionStatuses`, what every check's Partitions tab shows, for every check
    of every asset the athlete has materialized (the readings of a seeded athlete were
    written directly, never materialized: their checks have nothing to show)."""
    from tests.e2e.harness import free_port, graphql

    port = free_port()
    env = {**os.environ, **tree.env(), "DAGSTER_HOME": str(d.home)}
    web = DagsterProcess(
        [
            str(BIN / "dagster-webserver"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-f",
            str(ROOT / "definitions.py"),
            "-d",
            str(ROOT),
        ],
        env,
        root / f"web-{d.home.name}.log",
    ).start()
    try:

        def nodes():
            try:
                return graphql(port, CHECKS_QUERY)["assetNodes"]
            except Exception:
                return None

        found = wait_for(nodes, 120, "the webserver", web.tail)
        counted, expected, n_checks = 0, 0, 0
        for node in found:
            if node["assetKey"]["path"][-1] == "squad_board":
                continue
            key = dg.AssetKey(node["assetKey"]["path"])
            materialized = d.instance.get_materialized_partitions(key) & set(athletes)
            for check in node["assetChecksOrError"]["checks"]:
                n_checks += 1
                st = check["partitionStatuses"] or {}
                shown = set(st.get("succeededPartitions", [])) | set(st.get("failedPartitions", []))
                counted += len(shown & materialized)
                expected += len(materialized)
        return counted / max(expected, 1), n_checks
    finally:
        web.stop()


def run_timeline(d: Daemon, seconds: float) -> list[dg.RunRecord]:
    """The squad runs of the scenario, and when each was created, started and ended
    (printed: where the scenario's seconds went)."""
    records = [
        r for r in d.instance.get_run_records(filters=dg.RunsFilter(job_name="squad_update"))
    ]
    if not records:
        return []
    t0 = min(r.create_timestamp.timestamp() for r in records)
    for r in sorted(records, key=lambda r: r.create_timestamp):
        created = r.create_timestamp.timestamp() - t0
        started = (r.start_time or 0) - t0 if r.start_time else float("nan")
        ended = (r.end_time or 0) - t0 if r.end_time else float("nan")
        print(
            f"    squad run {r.dagster_run.run_id[:8]}: {r.dagster_run.tags.get('hrv/squad')} "
            f"athletes, created +{created:.1f} s, started +{started:.1f} s, ended "
            f"+{ended:.1f} s ({r.dagster_run.status.value})",
            flush=True,
        )
    return records


class ServerInstance:
    """A fresh PostgreSQL database, the server's instance (root dagster.yaml) on it and
    the real daemon: what a coach's server runs."""

    def __init__(self, root: Path, name: str):
        self.db = f"hrv_bench_{name}_{os.getpid()}"
        self.root = root / name
        self.tree = Tree(self.root)

    def __enter__(self) -> Daemon:
        import subprocess

        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {self.db}"],
            check=True,
        )
        for p in (self.tree.inbox, self.tree.sources, self.tree.data):
            p.mkdir(parents=True)
        pg = {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": "5432",
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": self.db,
        }
        settle = {"HRV_INBOX_SETTLE_SECONDS": "1", "HRV_SOURCES_SETTLE_SECONDS": "1"}
        self.daemon = Daemon(
            ROOT / "definitions.py", self.tree, self.root, settle | pg, server=True
        )
        return self.daemon.__enter__()

    def __exit__(self, *exc: object) -> None:
        import subprocess

        self.daemon.__exit__(*exc)
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-qc",
                f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)",
            ],
            check=False,
        )


def bench_server(root: Path, per_file: float | None, which: set[str]) -> None:
    """The squad scenarios on the server's instance (PostgreSQL), each on a fresh
    database: 200 athletes x 1 day, 300 athletes x 10 days, 1,000 athletes x 1 day; and,
    after each, how many of every check's athletes the UI counts."""
    scenarios = {
        "squad": (200, 60, 1),
        "burst_squad": (300, 60, 10),
        "squad_1000": (1000, 90, 1),
    }
    for name, (n, days, files) in scenarios.items():
        if name not in which:
            continue
        server = ServerInstance(root, name)
        with server as d:
            seconds, athletes = bench_squad(d, server.tree, n, days, files)
            coverage, n_checks = check_coverage(d, server.tree, server.root, athletes)
            squads = run_timeline(d, seconds)
        stock = per_file * n * files if per_file else None
        record(
            name,
            seconds,
            stock,
            "s",
            f"{n} athletes x {files} new day(s) ({days} days each) -> all forecasts, "
            f"PostgreSQL; {len(squads)} squad runs; UI counts {coverage:.1%} of "
            f"{n_checks} checks x {n} athletes; stock not run: {n * files} files x its "
            "measured per-file rate",
        )
        RESULTS[name]["check_status_coverage"] = round(coverage, 4)


SERVER = ("squad", "burst_squad", "squad_1000")


def main(argv: list[str]) -> int:
    """`make bench` runs every scenario; arguments pick some: train, forecast, tick,
    daemon, squad, burst_squad, squad_1000."""
    started = time.time()
    everything = {"train", "forecast", "tick", "daemon", *SERVER}
    chosen = set(argv) or everything
    print(f"{'scenario':24s} {'ours':>10s} {'stock':>10s} {'stock/ours':>9s}  unit  note")
    if "train" in chosen:
        bench_train()
    if "forecast" in chosen:
        bench_forecast()
    if "tick" in chosen:
        bench_tick()
    # a killed run worker may still be writing when the folder is removed: never mind
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        per_file = bench_daemon(Path(tmp)) if "daemon" in chosen else None
        if chosen & set(SERVER):
            bench_server(Path(tmp), per_file, chosen)
    if chosen != everything:
        print(f"\npartial run ({', '.join(sorted(chosen))}) in {time.time() - started:.0f} s")
        return 0
    RESULTS["make_bench"] = {
        "ours": round(time.time() - started, 1),
        "stock": None,
        "unit": "s",
        "note": "wall time of this make bench",
    }
    out = ROOT / "benchmarks" / "results.json"
    out.write_text(json.dumps(RESULTS, indent=2) + "\n")
    print(f"\nwrote {out} in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
