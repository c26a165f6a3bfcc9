"""What the sources sensor does in one tick, decided without Dagster (pure, unit-tested).

Exports are owned by the user's sync tool: they are read, never moved. The athlete's
stored readings (``data/store/<athlete>/readings.csv``) are the truth about what the
pipeline has seen, so change detection needs no history in the cursor:

1. Settled export files whose size or mtime changed are hashed; a file with the same
   content hash as before is not parsed again. Changed content is parsed (format by
   content); a malformed export is reported once per version and contributes nothing.
2. Every athlete named by a changed, added or removed export is "dirty". For a dirty
   athlete with no run in progress, the readings that the asset would store (the same
   merge rule) are compared with the stored ones: equal -> nothing to do; different ->
   one run of the readings asset and everything downstream, with the changed days.
3. Attempts per (athlete, wanted readings) are bounded like the inbox's; a change that
   no run manages to store is reported ``stuck_file`` once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hrv.intake.exports import (
    REJECTED,
    SourceParseResult,
    merge_readings,
    reading_fingerprint,
)
from hrv.intake.journal import FILE_FIELD, FieldError
from hrv.intake.source_folder import SourceFile
from hrv.planning.inbox_tick import FUTURE_TOLERANCE_SECONDS

CURSOR_VERSION = 1


@dataclass
class CachedExport:
    signature: tuple[int, int]
    sha256: str
    result: SourceParseResult
    mtime_ns: int


class SourceCache:
    """Parsed exports by path, valid while size and mtime (or the content hash) hold."""

    def __init__(self) -> None:
        self.entries: dict[str, CachedExport] = {}
        # (rel, size, mtime) -> when first seen, for files whose mtime is in the future
        self.future_seen: dict[tuple[str, int, int], float] = {}


@dataclass(frozen=True)
class SourceLimits:
    settle_seconds: float = 2.0
    max_attempts: int = 3
    max_runs_per_tick: int = 25
    parse_budget_seconds: float = 15.0


@dataclass
class SourceRun:
    athlete: str
    changed_days: list[str]
    files: list[str]
    attempt: int
    run_key: str


@dataclass
class SourcesTick:
    runs: list[SourceRun] = field(default_factory=list)
    newly_rejected: list[SourceParseResult] = field(default_factory=list)
    newly_stuck: list[tuple[str, list[str], int]] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)
    athletes_seen: set[str] = field(default_factory=set)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        waiting = sorted({v for v in self.pending.values()})
        head = (
            f"{len(self.runs)} athlete(s) to update, {len(self.newly_rejected)} export(s) rejected"
        )
        return head + (f"; waiting: {', '.join(waiting)}" if waiting else "")


def status_of(result: SourceParseResult) -> dict[str, Any]:
    """One export's line in ``data/sources_status.json``: its verdict (ok, partial,
    not_hrv, rejected), what it is, and the rows skipped by reason."""
    s = result.summary()
    out: dict[str, Any] = {
        "status": s["verdict"],
        "vendor": s["vendor"],
        "format": s["format"],
        "athletes": result.athletes,
        "nights": s["nights"],
        "first_date": s["first_date"],
        "last_date": s["last_date"],
        "rows_read": s["rows_read"],
    }
    if s["skipped"]:
        out["skipped"] = s["skipped"]
        out["skipped_examples"] = s["skipped_examples"][:5]
    if s["not_hrv"]:
        out["not_hrv"] = s["not_hrv"]
    if s["errors"]:
        out["errors"] = [str(e) for e in result.errors[:10]]
    return out


def load_state(cursor: str | None) -> dict[str, Any]:
    import json

    empty = {"v": CURSOR_VERSION, "dirty": [], "attempts": {}, "rejected": {}, "stuck": []}
    if not cursor:
        return empty
    try:
        state = json.loads(cursor)
    except ValueError:
        return empty
    if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
        return empty
    for key, default in empty.items():
        state.setdefault(key, default)
    return state


def _digest(rows: set[tuple[Any, ...]]) -> str:
    return hashlib.sha256(repr(sorted(rows, key=repr)).encode()).hexdigest()[:16]


def plan_sources_tick(
    files: list[SourceFile],
    *,
    now: float,
    state: dict[str, Any],
    cache: SourceCache,
    active_athletes: set[str],
    parse: Callable[[SourceFile], SourceParseResult],
    content_hash: Callable[[SourceFile], str],
    stored_readings: Callable[[str], list[dict[str, Any]]],
    limits: SourceLimits,
    pending_journals: set[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SourcesTick:
    """``pending_journals``: athletes with journal files still waiting in the inbox. Their
    inbox run comes first (it also rebuilds the readings of a new athlete); deciding
    after it avoids a second run and a transient "no journals" warning."""
    tick = SourcesTick()
    dirty: set[str] = set(state.get("dirty", []))
    attempts: dict[str, list[Any]] = dict(state.get("attempts", {}))
    rejected: dict[str, str] = dict(state.get("rejected", {}))
    stuck: set[str] = set(state.get("stuck", []))
    deadline = clock() + limits.parse_budget_seconds
    present = {f.rel for f in files}
    cache.future_seen = {k: v for k, v in cache.future_seen.items() if k[0] in present}
    unparsed_athletes: set[str] = set()

    for rel in list(cache.entries):  # removed exports: their athletes lose readings
        if rel not in present:
            dirty.update(cache.entries.pop(rel).result.athletes)
            rejected.pop(rel, None)

    for f in files:
        if f.problem is not None:
            result = SourceParseResult(
                file=f.rel, errors=[FieldError(FILE_FIELD, f.rel, f.problem)]
            )
            tick.statuses[f.rel] = {"status": "rejected", "errors": [f.problem]}
            if rejected.get(f.rel) != f"problem:{f.signature}":
                rejected[f.rel] = f"problem:{f.signature}"
                tick.newly_rejected.append(result)
            continue
        age = now - f.mtime_ns / 1e9
        if age < -FUTURE_TOLERANCE_SECONDS:
            # a clock ahead or a restored file: count from when this version was first seen
            first = cache.future_seen.setdefault((f.rel, *f.signature), now)
            age = now - first
        if age < limits.settle_seconds:
            tick.pending[f.rel] = "settling (still being written)"
            if f.folder_athlete:
                unparsed_athletes.add(f.folder_athlete)
            continue
        cached = cache.entries.get(f.rel)
        if cached is None or cached.signature != f.signature:
            if clock() > deadline:
                tick.pending[f.rel] = "queued for parsing (tick budget)"
                if f.folder_athlete:
                    unparsed_athletes.add(f.folder_athlete)
                continue
            sha = content_hash(f)
            if cached is not None and cached.sha256 == sha:
                cached.signature = f.signature  # touched, same bytes: nothing changed
                cached.mtime_ns = f.mtime_ns
            else:
                result = parse(f)
                result.file = f.rel
                if cached is not None:
                    dirty.update(cached.result.athletes)
                cache.entries[f.rel] = CachedExport(f.signature, sha, result, f.mtime_ns)
                dirty.update(result.athletes)
                if result.verdict == REJECTED and rejected.get(f.rel) != sha:
                    rejected[f.rel] = sha
                    tick.newly_rejected.append(result)
        entry = cache.entries[f.rel]
        result = entry.result
        if result.verdict != REJECTED:
            rejected.pop(f.rel, None)
        tick.athletes_seen.update(result.athletes)
        tick.statuses[f.rel] = status_of(result)

    for athlete in sorted(dirty):
        if athlete in active_athletes:
            tick.pending[f"athlete {athlete}"] = "waiting for the run in progress"
            continue
        if pending_journals and athlete in pending_journals:
            tick.pending[f"athlete {athlete}"] = "waiting for pending journal files"
            continue
        if athlete in unparsed_athletes:
            continue  # decide once every export of this athlete is read
        items = [
            (e.mtime_ns, rel, e.result)
            for rel, e in sorted(cache.entries.items())
            if e.result.ok and athlete in e.result.athletes
        ]
        wanted = reading_fingerprint(merge_readings(items, athlete))
        stored = reading_fingerprint(stored_readings(athlete))
        if wanted == stored:
            dirty.discard(athlete)
            attempts.pop(athlete, None)
            stuck.discard(athlete)
            continue
        digest = _digest(wanted)
        prev = attempts.get(athlete)
        n = prev[1] if prev and prev[0] == digest else 0
        files_of = [rel for _, rel, _ in items]
        if n >= limits.max_attempts:
            tick.pending[f"athlete {athlete}"] = "stuck"
            if athlete not in stuck:
                stuck.add(athlete)
                tick.newly_stuck.append((athlete, files_of, n))
            continue
        if len(tick.runs) >= limits.max_runs_per_tick:
            tick.pending[f"athlete {athlete}"] = "waiting for a run slot (tick limit)"
            continue
        changed = sorted({row[0] for row in wanted ^ stored})
        attempts[athlete] = [digest, n + 1]
        tick.runs.append(
            SourceRun(athlete, changed, files_of, n + 1, f"sources:{athlete}:{digest}:{n + 1}")
        )

    tick.state = {
        "v": CURSOR_VERSION,
        "dirty": sorted(dirty),
        "attempts": {a: v for a, v in attempts.items() if a in dirty},
        "rejected": {k: v for k, v in rejected.items() if k in present},
        "stuck": sorted(s for s in stuck if s in dirty),
    }
    return tick
