"""Profile one athlete's run as a run worker does it: a fresh process that imports the
code location and materializes the journal and its downstream for 60 days of history.

    .venv/bin/pyinstrument -m benchmarks.profile_run     # or: python -m benchmarks.profile_run
"""

import datetime as dt
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()
import dagster as dg  # noqa: E402

from assets import ASSETS, CHECKS, AthleteRun  # noqa: E402
from benchmarks.run import history  # noqa: E402
from hrv.intake.journal import JournalEntry  # noqa: E402
from hrv.settings import Settings  # noqa: E402
from hrv.storage.athlete_store import AthleteStore, IncomingEntry  # noqa: E402
from resources import build_resources  # noqa: E402

IMPORTED = time.perf_counter()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        root = Path(tmp)
        journals, readings = history("sq", 60, dt.date.today(), 1)
        store = AthleteStore(root / "data", "sq")
        store.ingest_journal(
            [IncomingEntry(JournalEntry.model_validate(j), "seed", None) for j in journals],
            dt.datetime.now(dt.UTC),
        )
        store.write_readings(
            [{"date": str(d), "metric": "rmssd", "value_ms": v} for d, v in readings]
        )
        instance.add_dynamic_partitions("athletes", ["sq"])
        t = time.perf_counter()
        settings = Settings(
            inbox_dir=root / "inbox", sources_dir=root / "sources", data_dir=root / "data"
        )
        result = dg.materialize(
            [*ASSETS, *CHECKS],
            selection=AthleteRun("sq", "inbox", "k").selection(),
            partition_key="sq",
            instance=instance,
            resources=build_resources(settings),
        )
        assert result.success
        done = time.perf_counter()
        print(f"imports {IMPORTED - T0:.2f} s; run {done - t:.2f} s")


if __name__ == "__main__":
    main()
