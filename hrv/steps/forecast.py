"""agent/agent_forecast: what the athlete reads in the morning."""

from __future__ import annotations

import math
import resource
from pathlib import Path
from typing import Any

import pandas as pd

from hrv.alerting.catalogue import athlete_flag_cleared, athlete_flagged
from hrv.analytics import quality
from hrv.analytics.features import RMSSD, finite_or_none, metric_of
from hrv.analytics.priors import prior_effect_ln
from hrv.analytics.recommend import advice, recommend
from hrv.analytics.selection import DEFAULT
from hrv.coach.flags import Flag, evaluate_flags
from hrv.coach.roster import AthleteConfig
from hrv.steps import features, predictions
from hrv.steps.graph import CheckDef, Markdown, Step, StepContext, StepOutput
from hrv.steps.outputs import (
    AGENT_FORECAST,
    FLAGS,
    MODEL_PREDICTIONS,
    read_features,
    read_json_output,
    selected_prediction,
    utcnow,
)
from hrv.storage.athlete_store import outputs_dir
from hrv.storage.files import write_json_atomic

KEY = ("agent", "agent_forecast")

CONTRACT = CheckDef(
    "agent_forecast_contract",
    "`agent_forecast.json` carries every key of the product contract, a recommendation "
    "among train_hard / train_moderate / train_easy / rest, and at least one reason. ERROR.",
    severity="ERROR",
)


def agent_forecast(data_dir: Path, athlete: str) -> dict[str, Any]:
    """Tomorrow's forecast with a training recommendation and its reasons."""
    frame = read_features(data_dir, athlete)
    preds = read_json_output(data_dir, athlete, MODEL_PREDICTIONS)
    chosen = selected_prediction(preds)
    if chosen is None:
        return _no_forecast(data_dir, athlete, frame, preds)
    row = frame[frame["baseline_7d_ln"].notna()].iloc[-1]
    lo, hi = finite_or_none(row["normal_lo_ms"]), finite_or_none(row["normal_hi_ms"])
    level, reasons = recommend(
        predicted_ms=chosen["predicted_rmssd_ms"],
        normal_mean_ln=finite_or_none(row["normal_mean_ln"], 6),
        normal_sd_ln=finite_or_none(row["normal_sd_ln"], 6),
        baseline_ms=finite_or_none(row["baseline_7d_ms"]),
        normal_lo_ms=lo,
        cv_7d_pct=finite_or_none(row["cv_7d_pct"]),
        acwr=finite_or_none(row["acwr"]),
        illness=bool(row["illness"] == 1.0),
        alcohol_units=finite_or_none(row["alcohol_units"]),
        sleep_hours=finite_or_none(row["sleep_hours"]),
        cold_start=bool(preds.get("cold_start")),
    )
    metric = metric_of(frame)
    predicted = chosen["predicted_rmssd_ms"]  # in the athlete's metric
    baseline = finite_or_none(row["baseline_7d_ms"])
    effect = float(prior_effect_ln(frame.tail(1))[0]) if len(frame) else 0.0
    if chosen["model"] == DEFAULT and effect < 0:
        reasons.insert(
            1 if reasons else 0,
            f"the journal lowers tomorrow's forecast by {100 * (1 - math.exp(effect)):.0f}% "
            "(published effects of alcohol, illness and short sleep, until your own data "
            "can be fitted)",
        )
    doc = {
        "athlete": athlete,
        "for_date": preds["for_date"],
        "metric": metric,
        "predicted_ms": predicted,
        "predicted_rmssd_ms": predicted if metric == RMSSD else None,
        "interval_ms": [chosen["lower_ms"], chosen["upper_ms"]],
        "interval_level": preds.get("interval_level"),
        "baseline_ms": baseline,
        "baseline_rmssd_ms": baseline if metric == RMSSD else None,
        "normal_range_ms": [lo, hi] if lo is not None and hi is not None else None,
        "recommendation": level,
        "advice": advice(level, reasons),
        "reasons": reasons,
        "baseline_building": _baseline_building(frame),
        "user_guess_ms": preds.get("user_guess_ms"),
        "model": chosen["model"],
        "cold_start": bool(preds.get("cold_start")),
        "based_on_date": preds.get("based_on_date"),
        "generated_at": utcnow().isoformat(),
    }
    write_json_atomic(outputs_dir(data_dir, athlete) / AGENT_FORECAST, doc)
    return doc


BASELINE_BUILT_DAYS = 30  # valid nights in the 60-day window before the range is trusted


