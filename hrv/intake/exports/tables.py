"""Tables a person or an HRV app writes: the generic ``date, rmssd_ms`` CSV and the CSV
exports of HRV4Training, HRV Logger and Elite HRV (one morning measurement a day).

The generic CSV may name athletes in an ``athlete`` column and carry ``resting_hr_bpm``;
it may hold SDNN (``sdnn_ms``) instead of rMSSD. ``,`` or ``;`` separators and decimal
commas are read (``tabular.py``). Dates are ISO, unambiguous (``parse_day``) or in an
order the column itself proves (25-06-20: day first; ``day_parser``).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

from hrv.intake.exports.model import (
    DUPLICATE,
    NO_HRV,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_POSITIVE,
    RMSSD,
    SDNN,
    Collector,
    check_athlete,
    day_parser,
    number,
    parse_day,
)
from hrv.intake.exports.tabular import Table
from hrv.intake.journal import suggest

GENERIC_COLUMNS = ("date", "rmssd_ms", "sdnn_ms", "athlete", "resting_hr_bpm")
# what people call the columns in their own spreadsheets, read as the contract's names
ALIASES = {
    "rmssd": "rmssd_ms",
    "hrv_rmssd_ms": "rmssd_ms",
    "rmssd_milli": "rmssd_ms",
    # Garmin's nightly HRV (an rMSSD average) as people save it from the HRV endpoint
    "last_night_avg_hrv_ms": "rmssd_ms",
    "lastnightavg": "rmssd_ms",
    "sdnn": "sdnn_ms",
    "resting_hr": "resting_hr_bpm",
    "rhr": "resting_hr_bpm",
}
MORNING = (3, 12)  # local hours of a morning measurement


def _aliased(table: Table) -> Table:
    rename = {h: ALIASES.get(h.lower(), h) for h in table.header}
    return Table(
        [rename[h] for h in table.header],
        [(line, {rename[k]: v for k, v in rec.items()}) for line, rec in table.rows],
        table.delimiter,
    )


def is_generic(table: Table) -> bool:
    table = _aliased(table)
    return table.has("date") and (table.has("rmssd_ms") or table.has("sdnn_ms"))


def parse_generic(table: Table, col: Collector) -> None:
    col.result.vendor, col.result.format = "generic CSV", "generic_csv"
    table = _aliased(table)
    for h in table.header:
        if h and h.lower() not in GENERIC_COLUMNS:
            hint = suggest(h.lower(), GENERIC_COLUMNS)
            col.result.ignored_columns.append(f"{h} (did you mean '{hint}'?)" if hint else h)
    metric, value_col = (
        (RMSSD, table.column("rmssd_ms"))
        if table.has("rmssd_ms")
        else (SDNN, table.column("sdnn_ms"))
    )
    athlete_col, rhr_col = table.column("athlete"), table.column("resting_hr_bpm")
    date_col = table.column("date") or "date"
    parse = day_parser([rec.get(date_col, "") for _, rec in table.rows])
    seen: dict[tuple[str, dt.date], int] = {}
    for line, rec in table.rows:
        col.result.rows_read += 1
        athlete = (rec.get(athlete_col) if athlete_col else "") or col.athlete
        problem = check_athlete(athlete)
        if problem:
            col.skip(line, "athlete", athlete, problem)
            continue
        try:
            day = parse(rec.get(date_col, ""))
        except ValueError:
            col.skip(line, "date", rec.get(date_col), NOT_A_DATE)
            continue
        raw = rec.get(value_col or "")
        try:
            value = number(raw)
            rhr = number(rec.get(rhr_col)) if rhr_col else None
        except ValueError:
            col.skip(line, value_col or "", raw, NOT_A_NUMBER)
            continue
        if value is None or value == 0:  # a blank, or a device's 0 for "not measured"
            col.skip(line, value_col or "", raw, NO_HRV)
            continue
        if value < 0:
            col.skip(line, value_col or "", value, NOT_POSITIVE)
            continue
        if (athlete, day) in seen:
            col.skip(line, "date", day.isoformat(), DUPLICATE, f"row {seen[(athlete, day)]}")
            continue
        seen[(athlete, day)] = line
        col.add(day, value, rhr, metric=metric, athlete=athlete, row=line)


# --------------------------------------------------------------------------- HRV apps
def is_hrv4training(table: Table) -> bool:
    return table.has("date", "rMSSD") and (
        table.has("HRV4T_Recovery_Points") or table.has("sleep_quality")
    )


def is_hrv_logger(table: Table) -> bool:
    return table.has("timestamp", "rMSSD", "AVNN")


def is_elite_hrv(table: Table) -> bool:
    return table.has("Date Time Start") and table.has("Rmssd")


def parse_hrv4training(table: Table, col: Collector) -> None:
    col.result.vendor, col.result.format = "HRV4Training", "hrv4training_csv"
    value_col, hr_col = table.column("rMSSD"), table.column("HR")
    seen: dict[dt.date, int] = {}
    for line, rec in table.rows:
        col.result.rows_read += 1
        _one_a_day(
            col,
            seen,
            line,
            value_col or "rMSSD",
            rec.get(value_col or ""),
            rec.get(table.column("date") or "date"),
            rec.get(hr_col) if hr_col else None,
        )


def parse_elite_hrv(table: Table, col: Collector) -> None:
    col.result.vendor, col.result.format = "Elite HRV", "elite_hrv_csv"
    value_col, start_col = table.column("Rmssd"), table.column("Date Time Start")
    type_col, hr_col = table.column("Type"), table.column("HR")
    seen: dict[dt.date, int] = {}
    for line, rec in table.rows:
        col.result.rows_read += 1
        kind = (rec.get(type_col) or "") if type_col else ""
        if kind and "morning" not in kind.lower() and "readiness" not in kind.lower():
            col.skip(line, "Type", kind, "not a morning readiness reading")
            continue
        _one_a_day(
            col,
            seen,
            line,
            value_col or "Rmssd",
            rec.get(value_col or ""),
            rec.get(start_col or ""),
            rec.get(hr_col) if hr_col else None,
        )


def _one_a_day(
    col: Collector,
    seen: dict[dt.date, int],
    line: int,
    field: str,
    raw: str | None,
    day_raw: str | None,
    hr: str | None,
) -> None:
    try:
        value = number(raw)
        rhr = number(hr)
    except ValueError:
        col.skip(line, field, raw, NOT_A_NUMBER)
        return
    if value is None or value <= 0:
        col.skip(line, field, raw, NO_HRV if value is None else NOT_POSITIVE)
        return
    try:
        day = parse_day(day_raw)
    except ValueError:
        col.skip(line, "date", day_raw, NOT_A_DATE)
        return
    if day in seen:
        col.skip(line, "date", day.isoformat(), DUPLICATE)
        return
    seen[day] = line
    col.add(day, value, rhr, row=line)


def parse_hrv_logger(table: Table, col: Collector, tz: dt.tzinfo) -> None:
    """HRV Logger writes a row per 30-second window of a measurement, stamped in epoch
    milliseconds (UTC). A day's value is the median rMSSD of its morning windows (local
    time 03:00-12:00 in the squad's time zone); evening windows are skipped."""
    col.result.vendor, col.result.format = "HRV Logger", "hrv_logger_csv"
    value_col, hr_col = table.column("rMSSD") or "rMSSD", table.column("HR")
    ts_col = table.column("timestamp") or "timestamp"
    by_day: dict[dt.date, list[tuple[float, float | None]]] = defaultdict(list)
    for line, rec in table.rows:
        col.result.rows_read += 1
        try:
            value = number(rec.get(value_col))
            hr = number(rec.get(hr_col)) if hr_col else None
            stamp = number(rec.get(ts_col))
        except ValueError:
            col.skip(line, value_col, rec.get(value_col), NOT_A_NUMBER)
            continue
        if value is None or value <= 0:
            col.skip(line, value_col, rec.get(value_col), NO_HRV if value is None else NOT_POSITIVE)
            continue
        if stamp is None:
            col.skip(line, ts_col, rec.get(ts_col), NOT_A_DATE)
            continue
        moment = dt.datetime.fromtimestamp(stamp / 1000 if stamp > 1e11 else stamp, tz=dt.UTC)
        local = moment.astimezone(tz)
        if not MORNING[0] <= local.hour < MORNING[1]:
            col.skip(
                line,
                ts_col,
                rec.get(ts_col),
                "not a morning measurement",
                local.isoformat(timespec="minutes"),
            )
            continue
        by_day[local.date()].append((value, hr))
    for day, windows in sorted(by_day.items()):
        hrs = [h for _, h in windows if h is not None]
        col.add(
            day, statistics.median(v for v, _ in windows), statistics.median(hrs) if hrs else None
        )
