"""Silver: one row per athlete-day with the HRV method's features."""

import dagster as dg

from assets import check_names as C
from assets.bronze import journal_entries, wearable_readings
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
from hrv import pipeline
from hrv.analytics import quality
from hrv.analytics.features import finite_or_none
from hrv.storage.athlete_store import AthleteStore
from resources.folders import DataStoreResource

FEATURES_KEY = dg.AssetKey(["silver", "daily_features"])


@dg.asset(
    key=FEATURES_KEY,
    group_name="silver",
    partitions_def=ATHLETES,
    deps=[journal_entries, wearable_readings],
    retry_policy=FS_RETRY,
    kinds={"pandas"},
    check_specs=[
        check_spec(
            C.FEATURE_COMPLETENESS,
            FEATURES_KEY,
            "Over the last 28 days at least 60% of days have a valid rMSSD reading and a "
            "journal, and the last day has a 7-day baseline. WARN: forecasts still run, "
            "but on thin data; the metadata says which input is missing.",
        ),
    ],
)
def daily_features(
    context: dg.AssetExecutionContext, store: DataStoreResource
) -> dg.MaterializeResult:
    """Daily features for one athlete, each day computed only from data up to that day.

    ln rMSSD, 7-day baseline (>= 3 valid days), 60-day normal range (mean +/- 0.5 SD),
    7-day CV, training load (minutes x RPE) with EWMA acute (7 d) and chronic (28 d)
    load and their ratio, and the journal's self-reports. The label is the next
    morning's ln rMSSD. Stored in `data/store/<athlete>/features.csv`.
    """
    return materialize(features_step, context, store)


def features_step(work: AthleteWork) -> StepOutput:
    athlete, data_dir = work.athlete, work.store.path
    frame = data_step("building features", lambda: pipeline.build_features(data_dir, athlete))
    outcome = quality.feature_completeness(frame)
    last = frame.iloc[-1] if len(frame) else None
    return StepOutput(
        metadata={
            "athlete": athlete,
            "n_days": len(frame),
            "n_valid_rmssd_days": int(frame["rmssd_valid"].sum()) if len(frame) else 0,
            "n_journal_days": int(frame["has_journal"].sum()) if len(frame) else 0,
            "last_date": str(last["date"].date()) if last is not None else "-",
            "baseline_7d_ms": finite_or_none(last["baseline_7d_ms"]) if last is not None else None,
            "cv_7d_pct": finite_or_none(last["cv_7d_pct"]) if last is not None else None,
            "acwr": finite_or_none(last["acwr"]) if last is not None else None,
            "path": dg.MetadataValue.path(str(AthleteStore(data_dir, athlete).features_path)),
        },
        checks=[CheckReport(C.FEATURE_COMPLETENESS, outcome, dg.AssetCheckSeverity.WARN)],
    )
