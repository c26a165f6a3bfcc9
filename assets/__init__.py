"""The per-athlete asset graph, by layer: bronze -> silver -> gold -> agent."""

import dagster as dg

from assets.agent import agent_forecast
from assets.bronze import journal_entries, wearable_readings
from assets.common import ATHLETES
from assets.gold import (
    hrv_model,
    intelligence_summary,
    model_predictions,
    predictions_registry,
    reconciliation,
)
from assets.silver import daily_features

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

# One process per run: a run is one athlete's small graph, and starting a process per
# step (the multiprocess executor) would cost more than the steps themselves.
defs = dg.Definitions(assets=ALL_ASSETS, executor=dg.in_process_executor)

__all__ = ["ALL_ASSETS", "ATHLETES", "defs"]
