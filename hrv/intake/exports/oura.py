"""Oura: API v2 ``sleep`` documents (one page, or several pages saved together) and the
account ("cloud") export's ``sleep`` list.

API v2: ``day`` is the wake day; ``late_nap`` and ``rest`` periods are never the night, and
a short or daytime ``sleep`` neither. The account export dates a night by the evening it
began (``summary_date``): the wake day is the date of ``bedtime_end``.
"""

from __future__ import annotations

from typing import Any

from hrv.intake.exports.model import (
    NAP,
    NO_HRV,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_POSITIVE,
    Collector,
    number,
    parse_day,
    parse_moment,
)
from hrv.intake.exports.nights import Night, keep_nights

VENDOR = "Oura"
NAP_TYPES = ("late_nap", "rest")


DAILY_SUMMARIES = ("daily_sleep", "daily_readiness", "daily_activity", "daily_spo2")


def v2_items(doc: Any) -> list[Any] | None:
    """The ``data`` items of one page, of a list of pages, of ``{"pages": [...]}``, or of
    the ``sleep`` endpoint in a dump of several endpoints (``{"sleep": {"data": ...},
    "daily_readiness": ...}``)."""
    if isinstance(doc, dict) and isinstance(doc.get("sleep"), dict | list):
        doc = doc["sleep"]
    pages = doc.get("pages") if isinstance(doc, dict) and "pages" in doc else doc
    if isinstance(pages, dict):
        pages = [pages]
    if not isinstance(pages, list) or not pages:
        return None
    items: list[Any] = []
    for page in pages:
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            return None
        items.extend(page["data"])
    if not any(isinstance(i, dict) and "day" in i and "average_hrv" in i for i in items):
        return None
    return items


def parse_v2(items: list[Any], col: Collector) -> None:
    col.result.vendor, col.result.format = VENDOR, "oura_sleep_v2"
    nights: list[Night] = []
    for i, item in enumerate(items, start=1):
        col.result.rows_read += 1
        if not isinstance(item, dict):
            col.skip(i, "data", item, "not a sleep record")
            continue
        kind = str(item.get("type") or "long_sleep")
        if kind in NAP_TYPES:
            col.skip(i, "type", kind, NAP)
            continue
        night = _night(
            col,
            i,
            item,
            value_key="average_hrv",
            day=lambda it: parse_day(it.get("day")),
            asleep_key="total_sleep_duration",
            rhr_key="lowest_heart_rate",
        )
        if night is not None:
            nights.append(night)
    keep_nights(nights, col, "average_hrv")


def daily_summaries_only(doc: Any) -> str | None:
    """An Oura dump of daily summaries (scores, activity) without the sleep periods that
    carry HRV: what it holds, or None."""
    if not isinstance(doc, dict):
        return None
    pages = [doc] if "data" in doc else [doc[k] for k in DAILY_SUMMARIES if k in doc]
    items = [
        i
        for page in pages
        if isinstance(page, dict) and isinstance(page.get("data"), list)
        for i in page["data"]
    ]
    if not items or not all(isinstance(i, dict) and "day" in i for i in items):
        return None
    if not any("contributors" in i or "score" in i for i in items):
        return None
    if any("average_hrv" in i for i in items):
        return None
    held = [k for k in DAILY_SUMMARIES if k in doc] or ["daily summaries"]
    return (
        f"Oura {', '.join(held)}: scores, no HRV (the sleep periods, "
        "/v2/usercollection/sleep, carry it)"
    )


def is_account_export(doc: Any) -> bool:
    sleep = doc.get("sleep") if isinstance(doc, dict) else None
    return isinstance(sleep, list) and any(
        isinstance(s, dict) and "summary_date" in s and "rmssd" in s for s in sleep[:50]
    )


def parse_account_export(doc: dict[str, Any], col: Collector) -> None:
    col.result.vendor, col.result.format = VENDOR, "oura_account_export"
    nights: list[Night] = []
    for i, item in enumerate(doc["sleep"], start=1):
        col.result.rows_read += 1
        if not isinstance(item, dict):
            col.skip(i, "sleep", item, "not a sleep record")
            continue
        if item.get("is_longest") in (0, False, "0"):
            col.skip(i, "is_longest", item.get("is_longest"), NAP)
            continue
        night = _night(
            col,
            i,
            item,
            value_key="rmssd",
            day=lambda it: parse_moment(it.get("bedtime_end")).date(),
            asleep_key="total",
            rhr_key="hr_lowest",
        )
        if night is not None:
            nights.append(night)
    keep_nights(nights, col, "rmssd")


def _night(
    col: Collector,
    i: int,
    item: dict[str, Any],
    *,
    value_key: str,
    day: Any,
    asleep_key: str,
    rhr_key: str,
) -> Night | None:
    raw = item.get(value_key)
    try:
        value = number(raw)
        asleep_s = number(item.get(asleep_key))
        rhr = number(item.get(rhr_key))
    except (TypeError, ValueError):
        col.skip(i, value_key, raw, NOT_A_NUMBER)
        return None
    if value is None or value == 0:
        col.skip(i, value_key, raw, NO_HRV)  # Oura writes 0 for "not measured"
        return None
    if value < 0:
        col.skip(i, value_key, value, NOT_POSITIVE)
        return None
    try:
        wake_day = day(item)
        onset = parse_moment(item["bedtime_start"]) if item.get("bedtime_start") else None
        wake = parse_moment(item["bedtime_end"]) if item.get("bedtime_end") else None
    except (TypeError, ValueError):
        col.skip(i, "day", item.get("day") or item.get("bedtime_end"), NOT_A_DATE)
        return None
    asleep = None if asleep_s is None else asleep_s / 60
    return Night(i, wake_day, value, rhr or None, asleep, onset, wake)
