"""Wearable exports -> daily HRV readings, with the format detected by content, not name.

Supported: a generic CSV (``date, rmssd_ms`` [, ``athlete``, ``resting_hr_bpm``]), WHOOP
``physiological_cycles.csv``, Oura API v2 ``sleep`` documents, Garmin ``hrvSummary`` JSON
and Apple Health ``export.xml``. Apple Health measures SDNN, not rMSSD: it is stored as
its own metric (``sdnn``) and never mixed with rMSSD.

A reading's ``date`` is the morning the HRV was measured (the night that ended that day).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as SafeET

from hrv.intake.journal import ATHLETE_RE, FILE_FIELD, RESERVED_ATHLETES, FieldError, suggest
from hrv.storage.files import sha256_bytes, sha256_file

RMSSD = "rmssd"
SDNN = "sdnn"
MAX_SOURCE_BYTES = 64 << 20  # CSV and JSON exports are read whole
MAX_XML_BYTES = 4 << 30  # Apple Health exports are streamed
MAX_ROW_ERRORS = 50
APPLE_HRV = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
APPLE_RHR = "HKQuantityTypeIdentifierRestingHeartRate"
WHOOP_START = "Cycle start time"
WHOOP_HRV = "Heart rate variability (ms)"
WHOOP_RHR = "Resting heart rate (bpm)"
WHOOP_WAKE = "Wake onset"
GENERIC_COLUMNS = ("date", "rmssd_ms", "athlete", "resting_hr_bpm")
SOURCE_SUFFIXES = frozenset({".csv", ".json", ".xml"})


@dataclass(frozen=True)
class Reading:
    """One morning's HRV for one athlete from one export."""

    athlete: str
    date: dt.date
    metric: str
    value_ms: float
    resting_hr_bpm: float | None
    source_format: str

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["date"] = self.date.isoformat()
        return row


@dataclass
class SourceParseResult:
    file: str
    format: str | None = None
    readings: list[Reading] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def athletes(self) -> list[str]:
        return sorted({r.athlete for r in self.readings})

    def error_report(self, rejected_at: dt.datetime) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "errors": [e.to_dict() for e in self.errors],
            "rejected_at": rejected_at.isoformat(),
        }


class _Reject(Exception):
    def __init__(self, message: str, value: Any = None, fieldname: str = FILE_FIELD):
        super().__init__(message)
        self.error = FieldError(fieldname, value, message)


