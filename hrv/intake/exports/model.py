"""What reading a wearable export gives: readings, rows skipped with reasons, a verdict.

A wearable export is a machine-written history, read row by row: a row that cannot be
used is skipped with a reason (and counted), and a file is rejected only when nothing in
it is usable. Files of a recognised export that carry no HRV (WHOOP ``sleeps.csv``,
Apple's ``export_cda.xml``...) are "not HRV data": listed, never alerted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hrv.intake.journal import (
    ATHLETE_RE,
    FILE_FIELD,
    RESERVED_ATHLETES,
    FieldError,
    implausible_date,
)

RMSSD = "rmssd"
SDNN = "sdnn"
MAX_SKIPS_KEPT = 50  # examples kept per file; every skip is counted by reason
OK, PARTIAL, NOT_HRV, REJECTED = "ok", "partial", "not_hrv", "rejected"


@dataclass(frozen=True)
class Reading:
    """One morning's HRV for one athlete from one export."""

    athlete: str
    date: dt.date  # the wake day: the morning the night ended
    metric: str
    value_ms: float
    resting_hr_bpm: float | None
    source_format: str
    # the night's sleep, from a source that knows it (Intervals.icu ``sleepSecs``): fills the
    # journal's ``sleep_hours`` on days the athlete wrote none
    sleep_hours: float | None = None

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["date"] = self.date.isoformat()
        return row


@dataclass(frozen=True)
class Skip:
    """A row (or record) that was read and not used, and why."""

    row: int | None
    field: str
    value: Any
    reason: str  # the category, counted
    detail: str | None = None  # this row's particulars (times, durations)

    def __str__(self) -> str:
        where = f"row {self.row}: " if self.row is not None else ""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{where}{self.field} = {self.value!r}: {self.reason}{extra}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "value": self.value,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass
class SourceParseResult:
    file: str
    format: str | None = None  # e.g. "whoop_cycles"
    vendor: str | None = None  # e.g. "WHOOP"
    readings: list[Reading] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)  # why nothing is usable
    skipped: list[Skip] = field(default_factory=list)  # the first examples
    skip_counts: Counter[str] = field(default_factory=Counter)  # every skip, by reason
    rows_read: int = 0
    ignored_columns: list[str] = field(default_factory=list)  # with a hint when misspelt
    not_hrv: str | None = None  # a recognised export's file that holds no HRV: what it is
    sha256: str | None = None
    members: list[SourceParseResult] = field(default_factory=list)  # inside an archive

    @property
    def ok(self) -> bool:
        """Something in it is usable (it may still have skipped rows)."""
        return bool(self.readings) and not self.errors

    @property
    def verdict(self) -> str:
        if self.ok:
            return PARTIAL if self.skip_counts else OK
        if self.not_hrv is not None and not self.errors:
            return NOT_HRV
        return REJECTED

    @property
    def athletes(self) -> list[str]:
        return sorted({r.athlete for r in self.readings})

    @property
    def n_skipped(self) -> int:
        return sum(self.skip_counts.values())

    def skip(
        self, row: int | None, fieldname: str, value: Any, reason: str, detail: str | None = None
    ) -> None:
        self.skip_counts[reason] += 1
        if len(self.skipped) < MAX_SKIPS_KEPT:
            self.skipped.append(Skip(row, fieldname, json_value(value), reason, detail))

    def examples(self, limit: int = 10) -> list[Skip]:
        """The first skipped row of each reason, then the next ones, up to ``limit``."""
        firsts: dict[str, Skip] = {}
        for s in self.skipped:
            firsts.setdefault(s.reason, s)
        rest = [s for s in self.skipped if firsts.get(s.reason) is not s]
        return [*firsts.values(), *rest][:limit]

    def summary(self) -> dict[str, Any]:
        """What ``hrv-sentinel check --json`` and ``sources_status.json`` say of it."""
        dates = sorted({r.date for r in self.readings})
        metrics = sorted({r.metric for r in self.readings})
        return {
            "file": self.file,
            "verdict": self.verdict,
            "kind": "not_hrv" if self.verdict == NOT_HRV else "wearable_export",
            "vendor": self.vendor,
            "format": self.format,
            "athlete": ", ".join(self.athletes) or None,
            "metric": ", ".join(metrics) or None,
            "nights": len({(r.athlete, r.date, r.metric) for r in self.readings}),
            "first_date": dates[0].isoformat() if dates else None,
            "last_date": dates[-1].isoformat() if dates else None,
            "rows_read": self.rows_read,
            "skipped": dict(sorted(self.skip_counts.items())),
            "skipped_examples": [s.to_dict() for s in self.examples()],
            "ignored_columns": self.ignored_columns,
            "not_hrv": self.not_hrv,
            "errors": [e.to_dict() for e in self.errors],
        }

    def error_report(self, rejected_at: dt.datetime) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "errors": [e.to_dict() for e in self.errors],
            "rejected_at": rejected_at.isoformat(),
        }


class Reject(Exception):
    """Nothing in this file can be used: the reason, for the user."""

    def __init__(self, message: str, value: Any = None, fieldname: str = FILE_FIELD):
        super().__init__(message)
        self.error = FieldError(fieldname, json_value(value), message)


