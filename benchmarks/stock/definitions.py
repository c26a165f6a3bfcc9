"""The "stock" design, for comparison only: what a Dagster user writes first from the docs.

One RunRequest per dropped file (run key = file name) for the whole asset graph, the
default multiprocess executor (a process per step), no batching, no settle time, no
per-athlete concurrency limit. Same assets, same resources, same data as ours.
"""

import os
from pathlib import Path

import dagster as dg

from assets import ASSETS, ATHLETES, ATHLETES_PARTITIONS, CHECKS
from hrv.settings import load_settings
from resources import build_resources


@dg.sensor(
    name="stock_inbox_sensor",
    target=dg.AssetSelection.assets(*ASSETS),
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def stock_inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    inbox = Path(os.environ.get("HRV_INBOX_DIR", "inbox"))
    requests, athletes = [], set()
    for folder in sorted(os.listdir(inbox)):
        if folder in ("processed", "rejected") or not (inbox / folder).is_dir():
            continue
        for name in sorted(os.listdir(inbox / folder)):
            athletes.add(folder)
            requests.append(
                dg.RunRequest(
                    run_key=name,
                    partition_key=folder,
                    run_config={
                        "ops": {
                            "bronze__journal_entries": {"config": {"files": [f"{folder}/{name}"]}}
                        }
                    },
                )
            )
    new = sorted(athletes - set(context.instance.get_dynamic_partitions(ATHLETES_PARTITIONS)))
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[ATHLETES.build_add_request(new)] if new else None,
    )


defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    sensors=[stock_inbox_sensor],
    resources=build_resources(load_settings()),
    executor=dg.multiprocess_executor,
)
