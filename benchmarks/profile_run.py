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

from assets import ALL_ASSETS, JOURNAL_AND_DOWNSTREAM  # noqa: E402
from benchmarks.run import history  # noqa: E402
from hrv.intake.journal import JournalEntry  # noqa: E402
from hrv.storage.athlete_store import AthleteStore, IncomingEntry  # noqa: E402
from resources import DataStoreResource, InboxResource, SourcesResource  # noqa: E402

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
        result = dg.materialize(
            ALL_ASSETS,
            selection=list(JOURNAL_AND_DOWNSTREAM),
            partition_key="sq",
            instance=instance,
            resources={
                "inbox": InboxResource(inbox_dir=str(root / "inbox")),
                "sources": SourcesResource(sources_dir=str(root / "sources")),
                "store": DataStoreResource(data_dir=str(root / "data")),
            },
        )
        assert result.success
        done = time.perf_counter()
        print(f"imports {IMPORTED - T0:.2f} s; run {done - t:.2f} s")


if __name__ == "__main__":
    main()
