"""Intervals.icu wellness: one record a day, as its API returns them.

``GET /api/v1/athlete/{id}/wellness`` answers a JSON list of records whose ``id`` is the
day (``YYYY-MM-DD``): the day the athlete woke up, so ``hrv`` is that morning's overnight
value. ``hrv`` is rMSSD (what Garmin, Oura, WHOOP and HRV4Training sync as HRV) and
``hrvSDNN`` is SDNN (Polar, Apple Watch): both are kept, as their own metrics, never
mixed. ``restingHR`` is the morning's resting heart rate. A day with neither HRV value
(only weight, or only the subjective scores) is skipped with a reason, like a night a
device could not measure. The Intervals.icu sensor stores what it pulls in this shape
(``sources/<athlete>/intervals.icu/wellness.json``); an API answer saved by hand reads
the same, and so does Intervals.icu's own wellness CSV download (``parse_table``).
"""

from __future__ import annotations

from typing import Any

from hrv.intake.exports.model import (
    DUPLICATE,
    NO_HRV,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_POSITIVE,
    RMSSD,
    SDNN,
    Collector,
    number,
    parse_day,
)
from hrv.intake.exports.tabular import Table

VENDOR = "Intervals.icu"
FORMAT = "intervals_icu_wellness"
HRV_FIELDS = {"hrv": RMSSD, "hrvSDNN": SDNN}
# What the sensor keeps of a record: the readings, and the subjective scores for people to
# read (they are not journal fields: see the README, "Intervals.icu").
KEPT_FIELDS = (
    "id",
    "hrv",
    "hrvSDNN",
    "restingHR",
    "sleepSecs",
    "sleepScore",
    "sleepQuality",
    "soreness",
    "fatigue",
    "stress",
    "mood",
    "motivation",
    "readiness",
)
_MARKERS = ("hrv", "hrvSDNN", "restingHR", "sleepSecs", "ctl", "atl", "readiness", "soreness")


def records(doc: Any) -> list[Any] | None:
    """The records of a wellness answer (a list, or one record), or None if this is not one."""
    items = [doc] if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not items:
        return None
    dicts = [i for i in items if isinstance(i, dict)]
    if not dicts or not all(isinstance(i.get("id"), str) for i in dicts):
        return None
    if not any(any(k in i for k in _MARKERS) for i in dicts):
        return None
    return items


def sleep_hours(raw: Any) -> float | None:
    """``sleepSecs`` as hours; anything but a plausible night (0-24 h) is not used."""
    try:
        seconds = number(raw)
    except (TypeError, ValueError):
        return None
    if seconds is None or not 0 < seconds <= 24 * 3600:
        return None
    return seconds / 3600.0


def is_table(table: Table) -> bool:
    """Intervals.icu's own wellness CSV download (``date,weight,restingHR,hrv,hrvSDNN,...``)."""
    return table.has("date", "restingHR") and (table.has("hrv") or table.has("hrvSDNN"))


def parse_table(table: Table, col: Collector) -> None:
    """The CSV download, read like the API's records (``date`` is the record's ``id``)."""
    names = {f: table.column(f) for f in (*HRV_FIELDS, "restingHR", "sleepSecs")}
    day = table.column("date") or "date"
    rows = []
    for line, rec in table.rows:
        item: dict[str, str | None] = {"id": rec.get(day, "")}
        item |= {f: rec.get(c) or None for f, c in names.items() if c}
        rows.append((line, item))
    _parse(rows, col, "intervals_icu_wellness_csv")


def parse(items: list[Any], col: Collector) -> None:
    _parse(list(enumerate(items, start=1)), col, FORMAT)


def _parse(rows: list[tuple[int, Any]], col: Collector, fmt: str) -> None:
    col.result.vendor, col.result.format = VENDOR, fmt
    seen: set[tuple[Any, str]] = set()
    for i, item in rows:
        col.result.rows_read += 1
        if not isinstance(item, dict):
            col.skip(i, "record", item, "not a wellness record")
            continue
        try:
            day = parse_day(item.get("id"))
        except (TypeError, ValueError):
            col.skip(i, "id", item.get("id"), NOT_A_DATE)
            continue
        try:
            rhr = number(item.get("restingHR"))
        except (TypeError, ValueError):
            rhr = None  # a bad resting HR does not cost the morning its HRV
        slept = sleep_hours(item.get("sleepSecs"))
        found = False
        for field, metric in HRV_FIELDS.items():
            raw = item.get(field)
            try:
                value = number(raw)
            except (TypeError, ValueError):
                col.skip(i, field, raw, NOT_A_NUMBER)
                found = True
                continue
            if value is None or value == 0:
                continue
            found = True
            if value < 0:
                col.skip(i, field, value, NOT_POSITIVE)
                continue
            if (day, metric) in seen:
                col.skip(i, "id", day.isoformat(), DUPLICATE)
                continue
            seen.add((day, metric))
            heart = rhr if rhr and rhr > 0 else None
            col.add(day, value, heart, metric=metric, row=i, sleep_hours=slept)
        if not found:
            col.skip(i, "hrv", None, NO_HRV, f"{day}: no hrv nor hrvSDNN in the record")
