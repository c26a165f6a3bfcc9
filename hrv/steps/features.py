"""silver/daily_features: one row per athlete-day with the HRV method's features."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hrv.analytics import quality
from hrv.analytics.features import (
    build_daily_features,
    finite_or_none,
    journal_frame,
    metric_of,
    readings_frame,
)
from hrv.steps import journal, readings
from hrv.steps.graph import CheckDef, Step, StepContext, StepOutput
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.files import write_text_atomic

KEY = ("silver", "daily_features")

COMPLETENESS = CheckDef(
    "feature_completeness",
    "Over the last 28 days at least 60% of days have a valid rMSSD reading and a journal, "
    "and the last day has a 7-day baseline. WARN: forecasts still run, but on thin data; "
    "the metadata says which input is missing.",
    severity="WARN",
)


def build_features(data_dir: Path, athlete: str, normal_width: float = 0.5) -> pd.DataFrame:
    store = AthleteStore(data_dir, athlete)
    frame = build_daily_features(
        journal_frame(store.effective_journal()), readings_frame(store.readings()), normal_width
    )
    write_text_atomic(store.features_path, frame.to_csv(index=False, date_format="%Y-%m-%d"))
    return frame


def run(ctx: StepContext) -> StepOutput:
    frame = build_features(ctx.data_dir, ctx.athlete, ctx.athlete_config.normal_range_width)
    last = frame.iloc[-1] if len(frame) else None

    def latest(column: str) -> float | None:
        return finite_or_none(last[column]) if last is not None else None

    return StepOutput(
        metadata={
            "athlete": ctx.athlete,
            "metric": metric_of(frame),
            "n_days": len(frame),
            "n_valid_rmssd_days": int(frame["rmssd_valid"].sum()) if len(frame) else 0,
            "n_journal_days": int(frame["has_journal"].sum()) if len(frame) else 0,
            "last_date": str(last["date"].date()) if last is not None else None,
            "baseline_7d_ms": latest("baseline_7d_ms"),
            "artefacts": [
                f"{r.date.date()}: {r.rmssd_ms:g} ms (robust z {r.artefact_z:.1f})"
                for r in frame[frame["artefact"].astype(bool)].tail(20).itertuples()
            ]
            if len(frame)
            else [],
            "cv_7d_pct": latest("cv_7d_pct"),
            "acwr": latest("acwr"),
            "path": AthleteStore(ctx.data_dir, ctx.athlete).features_path,
        },
        checks=[COMPLETENESS.result(quality.feature_completeness(frame))],
    )


STEP = Step(
    key=KEY,
    run=run,
    description="""Daily features for one athlete, each day computed only from data up to that day.

ln rMSSD, 7-day baseline (>= 3 valid days), 60-day normal range (mean +/- 0.5 SD), 7-day
CV, training load (minutes x RPE) with EWMA acute (7 d) and chronic (28 d) load and their
ratio, and the journal's self-reports. The label is the next morning's ln rMSSD. Stored
in `data/store/<athlete>/features.csv`.""",
    deps=(journal.KEY, readings.KEY),
    checks=(COMPLETENESS,),
    kinds=frozenset({"pandas"}),
)
