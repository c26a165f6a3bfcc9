"""The one private Dagster type this project uses: what an asset check evaluation targets.

Why it is here (ARCHITECTURE.md, "Squad runs"): the UI's per-partition check status
(a check's Partitions tab, GraphQL ``partitionStatuses``) counts an evaluation for an
athlete only when it names the athlete's partition *and* points at the materialization
it checked, and that materialization is still the partition's latest. An asset run's
``AssetCheckResult`` fills both in by itself, but only in a run of one partition. A squad
run records many athletes' materializations and evaluations itself, so it fills them in
too: ``dg.AssetCheckEvaluation(partition=..., target_materialization_data=...)``. That
argument is public; its type, ``AssetCheckEvaluationTargetMaterializationData``, is not
exported by ``dagster``. This module is the only place that imports it, with the same
lookup Dagster's own ``AssetCheckResult`` uses (the partition's latest materialization).
``tests/test_check_target.py`` is the contract: it fails if a Dagster upgrade changes the
type or stops counting such evaluations in ``partitionStatuses``; dagster is pinned.
"""

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as TargetMaterialization,
)

__all__ = ["TargetMaterialization", "latest_materialization"]


def latest_materialization(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str
) -> TargetMaterialization | None:
    """The latest materialization of ``asset_key``'s ``partition``, as a check target
    (None when the partition was never materialized)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    record = records[0]
    return TargetMaterialization(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )
