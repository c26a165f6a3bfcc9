"""What the system will do with a file, said one way for ``hrv-sentinel check`` and the
watcher: a journal (accepted or rejected), a wearable export (which vendor, whose nights,
rows skipped and why), a recognised export's file without HRV, or why nothing is usable.

The rules are the sensors' own: a file under the inbox is judged as the inbox sensor
judges it (``parse_candidate``), a file under ``sources/`` as the sources sensor reads it
(``parse_source_file`` with the folder's athlete). A file elsewhere is judged by content.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrv.intake.exports import (
    NOT_HRV,
    OK,
    PARTIAL,
    REJECTED,
    SOURCE_SUFFIXES,
    SourceParseResult,
    parse_source_file,
)
from hrv.intake.inbox import PROCESSED, candidate_for, parse_candidate
from hrv.intake.inbox import REJECTED as REJECTED_DIR
from hrv.intake.journal import (
    ATHLETE_RE,
    JOURNAL_SUFFIXES,
    RESERVED_ATHLETES,
    JournalParseResult,
    is_ignored_name,
    parse_journal_file,
)

JOURNAL = "journal"
WEARABLE_EXPORT = "wearable_export"
NOT_HRV_KIND = "not_hrv"
UNREADABLE = "unreadable"
USABLE = frozenset({OK, PARTIAL})

Progress = Callable[[int], None]  # bytes read so far in the current file


@dataclass
class Verdict:
    """One file's verdict; ``to_dict`` has the keys of ``hrv-sentinel check --json``."""

    file: str
    verdict: str  # ok, partial, not_hrv, rejected
    kind: str  # journal, wearable_export, not_hrv, unreadable
    vendor: str | None = None
    format: str | None = None
    athlete: str | None = None
    metric: str | None = None
    nights: int = 0
    first_date: str | None = None
    last_date: str | None = None
    rows_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_examples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    note: str | None = None
    members: list[Verdict] = field(
        default_factory=list
    )  # inside a zip  # what a file without HRV is; where a misplaced file belongs

    @property
    def usable(self) -> bool:
        return self.verdict in USABLE

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "verdict": self.verdict,
            "kind": self.kind,
            "vendor": self.vendor,
            "format": self.format,
            "athlete": self.athlete,
            "metric": self.metric,
            "nights": self.nights,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "rows_read": self.rows_read,
            "skipped": self.skipped,
            "skipped_examples": self.skipped_examples,
            "errors": self.errors,
            "ignored_columns": self.ignored_columns,
            "note": self.note,
            "members": [m.to_dict() for m in self.members],
        }

    def span(self) -> str:
        if not self.first_date:
            return ""
        if self.first_date == self.last_date:
            return self.first_date
        return f"{self.first_date}..{self.last_date}"

    def headline(self) -> str:
        """One line: what it is and what will be read from it (or why not)."""
        if self.verdict == REJECTED:
            reasons = "; ".join(self.errors[:3])
            more = f" (+{len(self.errors) - 3} more)" if len(self.errors) > 3 else ""
            return f"✗ {self.file}: rejected: {reasons}{more}"
        if self.verdict == NOT_HRV:
            return f"○ {self.file}: no HRV data ({self.note}), listed and not read"
        if self.kind == JOURNAL:
            unit = "day" if self.nights == 1 else "days"
            return f"✓ {self.file}: journal for {self.athlete}, {self.nights} {unit} {self.span()}"
        what = " ".join(x for x in (self.vendor, f"({self.format})" if self.format else "") if x)
        unit = "night" if self.nights == 1 else "nights"
        line = (
            f"✓ {self.file}: {what} for {self.athlete}, {self.nights} {unit} of "
            f"{self.metric} {self.span()}"
        )
        n_skipped = sum(self.skipped.values())
        if n_skipped:
            line += f"; {n_skipped} row{'s' if n_skipped > 1 else ''} skipped"
        return line

    def details(self, examples: int = 2) -> list[str]:
        """The skipped rows, by reason, with the first ``examples``; ignored columns."""
        out = [f"    in the archive: {m.headline()[2:]}" for m in self.members]
        if self.ignored_columns:
            out.append(f"    columns ignored: {', '.join(self.ignored_columns)}")
        for reason, n in sorted(self.skipped.items(), key=lambda x: -x[1]):
            out.append(f"    {n} × {reason}")
            shown = [ex for ex in self.skipped_examples if ex["reason"] == reason][:examples]
            for ex in shown:
                where = f"row {ex['row']}: " if ex.get("row") is not None else ""
                extra = f" ({ex['detail']})" if ex.get("detail") else ""
                out.append(f"      e.g. {where}{ex['field']} = {ex['value']!r}{extra}")
        return out


def from_export(result: SourceParseResult, file: str) -> Verdict:
    s = result.summary()
    kind = {OK: WEARABLE_EXPORT, PARTIAL: WEARABLE_EXPORT, NOT_HRV: NOT_HRV_KIND}.get(
        result.verdict, WEARABLE_EXPORT if result.format else UNREADABLE
    )
    return Verdict(
        file=file,
        verdict=result.verdict,
        kind=kind,
        vendor=result.vendor,
        format=result.format,
        athlete=s["athlete"],
        metric=s["metric"],
        nights=s["nights"],
        first_date=s["first_date"],
        last_date=s["last_date"],
        rows_read=result.rows_read,
        skipped=s["skipped"],
        skipped_examples=s["skipped_examples"],
        errors=[str(e) for e in result.errors],
        ignored_columns=list(result.ignored_columns),
        note=result.not_hrv,
        members=[from_export(m, m.file) for m in result.members],
    )


