"""Data-quality rules behind the asset checks (pure functions, tested directly).

Each returns a ``CheckOutcome``: passed or not, a one-line verdict a person can act on,
and the numbers behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import ValidationError

from hrv.analytics.features import RMSSD_MAX_MS, RMSSD_MIN_MS, artefacts
from hrv.analytics.recommend import RECOMMENDATIONS
from hrv.analytics.selection import INTERVAL_LEVEL, PERSISTENCE
from hrv.intake.freshness import NONE, Freshness, FreshnessSettings
from hrv.intake.journal import JournalEntry

COMPLETENESS_WINDOW_DAYS = 28
COMPLETENESS_MIN_FRACTION = 0.6
COVERAGE_MIN_N = 10
COVERAGE_TOLERANCE = 0.2  # an 80% interval covering < 60% of outcomes is miscalibrated
AGENT_FORECAST_KEYS = (
    "athlete",
    "for_date",
    "metric",
    "predicted_ms",
    "predicted_rmssd_ms",
    "interval_ms",
    "baseline_rmssd_ms",
    "normal_range_ms",
    "recommendation",
    "advice",
    "reasons",
    "baseline_building",
    "user_guess_ms",
    "model",
    "generated_at",
)


@dataclass
class CheckOutcome:
    passed: bool
    verdict: str
    metadata: dict[str, Any] = field(default_factory=dict)


def journal_schema(entries: list[dict[str, Any]]) -> CheckOutcome:
    """Every stored entry still validates against the journal schema and ranges."""
    problems = []
    for entry in entries:
        try:
            JournalEntry.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = ".".join(str(p) for p in first["loc"])
            problems.append(f"{entry.get('date')}: {loc} = {first.get('input')!r}: {first['msg']}")
    verdict = (
        f"all {len(entries)} stored entries valid"
        if not problems
        else f"{len(problems)} stored entries violate the schema, first: {problems[0]}"
    )
    return CheckOutcome(
        not problems, verdict, {"n_entries": len(entries), "invalid": problems[:20]}
    )


def one_entry_per_day(versions: list[dict[str, Any]]) -> CheckOutcome:
    """Each athlete-day has one current entry, and every correction names what it replaced."""
    problems: list[str] = []
    current: dict[str, Any] = {}
    for i, v in enumerate(versions, start=1):
        if v.get("version") != i:
            problems.append(f"line {i}: version {v.get('version')} out of sequence")
        day = str(v.get("date"))
        prev = current.get(day)
        if v.get("supersedes") != prev:
            problems.append(
                f"{day}: version {v.get('version')} supersedes {v.get('supersedes')!r} "
                f"but the current entry is {prev!r}: two entries claim the same day"
            )
        if (v.get("entry") or {}).get("date") != day:
            problems.append(f"line {i}: entry date {(v.get('entry') or {}).get('date')} != {day}")
        current[day] = v.get("entry_sha")
    n_corrections = sum(1 for v in versions if v.get("supersedes"))
    verdict = (
        f"{len(current)} days, one current entry each ({n_corrections} corrections audited)"
        if not problems
        else problems[0]
    )
    return CheckOutcome(
        not problems,
        verdict,
        {
            "n_days": len(current),
            "n_versions": len(versions),
            "n_corrections": n_corrections,
            "problems": problems[:20],
        },
    )


def rmssd_plausible(readings: list[dict[str, Any]]) -> CheckOutcome:
    """HRV readings (rMSSD, or SDNN for an athlete with nothing else) that will be used:
    not an artefact of the athlete's own nights (robust, ln space: see
    ``features.artefacts``) and within the absolute 2-600 ms guard."""
    rows = [r for r in readings if r.get("metric") == "rmssd"]
    label = "rMSSD"
    if not rows:
        rows, label = [r for r in readings if r.get("metric") == "sdnn"], "SDNN"
    rows = sorted(rows, key=lambda r: str(r["date"]))
    values = pd.Series([_float(r.get("value_ms")) for r in rows], dtype=float)
    in_bounds = values.between(RMSSD_MIN_MS, RMSSD_MAX_MS)
    z, flagged = artefacts(values.where(in_bounds))
    bad = []
    for i, r in enumerate(rows):
        where = f"{r['date']}: {r['value_ms']} ms ({r.get('source_file')})"
        if not in_bounds.iloc[i]:
            bad.append(f"{where} outside {RMSSD_MIN_MS:g}-{RMSSD_MAX_MS:g} ms")
        elif flagged.iloc[i]:
            bad.append(f"{where} far off the athlete's own nights (robust z {z.iloc[i]:.1f})")
    verdict = (
        f"all {len(rows)} {label} readings plausible for this athlete"
        if not bad
        else f"{len(bad)} of {len(rows)} {label} readings not used (excluded from features), "
        f"first: {bad[0]}"
    )
    return CheckOutcome(not bad, verdict, {"n_readings": len(rows), "implausible": bad[:20]})


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def feature_completeness(frame: pd.DataFrame) -> CheckOutcome:
    """Enough recent days have both a valid reading and a journal to trust the features."""
    recent = frame.tail(COMPLETENESS_WINDOW_DAYS)
    n = len(recent)
    if n == 0:
        return CheckOutcome(False, "no days at all: no journal and no readings", {"n_days": 0})
    readings = float(recent["rmssd_valid"].mean())
    journals = float(recent["has_journal"].mean())
    has_baseline = bool(pd.notna(frame["baseline_7d_ln"].iloc[-1]))
    passed = (
        readings >= COMPLETENESS_MIN_FRACTION
        and journals >= COMPLETENESS_MIN_FRACTION
        and has_baseline
    )
    gaps = []
    if readings < COMPLETENESS_MIN_FRACTION:
        gaps.append(f"valid rMSSD on {readings:.0%} of days")
    if journals < COMPLETENESS_MIN_FRACTION:
        gaps.append(f"journals on {journals:.0%} of days")
    if not has_baseline:
        gaps.append("no 7-day baseline on the last day (needs 3 valid readings in 7 days)")
    verdict = (
        f"last {n} days: rMSSD on {readings:.0%}, journals on {journals:.0%}"
        if passed
        else f"last {n} days incomplete: " + "; ".join(gaps)
    )
    return CheckOutcome(
        passed,
        verdict,
        {
            "window_days": n,
            "rmssd_fraction": round(readings, 3),
            "journal_fraction": round(journals, 3),
            "baseline_on_last_day": has_baseline,
            "min_fraction": COMPLETENESS_MIN_FRACTION,
        },
    )


def model_beats_persistence(metrics: dict[str, Any]) -> CheckOutcome:
    """The procedure (selection included) forecast better than 'tomorrow = today' out of
    sample (or we are in cold start)."""
    cand = {k: (v or {}).get("mae_ms") for k, v in metrics.get("candidates", {}).items()}
    selected = metrics.get("selected_model")
    # like with like: the procedure and persistence over the same (whole) backtest
    realised = (metrics.get("realised") or {}).get("mae_ms_all")
    sel_mae = realised if realised is not None else cand.get(selected)
    pers = cand.get(PERSISTENCE)
    meta = {
        "selected_model": selected,
        "selected_mae_ms": sel_mae,
        "persistence_mae_ms": pers,
        "cold_start": bool(metrics.get("cold_start")),
    }
    if metrics.get("cold_start"):
        return CheckOutcome(True, f"cold start ({metrics.get('n_days')} days): baseline only", meta)
    if sel_mae is None or pers is None:
        return CheckOutcome(False, "backtest produced no MAE to compare", meta)
    if sel_mae >= pers:
        return CheckOutcome(
            False,
            f"no model beats persistence ({pers:.2f} ms; the forecasts achieved "
            f"{sel_mae:.2f} ms): candidates "
            + ", ".join(
                f"{k} {v:.2f} ms" for k, v in cand.items() if v is not None and k != PERSISTENCE
            ),
            meta,
        )
    return CheckOutcome(
        True,
        f"forecast MAE {sel_mae:.2f} ms (realised, now {selected}) beats persistence "
        f"{pers:.2f} ms "
        f"({100 * (1 - sel_mae / pers):.0f}% better)",
        meta,
    )


def prediction_in_range(doc: dict[str, Any]) -> CheckOutcome:
    """Every prediction and interval bound is finite, within 2-600 ms and ordered."""
    problems = []
    preds = doc.get("predictions") or []
    if not preds and doc.get("no_forecast_reason"):
        return CheckOutcome(
            True,
            f"no forecast yet: {doc['no_forecast_reason']}",
            {"n_predictions": 0, "problems": []},
        )
    if not preds:
        problems.append("no predictions and no reason given")
    for p in preds:
        values = [p.get("lower_ms"), p.get("predicted_rmssd_ms"), p.get("upper_ms")]
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            problems.append(f"{p.get('model')}: non-finite values {values}")
            continue
        lo, mid, hi = values
        if not (RMSSD_MIN_MS <= mid <= RMSSD_MAX_MS):
            problems.append(
                f"{p['model']}: predicted {mid} ms outside {RMSSD_MIN_MS:g}-{RMSSD_MAX_MS:g} ms"
            )
        if not (lo <= mid <= hi):
            problems.append(f"{p['model']}: interval [{lo}, {hi}] does not contain {mid}")
    if not any(p.get("selected") for p in preds):
        problems.append("no selected prediction")
    sel: dict[str, Any] = next((p for p in preds if p.get("selected")), {})
    verdict = (
        f"{sel.get('model')} predicts {sel.get('predicted_rmssd_ms')} ms for {doc.get('for_date')} "
        f"[{sel.get('lower_ms')}, {sel.get('upper_ms')}]"
        if not problems
        else problems[0]
    )
    return CheckOutcome(
        not problems, verdict, {"n_predictions": len(preds), "problems": problems[:20]}
    )


def reconciliation_coverage(doc: dict[str, Any]) -> CheckOutcome:
    """The forecast intervals cover about as many outcomes as they claim to."""
    n = int(doc.get("n_reconciled") or 0)
    cov = doc.get("interval_coverage")
    floor = INTERVAL_LEVEL - COVERAGE_TOLERANCE
    meta = {
        "n_reconciled": n,
        "interval_coverage": cov,
        "nominal": INTERVAL_LEVEL,
        "floor": round(floor, 2),
        "mae_ms": doc.get("mae_ms"),
        "bias_ms": doc.get("bias_ms"),
    }
    if n < COVERAGE_MIN_N or cov is None:
        return CheckOutcome(
            True,
            f"{n} forecasts reconciled: too few to judge coverage (needs {COVERAGE_MIN_N})",
            meta,
        )
    if cov < floor:
        return CheckOutcome(
            False,
            f"{INTERVAL_LEVEL:.0%} intervals covered only {cov:.0%} of "
            f"{n} outcomes: forecasts are overconfident",
            meta,
        )
    return CheckOutcome(
        True, f"{INTERVAL_LEVEL:.0%} intervals covered {cov:.0%} of {n} outcomes", meta
    )


def agent_forecast_contract(doc: dict[str, Any]) -> CheckOutcome:
    """agent_forecast.json has every contract key and a valid recommendation."""
    missing = [k for k in AGENT_FORECAST_KEYS if k not in doc]
    problems = [f"missing key '{k}'" for k in missing]
    if doc.get("recommendation") not in RECOMMENDATIONS:
        problems.append(f"recommendation {doc.get('recommendation')!r} not in {RECOMMENDATIONS}")
    if not doc.get("reasons"):
        problems.append("no reasons given for the recommendation")
    verdict = (
        f"{doc.get('recommendation')} for {doc.get('for_date')}: " + "; ".join(doc["reasons"])
        if not problems
        else problems[0]
    )
    return CheckOutcome(not problems, verdict, {"problems": problems})


def source_freshness(state: Freshness, settings: FreshnessSettings) -> CheckOutcome:
    """Is the athlete's newest reading recent? (``state`` from ``freshness.evaluate``)"""
    if state.state == NONE:
        return CheckOutcome(
            False,
            "no wearable readings yet: put an export in sources/<athlete>/",
            {"state": state.state},
        )
    return CheckOutcome(
        state.fresh,
        state.verdict(settings),
        {
            "state": state.state,
            "newest_reading": state.newest_date,
            "age_hours": state.age_hours,
            "warn_hours": settings.warn_hours,
            "fail_hours": settings.fail_hours,
        },
    )
