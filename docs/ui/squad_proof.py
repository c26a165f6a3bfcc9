"""The UI after a squad, for these docs: 200 athletes with 60 days of history, then a
new night in each one's wearable export and a journal each, through the front door of
the server stack (PostgreSQL, the real daemon, the sources and inbox sensors); then the
webserver's GraphQL `partitionStatuses` of every check, and a picture of one check's
Partitions tab.

    .venv/bin/python -m docs.ui.squad_proof [ATHLETES]   (PostgreSQL on 127.0.0.1:5432;
                                                          chromium for the picture)

Writes docs/ui/squad-partition-statuses.json, squad-check-partitions.png (a check's
Partitions tab) and squad-asset-partitions.png (the asset's).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from assets import IN_PROGRESS
from benchmarks.run import (
    BIN,
    ROOT,
    TODAY,
    DagsterProcess,
    ServerInstance,
    drop_days,
    seed_squad,
)
from tests.e2e.harness import free_port, graphql, wait_for

HERE = Path(__file__).resolve().parent
CHECKS = """{ assetNodes { assetKey { path }
  assetChecksOrError { ... on AssetChecks { checks { name
    partitionStatuses { ... on AssetCheckDefaultPartitionStatuses {
      succeededPartitions failedPartitions inProgressPartitions skippedPartitions
      executionFailedPartitions } } } } } } }"""
SHOWN = ("bronze/journal_entries", "journal_schema_and_ranges")


def main(n: int) -> int:
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        server = ServerInstance(Path(tmp), "proof")
        with server as d:
            tree = server.tree
            athletes = [f"sq{i:04d}" for i in range(n)]
            seed_squad(d, tree, athletes, 60)  # up to yesterday, models included
            time.sleep(8)  # the sources sensor sees the exports it already stored
            t0 = time.time()
            for a in athletes:  # the morning's sync: last night in every export
                with (tree.sources / a / "hrv.csv").open("a") as fh:
                    fh.write(f"{TODAY},{50 + len(a) % 7}\n")
            drop_days(tree, athletes, [TODAY])  # and the evening's journals
            tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()

            def done() -> bool:
                busy = d.instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS))
                return not busy and all(
                    _for_date(tree.outputs(a) / "agent_forecast.json") == tomorrow
                    and not any((tree.inbox / a).iterdir())
                    and str(TODAY) in (tree.data / "store" / a / "readings.csv").read_text()
                    for a in athletes
                )

            wait_for(done, 900, "the squad", d.proc.tail, interval=1)
            seconds = time.time() - t0
            squads = [r for r in d.instance.get_runs() if r.job_name == "squad_update"]
            port = free_port()
            env = {**os.environ, **server.tree.env(), "DAGSTER_HOME": str(d.home)}
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
                Path(tmp) / "web.log",
            ).start()
            try:
                nodes = wait_for(lambda: _nodes(port), 120, "the webserver", web.tail)
                statuses = {}
                for node in nodes:
                    key = "/".join(node["assetKey"]["path"])
                    for check in node["assetChecksOrError"]["checks"]:
                        st = check["partitionStatuses"] or {}
                        statuses[f"{key}:{check['name']}"] = {
                            "counts": {k: len(v or []) for k, v in st.items()},
                            **{k: sorted(v or []) for k, v in st.items() if v},
                        }
                doc = {
                    "what": f"{n} athletes, a new night in each export and a journal each, "
                    f"through the sensors of the server stack (PostgreSQL): {len(squads)} "
                    f"squad runs, {seconds:.1f} s until every forecast was for tomorrow; "
                    "then the webserver's GraphQL partitionStatuses of every check",
                    "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "squad_runs": [
                        {"run_id": r.run_id, "athletes": int(r.tags["hrv/squad"])} for r in squads
                    ],
                    "checks": statuses,
                }
                (HERE / "squad-partition-statuses.json").write_text(json.dumps(doc, indent=1))
                for key, st in statuses.items():
                    print(f"{key:55s} {st['counts']}")
                from docs.ui.screenshot import main as screenshot

                asset, check = SHOWN
                url = f"http://127.0.0.1:{port}/assets/{asset}?view=checks&checkDetail={check}"
                screenshot(url, str(HERE / "squad-check-partitions.png"), "Partitions")
                screenshot(
                    f"http://127.0.0.1:{port}/assets/{asset}?view=partitions",
                    str(HERE / "squad-asset-partitions.png"),
                )
            finally:
                web.stop()
    return 0


def _for_date(path: Path) -> str | None:
    try:
        return json.loads(path.read_text()).get("for_date")
    except (OSError, ValueError):
        return None


def _nodes(port: int):
    try:
        return graphql(port, CHECKS)["assetNodes"]
    except Exception:
        return None


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
