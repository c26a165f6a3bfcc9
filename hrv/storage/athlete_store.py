"""Per-athlete durable store under ``<data>/store/<athlete>/``.

- ``journal_log.jsonl``: every version of every journal entry ever accepted, in order.
  The effective journal is the last version per date; older versions are the audit
  trail of corrections. Identical content is never stored twice.
- ``readings.csv``: the athlete's wearable readings, rebuilt from ``sources/``.
- ``features.csv``, ``model.joblib``, ``backtest.csv``: derived layers.
Files are rewritten atomically (temp file + fsync + rename), so a crash leaves either
the old or the new content, never a torn file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrv.intake.journal import JournalEntry
from hrv.storage.files import ParsedFiles, write_text_atomic

READING_FIELDS = (
    "date",
    "metric",
    "value_ms",
    "resting_hr_bpm",
    "source_format",
    "source_file",
    "sleep_hours",
)


@dataclass
class IngestSummary:
    """What one ingest changed: new days, corrected days, and days already known."""

    new_dates: list[str] = field(default_factory=list)
    superseded_dates: list[str] = field(default_factory=list)
    unchanged_dates: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.new_dates or self.superseded_dates)


@dataclass(frozen=True)
class IncomingEntry:
    entry: JournalEntry
    source_file: str
    file_sha256: str | None


def _parse_journal_log(path: Path) -> list[dict[str, Any]]:
    out = []
    text = path.read_text(encoding="utf-8")
    n = 0
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = f"line {n} is not a whole JSON record ({exc.msg})"
            raise StoreDamaged(path, problem) from None
        if not isinstance(record, dict) or not {"date", "entry"} <= set(record):
            raise StoreDamaged(path, f"line {n} is not a journal version")
        out.append(record)
    if text and not text.endswith("\n"):
        raise StoreDamaged(path, f"line {n} is cut short (no end of line)")
    return out


_JOURNAL_LOGS = ParsedFiles(_parse_journal_log)


class AthleteStore:
    def __init__(self, data_dir: Path, athlete: str):
        self.athlete = athlete
        self.dir = Path(data_dir) / "store" / athlete

    @property
    def journal_log_path(self) -> Path:
        return self.dir / "journal_log.jsonl"

    @property
    def readings_path(self) -> Path:
        return self.dir / "readings.csv"

    @property
    def features_path(self) -> Path:
        return self.dir / "features.csv"

    @property
    def model_path(self) -> Path:
        return self.dir / "model.joblib"

    @property
    def backtest_path(self) -> Path:
        return self.dir / "backtest.csv"

    @property
    def registry_ledger_path(self) -> Path:
        return self.dir / "registry_ledger.jsonl"

    # journal -----------------------------------------------------------------
    def journal_versions(self) -> list[dict[str, Any]]:
        """Every stored version, oldest first (read-only dicts: parsed once per version
        of the log in this process, as several steps of an update read it)."""
        try:
            return list(_JOURNAL_LOGS.get(self.journal_log_path))
        except FileNotFoundError:
            return []

    def current_entry_shas(self) -> dict[str, str]:
        """ISO date -> content hash of the current entry of that day."""
        return {v["date"]: v["entry_sha"] for v in self.journal_versions()}

    def effective_journal(self) -> list[dict[str, Any]]:
        """The current entry per date (the last version), sorted by date; a day whose last
        version is a withdrawal is left out (its history stays in the log)."""
        latest: dict[str, dict[str, Any]] = {}
        for version in self.journal_versions():
            latest[version["date"]] = version["entry"]
        return [latest[d] for d in sorted(latest) if not latest[d].get("withdrawn")]

    def ingest_journal(self, incoming: list[IncomingEntry], now: dt.datetime) -> IngestSummary:
        """Store new and corrected entries durably; identical content is a no-op.

        Later items win over earlier ones for the same date (a batch is applied in
        order). Returns what changed; the caller may move source files only after this
        returns.
        """
        versions = self.journal_versions()
        current: dict[str, dict[str, Any]] = {v["date"]: v for v in versions}
        known_before = set(current)
        changed: set[str] = set()
        identical: set[str] = set()
        appended: list[dict[str, Any]] = []
        for item in incoming:
            if item.entry.athlete != self.athlete:
                raise ValueError(
                    f"entry for athlete {item.entry.athlete!r} offered to store {self.athlete!r}"
                )
            day = item.entry.date.isoformat()
            sha = item.entry.content_sha()
            prev = current.get(day)
            if prev is not None and prev["entry_sha"] == sha:
                identical.add(day)
                continue
            record = {
                "version": len(versions) + len(appended) + 1,
                "date": day,
                "entry_sha": sha,
                "supersedes": prev["entry_sha"] if prev else None,
                "source_file": item.source_file,
                "file_sha256": item.file_sha256,
                "ingested_at": now.isoformat(),
                "entry": item.entry.stored(),
            }
            appended.append(record)
            current[day] = record
            changed.add(day)
        if appended:
            old = self.journal_log_path.read_text(encoding="utf-8") if versions else ""
            new = "".join(json.dumps(r, sort_keys=True) + "\n" for r in appended)
            write_text_atomic(self.journal_log_path, old + new)
        return IngestSummary(
            new_dates=sorted(changed - known_before),
            superseded_dates=sorted(changed & known_before),
            unchanged_dates=sorted(identical - changed),
        )

    # readings ----------------------------------------------------------------
    def readings(self) -> list[dict[str, Any]]:
        if not self.readings_path.exists():
            return []
        text = self.readings_path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            n = text.count("\n") + 1
            raise StoreDamaged(self.readings_path, f"line {n} is cut short (no end of line)")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        for n, row in enumerate(rows, start=2):
            if None in row or None in row.values():  # fewer or more fields than its header
                raise StoreDamaged(self.readings_path, f"line {n} does not have every column")
        return rows

    def write_readings(self, rows: list[dict[str, Any]]) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(READING_FIELDS), lineterminator="\n")
        writer.writeheader()
        for row in sorted(rows, key=lambda r: (r["date"], r["metric"])):
            writer.writerow({k: row.get(k) for k in READING_FIELDS})
        write_text_atomic(self.readings_path, buf.getvalue())


class StoreDamaged(ValueError):
    """A store file that the pipeline wrote whole is not whole any more (a hand edit, a
    disk that filled up under another tool, a restore gone wrong): say which file and
    line, and how to recover, instead of a bare parser error."""

    def __init__(self, path: Path, problem: str):
        super().__init__(
            f"{path}: {problem}. This file is written whole by hrv-sentinel, so it was "
            "damaged outside it. Restore it from a backup, or remove the damaged line(s); "
            "the athlete's files in inbox/processed/ and sources/ can be dropped again to "
            "rebuild it."
        )
        self.path = path


def outputs_dir(data_dir: Path, athlete: str) -> Path:
    return Path(data_dir) / "outputs" / athlete
