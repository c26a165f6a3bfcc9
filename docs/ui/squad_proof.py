"""The UI after a squad, for these docs: 200 athletes with a new day each through the
front door of the server stack (PostgreSQL, the real daemon, the inbox), then the
webserver's GraphQL `partitionStatuses` of every check, and a picture of one check's
Partitions tab.

    .venv/bin/python -m docs.ui.squad_proof [ATHLETES]   (PostgreSQL on 127.0.0.1:5432;
                                                          chromium for the picture)

Writes docs/ui/squad-partition-statuses.json and docs/ui/squad-check-partitions.png.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.run import BIN, ROOT, DagsterProcess, ServerInstance, bench_squad
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
            seconds, _ = bench_squad(d, server.tree, n, 60, 1)
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
                    "what": f"{n} athletes x 1 new day through the inbox of the server stack "
                    f"(PostgreSQL), {len(squads)} squad runs, {seconds:.1f} s to the last "
                    "forecast; then the webserver's GraphQL partitionStatuses of every check",
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
            finally:
                web.stop()
    return 0


def _nodes(port: int):
    try:
        return graphql(port, CHECKS)["assetNodes"]
    except Exception:
        return None


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
