"""Archived journals that are written to after they were read (a stalled writer)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hrv.storage.files import move_unique, write_json_atomic

# --------------------------------------------------------------------------- late writers
# A writer that stalls past the settle time and goes on writing after the file was read
# and archived would put its last rows into inbox/processed/, unread. Every archived file
# is watched this long: if it changes, it goes back to the inbox and is read again (rows
# already stored are identical, so only the new ones count).
WATCH_DIR = "inbox_watch"
WATCH_SECONDS = 600.0


def watch_archived(data_dir: Path, files: list[tuple[Path, str, int, int]]) -> None:
    """Record the files a run just archived to processed/, with the size and mtime that
    were read: (archived path, inbox path, size, mtime_ns). One file per run, so a tick
    reads as many small files as there were recent runs, not archived files."""
    if not files:
        return
    import hashlib

    entries = [
        {"archived": str(a), "rel": rel, "size": size, "mtime_ns": mtime}
        for a, rel, size, mtime in files
    ]
    name = hashlib.sha256(str(files[0][0]).encode()).hexdigest()[:16]
    path = Path(data_dir) / WATCH_DIR / f"{time.time_ns()}-{name}.json"
    write_json_atomic(path, {"at": time.time(), "files": entries})


def recheck_archived(data_dir: Path, inbox: Path, now: float) -> list[str]:
    """Archived files written to since they were read go back to the inbox (returns their
    inbox paths); watches older than ``WATCH_SECONDS`` end."""
    folder = Path(data_dir) / WATCH_DIR
    if not folder.is_dir():
        return []
    back: list[str] = []
    for watch in sorted(folder.glob("*.json")):
        try:
            body = json.loads(watch.read_text())
            at, entries = float(body["at"]), list(body["files"])
        except (OSError, ValueError, KeyError, TypeError):
            watch.unlink(missing_ok=True)
            continue
        if now - at > WATCH_SECONDS:
            watch.unlink(missing_ok=True)
            continue
        keep = []
        for w in entries:
            try:
                archived = Path(w["archived"])
                st = archived.lstat()
                changed = (st.st_size, st.st_mtime_ns) != (w["size"], w["mtime_ns"])
            except (OSError, KeyError, TypeError):  # removed from processed/: not watched
                continue
            if not changed:
                keep.append(w)
            elif now - st.st_mtime_ns / 1e9 < 1.0:
                keep.append(w)  # still being written: next tick
            else:
                moved = move_unique(archived, (inbox / w["rel"]).parent)
                back.append(moved.relative_to(inbox).as_posix())
        if not keep:
            watch.unlink(missing_ok=True)
        elif len(keep) != len(entries):
            write_json_atomic(watch, {"at": at, "files": keep})
    return back
