"""An athlete's own work for one new day, step by step, without Dagster: the floor under
every run, whatever executes it.

    .venv/bin/python -m benchmarks.step_work [DAYS] [NEW_DAYS]

An athlete with DAYS of history (default 365) and yesterday's model lives NEW_DAYS
(default 10) more days, each as the sensors would run it, in one warm process as in a
squad run: the evening's journal file (the journal and everything downstream: what the
inbox sensor runs) and the next morning's night in the wearable's export (the readings
and everything downstream: what the sources sensor runs). Prints each step's median
seconds in each update and the median of each update.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.profile_squad import seed
from hrv.settings import Settings

TARGET_SECONDS = 0.15  # issue 25: an athlete's work per new day at 365 days of history


def main(argv: list[str]) -> int:
    days = int(argv[0]) if argv else 365
    new_days = int(argv[1]) if len(argv) > 1 else 10
    from assets.common import step_context
    from hrv.steps import GRAPH, journal, readings
    from hrv.steps.graph import StepKey
    from resources.folders import DataStoreResource
    from resources.settings import SettingsResource

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inbox, sources, data = root / "inbox", root / "sources", root / "data"
        for p in (inbox / "p0", sources / "p0", data):
            p.mkdir(parents=True)
        first_new = dt.date.today() - dt.timedelta(days=new_days)
        seed(data, ["p0"], days, first_new - dt.timedelta(days=1))
        store_readings = (data / "store" / "p0" / "readings.csv").read_text()
        # the export as the sync tool keeps it: every night so far, one more each morning
        nights = [
            line.split(",")[:3]
            for line in store_readings.splitlines()[1:]
            if line.split(",")[1:2] == ["rmssd"]
        ]
        settings = Settings(inbox_dir=inbox, sources_dir=sources, data_dir=data)
        store = DataStoreResource(settings=SettingsResource.of(settings))
        times: dict[str, dict[str, list[float]]] = {"evening": {}, "morning": {}}
        totals: dict[str, list[float]] = {"evening": [], "morning": []}

        def update(kind: str, root_step: StepKey, files: list[str] | None) -> None:
            ctx = step_context("p0", settings, store, logging.getLogger("bench"), files)
            total = 0.0
            for key in GRAPH.downstream([root_step]):
                t0 = time.perf_counter()
                GRAPH[key].run(ctx)
                spent = time.perf_counter() - t0
                times[kind].setdefault(GRAPH[key].path, []).append(spent)
                total += spent
            totals[kind].append(total)

        for k in range(new_days):
            day = first_new + dt.timedelta(days=k)
            name = f"p0/{day}.md"
            (inbox / name).write_text(f"---\ndate: {day}\nsleep_hours: 7\nmood: 3\n---\n")
            old = time.time() - 60
            os.utime(inbox / name, (old, old))
            update("evening", journal.KEY, [name])
            nights.append([(day + dt.timedelta(days=1)).isoformat(), "rmssd", f"{55 + k % 5:.1f}"])
            (sources / "p0" / "hrv.csv").write_text(
                "date,rmssd_ms\n" + "".join(f"{d},{v}\n" for d, _, v in nights)
            )
            update("morning", readings.KEY, None)
    print(f"one new day for an athlete with {days} days of history (medians of {new_days}):")
    for kind, label in (("evening", "the journal and downstream"), ("morning", "the night")):
        print(f"  {kind}: {label}")
        for path, spent in times[kind].items():
            print(f"    {path:30s} {1000 * statistics.median(spent):7.1f} ms")
        median = statistics.median(totals[kind])
        verdict = "met" if median <= TARGET_SECONDS else "missed"
        print(
            f"    {'total':30s} {1000 * median:7.1f} ms  (target {TARGET_SECONDS:g} s: {verdict})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