def from_journal(result: JournalParseResult, file: str) -> Verdict:
    dates = sorted({e.date for e in result.entries})
    return Verdict(
        file=file,
        verdict=OK if result.ok else REJECTED,
        kind=JOURNAL,
        athlete=", ".join(result.athletes) or None,
        nights=len({(e.athlete, e.date) for e in result.entries}),
        first_date=dates[0].isoformat() if dates else None,
        last_date=dates[-1].isoformat() if dates else None,
        rows_read=len(result.entries),
        errors=[str(e) for e in result.errors],
    )


def inside(path: Path, root: Path | None) -> str | None:
    """``path`` relative to ``root`` ('/'-separated), or None when it is not inside."""
    if root is None:
        return None
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def export_folder_athlete(rel: str) -> tuple[str | None, str | None]:
    """(athlete from ``sources/<athlete>/...``, problem) as the sources sensor sees it."""
    parts = rel.split("/")
    if len(parts) < 2:
        return None, None
    folder = parts[0]
    if not ATHLETE_RE.match(folder) or folder in RESERVED_ATHLETES:
        return None, f"folder name '{folder}' is not an athlete id"
    return folder, None


def judge_inbox_file(inbox: Path, rel: str, default_athlete: str) -> Verdict:
    """As the inbox sensor will judge ``inbox/<rel>``."""
    c = candidate_for(inbox, rel)
    return from_journal(parse_candidate(c, default_athlete), f"inbox/{rel}")


def judge_source_file(
    sources: Path,
    rel: str,
    default_athlete: str,
    tz: dt.tzinfo,
    progress: Progress | None = None,
) -> Verdict:
    """As the sources sensor will read ``sources/<rel>``."""
    shown = f"sources/{rel}"
    path = sources / rel
    if Path(rel).suffix.lower() not in SOURCE_SUFFIXES:
        suffixes = ", ".join(sorted(SOURCE_SUFFIXES))
        return Verdict(shown, NOT_HRV, NOT_HRV_KIND, note=f"not an export file type ({suffixes})")
    folder, problem = export_folder_athlete(rel)
    if problem:
        return Verdict(shown, REJECTED, UNREADABLE, errors=[problem])
    result = parse_source_file(
        path, folder_athlete=folder, default_athlete=default_athlete, tz=tz, progress=progress
    )
    return from_export(result, shown)


def judge_loose_file(
    path: Path,
    athlete: str,
    tz: dt.tzinfo,
    progress: Progress | None = None,
) -> Verdict:
    """A file outside the inbox and sources (about to be dropped): judged by content.

    Markdown and YAML are journals; zip and XML are exports; CSV and JSON may be either:
    a journal if it reads as one, else what the export reader makes of it."""
    shown = str(path)
    suffix = path.suffix.lower()
    journal_first = suffix in JOURNAL_SUFFIXES
    if suffix in (".md", ".markdown", ".yaml", ".yml"):
        return from_journal(parse_journal_file(path, folder_athlete=athlete), shown)
    if suffix not in SOURCE_SUFFIXES and not journal_first:
        return Verdict(
            shown,
            REJECTED,
            UNREADABLE,
            errors=[f"unsupported file type '{suffix or '(none)'}'"],
        )
    export = parse_source_file(path, folder_athlete=athlete, tz=tz, progress=progress)
    if export.verdict != REJECTED or not journal_first:
        return from_export(export, shown)
    journal = parse_journal_file(path, folder_athlete=athlete)
    if journal.ok or (not export.format and _reads_like_a_journal(journal)):
        verdict = from_journal(journal, shown)
        if not journal.ok:
            verdict.errors.append(
                "not a wearable export either: " + "; ".join(str(e) for e in export.errors[:1])
            )
        return verdict
    return from_export(export, shown)


def _reads_like_a_journal(journal: JournalParseResult) -> bool:
    """Its errors are a journal's (a bad value, a misspelt field), not "every column is
    unknown", which says the file is something else."""
    return any(
        not e.message.startswith("unknown field") or "did you mean" in e.message
        for e in journal.errors
    )


@dataclass(frozen=True)
class Places:
    """Where the system reads from (HRV_INBOX_DIR, HRV_SOURCES_DIR) and its defaults."""

    inbox: Path | None
    sources: Path | None
    default_athlete: str
    tz: dt.tzinfo


def files_under(target: Path, places: Places) -> Iterator[Path]:
    """The files a folder holds, as the sensors list them (hidden files, partial downloads
    and the inbox archives left out)."""
    if not target.is_dir():
        yield target
        return
    inbox_rel = inside(target, places.inbox)
    for dirpath, dirs, names in os.walk(target):
        base = Path(dirpath)
        keep = []
        for d in sorted(dirs):
            if d.startswith("."):
                continue
            if inbox_rel is not None and inside(base / d, places.inbox) in (
                PROCESSED,
                REJECTED_DIR,
            ):
                continue
            keep.append(d)
        dirs[:] = keep
        for name in sorted(names):
            if not is_ignored_name(name):
                yield base / name


def judge(path: Path, places: Places, progress: Progress | None = None) -> Verdict:
    """One file, by where it is: inbox, sources, or loose."""
    rel = inside(path, places.inbox)
    if rel is not None and places.inbox is not None:
        return judge_inbox_file(places.inbox, rel, places.default_athlete)
    rel = inside(path, places.sources)
    if rel is not None and places.sources is not None:
        return judge_source_file(places.sources, rel, places.default_athlete, places.tz, progress)
    return judge_loose_file(path, places.default_athlete, places.tz, progress)
