"""Agent: what the athlete reads in the morning."""

import resource

import dagster as dg

from assets import check_names as C
from assets.common import (
    ATHLETES,
    FS_RETRY,
    AthleteWork,
    CheckReport,
    StepOutput,
    check_spec,
    data_step,
    materialize,
)
from assets.gold import model_predictions
from assets.silver import daily_features
from hrv import pipeline
from hrv.analytics import quality
from resources.folders import DataStoreResource

FORECAST_KEY = dg.AssetKey(["agent", "agent_forecast"])


@dg.asset(
    key=FORECAST_KEY,
    group_name="agent",
    partitions_def=ATHLETES,
    deps=[model_predictions, daily_features],
    retry_policy=FS_RETRY,
    kinds={"json"},
    check_specs=[
        check_spec(
            C.FORECAST_CONTRACT,
            FORECAST_KEY,
            "`agent_forecast.json` carries every key of the product contract, a "
            "recommendation among train_hard / train_moderate / train_easy / rest, and at "
            "least one reason. ERROR.",
        ),
    ],
)
def agent_forecast(
    context: dg.AssetExecutionContext, store: DataStoreResource
) -> dg.MaterializeResult:
    """Tomorrow's forecast and training recommendation, with the reasons behind it.

    Expected rMSSD with its interval, the 7-day baseline and the normal range, a
    recommendation (train_hard, train_moderate, train_easy or rest) and the athlete's
    own guess: `data/outputs/<athlete>/agent_forecast.json`.
    """
    return materialize(forecast_step, context, store)


def forecast_step(work: AthleteWork) -> StepOutput:
    athlete, data_dir = work.athlete, work.store.path
    doc = data_step("forecasting", lambda: pipeline.agent_forecast(data_dir, athlete))
    outcome = quality.agent_forecast_contract(doc)
    # the whole run executes in this process (in-process executor): its peak so far
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return StepOutput(
        metadata={
            "run_worker_peak_rss_mb": round(peak_rss_mb, 1),
            "athlete": athlete,
            "for_date": doc["for_date"],
            "predicted_rmssd_ms": doc["predicted_rmssd_ms"],
            "recommendation": doc["recommendation"],
            "reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in doc["reasons"])),
            "path": dg.MetadataValue.path(
                str(data_dir / "outputs" / athlete / pipeline.AGENT_FORECAST)
            ),
        },
        checks=[CheckReport(C.FORECAST_CONTRACT, outcome, dg.AssetCheckSeverity.ERROR)],
    )
