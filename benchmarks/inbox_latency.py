"""Drop-to-forecast latency on the real daemon (embedded SQLite instance).

    .venv/bin/python -m benchmarks.inbox_latency

1. one journal file for an athlete with a year of history -> agent_forecast.json updated
   (repeated; median and max);
2. a new athlete's year as 365 files dropped at once -> all processed and forecast.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hrv.demo import SQUAD, simulate
from tests.conftest import Tree
from tests.e2e.harness import daemon, embedded_home, wait_for

SETTLE = "1.0"


def forecast(tree: Tree, athlete: str) -> dict | None:
    path = tree.outputs(athlete) / "agent_forecast.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def year_files(
    tree: Tree, athlete: str, days: int, end: dt.date, seed: int
) -> list[tuple[Path, str]]:
    """Journal files for ``days`` days ending at ``end``; readings run 6 days further."""
    profile = next(p for p in SQUAD if p.athlete == "alice")
    sim = simulate(profile, days + 6, end + dt.timedelta(days=6), seed)
    files = []
    lines = ["date,rmssd_ms"]
    for d in sim:
        if d.journal and d.date <= end:
            body = json.dumps({k: v for k, v in d.journal.items()})
            files.append((tree.inbox / athlete / f"{d.date}.json", body))
        if d.morning_rmssd_ms:
            lines.append(f"{d.date},{d.morning_rmssd_ms}")
    (tree.sources / athlete).mkdir(parents=True, exist_ok=True)
    (tree.sources / athlete / "hrv.csv").write_text("\n".join(lines) + "\n")
    return files


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Tree(Path(tmp))
        for p in (tree.inbox, tree.sources, tree.data):
            p.mkdir()
        home = embedded_home(Path(tmp) / "home")
        proc = daemon(home, {**tree.env(), "HRV_INBOX_SETTLE_SECONDS": SETTLE}, Path(tmp) / "d.log")
        proc.start()
        try:
            end = dt.date.today() - dt.timedelta(days=8)
            (tree.inbox / "vet").mkdir()
            for path, body in year_files(tree, "vet", 365, end, 1):
                path.write_text(body)
            wait_for(lambda: forecast(tree, "vet"), 300, "the history run", proc.tail)
            singles = []
            for k in range(1, 6):
                day = end + dt.timedelta(days=k)
                out = tree.outputs("vet") / "agent_forecast.json"
                before = out.stat().st_mtime_ns
                t0 = time.time()
                (tree.inbox / "vet" / f"{day}.md").write_text(
                    f"---\nsleep_hours: 7\nmood: {k % 5 + 1}\n---\n"
                )
                wait_for(
                    lambda out=out, before=before: out.stat().st_mtime_ns != before,
                    120,
                    f"forecast after {day}",
                    proc.tail,
                    interval=0.05,
                )
                singles.append(time.time() - t0)

            (tree.inbox / "rookie").mkdir()
            files = year_files(tree, "rookie", 365, end, 2)
            t0 = time.time()
            for path, body in files:
                path.write_text(body)
            wait_for(
                lambda: not any((tree.inbox / "rookie").iterdir()) and forecast(tree, "rookie"),
                600,
                "the 365-file burst",
                proc.tail,
                interval=0.1,
            )
            burst = time.time() - t0
        finally:
            proc.stop()
    print(f"settle time {SETTLE} s; sensor daemon ticks every ~5 s")
    print(f"{'scenario':44s} {'seconds':>8s}")
    print(f"{'one file -> forecast (median of 5)':44s} {statistics.median(singles):8.1f}")
    print(f"{'one file -> forecast (max of 5)':44s} {max(singles):8.1f}")
    print(f"{'365 files at once -> all processed + forecast':44s} {burst:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
