"""Tomorrow's forecast and the training recommendation, with reasons a person can read.

HRV-guided training (Kiviniemi et al. 2007; Plews et al. 2013): train hard when the
expected morning rMSSD sits inside the athlete's normal range, ease off when it falls
below, rest when it falls far below or when ill. A high 7-day CV, a load spike (acute:
chronic > 1.5) or a baseline below the normal range each take one step down.
"""

from __future__ import annotations

import math
from typing import Any

RECOMMENDATIONS = ("rest", "train_easy", "train_moderate", "train_hard")
FAR_BELOW_Z = -1.5
CV_HIGH_PCT = 15.0
ACWR_SPIKE = 1.5
HEAVY_DRINKING_UNITS = 4.0
SHORT_SLEEP_HOURS = 6.0


def _step_down(level: str, steps: int = 1) -> str:
    return RECOMMENDATIONS[max(0, RECOMMENDATIONS.index(level) - steps)]


ADVICE = {
    "train_hard": "Go ahead and train hard today",
    "train_moderate": "Train at a moderate effort today",
    "train_easy": "Keep it easy today",
    "rest": "Rest or recover today",
}


def advice(level: str, reasons: list[str]) -> str:
    """One plain sentence for the morning: the recommendation and its first reason."""
    why = reasons[0] if reasons else ""
    return f"{ADVICE.get(level, level)}: {why}." if why else f"{ADVICE.get(level, level)}."


def _at_most(level: str, cap: str) -> str:
    return RECOMMENDATIONS[min(RECOMMENDATIONS.index(level), RECOMMENDATIONS.index(cap))]


def _where(predicted: float, lo: float, hi: float) -> str:
    """The forecast against the normal range, with enough digits that the numbers shown
    say what the words say (never "below normal range (47 ms vs 47-53 ms)")."""
    for digits in (0, 1, 2):
        p, a, b = (round(x, digits) for x in (predicted, lo, hi))
        if (p < a) == (predicted < lo) and (p > b) == (predicted > hi) and a < b:
            break
    return f"{predicted:.{digits}f} ms vs normal range {lo:.{digits}f}-{hi:.{digits}f} ms"


def _ok(x: Any) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def recommend(
    *,
    predicted_ms: float,
    normal_mean_ln: float | None,
    normal_sd_ln: float | None,
    baseline_ms: float | None,
    normal_lo_ms: float | None,
    cv_7d_pct: float | None,
    acwr: float | None,
    illness: bool | None,
    alcohol_units: float | None,
    sleep_hours: float | None,
    cold_start: bool,
) -> tuple[str, list[str]]:
    """Return (recommendation, reasons); reasons cite the numbers that decided it."""
    reasons: list[str] = []
    if illness:
        return "rest", ["illness reported in the journal: rest until symptoms clear"]
    if not (_ok(normal_mean_ln) and _ok(normal_sd_ln)) or (normal_sd_ln or 0) <= 0:
        level = "train_moderate"
        reasons.append("normal range not established yet (needs 7+ valid readings in 60 days)")
    else:
        z = (math.log(predicted_ms) - float(normal_mean_ln)) / float(normal_sd_ln)  # type: ignore[arg-type]
        lo = math.exp(float(normal_mean_ln) - 0.5 * float(normal_sd_ln))  # type: ignore[arg-type]
        hi = math.exp(float(normal_mean_ln) + 0.5 * float(normal_sd_ln))  # type: ignore[arg-type]
        where = _where(predicted_ms, lo, hi)
        if z < FAR_BELOW_Z:
            level = "rest"
            reasons.append(f"forecast far below normal range ({where})")
        elif z < -0.5:
            level = "train_easy"
            reasons.append(f"forecast below normal range ({where})")
        else:
            level = "train_hard"
            reasons.append(f"forecast {'within' if z <= 0.5 else 'above'} normal range ({where})")
    if _ok(baseline_ms) and _ok(normal_lo_ms) and baseline_ms < normal_lo_ms:  # type: ignore[operator]
        level = _step_down(level)
        reasons.append(
            f"7-day baseline {baseline_ms:.0f} ms is below the normal range: accumulated fatigue"
        )
    if _ok(cv_7d_pct) and cv_7d_pct > CV_HIGH_PCT:  # type: ignore[operator]
        level = _step_down(level)
        reasons.append(f"7-day CV {cv_7d_pct:.1f}% > {CV_HIGH_PCT:.0f}%: HRV unstable")
    if _ok(acwr) and acwr > ACWR_SPIKE:  # type: ignore[operator]
        level = _step_down(level)
        reasons.append(f"acute:chronic load {acwr:.2f} > {ACWR_SPIKE}: load spike")
    # what the journal says caps the day, so that no reason contradicts the advice
    if _ok(alcohol_units) and alcohol_units >= HEAVY_DRINKING_UNITS:  # type: ignore[operator]
        level = _at_most(level, "train_moderate")
        reasons.append(f"{alcohol_units:g} drinks last evening lower tomorrow's HRV")
    if _ok(sleep_hours) and sleep_hours < SHORT_SLEEP_HOURS:  # type: ignore[operator]
        level = _at_most(level, "train_moderate")
        reasons.append(f"short sleep ({sleep_hours:g} h)")
    if cold_start:
        reasons.append("cold start: fewer than 14 days of data, forecast is the 7-day baseline")
    return level, reasons
