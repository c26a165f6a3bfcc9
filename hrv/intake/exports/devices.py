"""Garmin, Fitbit and Polar: one nightly HRV value a day, dated by its wake day.

- Garmin: the HRV endpoint's JSON (``hrvSummary`` with ``calendarDate`` and
  ``lastNightAvg``): one day, a list of days, ``{"hrvSummaries": [...]}`` or a dict keyed
  by date, as download scripts save them.
- Fitbit: the Google Takeout "Daily Heart Rate Variability Summary" CSV (``timestamp,
  rmssd, nremhr, entropy``), its newer Google form ("average heart rate variability
  milliseconds"), the Web API ``{"hrv": [{"dateTime", "value": {"dailyRmssd"}}]}`` and the
  Google Health API's ``dailyHeartRateVariability`` points. Fitbit writes 0 for a night it
  could not measure. The per-5-minute "Details" and the "Histogram" files are not nightly
  values: they are listed as not HRV data (the daily summary beside them is read).
- Polar: AccessLink nightly recharge (``heart_rate_variability_avg`` by ``date``), one
  night or ``{"recharges": [...]}``.
"""

from __future__ import annotations

from typing import Any

from hrv.intake.exports.model import (
    DUPLICATE,
    NO_HRV,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_POSITIVE,
    Collector,
    NotHrv,
    number,
    parse_day,
)
from hrv.intake.exports.tabular import Table


def _add_daily(
    col: Collector, seen: dict[Any, int], i: int, field: str, raw: Any, day: Any, rhr: Any = None
) -> None:
    """One nightly value: validated, deduplicated by wake day."""
    col.result.rows_read += 1
    try:
        value = number(raw)
        heart = number(rhr)
    except (TypeError, ValueError):
        col.skip(i, field, raw, NOT_A_NUMBER)
        return
    if value is None or value == 0:
        col.skip(i, field, raw, NO_HRV)
        return
    if value < 0:
        col.skip(i, field, value, NOT_POSITIVE)
        return
    try:
        wake_day = parse_day(day)
    except (TypeError, ValueError):
        col.skip(i, "date", day, NOT_A_DATE)
        return
    if wake_day in seen:
        col.skip(i, "date", wake_day.isoformat(), DUPLICATE)
        return
    seen[wake_day] = i
    col.add(wake_day, value, heart)


# --------------------------------------------------------------------------- Garmin
def garmin_summaries(doc: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def visit(node: Any, depth: int) -> None:
        if depth > 5:
            return
        if isinstance(node, dict):
            if "calendarDate" in node and "lastNightAvg" in node:
                found.append(node)
                return
            for value in node.values():  # hrvSummary, hrvSummaries, keyed by date...
                if isinstance(value, (dict, list)):
                    visit(value, depth + 1)
        elif isinstance(node, list):
            for item in node:
                visit(item, depth + 1)

    visit(doc, 0)
    return found


def parse_garmin(summaries: list[dict[str, Any]], col: Collector) -> None:
    col.result.vendor, col.result.format = "Garmin", "garmin_hrv"
    seen: dict[Any, int] = {}
    for i, item in enumerate(summaries, start=1):
        _add_daily(col, seen, i, "lastNightAvg", item.get("lastNightAvg"), item.get("calendarDate"))


# --------------------------------------------------------------------------- Fitbit
FITBIT_DAILY = ("rmssd", "nremhr")
FITBIT_GOOGLE_DAILY = "average heart rate variability milliseconds"
FITBIT_NOT_NIGHTLY = {
    "coverage": "Fitbit HRV details: 5-minute samples, not the nightly value",
    "bucket_values": "Fitbit HRV histogram, not the nightly value",
    "root mean square of successive differences milliseconds": (
        "Fitbit HRV samples (Google export): not the nightly value"
    ),
}


def fitbit_table(table: Table) -> bool:
    return table.has("timestamp") and (
        table.has(*FITBIT_DAILY)
        or table.has(FITBIT_GOOGLE_DAILY)
        or any(table.has(c) for c in FITBIT_NOT_NIGHTLY)
    )


def parse_fitbit_table(table: Table, col: Collector) -> None:
    col.result.vendor = "Fitbit"
    value_col = table.column(FITBIT_GOOGLE_DAILY) or (
        table.column("rmssd") if table.has(*FITBIT_DAILY) else None
    )
    if value_col is None:
        for column, what in FITBIT_NOT_NIGHTLY.items():
            if table.has(column):
                col.result.format = "fitbit_hrv_samples"
                raise NotHrv(what)
    col.result.format = "fitbit_daily_hrv"
    rhr_col = table.column("nremhr", "non rem heart rate beats per minute")
    seen: dict[Any, int] = {}
    for line, rec in table.rows:
        raw_day = rec.get(table.column("timestamp") or "timestamp", "")
        rhr = rec.get(rhr_col) if rhr_col else None
        _add_daily(col, seen, line, value_col or "rmssd", rec.get(value_col or ""), raw_day, rhr)


def fitbit_json_points(doc: Any) -> list[tuple[Any, Any, Any]] | None:
    """(date, value, non-REM heart rate) from the Web API or Google Health API shapes."""
    if isinstance(doc, dict) and isinstance(doc.get("hrv"), list):
        out = []
        for item in doc["hrv"]:
            value = item.get("value") if isinstance(item, dict) else None
            daily = value.get("dailyRmssd") if isinstance(value, dict) else None
            out.append((item.get("dateTime") if isinstance(item, dict) else None, daily, None))
        return out
    if isinstance(doc, dict) and isinstance(doc.get("dataPoints"), list):
        out = []
        for point in doc["dataPoints"]:
            daily = point.get("dailyHeartRateVariability") if isinstance(point, dict) else None
            if not isinstance(daily, dict):
                continue
            d = daily.get("date") or {}
            day = (
                f"{d.get('year'):04d}-{d.get('month'):02d}-{d.get('day'):02d}"
                if isinstance(d, dict)
                and all(isinstance(d.get(k), int) for k in ("year", "month", "day"))
                else d
            )
            out.append(
                (
                    day,
                    daily.get("averageHeartRateVariabilityMilliseconds"),
                    daily.get("nonRemHeartRateBeatsPerMinute"),
                )
            )
        return out or None
    return None


def parse_fitbit_json(points: list[tuple[Any, Any, Any]], col: Collector) -> None:
    col.result.vendor, col.result.format = "Fitbit", "fitbit_hrv_json"
    seen: dict[Any, int] = {}
    for i, (day, value, rhr) in enumerate(points, start=1):
        _add_daily(col, seen, i, "dailyRmssd", value, day, rhr)


# --------------------------------------------------------------------------- Polar
def polar_recharges(doc: Any) -> list[dict[str, Any]] | None:
    items = doc.get("recharges") if isinstance(doc, dict) and "recharges" in doc else doc
    items = [items] if isinstance(items, dict) else items
    if isinstance(items, list) and any(
        isinstance(i, dict) and "heart_rate_variability_avg" in i for i in items
    ):
        return [i for i in items if isinstance(i, dict)]
    return None


def parse_polar(items: list[dict[str, Any]], col: Collector) -> None:
    col.result.vendor, col.result.format = "Polar", "polar_nightly_recharge"
    seen: dict[Any, int] = {}
    for i, item in enumerate(items, start=1):
        _add_daily(
            col,
            seen,
            i,
            "heart_rate_variability_avg",
            item.get("heart_rate_variability_avg"),
            item.get("date"),
        )
