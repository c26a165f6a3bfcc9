"""Daily features for one athlete: the HRV method of the product contract.

One row per calendar day D, built only from data known on the evening of D:
- ``ln_rmssd``: ln of the morning-of-D rMSSD. A reading far outside the athlete's own
  recent nights (robust z > 4.5 in ln space, 3x off their median, a lone night:
  ``artefact``) is flagged and not used; the absolute 2-600 ms bounds are a last guard.
- ``baseline_7d_ln``: mean ln rMSSD over D-6..D, needing >= 3 valid days.
- ``level_ln``: the recent level, an exponentially weighted mean of valid ln rMSSD nights
  (weight 0.15 on the latest: half of it rests on the last ~4 nights), defined where the
  7-day mean is. Forecasts start from it: on real nightly series it predicts the next
  morning about 5% better than the 7-day mean (BENCHMARKS.md).
- ``normal_mean_ln`` +/- 0.5 ``normal_sd_ln``: the 60-day normal range (>= 7 valid days).
- ``cv_7d_pct``: 7-day coefficient of variation of rMSSD, in percent (>= 3 valid days).
- ``load_au``: sum of minutes x RPE of D's sessions; ``acute_load``/``chronic_load``:
  exponentially weighted means with spans 7 and 28 days; ``acwr`` their ratio.
- Journal self-reports of D.
The label ``target_ln`` is ln rMSSD of the morning of D+1: a journal for D informs it.

One metric per athlete, never mixed: rMSSD whenever any source gives it; SDNN only for an
athlete whose sources give nothing else (Apple Health). The ``*rmssd*`` columns then carry
SDNN, and the ``metric`` column (and every output) says so.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

RMSSD, SDNN = "rmssd", "sdnn"
METRIC_LABELS = {RMSSD: "rMSSD", SDNN: "SDNN"}
RMSSD_MIN_MS = 2.0  # absolute bounds: only a last guard (a real athlete can sit at 314 ms)
RMSSD_MAX_MS = 600.0
ARTEFACT_Z = 4.5  # robust z (ln space) beyond which a reading is an artefact of that athlete
ARTEFACT_WINDOW = 60  # the athlete's own recent nights it is judged against
ARTEFACT_MIN_HISTORY = 10  # fewer earlier valid nights: only the absolute bounds
ARTEFACT_MIN_MAD = 0.05  # ln units: a very steady athlete is not flagged for normal noise
ARTEFACT_MIN_RATIO = 3.0  # and never closer than this factor to the athlete's median
BASELINE_DAYS = 7
BASELINE_MIN_VALID = 3
LEVEL_ALPHA = 0.15  # weight of the latest valid night in the recent level
NORMAL_DAYS = 60
NORMAL_MIN_VALID = 7
NORMAL_SD_WIDTH = 0.5
ACUTE_SPAN = 7
CHRONIC_SPAN = 28

JOURNAL_NUMERIC = (
    "sleep_hours",
    "sleep_quality",
    "stress",
    "mood",
    "soreness",
    "alcohol_units",
    "caffeine_mg",
    "hrv_guess_ms",
)
JOURNAL_BOOL = ("late_meal", "illness", "travel")
JOURNAL_COLUMNS = ("date", *JOURNAL_NUMERIC, *JOURNAL_BOOL, "load_au", "n_sessions")
READING_COLUMNS = ("date", "metric", "value_ms", "resting_hr_bpm", "source_format", "sleep_hours")

# Inputs of the learned models (all known on the evening of D).
MODEL_FEATURES = (
    "ln_rmssd_last",
    "dev_from_baseline",
    "baseline_7d_ln",
    "normal_mean_ln",
    "normal_sd_ln",
    "cv_7d_pct",
    "resting_hr_bpm",
    "load_au",
    "acute_load",
    "chronic_load",
    "acwr",
    "sleep_hours",
    "sleep_quality",
    "stress",
    "mood",
    "soreness",
    "alcohol_units",
    "caffeine_mg",
    "late_meal",
    "illness",
    "travel",
)


def journal_frame(entries: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Effective journal entries (one per date, as dicts) -> a typed frame."""
    rows = []
    for e in entries:
        sessions = e.get("training") or []
        row = {k: e.get(k) for k in ("date", *JOURNAL_NUMERIC, *JOURNAL_BOOL)}
        row["load_au"] = float(sum(s["minutes"] * s["rpe"] for s in sessions))
        row["n_sessions"] = len(sessions)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(JOURNAL_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"])
    for col in (*JOURNAL_NUMERIC, "load_au"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    for col in JOURNAL_BOOL:
        frame[col] = frame[col].map({True: 1.0, False: 0.0}).astype(float)
    frame["n_sessions"] = frame["n_sessions"].astype(int)
    return frame.sort_values("date").reset_index(drop=True)


def readings_frame(readings: Iterable[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(readings), columns=list(READING_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"])
    frame["value_ms"] = pd.to_numeric(frame["value_ms"], errors="coerce").astype(float)
    frame["resting_hr_bpm"] = pd.to_numeric(frame["resting_hr_bpm"], errors="coerce").astype(float)
    frame["sleep_hours"] = pd.to_numeric(frame["sleep_hours"], errors="coerce").astype(float)
    return frame.sort_values(["date", "metric"]).reset_index(drop=True)


def forecast_metric(readings: pd.DataFrame) -> str:
    """The metric an athlete's baselines and forecasts are in: rMSSD whenever any source
    gives it, SDNN only when nothing else does (an Apple-Health-only athlete)."""
    metrics = set(readings["metric"]) if len(readings) else set()
    return SDNN if SDNN in metrics and RMSSD not in metrics else RMSSD


def metric_of(frame: pd.DataFrame) -> str:
    """The metric a features frame was built in (rMSSD for frames without the column)."""
    if "metric" in frame and len(frame):
        value = str(frame["metric"].iloc[-1])
        return value if value in METRIC_LABELS else RMSSD
    return RMSSD


def is_plausible_rmssd(value: float) -> bool:
    return value == value and RMSSD_MIN_MS <= value <= RMSSD_MAX_MS


def build_daily_features(
    journal: pd.DataFrame, readings: pd.DataFrame, normal_width: float = NORMAL_SD_WIDTH
) -> pd.DataFrame:
    """Join journal and readings on a continuous calendar and compute the features.

    Never looks ahead: every column but ``target_ln``/``target_rmssd_ms`` for day D is a
    function of rows dated <= D only (tested in tests/test_features.py).
    """
    dates = pd.concat([journal["date"], readings["date"]])
    if dates.empty:
        # no day at all (a new athlete whose only file vanished before its run): every
        # column, no row, so that the steps after this one say "no data" instead of failing
        one_day = journal_frame([{"date": "2000-01-01", "athlete": "-"}])
        return build_daily_features(one_day, readings, normal_width).iloc[0:0]
    calendar = pd.date_range(dates.min(), dates.max(), freq="D")
    frame = pd.DataFrame({"date": calendar})

    metric = forecast_metric(readings)
    chosen = readings[readings["metric"] == metric].drop_duplicates("date", keep="last")
    sdnn = readings[readings["metric"] == SDNN].drop_duplicates("date", keep="last")
    # resting HR: the chosen metric's source first, else any source's for that morning
    rhr = (
        readings.dropna(subset=["resting_hr_bpm"])
        .assign(_pref=lambda f: (f["metric"] != metric).astype(int))
        .sort_values(["date", "_pref"])
        .drop_duplicates("date", keep="first")[["date", "resting_hr_bpm"]]
    )
    frame = frame.merge(
        chosen[["date", "value_ms"]].rename(columns={"value_ms": "rmssd_ms"}),
        on="date",
        how="left",
    )
    frame = frame.merge(rhr, on="date", how="left")
    frame = frame.merge(
        sdnn[["date", "value_ms"]].rename(columns={"value_ms": "sdnn_ms"}), on="date", how="left"
    )
    frame["metric"] = metric
    frame = frame.merge(journal, on="date", how="left")
    frame["has_journal"] = frame["date"].isin(journal["date"])
    # a source's sleep (Intervals.icu) where the athlete wrote none: what they typed wins
    if "sleep_hours" in readings and readings["sleep_hours"].notna().any():
        slept = readings.dropna(subset=["sleep_hours"]).drop_duplicates("date", keep="last")
        device = frame[["date"]].merge(slept[["date", "sleep_hours"]], on="date", how="left")
        frame["sleep_hours"] = frame["sleep_hours"].fillna(device["sleep_hours"])
    frame["has_rmssd"] = frame["rmssd_ms"].notna()

    in_bounds = frame["rmssd_ms"].between(RMSSD_MIN_MS, RMSSD_MAX_MS)
    frame["artefact_z"], frame["artefact"] = artefacts(frame["rmssd_ms"].where(in_bounds))
    valid = in_bounds & ~frame["artefact"]
    frame["rmssd_valid"] = valid
    frame["ln_rmssd"] = np.where(valid, np.log(frame["rmssd_ms"].where(valid)), np.nan)
    ln = frame["ln_rmssd"]
    frame["ln_rmssd_last"] = ln.ffill(limit=BASELINE_DAYS)

    roll7 = ln.rolling(BASELINE_DAYS, min_periods=BASELINE_MIN_VALID)
    frame["baseline_7d_ln"] = roll7.mean()
    frame["n_valid_7d"] = valid.astype(float).rolling(BASELINE_DAYS, min_periods=1).sum()
    frame["baseline_7d_ms"] = np.exp(frame["baseline_7d_ln"])
    level = ln.ewm(alpha=LEVEL_ALPHA, ignore_na=True).mean()
    frame["level_ln"] = level.where(frame["baseline_7d_ln"].notna())
    raw7 = frame["rmssd_ms"].where(valid).rolling(BASELINE_DAYS, min_periods=BASELINE_MIN_VALID)
    frame["cv_7d_pct"] = 100.0 * raw7.std(ddof=1) / raw7.mean()

    roll60 = ln.rolling(NORMAL_DAYS, min_periods=NORMAL_MIN_VALID)
    frame["normal_mean_ln"] = roll60.mean()
    frame["normal_sd_ln"] = roll60.std(ddof=1)
    frame["normal_lo_ms"] = np.exp(frame["normal_mean_ln"] - normal_width * frame["normal_sd_ln"])
    frame["normal_hi_ms"] = np.exp(frame["normal_mean_ln"] + normal_width * frame["normal_sd_ln"])
    frame["dev_from_baseline"] = frame["ln_rmssd_last"] - frame["baseline_7d_ln"]

    load = frame["load_au"].fillna(0.0)
    frame["load_au"] = load
    frame["acute_load"] = load.ewm(span=ACUTE_SPAN, adjust=False).mean()
    frame["chronic_load"] = load.ewm(span=CHRONIC_SPAN, adjust=False).mean()
    frame["acwr"] = frame["acute_load"] / frame["chronic_load"].where(frame["chronic_load"] > 0)

    frame["target_ln"] = ln.shift(-1)
    frame["target_rmssd_ms"] = frame["rmssd_ms"].where(valid).shift(-1)
    return frame


def _median_sorted(ordered: list[float]) -> float:
    """``np.median`` of a sorted list (the same number: the middle, or the mean of two)."""
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _median_abs_deviation(ordered: list[float], med: float) -> float:
    """``np.median(np.abs(ordered - med))``, the same number (sorting 60 floats in C is
    cheaper than numpy's overhead on them)."""
    return _median_sorted(sorted([abs(x - med) for x in ordered]))


def artefacts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(robust z, artefact?) of each reading against the athlete's own earlier nights in
    ln space: the distance from the median of the last ``ARTEFACT_WINDOW`` valid nights
    before it, in units of their MAD (x 1.4826); NaN while there are fewer than
    ``ARTEFACT_MIN_HISTORY``. An artefact is beyond ``ARTEFACT_Z`` *and* more than
    ``ARTEFACT_MIN_RATIO`` times off the median, and alone: real drops after illness or a
    night of drinking (30-50%) stay, and so does a lasting change of level (from its second
    night). Only earlier nights count, and an artefact never joins them."""
    ln = np.log(values.to_numpy(dtype=float))
    z = np.full(len(ln), np.nan)
    flag = np.zeros(len(ln), dtype=bool)
    history: list[float] = []
    window: list[float] = []  # the last ARTEFACT_WINDOW nights of history, sorted
    previous_side = 0  # the previous night's side when it was that far off (-1, +1), else 0
    for i, x in enumerate(ln.tolist()):
        if not math.isfinite(x):
            previous_side = 0
            continue
        side = 0
        if len(history) >= ARTEFACT_MIN_HISTORY:
            med = _median_sorted(window)
            mad = max(_median_abs_deviation(window, med) * 1.4826, ARTEFACT_MIN_MAD)
            z[i] = (x - med) / mad
            if abs(z[i]) > ARTEFACT_Z and abs(x - med) > math.log(ARTEFACT_MIN_RATIO):
                side = 1 if x > med else -1
        # a lone night that far off is an artefact; a second one in a row on the same
        # side is a real change of level (a new device, a new life) and is kept
        if side and side != previous_side:
            flag[i] = True
        else:
            history.append(x)
            bisect.insort(window, x)
            if len(history) > ARTEFACT_WINDOW:
                del window[bisect.bisect_left(window, history[-ARTEFACT_WINDOW - 1])]
        previous_side = side
    return pd.Series(z, index=values.index), pd.Series(flag, index=values.index)


def hand_ewma(values: list[float], span: int) -> list[float]:
    """Reference EWMA (Williams et al. 2017): E_t = l*x_t + (1-l)*E_{t-1}, l = 2/(span+1)."""
    lam = 2.0 / (span + 1.0)
    out: list[float] = []
    for x in values:
        out.append(x if not out else lam * x + (1 - lam) * out[-1])
    return out


def finite_or_none(value: Any, digits: int = 2) -> float | None:
    """Round a number for JSON output; NaN/inf/None become None."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, digits) if math.isfinite(number) else None


def no_forecast_reason(frame: pd.DataFrame) -> str | None:
    """Why there is no forecast for the morning after the latest data, or None."""
    if frame.empty:
        return "no data yet"
    last = frame.iloc[-1]
    if math.isfinite(float(last["baseline_7d_ln"])):
        return None
    valid = frame[frame["rmssd_valid"].astype(bool)]
    if len(valid) < BASELINE_MIN_VALID or frame["baseline_7d_ln"].isna().all():
        return (
            f"no 7-day baseline yet: it needs {BASELINE_MIN_VALID} valid readings within 7 "
            f"days (this athlete has {len(valid)} valid readings in all)"
        )
    if math.isfinite(float(last["ln_rmssd_last"])):
        return None  # a gap is closing: the last reading carries the forecast
    newest = valid["date"].iloc[-1].date().isoformat()
    return (
        f"no reading in the 7 days up to {last['date'].date().isoformat()} (the latest on "
        f"{newest}): nothing current to forecast from"
    )
