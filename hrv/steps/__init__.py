"""One athlete's update, step by step: the graph that the assets and squad runs follow.

To add an asset: write its module here (a ``Step``: key, dependencies, checks, the
function) and add it to ``GRAPH`` below. The Dagster assets, their checks, the sensors'
selections and squad runs all follow from this list.
"""

from hrv.steps import (
    features,
    forecast,
    journal,
    model,
    predictions,
    readings,
    reconciliation,
    registry,
    summary,
)
from hrv.steps.graph import StepGraph

GRAPH = StepGraph(
    [
        journal.STEP,
        readings.STEP,
        features.STEP,
        model.STEP,
        predictions.STEP,
        forecast.STEP,  # first after the predictions: the athlete's forecast sooner
        registry.STEP,
        reconciliation.STEP,
        summary.STEP,
    ]
)

__all__ = ["GRAPH"]
