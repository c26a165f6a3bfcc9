"""Athlete flags: what a coach should look at this morning (pure: no Dagster, no Slack).

Evaluated on the athlete's latest day after every forecast, never on old history (an
athlete who arrives with 180 days raises at most today's flags):

- ``hrv_low``: the 7-day mean of ln rMSSD below the normal range (60-day mean minus
  ``normal_range_width`` SD) for ``low_hrv_days`` days in a row, the latest included
  (Plews et al. 2012: a sustained drop of the weekly mean, not one low night, is what
  signals maladaptation).
- ``variation_rising``: the 7-day coefficient of variation above ``variation_ratio``
  times the athlete's usual (its median over the previous 60 days) and at least
  ``VARIATION_MIN_RISE`` points above it (a very steady athlete's 3% -> 5% is not news).
- ``illness``: the journal of the last two days reports illness.
- ``rest``: tomorrow's forecast recommends rest.

The two HRV flags wait until the normal range rests on ``min_valid_days`` valid nights
(before that the range is not the athlete's own yet); illness and rest need no history.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from hrv.coach.roster import AthleteConfig

HRV_LOW, VARIATION, ILLNESS, REST = "hrv_low", "variation_rising", "illness", "rest"
FLAGS = (HRV_LOW, VARIATION, ILLNESS, REST)
LABELS = {
    HRV_LOW: "HRV below normal",
    VARIATION: "variation rising",
    ILLNESS: "illness reported",
    REST: "forecast says rest",
}
SEVERITY = {HRV_LOW: "warning", VARIATION: "warning", ILLNESS: "warning", REST: "warning"}
USUAL_DAYS = 60
VARIATION_MIN_RISE = 5.0  # percentage points of CV above the usual, at least


@dataclass(frozen=True)
class Flag:
    name: str
    active: bool
    text: str  # why (active) or why not / since when it is fine (inactive)
    evaluated: bool = True  # False: not enough data yet to judge

    @property
    def label(self) -> str:
        return LABELS[self.name]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"label": self.label}


def _f(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def evaluate_flags(
    frame: pd.DataFrame, forecast: dict[str, Any] | None, config: AthleteConfig
) -> list[Flag]:
    """Every flag's state on the latest day of ``frame`` (the features)."""
    th = config.flags
    out: list[Flag] = []
    if frame.empty:
        return [Flag(name, False, "no data yet", evaluated=False) for name in FLAGS]
    valid = frame["rmssd_valid"].astype(bool)
    n_valid = int(valid.tail(USUAL_DAYS).sum())
    enough = n_valid >= th.min_valid_days

    # --- 7-day mean below the normal range, several days running
    if not enough:
        out.append(
            Flag(
                HRV_LOW,
                False,
                f"baseline building: {n_valid} of {th.min_valid_days} valid nights",
                False,
            )
        )
    else:
        width = config.normal_range_width
        lower = frame["normal_mean_ln"] - width * frame["normal_sd_ln"]
        below = (frame["baseline_7d_ln"] < lower).to_numpy()
        run = 0
        for flag in below[::-1]:
            if not flag:
                break
            run += 1
        last = frame.iloc[-1]
        mean7 = _f(last["baseline_7d_ln"])
        lo = _f(lower.iloc[-1])
        shown = (
            f"7-day mean {math.exp(mean7):.1f} ms vs normal range from {math.exp(lo):.1f} ms"
            if mean7 is not None and lo is not None
            else "no 7-day mean"
        )
        active = run >= th.low_hrv_days
        out.append(
            Flag(
                HRV_LOW,
                active,
                f"{shown}, below it {run} day{'s' if run != 1 else ''} running"
                + (f" (flag from {th.low_hrv_days})" if not active and run else ""),
            )
        )

    # --- variation rising well above the athlete's usual
    cv = frame["cv_7d_pct"]
    now = _f(cv.iloc[-1])
    usual = _f(np.nanmedian(cv.iloc[-USUAL_DAYS - 1 : -1])) if len(cv) > 1 else None
    if not enough or now is None or usual is None or usual <= 0:
        why = (
            f"baseline building: {n_valid} of {th.min_valid_days} valid nights"
            if not enough
            else "no 7-day variation yet"
        )
        out.append(Flag(VARIATION, False, why, False))
    else:
        active = now > th.variation_ratio * usual and now - usual >= VARIATION_MIN_RISE
        out.append(
            Flag(
                VARIATION,
                active,
                f"7-day CV {now:.1f}% vs usual {usual:.1f}% "
                f"({now / usual:.1f}x; flag above {th.variation_ratio:g}x)",
            )
        )

    # --- illness in the journal of the last two days
    recent = frame.tail(2)
    ill_days = [
        str(pd.Timestamp(d).date())
        for d, ill in zip(recent["date"], recent["illness"], strict=True)
        if _f(ill) == 1.0
    ]
    out.append(
        Flag(
            ILLNESS,
            bool(ill_days),
            f"illness reported on {', '.join(ill_days)}"
            if ill_days
            else "no illness in the last two journal days",
        )
    )

    # --- the forecast says rest
    rec = (forecast or {}).get("recommendation")
    reasons = (forecast or {}).get("reasons") or []
    out.append(
        Flag(
            REST,
            rec == "rest",
            f"forecast for {(forecast or {}).get('for_date')}: rest ({reasons[0]})"
            if rec == "rest" and reasons
            else f"forecast recommends {rec or 'nothing yet'}",
        )
    )
    return out
