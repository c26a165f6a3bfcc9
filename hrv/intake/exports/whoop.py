"""WHOOP: the app export (``physiological_cycles.csv`` and its siblings) and the API v2
recovery JSON.

A cycle's HRV belongs to the morning of its ``Wake onset``. A cycle whose sleep is a nap
(short, or in the daytime: WHOOP sometimes scores a nap as the cycle's sleep, with a very
low recovery) is skipped; when two cycles wake on the same day, the longer sleep wins.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hrv.intake.exports.model import (
    DUPLICATE,
    NO_HRV,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_POSITIVE,
    Collector,
    NotHrv,
    Reject,
    number,
    parse_moment,
)
from hrv.intake.exports.nights import Night, keep_nights
from hrv.intake.exports.tabular import Table

VENDOR = "WHOOP"
START = "Cycle start time"
HRV = "Heart rate variability (ms)"
RHR = "Resting heart rate (bpm)"
ONSET = "Sleep onset"
WAKE = "Wake onset"
ASLEEP = "Asleep duration (min)"
LATER_SLEEP = dt.timedelta(
    minutes=30
)  # a sleep starting this long after the cycle is not its opening sleep
OPENING_SLEEP_TO_WAKE_DAY = dt.timedelta(hours=12)
SIBLINGS = {  # a column only that file has -> what it is
    "Nap": "WHOOP sleeps.csv: sleep periods, no HRV",
    "Activity name": "WHOOP workouts.csv: workouts, no HRV",
    "Question text": "WHOOP journal_entries.csv: journal answers, no HRV",
}


def matches_table(table: Table) -> bool:
    return table.has(START)


def parse_cycles(table: Table, col: Collector) -> None:
    col.result.vendor = VENDOR
    if not table.has(HRV):
        for column, what in SIBLINGS.items():
            if table.has(column):
                col.result.format = "whoop_" + what.split(".")[0].split()[-1]
                raise NotHrv(what)
        raise NotHrv("a WHOOP export file without an HRV column")
    col.result.format = "whoop_cycles"
    nights: list[Night] = []
    for line, rec in table.rows:
        col.result.rows_read += 1
        raw = rec.get(HRV, "")
        try:
            value = number(raw)
            rhr = number(rec.get(RHR))
            asleep = number(rec.get(ASLEEP))
        except ValueError:
            col.skip(line, HRV, raw, NOT_A_NUMBER)
            continue
        if value is None:
            col.skip(line, HRV, raw, NO_HRV)  # a cycle without a scored sleep
            continue
        if value <= 0:
            col.skip(line, HRV, value, NOT_POSITIVE)
            continue
        try:
            onset = parse_moment(rec[ONSET]) if rec.get(ONSET) else None
            wake = parse_moment(rec[WAKE]) if rec.get(WAKE) else None
            start = parse_moment(rec[START])
        except (KeyError, ValueError):
            col.skip(line, WAKE, rec.get(WAKE) or rec.get(START), NOT_A_DATE)
            continue
        if wake is None or (onset is not None and onset - start > LATER_SLEEP):
            # The cycle opens with its main sleep, and its HRV is that sleep's recovery.
            # Without a wake time, or when the row's sleep columns show a nap taken later
            # in the cycle (WHOOP shows the cycle's last sleep), the main sleep's wake day
            # is the day 12 hours after the cycle started; its length is unknown.
            day = (start + OPENING_SLEEP_TO_WAKE_DAY).date()
            nights.append(Night(line, day, value, rhr, None, start, None))
            continue
        nights.append(Night(line, wake.date(), value, rhr, asleep, onset, wake))
    keep_nights(nights, col, HRV)


def matches_json(doc: Any) -> bool:
    records = doc.get("records") if isinstance(doc, dict) else doc
    return isinstance(records, list) and any(
        isinstance(r, dict) and isinstance(r.get("score"), dict) and "hrv_rmssd_milli" in r["score"]
        for r in records[:50]
    )


def parse_recoveries(doc: Any, col: Collector, tz: dt.tzinfo) -> None:
    """API v2 ``/v2/recovery`` (one page, or a list of records). A recovery is scored when
    the athlete wakes; its ``created_at`` (UTC) in the squad's time zone is the wake day."""
    col.result.vendor = VENDOR
    col.result.format = "whoop_recovery"
    records = doc.get("records") if isinstance(doc, dict) else doc
    if not isinstance(records, list):
        raise Reject("WHOOP recovery JSON without a 'records' list", fieldname="records")
    latest: dict[Any, tuple[str, int, dict[str, Any]]] = {}  # cycle -> newest recovery
    for i, rec in enumerate(records, start=1):
        col.result.rows_read += 1
        if not isinstance(rec, dict):
            col.skip(i, "records", rec, "not a record")
            continue
        cycle = rec.get("cycle_id", f"row{i}")
        stamp = str(rec.get("updated_at") or rec.get("created_at") or "")
        held = latest.get(cycle)
        if held is not None:
            older = held if stamp >= held[0] else (stamp, i, rec)
            col.skip(older[1], "cycle_id", cycle, "a second recovery for the same cycle")
            if stamp < held[0]:
                continue
        latest[cycle] = (stamp, i, rec)
    days: dict[dt.date, int] = {}
    for _, i, rec in sorted(latest.values(), key=lambda x: x[1]):
        score = rec.get("score") or {}
        if rec.get("score_state", "SCORED") != "SCORED" or not isinstance(score, dict):
            col.skip(i, "score_state", rec.get("score_state"), "recovery not scored")
            continue
        try:
            value = number(score.get("hrv_rmssd_milli"))
            rhr = number(score.get("resting_heart_rate"))
        except (TypeError, ValueError):
            col.skip(i, "hrv_rmssd_milli", score.get("hrv_rmssd_milli"), NOT_A_NUMBER)
            continue
        if value is None or value <= 0:
            col.skip(i, "hrv_rmssd_milli", value, NO_HRV if value is None else NOT_POSITIVE)
            continue
        try:
            moment = parse_moment(rec.get("created_at"))
        except ValueError:
            col.skip(i, "created_at", rec.get("created_at"), NOT_A_DATE)
            continue
        day = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(tz).date()
        if day in days:
            col.skip(i, "created_at", rec.get("created_at"), DUPLICATE)
            continue
        days[day] = i
        col.add(day, value, rhr)
