"""The inbox folder: where journal files are dropped, and where they end up.

Layout::

    inbox/2026-11-21.md            athlete from the file, else HRV_DEFAULT_ATHLETE
    inbox/<athlete>/2026-11-21.md  athlete from the folder
    inbox/processed/...            accepted files (same relative path)
    inbox/rejected/...             rejected files + <name>.error.json

Hidden files and partial downloads (``*.part``, ``*.tmp``, ``*.crdownload``, ``*~``) are
left alone until they are renamed. Symlinks, oversized files, nested folders and folders
whose name is not an athlete id are rejected with a reason: nothing is silently ignored.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from hrv.intake.exports import NOT_HRV as EXPORT_NOT_HRV
from hrv.intake.exports import OK as EXPORT_OK
from hrv.intake.exports import PARTIAL as EXPORT_PARTIAL
from hrv.intake.exports import parse_source_file
from hrv.intake.journal import (
    ATHLETE_RE,
    FILE_FIELD,
    MAX_JOURNAL_BYTES,
    RESERVED_ATHLETES,
    FieldError,
    JournalParseResult,
    is_ignored_name,
    parse_journal_file,
)
from hrv.intake.names import utf8_name
from hrv.storage.files import NAME_MAX, move_unique, write_json_atomic

ERROR_SUFFIX = ".error.json"
PROCESSED = "processed"
REJECTED = "rejected"
HIDDEN = "hidden file"


@dataclass(frozen=True)
class Candidate:
    """A file in the inbox that is (or will be) a journal, or must be rejected."""

    path: Path
    rel: str  # path relative to the inbox, with '/'
    folder_athlete: str | None
    size: int
    mtime_ns: int
    problem: str | None = None  # set when the file must be rejected without parsing
    ignored: str | None = None  # set for files left alone (hidden, partial download)

    @property
    def signature(self) -> tuple[int, int]:
        return (self.size, self.mtime_ns)


def _ignored_reason(name: str) -> str:
    if name.startswith("#"):
        return "an editor's autosave file"
    return "partial download"


def _candidate(path: Path, rel: str, folder: str | None) -> Candidate:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return Candidate(path, rel, folder, 0, 0, ignored="vanished while scanning")
    # before the symlink test: an editor's lock file (.#x.md) is a symlink, and not ours
    if is_ignored_name(path.name):
        reason = HIDDEN if path.name.startswith(".") else _ignored_reason(path.name)
        return Candidate(path, rel, folder, st.st_size, st.st_mtime_ns, ignored=reason)
    if path.is_symlink():
        return Candidate(
            path,
            rel,
            folder,
            st.st_size,
            st.st_mtime_ns,
            problem="symlinks are not read (they can point anywhere): drop the file itself",
        )
    if not path.is_file():
        return Candidate(
            path, rel, folder, st.st_size, st.st_mtime_ns, problem="not a regular file"
        )
    if st.st_size > MAX_JOURNAL_BYTES:
        return Candidate(
            path,
            rel,
            folder,
            st.st_size,
            st.st_mtime_ns,
            problem=f"file is {st.st_size} bytes, over the {MAX_JOURNAL_BYTES} byte journal limit",
        )
    return Candidate(path, rel, folder, st.st_size, st.st_mtime_ns)


def inbox_fingerprint(inbox: Path) -> tuple[tuple[str, int], ...]:
    """The modification times of the inbox and its athlete folders (not the archives).

    A file dropped, renamed into place or removed changes its folder's mtime, so a
    changed fingerprint means "scan again"; it costs one stat per folder, whatever the
    number of files waiting.
    """
    try:
        out = [("", inbox.stat().st_mtime_ns)]
        with os.scandir(inbox) as top:
            for entry in top:
                if entry.name in (PROCESSED, REJECTED) or entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    out.append((entry.name, entry.stat(follow_symlinks=False).st_mtime_ns))
    except OSError:
        return ()
    return tuple(sorted(out))


def _valid_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _rename_non_utf8(inbox: Path) -> None:
    """Names only (no stat, no Path per file): a file is renamed only when its name is
    not valid UTF-8."""
    with os.scandir(inbox) as top:
        entries = list(top)
    for entry in entries:
        path = Path(entry.path)
        if not _valid_utf8(entry.name):
            path = utf8_name(path)
        elif entry.name in (PROCESSED, REJECTED) or not entry.is_dir(follow_symlinks=False):
            continue
        if path.is_dir() and not path.is_symlink():
            with os.scandir(path) as sub:
                bad = [e.path for e in sub if not _valid_utf8(e.name)]
            for child in bad:
                utf8_name(Path(child))


def anything_pending(inbox: Path) -> bool:
    """Whether the inbox holds a file that a scan would not ignore, by name only (one
    listing per folder, no stat): an idle tick's cheap first look."""
    try:
        with os.scandir(inbox) as top:
            for entry in top:
                if entry.name in (PROCESSED, REJECTED):
                    continue
                if not entry.is_dir(follow_symlinks=False):
                    if not is_ignored_name(entry.name):
                        return True
                    continue
                if entry.name.startswith("."):
                    continue
                with os.scandir(entry.path) as sub:
                    if any(not is_ignored_name(e.name) for e in sub):
                        return True
    except OSError:
        return True  # let the scan say what is wrong
    return False


