"""The per-athlete asset graph, by layer: bronze -> silver -> gold -> agent."""

import dagster as dg

from assets.agent import FORECAST_KEY, agent_forecast
from assets.batch import BATCH_JOB, athlete_batch_job
from assets.bronze import JOURNAL_KEY, READINGS_KEY, journal_entries, wearable_readings
from assets.common import ATHLETES, ATHLETES_PARTITIONS
from assets.gold import (
    MODEL_KEY,
    PREDICTIONS_KEY,
    RECONCILIATION_KEY,
    REGISTRY_KEY,
    SUMMARY_KEY,
    hrv_model,
    intelligence_summary,
    model_predictions,
    predictions_registry,
    reconciliation,
)
from assets.silver import FEATURES_KEY, daily_features

ALL_ASSETS = [
    journal_entries,
    wearable_readings,
    daily_features,
    hrv_model,
    model_predictions,
    predictions_registry,
    reconciliation,
    intelligence_summary,
    agent_forecast,
]

# What a new journal file affects: the journal and everything downstream of it
# (tests/test_definitions.py checks this against the asset graph).
JOURNAL_AND_DOWNSTREAM = (
    JOURNAL_KEY,
    FEATURES_KEY,
    MODEL_KEY,
    PREDICTIONS_KEY,
    REGISTRY_KEY,
    RECONCILIATION_KEY,
    SUMMARY_KEY,
    FORECAST_KEY,
)

# What a changed wearable export affects: the readings and everything downstream.
READINGS_AND_DOWNSTREAM = (
    READINGS_KEY,
    FEATURES_KEY,
    MODEL_KEY,
    PREDICTIONS_KEY,
    REGISTRY_KEY,
    RECONCILIATION_KEY,
    SUMMARY_KEY,
    FORECAST_KEY,
)

# The sensors' two kinds of run: one athlete's assets (a partition of this job), or a
# batch of athletes (assets/batch.py) when a tick has many athletes to update.
ATHLETE_JOB = "athlete_assets"
athlete_assets_job = dg.define_asset_job(
    ATHLETE_JOB,
    selection=dg.AssetSelection.assets(*ALL_ASSETS),
    partitions_def=ATHLETES,
    description="One athlete's asset graph (the part a trigger affects is selected per run).",
)

# One process per run: a run is one athlete's small graph, and starting a process per
# step (the multiprocess executor) would cost more than the steps themselves.
defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[athlete_assets_job, athlete_batch_job],
    executor=dg.in_process_executor,
)

__all__ = [
    "ALL_ASSETS",
    "ATHLETES",
    "ATHLETES_PARTITIONS",
    "ATHLETE_JOB",
    "BATCH_JOB",
    "JOURNAL_AND_DOWNSTREAM",
    "READINGS_AND_DOWNSTREAM",
    "READINGS_KEY",
    "defs",
]
