"""The wearable exports folder: ``sources/`` and ``sources/<athlete>/**``.

Exports belong to the user's sync tool: they are read where they are, never moved.
Top-level files may name athletes inside (a generic CSV's ``athlete`` column) or mean the
default athlete; files under ``sources/<athlete>/`` (any depth) are that athlete's.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from hrv.intake.exports import SOURCE_SUFFIXES
from hrv.intake.journal import ATHLETE_RE, RESERVED_ATHLETES, is_ignored_name
from hrv.intake.names import utf8_name

NOT_REGULAR = (
    "not a regular file (a named pipe, socket or device): it would block whoever reads "
    "it; export to a file"
)


def _utf8(base: Path, name: str) -> str | None:
    try:
        return utf8_name(base / name).name
    except OSError:  # a read-only folder: such a name cannot be read either; skip it
        return None


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


@dataclass(frozen=True)
class SourceFile:
    path: Path
    rel: str
    folder_athlete: str | None
    size: int
    mtime_ns: int
    problem: str | None = None

    @property
    def signature(self) -> tuple[int, int]:
        return (self.size, self.mtime_ns)


def scan_sources(root: Path) -> list[SourceFile]:
    """Export files: top-level ``sources/*`` and ``sources/<athlete>/**``."""
    out: list[SourceFile] = []
    if not root.is_dir():
        return out
    for dirpath, dirs, names in os.walk(root):
        base = Path(dirpath)
        # a name that is not valid UTF-8 (a Latin-1 tool's "café.csv") is renamed to its
        # escaped bytes first: it could not be reported, nor stop the scan for everyone
        dirs[:] = sorted(filter(None, (_utf8(base, d) for d in dirs if not d.startswith("."))))
        names = [n for n in (_utf8(base, n) for n in names) if n is not None]
        rel_dir = base.relative_to(root)
        folder = rel_dir.parts[0] if rel_dir.parts else None
        for name in sorted(names):
            if is_ignored_name(name) or Path(name).suffix.lower() not in SOURCE_SUFFIXES:
                continue
            path = base / name
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            problem = None
            if path.is_symlink():
                problem = "symlinks are not read (they can point anywhere)"
            elif not stat.S_ISREG(st.st_mode):
                problem = NOT_REGULAR
            elif folder is not None and (
                not ATHLETE_RE.match(folder) or folder in RESERVED_ATHLETES
            ):
                problem = f"folder name '{folder}' is not an athlete id"
            out.append(
                SourceFile(
                    path,
                    path.relative_to(root).as_posix(),
                    folder if problem is None else None,
                    st.st_size,
                    st.st_mtime_ns,
                    problem,
                )
            )
    return out


def source_files_for(sources: Path, athlete: str) -> list[tuple[Path, str | None]]:
    """Export files that may hold this athlete's readings: sources/<athlete>/** and
    top-level files in sources/ (those name athletes inside, or mean the default)."""
    out: list[tuple[Path, str | None]] = []
    if not sources.is_dir():
        return out
    for entry in sorted(os.scandir(sources), key=lambda e: e.name):
        if is_ignored_name(entry.name):
            continue
        if entry.is_file(follow_symlinks=False):
            if Path(entry.name).suffix.lower() in SOURCE_SUFFIXES:
                out.append((Path(entry.path), None))
        elif entry.is_dir(follow_symlinks=False) and entry.name == athlete:
            for root, dirs, names in os.walk(entry.path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    path = Path(root) / name
                    if (
                        not is_ignored_name(name)
                        and Path(name).suffix.lower() in SOURCE_SUFFIXES
                        and _regular(path)
                    ):
                        out.append((path, athlete))
    return out
