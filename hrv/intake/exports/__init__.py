"""Wearable exports -> one HRV reading per athlete per wake day, the format detected by
content (never by name), as the vendors' apps and APIs deliver them, zip and all.

``parse_source_file`` reads one file (or a ``.zip`` and every member in it) and says what
it holds: readings, rows skipped with reasons, "not HRV data" for a recognised export's
sibling, or why nothing is usable. ``merge_readings`` is the one rule by which the sources
sensor and the readings asset agree on what an athlete's stored readings should be.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from hrv.intake.exports import archive, detect
from hrv.intake.exports.model import (
    NOT_HRV,
    OK,
    PARTIAL,
    REJECTED,
    RMSSD,
    SDNN,
    Collector,
    NotHrv,
    Reading,
    Reject,
    Skip,
    SourceParseResult,
    check_athlete,
)
from hrv.intake.journal import FILE_FIELD, FieldError
from hrv.storage.files import sha256_bytes, sha256_file

MAX_SOURCE_BYTES = 64 << 20  # CSV and JSON exports are read whole
MAX_XML_BYTES = 4 << 30  # Apple Health exports are streamed
SOURCE_SUFFIXES = frozenset({".csv", ".json", ".xml", ".zip", ".txt"})

__all__ = [
    "NOT_HRV",
    "OK",
    "PARTIAL",
    "REJECTED",
    "RMSSD",
    "SDNN",
    "SOURCE_SUFFIXES",
    "Reading",
    "Skip",
    "SourceParseResult",
    "merge_readings",
    "parse_source_bytes",
    "parse_source_file",
    "reading_fingerprint",
]


def parse_source_bytes(
    name: str,
    data: bytes,
    *,
    folder_athlete: str | None = None,
    default_athlete: str = "me",
    tz: dt.tzinfo = dt.UTC,
) -> SourceParseResult:
    """Parse an export held in memory (tests, fuzzing); see ``parse_source_file``."""
    result = SourceParseResult(file=name, sha256=sha256_bytes(data))
    fh = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    return _parse(result, fh, len(data), folder_athlete or default_athlete, tz)


def parse_source_file(
    path: Path,
    *,
    folder_athlete: str | None = None,
    default_athlete: str = "me",
    tz: dt.tzinfo = dt.UTC,
    progress: Callable[[int], None] | None = None,
) -> SourceParseResult:
    """Read one export file (XML and zip members streamed) and say what it holds.

    ``tz`` is the squad's time zone (HRV_TIMEZONE), for exports that stamp readings in UTC
    only (WHOOP API recoveries, HRV Logger). ``progress`` is told the bytes read so far
    (``hrv-sentinel check`` draws its progress bar with it)."""
    result = SourceParseResult(file=path.name)
    try:
        if path.is_symlink():
            result.errors.append(FieldError(FILE_FIELD, path.name, "symlinks are not read"))
            return result
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(4096)
            too_big = _over_limit(head, size)
            if too_big is not None:  # refused unread: not even hashed (a 1 GiB file costs ~2 s)
                result.sha256 = sha256_bytes(f"{size}:".encode() + head)
                result.errors.append(too_big.error)
                return result
        result.sha256 = sha256_file(path)
        raw = _Counting(path.open("rb", buffering=0), progress) if progress else None
        with io.BufferedReader(raw) if raw else path.open("rb") as fh:
            return _parse(result, fh, size, folder_athlete or default_athlete, tz)
    except OSError as exc:
        result.errors.append(FieldError(FILE_FIELD, path.name, f"cannot read file: {exc.strerror}"))
        return result


class _Counting(io.RawIOBase):
    """A raw file that reports how far it has been read."""

    def __init__(self, raw: io.RawIOBase, report: Callable[[int], None]):
        self._raw, self._report = raw, report

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        n = self._raw.readinto(buffer)
        self._report(self._raw.tell())
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
        super().close()


def _parse(
    result: SourceParseResult, fh: IO[bytes], size: int, athlete: str, tz: dt.tzinfo
) -> SourceParseResult:
    """``fh`` is a buffered stream (a file, a zip member): its head is peeked at, never
    read twice."""
    col = Collector(result, athlete)
    try:
        problem = check_athlete(athlete)
        if problem:
            raise Reject(problem, athlete, "athlete")
        if size == 0:
            raise Reject("file is empty", 0)
        head = fh.peek(4096)[:4096]  # type: ignore[attr-defined]  # looked at, not consumed
        if archive.is_zip(head):
            archive.parse_zip(
                fh, size, col, lambda member, data_fh, n: _member(member, data_fh, n, athlete, tz)
            )
        else:
            _read(fh, head, size, col, tz)
    except NotHrv as exc:
        result.not_hrv = str(exc)
    except Reject as exc:
        result.errors.append(exc.error)
    except RecursionError:
        result.errors.append(FieldError(FILE_FIELD, None, "document is nested too deeply"))
    if result.errors:
        result.readings = []
    elif not result.readings and result.not_hrv is None:
        what = ""
        if result.n_skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in result.skip_counts.most_common(3))
            first = f"; first: {result.skipped[0]}" if result.skipped else ""
            what = f": {result.n_skipped} rows skipped ({reasons}){first}"
        result.errors.append(
            FieldError(FILE_FIELD, result.format, f"export contains no usable HRV readings{what}")
        )
    return result


def _over_limit(head: bytes, size: int) -> Reject | None:
    """Why a file of ``size`` bytes starting with ``head`` is too big to read, if it is.

    Zips are bounded member by member; XML (Apple Health) is streamed up to 4 GiB; CSV
    and JSON are read whole, up to 64 MiB."""
    if archive.is_zip(head):
        return None
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    limit = MAX_XML_BYTES if stripped.startswith(b"<") else MAX_SOURCE_BYTES
    if size > limit:
        return Reject(f"file is {size} bytes, over the {limit} byte limit", size)
    return None


def _read(fh: IO[bytes], head: bytes, size: int, col: Collector, tz: dt.tzinfo) -> None:
    too_big = _over_limit(head, size)
    if too_big is not None:
        raise too_big
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        detect.parse_xml(fh, stripped, col)
        return
    detect.parse_text(fh.read(MAX_SOURCE_BYTES + 1), col, tz)


def _member(
    member: str, fh: IO[bytes], size: int, athlete: str, tz: dt.tzinfo
) -> SourceParseResult:
    result = SourceParseResult(file=member)
    return _parse(result, fh, size, athlete, tz)


def merge_readings(
    items: list[tuple[int, str, SourceParseResult]], athlete: str
) -> list[dict[str, Any]]:
    """One reading per (date, metric) for ``athlete`` from (mtime_ns, rel, result) items.

    When two exports give the same morning and metric, the most recently modified export
    wins (ties: the later path). The sources sensor and the readings asset both use this,
    so they always agree on what the stored readings should be.
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


def reading_fingerprint(
    rows: list[dict[str, Any]],
) -> set[tuple[str, str, float, float | None, float | None]]:
    """What matters of stored or merged readings: (date, metric, value, resting HR, sleep)."""

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
            num(r.get("sleep_hours"), 2),
        )
        for r in rows
    }