class NotHrv(Exception):
    """A recognised export's file that holds no HRV: what it is."""


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def number(value: Any) -> float | None:
    """A finite float; None for blanks and placeholders (``-``, ``NA``); a decimal comma
    (``58,4``) is read as a decimal point. Raises ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        out = float(value)
    else:
        text = str(value).strip()
        if text in ("", "-", "--", "NA", "N/A", "nan", "NaN", "null", "None"):
            return None
        if _DECIMAL_COMMA.match(text):
            text = text.replace(",", ".")
        out = float(text)
    if not math.isfinite(out):
        raise ValueError("expected a finite number")
    return out


def check_athlete(athlete: str) -> str | None:
    if not ATHLETE_RE.match(athlete):
        return "athlete id must match ^[a-z0-9][a-z0-9_-]{0,63}$"
    if athlete in RESERVED_ATHLETES:
        return f"'{athlete}' is a reserved folder name, not an athlete id"
    return None


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y", "%Y%m%d")


def parse_day(value: Any) -> dt.date:
    """An ISO date (or an ISO date-time's date), or an unambiguous format: 2026/11/21,
    21.11.2026 (day first, as German-speaking exports write it). 11/21/2026-style dates
    are refused: they mean different days in different countries."""
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    raise ValueError("expected a date like 2026-11-21")


SEQUENCE_PROOF = 7  # consecutive rows a day apart that prove a date order
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")


def day_parser(values: list[Any]) -> Callable[[Any], dt.date]:
    """A date parser for a whole column: ``parse_day``, or, for a column written like
    25-06-20 or 06/25/2020, the one order (day first or month first) that the column
    itself proves: a first number above 12 somewhere makes it day first, a second one
    month first; with neither, the order that makes consecutive rows a day apart (at
    least ``SEQUENCE_PROOF`` times, three times as often as the other order). Two-digit
    years are 20yy. A column that proves neither stays refused, row by row."""
    texts = [str(v).strip()[:10] for v in values]
    matched = [m.groups() for t in texts if (m := _NUMERIC_DATE.match(t))]
    if not matched or len(matched) < len(texts) / 2:
        return parse_day
    first_big = any(int(a) > 12 for a, _, _ in matched)
    second_big = any(int(b) > 12 for _, b, _ in matched)

    def make(day_first: bool) -> Callable[[Any], dt.date]:
        def parse(value: Any) -> dt.date:
            m = _NUMERIC_DATE.match(str(value).strip()[:10])
            if not m:
                return parse_day(value)
            a, b, y = (int(g) for g in m.groups())
            year = y if y >= 100 else 2000 + y
            day, month = (a, b) if day_first else (b, a)
            return dt.date(year, month, day)

        return parse

    if first_big != second_big:
        return make(day_first=first_big)
    if first_big:  # both above 12 somewhere: not one date order
        return parse_day

    def one_day_apart(parse: Callable[[Any], dt.date]) -> int:
        days = []
        for t in texts:
            with contextlib.suppress(ValueError):
                days.append(parse(t))
        return sum(abs((b - a).days) == 1 for a, b in itertools.pairwise(days))

    dmy, mdy = one_day_apart(make(True)), one_day_apart(make(False))
    win, lose = max(dmy, mdy), min(dmy, mdy)
    if win < SEQUENCE_PROOF or win < 3 * lose:  # too little to prove an order: refuse
        return parse_day
    return make(day_first=dmy > mdy)


def parse_moment(value: Any) -> dt.datetime:
    """An ISO date-time, with or without an offset (naive: local wall-clock time)."""
    text = str(value).strip()
    if not text:
        raise ValueError("no date-time")
    text = text.replace("Z", "+00:00")
    if re.match(r".*\s[+-]\d{4}$", text):  # Apple: "2026-11-20 07:01:00 +0100"
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
    return dt.datetime.fromisoformat(text)


class Collector:
    """Adds readings to a result, with the default athlete of the file."""

    def __init__(self, result: SourceParseResult, athlete: str):
        self.result = result
        self.athlete = athlete

    def add(
        self,
        day: dt.date,
        value: float,
        rhr: float | None,
        metric: str = RMSSD,
        athlete: str | None = None,
        row: int | None = None,
        sleep_hours: float | None = None,
    ) -> None:
        problem = implausible_date(day)
        if problem:  # a device clock or an edited file off by years: skipped, said why
            self.skip(row, "date", day.isoformat(), IMPLAUSIBLE_DATE, problem)
            return
        self.result.readings.append(
            Reading(
                athlete=athlete or self.athlete,
                date=day,
                metric=metric,
                value_ms=round(float(value), 3),
                resting_hr_bpm=None if rhr is None else round(float(rhr), 2),
                source_format=self.result.format or "unknown",
                sleep_hours=None if sleep_hours is None else round(float(sleep_hours), 2),
            )
        )

    def skip(
        self, row: int | None, fieldname: str, value: Any, reason: str, detail: str | None = None
    ) -> None:
        self.result.skip(row, fieldname, value, reason, detail)


# Reasons shared by the vendors (the counts in check and sources_status.json add up by them)
NO_HRV = "no HRV measured that night"
NOT_POSITIVE = "HRV must be positive"
NOT_A_NUMBER = "not a number"
NOT_A_DATE = "not a date"
IMPLAUSIBLE_DATE = "date out of range (a typo in the year?)"
NAP = "a nap or daytime sleep, not the night"
SHORTER = "a shorter sleep on the same wake day (the longest one is the night)"
DUPLICATE = "the same day again (the first one is kept)"