def scan_inbox(inbox: Path) -> list[Candidate]:
    """Every file under the inbox except the processed/ and rejected/ archives.

    Cost is proportional to the pending files only: the archives are never listed.
    Names that are not valid UTF-8 are renamed first (``utf8_name``).
    """
    out: list[Candidate] = []
    if not inbox.is_dir():
        return out
    _rename_non_utf8(inbox)
    with os.scandir(inbox) as top:
        entries = sorted(top, key=lambda e: e.name)
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if entry.name in (PROCESSED, REJECTED) or entry.name.startswith("."):
                continue
            folder_ok = bool(ATHLETE_RE.match(entry.name))
            with os.scandir(path) as sub:
                children = sorted(sub, key=lambda e: e.name)
            for child in children:
                cpath = Path(child.path)
                rel = f"{entry.name}/{child.name}"
                if child.is_dir(follow_symlinks=False):
                    if child.name.startswith("."):
                        continue
                    # nested folders: every file inside is rejected, one by one
                    for root, dirs, files in os.walk(cpath):
                        dirs[:] = [d for d in dirs if not d.startswith(".")]
                        for name in sorted(files):
                            fpath = Path(root) / name
                            frel = fpath.relative_to(inbox).as_posix()
                            c = _candidate(fpath, frel, None)
                            if c.ignored is None:
                                c = Candidate(
                                    fpath,
                                    frel,
                                    None,
                                    c.size,
                                    c.mtime_ns,
                                    problem="nested folders are not read: use "
                                    "inbox/ or inbox/<athlete>/",
                                )
                            out.append(c)
                    continue
                c = _candidate(cpath, rel, entry.name if folder_ok else None)
                if not folder_ok and c.problem is None and c.ignored is None:
                    c = Candidate(
                        cpath,
                        rel,
                        None,
                        c.size,
                        c.mtime_ns,
                        problem=f"folder name '{entry.name}' is not an athlete id "
                        "(lowercase letters, digits, '-' and '_')",
                    )
                out.append(c)
        else:
            out.append(_candidate(path, entry.name, None))
    return out


def parse_candidate(c: Candidate, default_athlete: str) -> JournalParseResult:
    """The journal in this file, or why it is rejected. A wearable export dropped here
    by mistake is rejected with what it is and where it belongs."""
    if c.problem is not None:
        hint = _export_hint(c) if c.size > MAX_JOURNAL_BYTES else None
        return JournalParseResult(
            file=c.rel, errors=[FieldError(FILE_FIELD, c.rel, hint or c.problem)]
        )
    result = parse_journal_file(
        c.path, folder_athlete=c.folder_athlete, default_athlete=default_athlete
    )
    result.file = c.rel
    if not result.ok:
        hint = _export_hint(c)
        if hint:
            result.errors = [FieldError(FILE_FIELD, c.rel, hint)]
    return result


