"""Which export is this? Decided by content, never by the file's name."""

from __future__ import annotations

import datetime as dt
import json
from typing import IO

from hrv.intake.exports import apple, devices, oura, tables, wellness, whoop
from hrv.intake.exports.model import Collector, NotHrv, Reject
from hrv.intake.exports.tabular import decode, read_table

KNOWN = (
    "a CSV with 'date,rmssd_ms' (or sdnn_ms), a WHOOP export, Oura sleep JSON (API v2 or "
    "the account export), a WHOOP API recovery JSON, Garmin HRV JSON, a Fitbit daily HRV "
    "summary (CSV or JSON), Polar nightly recharge JSON, Intervals.icu wellness (JSON or CSV), an "
    "HRV4Training, HRV Logger or "
    "Elite HRV CSV, or Apple Health export.xml"
)
JOURNAL_FIELDS = {"sleep_hours", "sleep_quality", "alcohol_units", "mood", "stress", "training"}


def parse_xml(fh: IO[bytes], head: bytes, col: Collector) -> None:
    if apple.is_cda(head):
        col.result.vendor, col.result.format = apple.VENDOR, "apple_health_cda"
        raise NotHrv("Apple Health export_cda.xml: clinical document, no HRV")
    apple.parse(fh, col)


def parse_text(data: bytes, col: Collector, tz: dt.tzinfo) -> None:
    text = decode(data)
    if not text.strip():
        raise Reject("file is empty", 0)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Reject(f"not valid JSON: {exc.msg} at line {exc.lineno}") from exc
        _parse_json(doc, col, tz)
        return
    if _rr_list(text):
        col.result.vendor, col.result.format = "Elite HRV", "rr_intervals"
        raise NotHrv("beat-to-beat RR intervals without a date: export the readings CSV instead")
    table = read_table(text)
    if whoop.matches_table(table):
        whoop.parse_cycles(table, col)
    elif devices.fitbit_table(table):
        devices.parse_fitbit_table(table, col)
    elif tables.is_hrv4training(table):
        tables.parse_hrv4training(table, col)
    elif tables.is_elite_hrv(table):
        tables.parse_elite_hrv(table, col)
    elif tables.is_hrv_logger(table):
        tables.parse_hrv_logger(table, col, tz)
    elif wellness.is_table(table):  # before the generic CSV and the journal look-alike
        wellness.parse_table(table, col)
    elif tables.is_generic(table):
        tables.parse_generic(table, col)
    elif table.has("rr") and (table.has("timestamp") or table.has("date")):
        col.result.vendor, col.result.format = "HRV Logger / HRV4Training", "rr_intervals"
        raise NotHrv(
            "beat-to-beat RR intervals, no morning summary: the app's features or "
            "measurements export beside it is read"
        )
    elif {h.lower() for h in table.header} & JOURNAL_FIELDS:
        raise Reject(
            "this looks like a journal, not a wearable export: journals go in "
            "inbox/ or inbox/<athlete>/",
            table.header[:10],
        )
    else:
        raise Reject(f"unrecognised export: expected {KNOWN}", table.header[:10])


def _rr_list(text: str) -> bool:
    """A bare list of RR intervals in ms, one per line (Elite HRV's RR export)."""
    lines = [line.strip() for line in text.splitlines()[:200] if line.strip()]
    if len(lines) < 20:
        return False
    try:
        values = [float(line) for line in lines]
    except ValueError:
        return False
    return all(200 <= v <= 2500 for v in values)


def _parse_json(doc: object, col: Collector, tz: dt.tzinfo) -> None:
    items = oura.v2_items(doc)
    if items is not None:
        oura.parse_v2(items, col)
        return
    daily = oura.daily_summaries_only(doc)
    if daily:
        col.result.vendor, col.result.format = oura.VENDOR, "oura_daily_summaries"
        raise NotHrv(daily)
    if oura.is_account_export(doc):
        oura.parse_account_export(doc, col)  # type: ignore[arg-type]
        return
    if whoop.matches_json(doc):
        whoop.parse_recoveries(doc, col, tz)
        return
    summaries = devices.garmin_summaries(doc)
    if summaries:
        devices.parse_garmin(summaries, col)
        return
    points = devices.fitbit_json_points(doc)
    if points:
        devices.parse_fitbit_json(points, col)
        return
    recharges = devices.polar_recharges(doc)
    if recharges:
        devices.parse_polar(recharges, col)
        return
    records = wellness.records(doc)
    if records:
        wellness.parse(records, col)
        return
    if isinstance(doc, dict) and JOURNAL_FIELDS & set(doc):
        raise Reject(
            "this looks like a journal, not a wearable export: journals go in "
            "inbox/ or inbox/<athlete>/"
        )
    raise Reject(f"unrecognised JSON: expected {KNOWN}")
