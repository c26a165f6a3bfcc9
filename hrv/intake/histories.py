"""Athletes' histories read straight from folders (``hrv-sentinel backtest PATH...``):
journals from an inbox (its ``processed/`` archive included) and readings from exports,
with the sensors' rules for whose file is whose.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrv.intake.exports import SOURCE_SUFFIXES, SourceParseResult, merge_readings, parse_source_file
from hrv.intake.inbox import PROCESSED, REJECTED
from hrv.intake.journal import (
    JOURNAL_SUFFIXES,
    is_ignored_name,
    parse_journal_file,
)
from hrv.intake.verdicts import export_folder_athlete, inside


@dataclass
class History:
    """What one athlete's files hold: effective journal entries and merged readings."""

    journal: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # by date
    exports: list[tuple[int, str, SourceParseResult]] = field(default_factory=list)

    def entries(self) -> list[dict[str, Any]]:
        return [self.journal[d][1] for d in sorted(self.journal)]


def _files(target: Path) -> list[Path]:
    if not target.is_dir():
        return [target]
    out = []
    for dirpath, dirs, names in os.walk(target):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != REJECTED)
        out += [Path(dirpath) / n for n in sorted(names) if not is_ignored_name(n)]
    return out


def load_histories(
    paths: list[Path],
    *,
    inbox: Path | None,
    sources: Path | None,
    default_athlete: str,
    tz: dt.tzinfo,
) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """athlete -> (journal entries, readings), from every file under ``paths``. A folder
    named like the inbox or the sources (or inside them) is read with their layout;
    anything else by content, a subfolder naming the athlete."""
    histories: dict[str, History] = defaultdict(History)
    for target in paths:
        for path in _files(target):
            mtime = path.stat().st_mtime_ns
            rel = inside(path, inbox)
            if rel is not None:
                rel = rel.removeprefix(f"{PROCESSED}/")
                _journal(histories, path, export_folder_athlete(rel)[0], default_athlete, mtime)
                continue
            rel = inside(path, sources)
            if rel is None:
                rel = inside(path, target) if target.is_dir() else path.name
            folder = export_folder_athlete(rel or path.name)[0]
            suffix = path.suffix.lower()
            if suffix in (".md", ".markdown", ".yaml", ".yml"):
                _journal(histories, path, folder, default_athlete, mtime)
            elif suffix in SOURCE_SUFFIXES:
                result = parse_source_file(
                    path, folder_athlete=folder, default_athlete=default_athlete, tz=tz
                )
                if result.readings:
                    for athlete in result.athletes:
                        histories[athlete].exports.append((mtime, str(path), result))
                elif suffix in JOURNAL_SUFFIXES:
                    _journal(histories, path, folder, default_athlete, mtime)
    return {
        athlete: (h.entries(), merge_readings(h.exports, athlete))
        for athlete, h in sorted(histories.items())
    }


def _journal(
    histories: dict[str, History],
    path: Path,
    folder: str | None,
    default_athlete: str,
    mtime: int,
) -> None:
    result = parse_journal_file(path, folder_athlete=folder, default_athlete=default_athlete)
    for entry in result.entries:  # a rejected file gives none
        day = entry.date.isoformat()
        held = histories[entry.athlete].journal.get(day)
        if held is None or mtime >= held[0]:
            histories[entry.athlete].journal[day] = (mtime, entry.model_dump(mode="json"))