def _number(value: Any) -> float | None:
    """A finite float, None for blanks; raises ValueError for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _check_athlete(athlete: str) -> str | None:
    if not ATHLETE_RE.match(athlete):
        return "athlete id must match ^[a-z0-9][a-z0-9_-]{0,63}$"
    if athlete in RESERVED_ATHLETES:
        return f"'{athlete}' is a reserved folder name, not an athlete id"
    return None


class _Collector:
    """Accumulates readings and row errors for one file."""

    def __init__(self, result: SourceParseResult, athlete: str):
        self.result = result
        self.athlete = athlete

    def error(self, fieldname: str, value: Any, message: str, row: int | None) -> None:
        if len(self.result.errors) < MAX_ROW_ERRORS:
            self.result.errors.append(FieldError(fieldname, value, message, row))

    def add(
        self,
        day: dt.date,
        value: float,
        rhr: float | None,
        metric: str = RMSSD,
        athlete: str | None = None,
    ) -> None:
        self.result.readings.append(
            Reading(
                athlete=athlete or self.athlete,
                date=day,
                metric=metric,
                value_ms=round(float(value), 3),
                resting_hr_bpm=None if rhr is None else round(float(rhr), 2),
                source_format=self.result.format or "unknown",
            )
        )


def _parse_date(value: Any) -> dt.date:
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError("expected an ISO date like 2026-11-21") from None


def _parse_generic_csv(rows: list[list[str]], col: _Collector) -> None:
    header = [h.strip() for h in rows[0]]
    for h in header:
        if h and h not in GENERIC_COLUMNS:
            hint = suggest(h, GENERIC_COLUMNS)
            col.error(h, h, "unknown column" + (f"; did you mean '{hint}'?" if hint else ""), 1)
    seen: dict[tuple[str, dt.date], int] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        rec = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
        athlete = rec.get("athlete") or col.athlete
        problem = _check_athlete(athlete)
        if problem:
            col.error("athlete", athlete, problem, line_no)
            continue
        try:
            day = _parse_date(rec.get("date", ""))
        except ValueError as exc:
            col.error("date", rec.get("date"), str(exc), line_no)
            continue
        try:
            value = _number(rec.get("rmssd_ms"))
            rhr = _number(rec.get("resting_hr_bpm"))
        except ValueError as exc:
            col.error("rmssd_ms", rec.get("rmssd_ms"), str(exc), line_no)
            continue
        if value is None:
            continue
        if value <= 0:
            col.error("rmssd_ms", value, "rMSSD must be positive", line_no)
            continue
        key = (athlete, day)
        if key in seen:
            col.error("date", day.isoformat(), f"duplicate date (also in row {seen[key]})", line_no)
            continue
        seen[key] = line_no
        col.add(day, value, rhr, athlete=athlete)


def _whoop_day(rec: dict[str, str]) -> dt.date:
    wake = rec.get(WHOOP_WAKE, "").strip()
    if wake:
        return dt.datetime.fromisoformat(wake).date()
    start = dt.datetime.fromisoformat(rec[WHOOP_START].strip())
    # A cycle starts at sleep onset the evening before; its HRV belongs to that morning.
    return (start + dt.timedelta(hours=12)).date()


def _parse_whoop(rows: list[list[str]], col: _Collector) -> None:
    header = [h.strip() for h in rows[0]]
    seen: dict[dt.date, int] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        rec = {h: (row[i] if i < len(row) else "") for i, h in enumerate(header)}
        try:
            value = _number(rec.get(WHOOP_HRV))
            rhr = _number(rec.get(WHOOP_RHR))
        except ValueError as exc:
            col.error(WHOOP_HRV, rec.get(WHOOP_HRV), str(exc), line_no)
            continue
        if value is None:
            continue  # a cycle without a scored sleep
        try:
            day = _whoop_day(rec)
        except (ValueError, KeyError):
            col.error(WHOOP_START, rec.get(WHOOP_START), "not a date-time", line_no)
            continue
        if value <= 0:
            col.error(WHOOP_HRV, value, "HRV must be positive", line_no)
            continue
        if day in seen:
            col.error(WHOOP_START, rec.get(WHOOP_START), f"second cycle for {day}", line_no)
            continue
        seen[day] = line_no
        col.add(day, value, rhr)


def _parse_oura(doc: dict[str, Any], col: _Collector) -> None:
    best: dict[dt.date, tuple[float, int, dict[str, Any]]] = {}
    for i, item in enumerate(doc["data"], start=1):
        if not isinstance(item, dict):
            col.error("data", item, "each item must be an object", i)
            continue
        if item.get("type", "long_sleep") != "long_sleep":
            continue  # naps and rest periods are not the nightly HRV
        try:
            value = _number(item.get("average_hrv"))
        except (TypeError, ValueError) as exc:
            col.error("average_hrv", item.get("average_hrv"), str(exc), i)
            continue
        if value is None:
            continue
        try:
            day = _parse_date(item.get("day"))
        except ValueError as exc:
            col.error("day", item.get("day"), str(exc), i)
            continue
        try:
            duration = _number(item.get("total_sleep_duration")) or 0.0
        except (TypeError, ValueError) as exc:
            col.error("total_sleep_duration", item.get("total_sleep_duration"), str(exc), i)
            continue
        if day not in best or duration > best[day][0]:
            best[day] = (duration, i, item)
    for day, (_, i, item) in sorted(best.items()):
        value = float(item["average_hrv"])
        if value <= 0:
            col.error("average_hrv", value, "HRV must be positive", i)
            continue
        try:
            rhr = _number(item.get("lowest_heart_rate"))
        except (TypeError, ValueError):
            rhr = None
        col.add(day, value, rhr)


def _garmin_summaries(doc: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def visit(node: Any, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(node, dict):
            if "calendarDate" in node and "lastNightAvg" in node:
                found.append(node)
                return
            for key in ("hrvSummary", "hrvSummaries", "summaries", "data"):
                if key in node:
                    visit(node[key], depth + 1)
        elif isinstance(node, list):
            for item in node:
                visit(item, depth + 1)

    visit(doc, 0)
    return found


def _parse_garmin(summaries: list[dict[str, Any]], col: _Collector) -> None:
    seen: set[dt.date] = set()
    for i, item in enumerate(summaries, start=1):
        try:
            value = _number(item.get("lastNightAvg"))
        except (TypeError, ValueError) as exc:
            col.error("lastNightAvg", item.get("lastNightAvg"), str(exc), i)
            continue
        if value is None:
            continue
        try:
            day = _parse_date(item.get("calendarDate"))
        except ValueError as exc:
            col.error("calendarDate", item.get("calendarDate"), str(exc), i)
            continue
        if value <= 0:
            col.error("lastNightAvg", value, "HRV must be positive", i)
            continue
        if day in seen:
            col.error("calendarDate", day.isoformat(), "duplicate calendarDate", i)
            continue
        seen.add(day)
        col.add(day, value, None)


def _apple_day(stamp: str) -> dt.date:
    # "2026-11-20 07:01:00 +0100": the local calendar day of the sample
    return dt.date.fromisoformat(stamp.strip()[:10])


def _parse_apple(path_or_bytes: Path | bytes, col: _Collector) -> None:
    source = path_or_bytes if isinstance(path_or_bytes, Path) else io.BytesIO(path_or_bytes)
    hrv: dict[dt.date, list[float]] = defaultdict(list)
    rhr: dict[dt.date, list[float]] = defaultdict(list)
    n = 0
    try:
        for _, elem in SafeET.iterparse(source, events=("end",)):
            if elem.tag == "Record":
                n += 1
                kind = elem.get("type")
                if kind in (APPLE_HRV, APPLE_RHR):
                    try:
                        day = _apple_day(elem.get("startDate", ""))
                        value = _number(elem.get("value"))
                    except ValueError as exc:
                        col.error(kind, elem.get("value"), str(exc), n)
                        elem.clear()
                        continue
                    if value is not None and value > 0:
                        (hrv if kind == APPLE_HRV else rhr)[day].append(value)
                elem.clear()
    except SafeET.ParseError as exc:
        raise _Reject(f"not well-formed XML: {exc}") from exc
    except Exception as exc:  # defusedxml raises its own errors for entity tricks
        if type(exc).__module__.startswith("defusedxml"):
            raise _Reject(f"XML refused for safety: {exc}") from exc
        raise
    for day in sorted(hrv):
        mean_rhr = sum(rhr[day]) / len(rhr[day]) if rhr.get(day) else None
        col.add(day, sum(hrv[day]) / len(hrv[day]), mean_rhr, metric=SDNN)


def _csv_rows(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _Reject(f"not valid CSV: {exc}") from exc


def detect_and_parse(
    name: str,
    data: bytes | None,
    col: _Collector,
    path: Path | None = None,
) -> None:
    head = (data[:512] if data is not None else _read_head(path)).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        col.result.format = "apple_health"
        _parse_apple(path if data is None and path is not None else data or b"", col)
        if not col.result.readings and not col.result.errors:
            raise _Reject(f"XML has no {APPLE_HRV} records: not an Apple Health HRV export")
        return
    if data is None:
        raise _Reject("export is too large to read whole")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Reject(f"not UTF-8 text: bad byte at offset {exc.start}", exc.start) from exc
    if head.startswith((b"{", b"[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _Reject(f"not valid JSON: {exc.msg} at line {exc.lineno}") from exc
        except RecursionError as exc:
            raise _Reject("JSON is nested too deeply") from exc
        if (
            isinstance(doc, dict)
            and isinstance(doc.get("data"), list)
            and any(isinstance(i, dict) and "day" in i and "average_hrv" in i for i in doc["data"])
        ):
            col.result.format = "oura_sleep"
            _parse_oura(doc, col)
            return
        summaries = _garmin_summaries(doc)
        if summaries:
            col.result.format = "garmin_hrv"
            _parse_garmin(summaries, col)
            return
        raise _Reject(
            "JSON is neither an Oura v2 sleep document ({'data': [{'day', 'average_hrv'}]}) "
            "nor a Garmin hrvSummary ({'calendarDate', 'lastNightAvg'})"
        )
    rows = _csv_rows(text)
    if not rows:
        raise _Reject("file is empty")
    header = [h.strip() for h in rows[0]]
    if WHOOP_START in header and WHOOP_HRV in header:
        col.result.format = "whoop_cycles"
        _parse_whoop(rows, col)
        return
    if "date" in header and "rmssd_ms" in header:
        col.result.format = "generic_csv"
        _parse_generic_csv(rows, col)
        return
    raise _Reject(
        "unrecognised export: expected a CSV with 'date,rmssd_ms', a WHOOP "
        "physiological_cycles.csv, Oura sleep JSON, Garmin hrvSummary JSON or Apple Health XML",
        header[:10],
    )


def _read_head(path: Path | None) -> bytes:
    if path is None:
        return b""
    with path.open("rb") as fh:
        return fh.read(512)


def merge_readings(
    items: list[tuple[int, str, SourceParseResult]], athlete: str
) -> list[dict[str, Any]]:
    """One reading per (date, metric) for ``athlete`` from (mtime_ns, rel, result) items.

    When two exports give the same morning and metric, the most recently modified export
    wins (ties: the later path). The sources sensor and the readings asset both use
    this, so they always agree on what the stored readings should be.
    """
    chosen: dict[tuple[str, str], tuple[tuple[int, str], dict[str, Any]]] = {}
    for mtime, rel, result in items:
        for r in result.readings:
            if r.athlete != athlete:
                continue
            key = (r.date.isoformat(), r.metric)
            row = r.to_row() | {"source_file": rel}
            row.pop("athlete", None)
            rank = (mtime, rel)
            if key not in chosen or rank >= chosen[key][0]:
                chosen[key] = (rank, row)
    return [row for _, row in sorted(chosen.values(), key=lambda x: (x[1]["date"], x[1]["metric"]))]


def reading_fingerprint(rows: list[dict[str, Any]]) -> set[tuple[str, str, float, float | None]]:
    """What matters of stored or merged readings: (date, metric, value, resting HR)."""

    def num(v: Any, digits: int) -> float | None:
        try:
            out = round(float(v), digits)
        except (TypeError, ValueError):
            return None
        return out if out == out else None

    return {
        (
            str(r["date"]),
            str(r["metric"]),
            num(r["value_ms"], 3) or 0.0,
            num(r.get("resting_hr_bpm"), 2),
        )
        for r in rows
    }


def parse_source_bytes(
    name: str, data: bytes, *, folder_athlete: str | None = None, default_athlete: str = "me"
) -> SourceParseResult:
    """Parse an export held in memory (tests, fuzzing); see ``parse_source_file``."""
    result = SourceParseResult(file=name, sha256=sha256_bytes(data))
    return _parse(result, name, data, None, folder_athlete or default_athlete)


def parse_source_file(
    path: Path, *, folder_athlete: str | None = None, default_athlete: str = "me"
) -> SourceParseResult:
    """Read one export file (streaming XML) and return its readings or the errors."""
    name = path.name
    result = SourceParseResult(file=name)
    try:
        if path.is_symlink():
            result.errors.append(FieldError(FILE_FIELD, name, "symlinks are not read"))
            return result
        size = path.stat().st_size
        if size == 0:
            result.errors.append(FieldError(FILE_FIELD, 0, "file is empty"))
            return result
        with path.open("rb") as fh:
            head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
        is_xml = head.startswith(b"<")
        limit = MAX_XML_BYTES if is_xml else MAX_SOURCE_BYTES
        if size > limit:
            result.errors.append(
                FieldError(FILE_FIELD, size, f"file is {size} bytes, over the {limit} byte limit")
            )
            return result
        result.sha256 = sha256_file(path)
        data = None if is_xml else path.read_bytes()[: limit + 1]
    except OSError as exc:
        result.errors.append(FieldError(FILE_FIELD, name, f"cannot read file: {exc.strerror}"))
        return result
    return _parse(result, name, data, path, folder_athlete or default_athlete)


def _parse(
    result: SourceParseResult, name: str, data: bytes | None, path: Path | None, athlete: str
) -> SourceParseResult:
    col = _Collector(result, athlete)
    try:
        problem = _check_athlete(athlete)
        if problem:
            raise _Reject(problem, athlete, "athlete")
        if data is not None and not data.strip():
            raise _Reject("file is empty", len(data))
        detect_and_parse(name, data, col, path)
    except _Reject as exc:
        result.errors.append(exc.error)
    except RecursionError:
        result.errors.append(FieldError(FILE_FIELD, None, "document is nested too deeply"))
    if result.errors:
        result.readings = []
    elif not result.readings:
        result.errors.append(
            FieldError(FILE_FIELD, result.format, "export contains no HRV readings")
        )
    return result
