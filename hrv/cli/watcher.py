"""Instant feedback on inbox drops: ``python -m hrv.cli.watcher`` (part of ``make run``).

Read-only by design. It reacts to filesystem events (watchdog: inotify on Linux) within
a fraction of a second and prints, per file, whether it will be accepted (for which
athlete and dates) or rejected (with the reasons). It never moves a file: the inbox
sensor is the single source of truth, works with the watcher off, and the two can never
race for the same file. When the sensor archives a file, the watcher says so too.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from hrv.intake.inbox import PROCESSED, REJECTED, candidate_for, parse_candidate

QUIET_SECONDS = 0.2  # wait for a burst of write events on one file to end


def verdict(inbox: Path, rel: str, default_athlete: str, now: float) -> str | None:
    """One line describing what the sensor will do with this file (None: not a journal)."""
    c = candidate_for(inbox, rel)
    if c.ignored is not None:
        return (
            None
            if c.ignored == "vanished while scanning"
            else f"… {rel}: {c.ignored}, ignored until renamed"
        )
    result = parse_candidate(c, default_athlete)
    if result.ok:
        days = sorted({e.date.isoformat() for e in result.entries})
        span = days[0] if len(days) == 1 else f"{len(days)} days {days[0]}..{days[-1]}"
        return f"✓ {rel}: accepted for {', '.join(result.athletes)}, {span}"
    young = now - c.mtime_ns / 1e9 < 2.0
    head = "… not valid yet (still being written?)" if young else "✗ will be rejected"
    reasons = "; ".join(str(e) for e in result.errors[:3])
    more = f" (+{len(result.errors) - 3} more)" if len(result.errors) > 3 else ""
    return f"{head} {rel}: {reasons}{more}"


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: InboxWatcher):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        for raw in (getattr(event, "dest_path", None), event.src_path):
            if raw:
                self.watcher.touch(Path(os.fsdecode(raw)), event.event_type)


class InboxWatcher:
    def __init__(self, inbox: Path, default_athlete: str, out: TextIO = sys.stdout):
        self.inbox = inbox.resolve()
        self.default_athlete = default_athlete
        self.out = out
        self._due: dict[str, float] = {}
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def say(self, line: str) -> None:
        self.out.write(time.strftime("%H:%M:%S ") + line + "\n")
        self.out.flush()

    def touch(self, path: Path, kind: str) -> None:
        try:
            rel = (
                path.resolve().relative_to(self.inbox).as_posix()
                if path.exists()
                else (path.relative_to(self.inbox).as_posix())
            )
        except ValueError:
            return
        parts = rel.split("/")
        if parts[0] in (PROCESSED, REJECTED):
            if kind in ("moved", "created") and path.exists() and not rel.endswith(".error.json"):
                word = "archived" if parts[0] == PROCESSED else "rejected"
                self.say(f"→ {rel}: {word} by the inbox sensor")
            return
        with self._lock:
            self._due[rel] = time.monotonic() + QUIET_SECONDS

    def _drain(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                ready = [rel for rel, due in self._due.items() if due <= now]
                for rel in ready:
                    del self._due[rel]
            for rel in ready:
                line = verdict(self.inbox, rel, self.default_athlete, time.time())
                if line and self._last.get(rel) != line:
                    self._last[rel] = line
                    self.say(line)

    def run(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        observer = Observer()
        observer.schedule(_Handler(self), str(self.inbox), recursive=True)
        observer.start()
        drain = threading.Thread(target=self._drain, daemon=True)
        drain.start()
        self.say(f"watching {self.inbox} (read-only; the inbox sensor moves files)")
        try:
            while observer.is_alive():
                observer.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop.set()
            observer.stop()
            observer.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Instant feedback on files dropped in the inbox.")
    parser.add_argument(
        "--inbox", type=Path, default=Path(os.environ.get("HRV_INBOX_DIR") or "inbox")
    )
    parser.add_argument("--default-athlete", default=os.environ.get("HRV_DEFAULT_ATHLETE") or "me")
    args = parser.parse_args(argv)
    InboxWatcher(args.inbox, args.default_athlete).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
