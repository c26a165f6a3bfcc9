"""Drop-to-forecast latency by run coordination: where the seconds of one journal go.

    .venv/bin/python -m benchmarks.coordinator_latency [DROPS [VARIANT-WORDS...]]

For each way of coordinating runs on the laptop instance, the real daemon, an athlete with
a year of history, DROPS single journals (default 7) one after the other; per drop:

- detect + submit: the file written -> the run created by the inbox sensor;
- queue: created -> the run's process started (the coordinator's dequeue, the launch);
- run: started -> the run finished (process start, imports, the steps);
- total: the file written -> ``agent_forecast.json`` rewritten.

Variants: the ``QueuedRunCoordinator`` as shipped (``dequeue_interval_seconds: 1``, the
smallest value it takes: an int), the same with ``dequeue_use_threads``, and the
``DefaultRunCoordinator`` (a run is launched by the sensor's own submit, no queue: no
per-athlete limit, no cap on concurrent runs).
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.run import ROOT, TODAY, Daemon, forecast_mtime, seed_history_file
from tests.conftest import Tree
from tests.e2e.harness import wait_for

QUEUED = {
    "module": "dagster.core.run_coordinator",
    "class": "QueuedRunCoordinator",
    "config": {
        "max_concurrent_runs": 4,
        "dequeue_interval_seconds": 1,
        "tag_concurrency_limits": [
            {"key": "athlete", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ],
    },
}
# (run coordinator, settings): how runs are coordinated, and how one athlete is run
ASSET_RUN = {"HRV_SQUAD_MIN_ATHLETES": "4"}  # one athlete: an asset run of athlete_assets
EXECUTOR = {"HRV_SQUAD_MIN_ATHLETES": "1"}  # one athlete: the squad executor, a run of one
VARIANTS = {
    "queued (shipped), an asset run": (QUEUED, ASSET_RUN),
    "queued (shipped), the squad executor": (QUEUED, EXECUTOR),
    "default coordinator (no queue), an asset run": (
        {"module": "dagster.core.run_coordinator", "class": "DefaultRunCoordinator"},
        ASSET_RUN,
    ),
}


def measure(
    name: str, coordinator: dict, env: dict[str, str], drops: int, root: Path
) -> list[dict[str, float]]:
    tree = Tree(root)
    for p in (tree.inbox, tree.sources, tree.data):
        p.mkdir(parents=True)
    settle = {"HRV_INBOX_SETTLE_SECONDS": "1", "HRV_SOURCES_SETTLE_SECONDS": "1"}
    daemon = Daemon(ROOT / "definitions.py", tree, root, settle | env)
    config_path = daemon.home / "dagster.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["run_coordinator"] = coordinator
    config_path.write_text(yaml.safe_dump(config))
    out = []
    with daemon:
        seed_history_file(tree, "vet", 365, 1)
        wait_for(lambda: forecast_mtime(tree, "vet"), 240, "vet's history", daemon.proc.tail)
        time.sleep(3)
        for k in range(drops):
            day = TODAY - dt.timedelta(days=7 - k)  # a new evening each time, as in make bench
            before = forecast_mtime(tree, "vet")
            t0 = time.time()
            (tree.inbox / "vet" / f"vet-{day}-{k}.md").write_text(
                f"---\ndate: {day}\nsleep_hours: 7\nmood: {k % 5 + 1}\n---\n"
            )
            wait_for(
                lambda b=before: forecast_mtime(tree, "vet") != b, 180, "forecast", interval=0.02
            )
            total = time.time() - t0
            time.sleep(1.5)
            record = max(
                (
                    r
                    for r in daemon.instance.get_run_records()
                    if r.create_timestamp.timestamp() >= t0
                ),
                key=lambda r: r.create_timestamp,
            )
            created = record.create_timestamp.timestamp()
            started = record.start_time or created
            ended = record.end_time or started
            out.append(
                {
                    "detect_submit": created - t0,
                    "queue": started - created,
                    "run": ended - started,
                    "total": total,
                }
            )
            print(name, {k: round(v, 2) for k, v in out[-1].items()}, flush=True)
            time.sleep(1)
    return out


def main() -> int:
    drops = min(7, int(sys.argv[1])) if len(sys.argv) > 1 else 7
    rows = []
    chosen = [v for v in VARIANTS if not sys.argv[2:] or any(a in v for a in sys.argv[2:])]
    for name in chosen:
        coordinator, env = VARIANTS[name]
        with tempfile.TemporaryDirectory() as tmp:
            got = measure(name, coordinator, env, drops, Path(tmp))
        med = {k: statistics.median(g[k] for g in got) for k in got[0]}
        rows.append((name, med, max(g["total"] for g in got)))
    print(f"\n| coordination | detect + submit | queue | run | total (median of {drops}) | max |")
    print("|---|---|---|---|---|---|")
    for name, med, worst in rows:
        print(
            f"| {name} | {med['detect_submit']:.2f} s | {med['queue']:.2f} s | "
            f"{med['run']:.2f} s | **{med['total']:.2f} s** | {worst:.2f} s |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
