"""Instant feedback on drops: ``python -m hrv.cli.watcher`` (part of ``make run``).

Read-only by design. It reacts to filesystem events (watchdog: inotify on Linux) within a
fraction of a second and prints, per file and per version of it, what the sensors will
do. In ``inbox/``: accept a journal (for which athlete and days; new days, corrections of
stored days, or the same content as stored, archived without a run) or reject it (with
the reasons). In ``sources/``: the verdict ``hrv-sentinel check`` gives, e.g. a WHOOP
export for bob with 224 nights and 11 naps skipped, a file without HRV, or why it will be
rejected. It never moves a file: the sensors are the single source of truth, work with the
watcher off, and the two can never race for the same file. When the inbox sensor archives
a file, the watcher says so too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from hrv.intake.exports import REJECTED as EXPORT_REJECTED
from hrv.intake.exports import SOURCE_SUFFIXES
from hrv.intake.inbox import HIDDEN, PROCESSED, REJECTED, candidate_for, parse_candidate
from hrv.intake.journal import is_ignored_name
from hrv.intake.verdicts import judge_source_file
from hrv.settings import load_settings
from hrv.storage.athlete_store import AthleteStore

QUIET_SECONDS = 0.2  # wait for a burst of write events on one file to end
VANISHED = "vanished while scanning"


def _days(dates: list[str]) -> str:
    return dates[0] if len(dates) == 1 else f"{len(dates)} days {dates[0]}..{dates[-1]}"


def verdict(
    inbox: Path, rel: str, default_athlete: str, data_dir: Path | None, now: float, settle: float
) -> tuple[str | None, bool]:
    """(one line saying what the sensor will do with this file, final?).

    Not final: the file is invalid but young; it may still be being written, so the
    verdict waits until it has settled (the sensor waits for that too)."""
    c = candidate_for(inbox, rel)
    if c.ignored in (VANISHED, HIDDEN):
        return None, True
    if c.ignored is not None:
        return f"… {rel}: {c.ignored}, ignored until renamed", True
    result = parse_candidate(c, default_athlete)
    if not result.ok:
        if now - c.mtime_ns / 1e9 < settle:
            return None, False
        reasons = "; ".join(str(e) for e in result.errors[:3])
        more = f" (+{len(result.errors) - 3} more)" if len(result.errors) > 3 else ""
        return f"✗ will be rejected {rel}: {reasons}{more}", True
    news: dict[str, list[str]] = {"new": [], "corrects": [], "same": []}
    for entry in result.entries:
        stored = AthleteStore(data_dir, entry.athlete).current_entry_shas() if data_dir else {}
        day = entry.date.isoformat()
        if day not in stored:
            news["new"].append(day)
        else:
            news["same" if stored[day] == entry.content_sha() else "corrects"].append(day)
    who = ", ".join(result.athletes)
    days = sorted({e.date.isoformat() for e in result.entries})
    if not news["new"] and not news["corrects"]:
        return f"= {rel}: same content as stored for {who}, will be archived without a run", True
    line = f"✓ {rel}: accepted for {who}, {_days(days)}"
    if news["corrects"]:
        line += f" (corrects the stored {_days(sorted(set(news['corrects'])))})"
    return line, True


def source_verdict(
    sources: Path, rel: str, default_athlete: str, tz: dt.tzinfo, now: float, settle: float
) -> tuple[str | None, bool]:
    """(one line saying what the sources sensor will read from ``sources/<rel>``, final?)."""
    path = sources / rel
    if is_ignored_name(path.name) or Path(rel).suffix.lower() not in SOURCE_SUFFIXES:
        return None, True  # the sensor does not list it either
    try:
        mtime = path.lstat().st_mtime
    except OSError:
        return None, True
    v = judge_source_file(sources, rel, default_athlete, tz)
    if v.verdict == EXPORT_REJECTED:
        if now - mtime < settle:
            return None, False
        return v.headline().replace(": rejected: ", ": will be rejected: ", 1), True
    lines = [v.headline(), *v.details(examples=0)]
    return "\n         ".join(lines), True


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: DropWatcher):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        for raw in (getattr(event, "dest_path", None), event.src_path):
            if raw:
                self.watcher.touch(Path(os.fsdecode(raw)), event.event_type)


class DropWatcher:
    """Watches the inbox and the sources folder; one verdict per version of each file."""

    def __init__(
        self,
        inbox: Path,
        default_athlete: str,
        data_dir: Path | None = None,
        settle_seconds: float = 2.0,
        out: TextIO = sys.stdout,
        sources: Path | None = None,
        tz: dt.tzinfo = dt.UTC,
        sources_settle_seconds: float = 2.0,
    ):
        self.inbox = inbox.resolve()
        self.sources = sources.resolve() if sources else None
        self.default_athlete = default_athlete
        self.data_dir = data_dir.resolve() if data_dir else None
        self.settle = settle_seconds
        self.sources_settle = sources_settle_seconds
        self.tz = tz
        self.out = out
        self._due: dict[tuple[str, str], float] = {}
        self._said: dict[tuple[str, str], tuple[int, int]] = {}  # version reported
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def say(self, line: str) -> None:
        self.out.write(time.strftime("%H:%M:%S ") + line + "\n")
        self.out.flush()

    def _root(self, where: str) -> Path:
        return self.inbox if where == "inbox" else self.sources or self.inbox

    def touch(self, path: Path, kind: str) -> None:
        for where, root in (("inbox", self.inbox), ("sources", self.sources)):
            if root is None:
                continue
            try:
                rel = path.relative_to(root).as_posix()
            except ValueError:
                continue
            parts = rel.split("/")
            if any(p.startswith(".") for p in parts):
                return  # hidden files, including the sensor's own temp files
            if where == "inbox" and parts[0] in (PROCESSED, REJECTED):
                if not path.exists() or rel.endswith(".error.json"):
                    return
                if kind == "moved":  # the sensors archive by renaming within the inbox
                    word = "archived" if parts[0] == PROCESSED else "rejected"
                    self.say(f"→ {rel}: {word} by the inbox sensor")
                elif kind == "created":  # copied or moved in from elsewhere: by a person
                    self.say(
                        f"✗ {rel}: not read: inbox/{parts[0]}/ is an archive; move the file "
                        "into inbox/ (or inbox/<athlete>/) to have it read"
                    )
                return
            with self._lock:
                self._due[(where, rel)] = time.monotonic() + QUIET_SECONDS
            return

    def _version(self, where: str, rel: str) -> tuple[int, int] | None:
        try:
            st = (self._root(where) / rel).lstat()
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def _verdict(self, where: str, rel: str) -> tuple[str | None, bool]:
        if where == "sources" and self.sources is not None:
            return source_verdict(
                self.sources, rel, self.default_athlete, self.tz, time.time(), self.sources_settle
            )
        return verdict(
            self.inbox, rel, self.default_athlete, self.data_dir, time.time(), self.settle
        )

    def _drain(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                ready = [key for key, due in self._due.items() if due <= now]
                for key in ready:
                    del self._due[key]
            for key in ready:
                version = self._version(*key)
                if version is None or self._said.get(key) == version:
                    continue  # gone, or this very version was already reported
                line, final = self._verdict(*key)
                if not final:  # look again once it has settled
                    with self._lock:
                        self._due[key] = time.monotonic() + self.settle / 2
                    continue
                self._said[key] = version
                if line:
                    self.say(line)

    def run(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        observer = Observer()
        observer.schedule(_Handler(self), str(self.inbox), recursive=True)
        watching = [str(self.inbox)]
        if self.sources is not None:
            self.sources.mkdir(parents=True, exist_ok=True)
            observer.schedule(_Handler(self), str(self.sources), recursive=True)
            watching.append(str(self.sources))
        observer.start()
        drain = threading.Thread(target=self._drain, daemon=True)
        drain.start()
        self.say(f"watching {' and '.join(watching)} (read-only; the sensors move files)")
        # stop on SIGTERM as on Ctrl-C, whatever the parent left the signal set to
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        try:
            while observer.is_alive() and not self._stop.is_set():
                observer.join(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop.set()
            observer.stop()
            observer.join()


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(
        description="Instant feedback on files dropped in the inbox and sources (read-only).",
        epilog="example: python -m hrv.cli.watcher --inbox inbox --sources sources  (Ctrl-C)",
    )
    parser.add_argument("--inbox", type=Path, default=settings.inbox_dir, help="HRV_INBOX_DIR")
    parser.add_argument(
        "--sources", type=Path, default=settings.sources_dir, help="HRV_SOURCES_DIR"
    )
    parser.add_argument("--data", type=Path, default=settings.data_dir, help="HRV_DATA_DIR")
    parser.add_argument(
        "--default-athlete", default=settings.default_athlete, help="HRV_DEFAULT_ATHLETE"
    )
    args = parser.parse_args(argv)
    DropWatcher(
        args.inbox,
        args.default_athlete,
        args.data,
        settings.inbox_settle_seconds,
        sources=args.sources,
        tz=settings.tz,
        sources_settle_seconds=settings.sources_settle_seconds,
    ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