def _baseline_building(frame: pd.DataFrame) -> bool:
    """True until the normal range rests on 30 valid nights of the last 60 days."""
    return int(frame["rmssd_valid"].astype(bool).tail(60).sum()) < BASELINE_BUILT_DAYS


def _no_forecast(
    data_dir: Path, athlete: str, frame: pd.DataFrame, preds: dict[str, Any]
) -> dict[str, Any]:
    """Journals but no usable HRV yet: say so plainly instead of failing the run."""
    ill = bool(len(frame) and frame["illness"].iloc[-1] == 1.0)
    reasons = [f"no HRV forecast yet: {preds.get('no_forecast_reason') or 'no data'}"]
    reasons.append(
        "illness reported in the journal: rest until symptoms clear"
        if ill
        else "train by feel until the wearable export provides readings"
    )
    doc = {
        "athlete": athlete,
        "for_date": preds.get("for_date"),
        "metric": metric_of(frame),
        "predicted_ms": None,
        "predicted_rmssd_ms": None,
        "interval_ms": None,
        "interval_level": preds.get("interval_level"),
        "baseline_ms": None,
        "baseline_rmssd_ms": None,
        "normal_range_ms": None,
        "recommendation": "rest" if ill else "train_moderate",
        "advice": advice("rest" if ill else "train_moderate", reasons),
        "reasons": reasons,
        "baseline_building": True,
        "user_guess_ms": preds.get("user_guess_ms"),
        "model": None,
        "cold_start": True,
        "based_on_date": preds.get("based_on_date"),
        "generated_at": utcnow().isoformat(),
    }
    write_json_atomic(outputs_dir(data_dir, athlete) / AGENT_FORECAST, doc)
    return doc


def raise_flags(ctx: StepContext, doc: dict[str, Any], config: AthleteConfig) -> list[Flag]:
    """Evaluate the athlete flags on the latest day, write ``flags.json`` and raise an
    ``athlete_flag`` alert for each that starts (and a resolved one for each that ends)."""
    frame = read_features(ctx.data_dir, ctx.athlete)
    flags = evaluate_flags(frame, doc, config)
    name = config.label(ctx.athlete)
    for flag in flags:
        if flag.active:
            alert = athlete_flagged(
                ctx.athlete, flag.name, flag.label, flag.text, name, config.flags.cooldown_hours
            )
        elif flag.evaluated:
            alert = athlete_flag_cleared(ctx.athlete, flag.name, flag.label, flag.text, name)
        else:
            continue
        ctx.raise_alert(alert)
    write_json_atomic(
        outputs_dir(ctx.data_dir, ctx.athlete) / FLAGS,
        {
            "athlete": ctx.athlete,
            "for_date": doc.get("for_date"),
            "flags": [f.to_dict() for f in flags],
            "active": [f.name for f in flags if f.active],
            "generated_at": doc.get("generated_at"),
        },
    )
    return flags


def run(ctx: StepContext) -> StepOutput:
    doc = agent_forecast(ctx.data_dir, ctx.athlete)
    config = ctx.athlete_config
    flags = raise_flags(ctx, doc, config)
    # the whole run executes in this process (in-process executor): its peak so far, for
    # `make bench` (developer data: logged, not shown with the forecast)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ctx.log.info(f"run worker peak RSS {peak_rss_mb:.1f} MB")
    active = [f.label for f in flags if f.active]
    return StepOutput(
        metadata={
            "athlete": ctx.athlete,
            "athlete_name": config.label(ctx.athlete),
            "flags": ", ".join(active) if active else "none",
            "for_date": doc["for_date"],
            "metric": doc["metric"],
            "predicted_ms": doc["predicted_ms"],
            "recommendation": doc["recommendation"],
            "reasons": Markdown("\n".join(f"- {r}" for r in doc["reasons"])),
            "path": outputs_dir(ctx.data_dir, ctx.athlete) / AGENT_FORECAST,
        },
        checks=[CONTRACT.result(quality.agent_forecast_contract(doc))],
    )


STEP = Step(
    key=KEY,
    run=run,
    description="""Tomorrow's forecast and training recommendation, with the reasons behind it.

Expected rMSSD with its interval, the 7-day baseline and the normal range, a recommendation
(train_hard, train_moderate, train_easy or rest) and the athlete's own guess:
`data/outputs/<athlete>/agent_forecast.json`. Then the athlete flags a coach acts on (HRV
below normal for days, variation rising, illness, a rest day): `flags.json`, and a Slack
message when one starts or ends.""",
    deps=(predictions.KEY, features.KEY),
    checks=(CONTRACT,),
    kinds=frozenset({"json"}),
)
