"""What the inbox sensor does in one tick, decided without Dagster (pure, unit-tested).

Per tick:
1. Files that must be rejected without reading (symlinks, oversize, nested folders,
   bad folder names) and files that fail validation are rejected right away.
2. A file is read only once it has settled: unmodified for ``settle_seconds``, and
   unchanged while it was being read.
3. Valid files are routed to their athletes. Each athlete with pending files and no run
   in progress gets one run for all of them (capped per run and per tick); an athlete
   with a run in progress waits for it, so two runs never race for the same file.
   A file whose entries all equal the athlete's current entries (the same bytes dropped
   again) is archived to ``processed/`` without a run: it changes nothing.
4. Each request counts an attempt per file. A file still pending after
   ``max_attempts`` runs is stuck: it stays in the inbox, is reported once as
   ``stuck_file`` and is not retried until it is saved again (new mtime).
The state kept between ticks (the cursor) only holds entries for pending files.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hrv.intake.inbox import HIDDEN, Candidate, parse_candidate
from hrv.intake.journal import JournalParseResult

CURSOR_VERSION = 1
# a modification time further ahead than this is a clock problem, not a file being written
FUTURE_TOLERANCE_SECONDS = 1.0


@dataclass(frozen=True)
class InboxLimits:
    settle_seconds: float = 2.0
    max_attempts: int = 3
    max_runs_per_tick: int = 25
    max_files_per_run: int = 1000
    max_rejects_per_tick: int = 500
    parse_budget_seconds: float = 8.0
    # an idle tick keeps watching the inbox this long before it returns (see the sensor)
    poll_seconds: float = 4.0


@dataclass
class RunPlan:
    athlete: str
    files: list[str]
    attempt: int
    run_key: str


@dataclass
class TickPlan:
    runs: list[RunPlan] = field(default_factory=list)
    rejects: list[tuple[Candidate, JournalParseResult]] = field(default_factory=list)
    duplicates: list[Candidate] = field(default_factory=list)
    newly_stuck: list[tuple[str, str, int]] = field(default_factory=list)  # rel, athlete, n
    athletes_seen: set[str] = field(default_factory=set)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # rel -> status
    state: dict[str, Any] = field(default_factory=dict)

    def idle(self) -> bool:
        """Nothing to do this tick: no run, reject, archive or stuck report."""
        return not (self.runs or self.rejects or self.duplicates or self.newly_stuck)

    def summary(self) -> str:
        reasons: dict[str, int] = {}
        for status in self.pending.values():
            reasons[status["reason"]] = reasons.get(status["reason"], 0) + 1
        parts = [f"{n} {reason}" for reason, n in sorted(reasons.items())]
        head = (
            f"{len(self.runs)} athlete(s) to update, {len(self.rejects)} rejected, "
            f"{len(self.duplicates)} duplicate(s) archived"
        )
        return head + (f"; pending: {', '.join(parts)}" if parts else "; inbox empty")


class ParseCache:
    """Validation results by (path, size, mtime): a settled file is parsed once."""

    def __init__(self, maxsize: int = 50_000):
        self._data: OrderedDict[tuple[str, int, int], JournalParseResult] = OrderedDict()
        self.maxsize = maxsize

    def get(self, c: Candidate) -> JournalParseResult | None:
        key = (c.rel, *c.signature)
        hit = self._data.get(key)
        if hit is not None:
            self._data.move_to_end(key)
        return hit

    def put(self, c: Candidate, result: JournalParseResult) -> None:
        self._data[(c.rel, *c.signature)] = result
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)


def attempt_key(athlete: str, c: Candidate) -> str:
    return f"{athlete}|{c.rel}|{c.size}|{c.mtime_ns}"


def settle_wait(candidates: list[Candidate], now: float, settle_seconds: float) -> float:
    """Seconds until the youngest unsettled file would be settled (0: none is waiting).

    The sensor sleeps this long (at most the settle time, once per tick) and looks again,
    instead of leaving a just-dropped file for the next tick, ~5 s later.
    """
    ages = [now - c.mtime_ns / 1e9 for c in candidates if c.ignored is None and c.problem is None]
    young = [a for a in ages if 0 <= a < settle_seconds]
    return settle_seconds - min(young) + 0.05 if young else 0.0


def load_state(cursor: str | None) -> dict[str, Any]:
    import json

    if not cursor:
        return {"v": CURSOR_VERSION, "attempts": {}, "stuck": []}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {"v": CURSOR_VERSION, "attempts": {}, "stuck": []}
    if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
        return {"v": CURSOR_VERSION, "attempts": {}, "stuck": []}
    state.setdefault("attempts", {})
    state.setdefault("stuck", [])
    return state


def plan_tick(
    candidates: list[Candidate],
    *,
    now: float,
    state: dict[str, Any],
    active_athletes: set[str],
    parse: Callable[[Candidate], JournalParseResult],
    restat: Callable[[Candidate], tuple[int, int] | None],
    cache: ParseCache,
    limits: InboxLimits,
    current_entries: Callable[[str], dict[str, str]] = lambda athlete: {},
    clock: Callable[[], float] = time.monotonic,
) -> TickPlan:
    """``current_entries(athlete)`` maps ISO date -> content hash of the stored entry."""
    plan = TickPlan()
    attempts: dict[str, int] = dict(state.get("attempts", {}))
    stuck_alerted = set(state.get("stuck", []))
    routed: dict[str, list[Candidate]] = {}
    parsed: dict[Candidate, JournalParseResult] = {}
    deadline = clock() + limits.parse_budget_seconds
    live_keys: set[str] = set()
    future_seen: dict[str, float] = dict(state.get("future", {}))
    first_seen: dict[str, float] = {}

    for c in sorted(candidates, key=lambda c: (c.mtime_ns, c.rel)):
        if c.ignored == HIDDEN:
            continue  # dotfiles (.gitkeep, editor swap files) are not journals, nor pending
        if c.ignored is not None:
            plan.pending[c.rel] = {"reason": f"ignored until renamed ({c.ignored})"}
            continue
        if c.folder_athlete in active_athletes:
            # a run of this athlete may be moving this very file: decide after it, and
            # keep counting the runs this file has had
            plan.pending[c.rel] = {
                "reason": "waiting for the run in progress",
                "athlete": c.folder_athlete,
            }
            live_keys.update(k for k in attempts if k.split("|")[1:2] == [c.rel])
            continue
        if c.problem is not None:
            if len(plan.rejects) < limits.max_rejects_per_tick:
                plan.rejects.append((c, parse_candidate(c, "-")))
            else:
                plan.pending[c.rel] = {"reason": "waiting to be rejected (tick limit)"}
            continue
        age = now - c.mtime_ns / 1e9
        if age < -FUTURE_TOLERANCE_SECONDS:
            # a clock ahead (a camera, a phone) or a file restored from 2100: its mtime says
            # nothing about when it was written; count from when this version was first seen
            key = attempt_key("", c)
            first_seen[key] = future_seen.get(key, now)
            age = now - first_seen[key]
        if age < limits.settle_seconds:
            plan.pending[c.rel] = {"reason": "settling (still being written)"}
            continue
        result = cache.get(c)
        if result is None:
            if clock() > deadline:
                plan.pending[c.rel] = {"reason": "queued for validation (tick budget)"}
                continue
            result = parse(c)
            if restat(c) != c.signature:
                plan.pending[c.rel] = {"reason": "settling (changed while read)"}
                continue
            cache.put(c, result)
        if not result.ok:
            if len(plan.rejects) < limits.max_rejects_per_tick:
                plan.rejects.append((c, result))
            else:
                plan.pending[c.rel] = {"reason": "waiting to be rejected (tick limit)"}
            continue
        parsed[c] = result
        for athlete in result.athletes:
            plan.athletes_seen.add(athlete)
            routed.setdefault(athlete, []).append(c)
            live_keys.add(attempt_key(athlete, c))

    known: dict[str, dict[str, str]] = {}
    duplicate_rels: set[str] = set()
    # a day offered by two files of this tick (a correction and its revert, say) is never
    # a duplicate: both go to the run, which applies them oldest first, so the newest wins
    offered = Counter(
        (e.athlete, e.date.isoformat()) for result in parsed.values() for e in result.entries
    )
    for c, result in parsed.items():
        if any(a in active_athletes for a in result.athletes):
            continue
        for a in result.athletes:
            if a not in known:
                known[a] = current_entries(a)
        if all(
            known[e.athlete].get(e.date.isoformat()) == e.content_sha()
            and offered[(e.athlete, e.date.isoformat())] == 1
            for e in result.entries
        ):
            plan.duplicates.append(c)
            duplicate_rels.add(c.rel)
    for athlete in list(routed):
        routed[athlete] = [c for c in routed[athlete] if c.rel not in duplicate_rels]

    for athlete in sorted(routed):
        files = routed[athlete]
        if not files:
            continue
        if athlete in active_athletes:
            for c in files:
                plan.pending[c.rel] = {
                    "reason": "waiting for the run in progress",
                    "athlete": athlete,
                }
            continue
        ready: list[Candidate] = []
        for c in files:
            key = attempt_key(athlete, c)
            n = attempts.get(key, 0)
            if n >= limits.max_attempts:
                plan.pending[c.rel] = {"reason": "stuck", "athlete": athlete, "attempts": n}
                if key not in stuck_alerted:
                    plan.newly_stuck.append((c.rel, athlete, n))
                    stuck_alerted.add(key)
                continue
            ready.append(c)
        if not ready:
            continue
        if len(plan.runs) >= limits.max_runs_per_tick:
            for c in ready:
                plan.pending[c.rel] = {
                    "reason": "waiting for a run slot (tick limit)",
                    "athlete": athlete,
                }
            continue
        batch, rest = ready[: limits.max_files_per_run], ready[limits.max_files_per_run :]
        for c in rest:
            plan.pending[c.rel] = {
                "reason": "waiting for the next run (batch limit)",
                "athlete": athlete,
            }
        attempt = 1 + max(attempts.get(attempt_key(athlete, c), 0) for c in batch)
        for c in batch:
            key = attempt_key(athlete, c)
            attempts[key] = attempts.get(key, 0) + 1
            plan.pending[c.rel] = {
                "reason": "run requested",
                "athlete": athlete,
                "attempts": attempts[key],
            }
        digest = hashlib.sha256(
            "\n".join(attempt_key(athlete, c) for c in batch).encode()
        ).hexdigest()[:16]
        plan.runs.append(
            RunPlan(athlete, [c.rel for c in batch], attempt, f"inbox:{athlete}:{digest}:{attempt}")
        )

    plan.state = {
        "v": CURSOR_VERSION,
        "attempts": {k: v for k, v in attempts.items() if k in live_keys},
        "stuck": sorted(k for k in stuck_alerted if k in live_keys),
        **({"future": first_seen} if first_seen else {}),
    }
    return plan