EXPORT_SNIFF_BYTES = 8 << 20  # a wearable export up to this size is read to say what it is


def _export_hint(c: Candidate) -> str | None:
    """If this inbox file is a wearable export: what it is and where it belongs."""
    if c.path.is_symlink() or not c.path.is_file():
        return None
    where = f"sources/{c.folder_athlete or '<athlete>'}/"
    move = f"wearable exports go in {where} (read there, never moved); journals stay in inbox/"
    if c.size > EXPORT_SNIFF_BYTES:  # too big to read here: say what its first bytes show
        try:
            with c.path.open("rb") as fh:
                head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        except OSError:
            return None
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return f"this is a zip archive ({c.size} bytes), not a journal: {move}"
        if b"<HealthData" in head or b"HealthKit" in head:
            return f"this looks like an Apple Health export ({c.size} bytes): {move}"
        return None
    export = parse_source_file(c.path, folder_athlete=c.folder_athlete or "me")
    if export.verdict not in (EXPORT_OK, EXPORT_PARTIAL, EXPORT_NOT_HRV):
        return None
    what = " ".join(x for x in (export.vendor, f"({export.format})") if x)
    if export.verdict == EXPORT_NOT_HRV:
        return f"this is a wearable export's file ({what}: {export.not_hrv}), not a journal: {move}"
    nights = len({(r.date, r.metric) for r in export.readings})
    unit = "night" if nights == 1 else "nights"
    return f"this is a wearable export ({what}, {nights} {unit}), not a journal: {move}"


def archive_path(inbox: Path, kind: str, rel: str) -> Path:
    """Where a file with inbox-relative path ``rel`` goes in ``processed``/``rejected``."""
    return inbox / kind / Path(rel).parent


def reject(inbox: Path, c: Candidate, result: JournalParseResult, now: dt.datetime) -> Path:
    """Move a rejected file to inbox/rejected/ with ``<name>.error.json`` beside it."""
    dest_dir = archive_path(inbox, REJECTED, c.rel)
    # room for the "<name>.error.json" beside it
    moved = move_unique(c.path, dest_dir, max_name_bytes=NAME_MAX - len(ERROR_SUFFIX))
    report = result.error_report(now)
    report["file"] = c.rel
    report["moved_to"] = moved.relative_to(inbox).as_posix()
    write_json_atomic(moved.with_name(moved.name + ERROR_SUFFIX), report)
    return moved


def accept(inbox: Path, c: Candidate) -> Path:
    """Move an accepted file (its content already durably stored) to inbox/processed/."""
    return move_unique(c.path, archive_path(inbox, PROCESSED, c.rel))


def candidate_for(inbox: Path, rel: str) -> Candidate:
    """Rebuild a candidate for a file named by its inbox-relative path."""
    path = inbox / rel
    parts = Path(rel).parts
    if len(parts) > 2:
        c = _candidate(path, rel, None)
        return Candidate(
            path,
            rel,
            None,
            c.size,
            c.mtime_ns,
            ignored=c.ignored,
            problem=c.problem or "nested folders are not read: use inbox/ or inbox/<athlete>/",
        )
    folder = parts[0] if len(parts) == 2 else None
    c = _candidate(path, rel, folder)
    if folder is not None and (not ATHLETE_RE.match(folder) or folder in RESERVED_ATHLETES):
        return Candidate(
            path,
            rel,
            None,
            c.size,
            c.mtime_ns,
            ignored=c.ignored,
            problem=c.problem or f"folder name '{folder}' is not an athlete id",
        )
    return c
