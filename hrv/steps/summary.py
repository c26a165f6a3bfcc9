"""gold/intelligence_summary: the athlete at a glance, with a chart of the last 120 days."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from hrv.analytics.features import finite_or_none, metric_of
from hrv.steps import features, forecast, model, predictions, reconciliation
from hrv.steps.graph import Step, StepContext, StepOutput
from hrv.steps.outputs import (
    AGENT_FORECAST,
    INTELLIGENCE_CHART,
    INTELLIGENCE_SUMMARY,
    MODEL_PREDICTIONS,
    RECONCILIATION,
    RECONSTRUCTED,
    TRAINING_METRICS,
    read_features,
    read_json_output,
    registry_paths,
    selected_prediction,
    utcnow,
)
from hrv.steps.reconciliation import read_csv_rows
from hrv.storage.athlete_store import outputs_dir
from hrv.storage.files import write_json_atomic
from hrv.storage.registry import read_registry

KEY = ("gold", "intelligence_summary")


def _status(value: float | None, lo: float | None, hi: float | None) -> str | None:
    if value is None or lo is None or hi is None:
        return None
    return "below" if value < lo else "above" if value > hi else "within"


def summarize(data_dir: Path, athlete: str) -> dict[str, Any]:
    """The athlete's state in one document, plus a chart of the last 120 days."""
    frame = read_features(data_dir, athlete)
    metrics = read_json_output(data_dir, athlete, TRAINING_METRICS)
    preds = read_json_output(data_dir, athlete, MODEL_PREDICTIONS)
    recon_path = outputs_dir(data_dir, athlete) / RECONCILIATION
    recon = read_json_output(data_dir, athlete, RECONCILIATION) if recon_path.exists() else {}
    valid = frame[frame["rmssd_valid"]]
    last = frame.iloc[-1] if len(frame) else None
    latest_valid = valid.iloc[-1] if len(valid) else None
    baseline = finite_or_none(last["baseline_7d_ms"]) if last is not None else None
    lo = finite_or_none(last["normal_lo_ms"]) if last is not None else None
    hi = finite_or_none(last["normal_hi_ms"]) if last is not None else None
    recent = valid.tail(28)
    trend = None
    if len(recent) >= 7:
        days = (recent["date"] - recent["date"].iloc[0]).dt.days.to_numpy(dtype=float)
        slope = float(
            pd.Series(recent["ln_rmssd"].to_numpy()).cov(pd.Series(days)) / days.var(ddof=1)
        )
        trend = round(100 * (math.exp(slope * 7) - 1), 2)
    doc = {
        "athlete": athlete,
        "metric": metric_of(frame),
        "generated_at": utcnow().isoformat(),
        "n_days": len(frame),
        "n_valid_rmssd_days": len(valid),
        "n_journal_days": int(frame["has_journal"].sum()) if len(frame) else 0,
        "first_date": frame["date"].iloc[0].date().isoformat() if len(frame) else None,
        "last_date": frame["date"].iloc[-1].date().isoformat() if len(frame) else None,
        "latest_rmssd_ms": finite_or_none(latest_valid["rmssd_ms"])
        if latest_valid is not None
        else None,
        "latest_rmssd_date": latest_valid["date"].date().isoformat()
        if latest_valid is not None
        else None,
        "baseline_7d_ms": baseline,
        "artefacts_60d": [  # readings flagged as artefacts of this athlete, not used
            {
                "date": r.date.date().isoformat(),
                "value_ms": r.rmssd_ms,
                "robust_z": round(r.artefact_z, 1),
            }
            for r in frame[frame["artefact"].astype(bool)].tail(60).itertuples()
            if (frame["date"].iloc[-1] - r.date).days < 60
        ]
        if "artefact" in frame
        else [],
        "normal_range_ms": [lo, hi] if lo is not None and hi is not None else None,
        "baseline_status": _status(baseline, lo, hi),
        "cv_7d_pct": finite_or_none(last["cv_7d_pct"]) if last is not None else None,
        "acwr": finite_or_none(last["acwr"]) if last is not None else None,
        "trend_pct_per_week_28d": trend,
        "selected_model": metrics.get("selected_model"),
        "cold_start": metrics.get("cold_start"),
        "model_mae_ms": metrics.get("model_mae_ms"),  # realised: selection included
        "baselines_mae_ms": {k: v.get("mae_ms") for k, v in metrics.get("baselines", {}).items()},
        "next_forecast": selected_prediction(preds),
        "next_forecast_date": preds.get("for_date"),
        "reconciliation": {
            k: recon.get(k) for k in ("n_reconciled", "mae_ms", "bias_ms", "interval_coverage")
        },
        "chart": INTELLIGENCE_CHART,
    }
    out = outputs_dir(data_dir, athlete)
    write_json_atomic(out / INTELLIGENCE_SUMMARY, doc)
    from hrv.analytics.chart import render_chart

    registry_csv, _ = registry_paths(data_dir, athlete)
    render_chart(
        frame,
        read_registry(registry_csv),
        athlete,
        out / INTELLIGENCE_CHART,
        reconstructed_rows=read_csv_rows(out / RECONSTRUCTED),
        forecast=read_json_output(data_dir, athlete, AGENT_FORECAST),
    )
    return doc


def run(ctx: StepContext) -> StepOutput:
    doc = summarize(ctx.data_dir, ctx.athlete)
    return StepOutput(
        metadata={
            "athlete": ctx.athlete,
            "metric": doc.get("metric"),
            "baseline_status": doc.get("baseline_status"),
            "latest_rmssd_ms": doc.get("latest_rmssd_ms"),
            "chart": outputs_dir(ctx.data_dir, ctx.athlete) / INTELLIGENCE_CHART,
        }
    )


STEP = Step(
    key=KEY,
    run=run,
    description="""The athlete at a glance: latest rMSSD, baseline vs normal range, CV, load ratio,
trend, model skill and reconciliation, plus a chart of the last 120 days
(`intelligence_summary.json` + `.png`).""",
    deps=(features.KEY, model.KEY, predictions.KEY, reconciliation.KEY, forecast.KEY),
    kinds=frozenset({"json", "png"}),
)
