"""The athlete's copy of their Intervals.icu wellness, and the line written back to it.

``sources/<athlete>/intervals.icu/wellness.json`` mirrors what the API has for the days
pulled: a JSON list of records in the API's own shape, only the fields that are read
(``KEPT_FIELDS``), one record a day, sorted. It is an export like any other: the sources
sensor reads it (``hrv.intake.exports.wellness``) and ``hrv-sentinel check`` shows it.

Write-back puts one line into a day's ``comments``, marked ``[hrv-sentinel]``; every other
line is what a person typed and is kept as typed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hrv.intake.exports.model import number
from hrv.intake.exports.wellness import HRV_FIELDS, KEPT_FIELDS

WELLNESS_FILE = Path("intervals.icu") / "wellness.json"
COMMENT_MARK = "[hrv-sentinel]"


def wellness_path(sources_dir: Path, athlete: str) -> Path:
    return sources_dir / athlete / WELLNESS_FILE


def read_stored(path: Path) -> dict[str, dict[str, Any]]:
    """The records stored for an athlete, by day (none, or an unreadable file: none)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, list):
        return {}
    return {r["id"]: r for r in doc if isinstance(r, dict) and isinstance(r.get("id"), str)}


def kept(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in KEPT_FIELDS if record.get(k) is not None}


def merge_pulled(
    stored: dict[str, dict[str, Any]],
    pulled: Iterable[dict[str, Any]],
    oldest: dt.date,
    newest: dt.date,
) -> dict[str, dict[str, Any]]:
    """The stored records with the pulled window replaced by what the API has now: a day
    the API no longer has in the window (deleted upstream) goes too."""
    window = (oldest.isoformat(), newest.isoformat())
    out = {d: r for d, r in stored.items() if not (window[0] <= d <= window[1])}
    for record in pulled:
        out[record["id"]] = kept(record)
    return dict(sorted(out.items()))


def render(records: dict[str, dict[str, Any]]) -> str:
    lines = ",\n".join(json.dumps(r, sort_keys=True) for r in records.values())
    return f"[\n{lines}\n]\n" if lines else "[]\n"


def newest_hrv_day(records: dict[str, dict[str, Any]]) -> dt.date | None:
    for day in sorted(records, reverse=True):
        try:
            values = [number(records[day].get(f)) for f in HRV_FIELDS]
        except (TypeError, ValueError):
            continue
        if any(v for v in values):
            try:
                return dt.date.fromisoformat(day[:10])
            except ValueError:
                continue
    return None


# --------------------------------------------------------------------------- write-back
def recommendation_line(forecast: dict[str, Any]) -> str | None:
    rec, advice = forecast.get("recommendation"), forecast.get("advice")
    if not forecast.get("for_date") or not rec:
        return None
    label = str(rec).replace("_", " ")
    return f"{COMMENT_MARK} {label}: {advice}" if advice else f"{COMMENT_MARK} {label}"


def comment_with(existing: str | None, line: str) -> str:
    """The day's comments with our line replaced or added; every line a person wrote is
    kept as written."""
    theirs = [x for x in (existing or "").splitlines() if not x.startswith(COMMENT_MARK)]
    while theirs and not theirs[-1].strip():
        theirs.pop()
    return "\n".join([*theirs, line]) if theirs else line
