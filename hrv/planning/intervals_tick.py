"""One tick of the Intervals.icu sensor: pull the athletes that are due, write back the
day's recommendation, and say what went wrong, once.

Pulled wellness is stored as an export of the athlete's own,
``sources/<athlete>/intervals.icu/wellness.json`` (``hrv.intake.wellness_mirror``), in the
API's own shape; from there the sources sensor reads it row by row, merges it with the athlete's
other exports and runs the athlete only when a reading changed, exactly as for an export
dropped by hand. The file is rewritten only when what was pulled differs from it.

Each athlete is pulled every ``poll_seconds``. The first pull fetches ``history_days``;
later pulls start ``overlap_days`` before the newest day that has HRV (late edits, a
watch that synced days late) and end tomorrow (the athlete's clock may be ahead of the
server's). A tick pulls at most ``max_pulls`` athletes and stops after ``budget_seconds``
(a tick times out at 60 s); the athletes waiting longest go first.

What goes wrong, and what happens (the state is the sensor's cursor):

- the key is refused (401, or 403 for every athlete): one ``source_api_error`` alert; every
  pull waits ``AUTH_RETRY_SECONDS`` and tries again, quietly, until it works (resolved);
  a different key (only its digest is kept) is tried at once;
- an athlete does not share with the key, or the id is wrong (403/404): an alert for that
  athlete, retried every ``ATHLETE_RETRY_SECONDS``; the others go on;
- 429: every pull waits ``Retry-After`` (or a doubling backoff); no alert, it is normal;
- the service is down (5xx, timeouts): a doubling backoff from 30 s to 30 min; an alert
  once it failed ``SERVER_ALERT_AFTER`` times in a row, resolved when it answers again;
- an answer that is not the documented JSON: an alert for that athlete, retried at the
  next poll.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrv.alerting import catalogue
from hrv.alerting.catalogue import Alert
from hrv.intake.intervals_icu import ApiError, WellnessClient
from hrv.intake.wellness_mirror import (
    comment_with,
    merge_pulled,
    newest_hrv_day,
    read_stored,
    recommendation_line,
    render,
    wellness_path,
)
from hrv.storage.files import write_text_atomic

AUTH_RETRY_SECONDS = 3600.0
ATHLETE_RETRY_SECONDS = 3600.0
SERVER_BACKOFF_SECONDS = (30.0, 1800.0)  # first wait, longest wait
RATE_BACKOFF_SECONDS = (10.0, 600.0)
SERVER_ALERT_AFTER = 3
SERVICE = "Intervals.icu"
WRITE_BACK = "Intervals.icu write-back"


@dataclass(frozen=True)
class PullLimits:
    poll_seconds: float = 900.0
    history_days: int = 365
    overlap_days: int = 3
    max_pulls: int = 50
    budget_seconds: float = 30.0
    write_back: bool = False


@dataclass
class TickResult:
    state: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)
    pulled: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # wellness.json rewritten
    pushed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.pulled)} pulled", f"{len(self.changed)} changed"]
        if self.pushed:
            parts.append(f"{len(self.pushed)} written back")
        return ", ".join(parts) + ("; " + "; ".join(self.notes) if self.notes else "")


def load_state(cursor: str | None) -> dict[str, Any]:
    try:
        state = json.loads(cursor) if cursor else {}
    except ValueError:
        state = {}
    state.setdefault("athletes", {})
    state.setdefault("service", {})
    return state


# --------------------------------------------------------------------------- the tick
def _backoff(failures: int, bounds: tuple[float, float]) -> float:
    first, longest = bounds
    return float(min(longest, first * 2 ** max(0, failures - 1)))


class _Tick:
    def __init__(
        self,
        client: WellnessClient,
        state: dict[str, Any],
        now: float,
        today: dt.date,
        limits: PullLimits,
        sources_dir: Path,
    ):
        self.client, self.state, self.now, self.today = client, state, now, today
        self.limits, self.sources_dir = limits, sources_dir
        self.result = TickResult(state)
        self.service: dict[str, Any] = state["service"]

    # -- service-wide problems (the key, the service, the rate limit)
    def service_failed(self, exc: ApiError) -> None:
        svc = self.service
        if exc.kind == "rate_limited":
            svc["rate_failures"] = svc.get("rate_failures", 0) + 1
            wait = exc.retry_after
            if wait is None:
                wait = _backoff(svc["rate_failures"], RATE_BACKOFF_SECONDS)
            svc["not_before"] = self.now + wait
            self.result.notes.append(f"rate limited: waiting {wait:.0f} s")
            return
        if exc.kind == "auth":
            svc["not_before"] = self.now + AUTH_RETRY_SECONDS
            if svc.get("error") != "auth":
                self.result.alerts.append(
                    catalogue.hub_key_refused(SERVICE, str(exc), AUTH_RETRY_SECONDS / 60)
                )
            svc["error"] = "auth"
            self.result.notes.append("API key refused")
            return
        svc["failures"] = svc.get("failures", 0) + 1
        wait = _backoff(svc["failures"], SERVER_BACKOFF_SECONDS)
        svc["not_before"] = self.now + wait
        if svc["failures"] >= SERVER_ALERT_AFTER and svc.get("error") != "server":
            svc["error"] = "server"
            self.result.alerts.append(catalogue.hub_down(SERVICE, str(exc), svc["failures"], wait))
        self.result.notes.append(f"{exc}: retrying in {wait:.0f} s")

    def service_works(self) -> None:
        svc = self.service
        if svc.get("error"):
            self.result.alerts.append(catalogue.hub_recovered(None, SERVICE))
        for key in ("error", "failures", "rate_failures", "not_before"):
            svc.pop(key, None)

    # -- one athlete's problems
    def athlete_failed(self, athlete: str, icu_id: str, exc: ApiError) -> None:
        entry = self.state["athletes"].setdefault(athlete, {})
        retry = self.limits.poll_seconds if exc.kind == "malformed" else ATHLETE_RETRY_SECONDS
        entry["next"] = self.now + retry
        if entry.get("error") != exc.kind:
            self.result.alerts.append(
                catalogue.hub_athlete_failing(athlete, SERVICE, icu_id, exc.kind, str(exc))
            )
        entry["error"] = exc.kind
        self.result.notes.append(f"{athlete}: {exc}")

    def pull(self, athlete: str, icu_id: str) -> None:
        entry = self.state["athletes"].setdefault(athlete, {})
        newest = self.today + dt.timedelta(days=1)
        through = entry.get("through")
        if through:
            oldest = dt.date.fromisoformat(through) - dt.timedelta(days=self.limits.overlap_days)
        else:
            oldest = self.today - dt.timedelta(days=self.limits.history_days - 1)
        oldest = min(oldest, self.today)
        records = self.client.wellness(icu_id, oldest, newest)
        path = wellness_path(self.sources_dir, athlete)
        stored = read_stored(path)
        merged = merge_pulled(stored, records, oldest, newest)
        text = render(merged)
        try:
            before = path.read_text(encoding="utf-8")
        except OSError:
            before = None
        if text != before and (merged or before is not None):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, text)
            self.result.changed.append(athlete)
        newest_day = newest_hrv_day(merged)
        if newest_day is not None:
            entry["through"] = newest_day.isoformat()
        if entry.get("error"):
            self.result.alerts.append(catalogue.hub_recovered(athlete, SERVICE))
            entry.pop("error", None)
        entry["next"] = self.now + self.limits.poll_seconds
        entry["pulled_at"] = self.now
        self.result.pulled.append(athlete)

    def write_back(self, athlete: str, icu_id: str, forecast_path: Path) -> None:
        entry = self.state["athletes"].setdefault(athlete, {})
        try:
            forecast = json.loads(forecast_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        line = recommendation_line(forecast)
        if line is None:
            return
        day = str(forecast["for_date"])
        digest = hashlib.sha256(f"{icu_id}|{day}|{line}".encode()).hexdigest()[:16]
        if entry.get("pushed") == digest:
            return
        when = dt.date.fromisoformat(day)
        current = self.client.day(icu_id, when).get("comments")
        wanted = comment_with(current if isinstance(current, str) else None, line)
        if wanted != current:
            self.client.update_day(icu_id, when, {"comments": wanted})
        entry["pushed"] = digest
        if entry.pop("push_error", None):
            self.result.alerts.append(catalogue.hub_recovered(athlete, WRITE_BACK))
        entry.pop("push_next", None)
        self.result.pushed.append(athlete)

    def write_back_failed(self, athlete: str, icu_id: str, exc: ApiError) -> None:
        entry = self.state["athletes"].setdefault(athlete, {})
        entry["push_next"] = self.now + ATHLETE_RETRY_SECONDS
        if entry.get("push_error") != exc.kind:
            self.result.alerts.append(
                catalogue.hub_write_back_failing(athlete, SERVICE, icu_id, str(exc))
            )
        entry["push_error"] = exc.kind
        self.result.notes.append(f"{athlete}: write-back: {exc}")


def plan_intervals_tick(
    client: WellnessClient,
    targets: dict[str, str],
    *,
    state: dict[str, Any],
    now: float,
    today: dt.date,
    limits: PullLimits,
    sources_dir: Path,
    forecast_path: Callable[[str], Path],
    clock: Callable[[], float] = time.monotonic,
) -> TickResult:
    """Pull the due athletes of ``targets`` (athlete -> Intervals.icu id) and write back
    their new recommendations; the new state is ``result.state``."""
    tick = _Tick(client, state, now, today, limits, sources_dir)
    for gone in set(state["athletes"]) - set(targets):
        del state["athletes"][gone]
    for athlete, icu_id in targets.items():
        entry = state["athletes"].setdefault(athlete, {})
        if entry.get("id", icu_id) != icu_id:  # a new id in the athletes file: pull it now
            for key in ("next", "through", "pushed", "push_next"):
                entry.pop(key, None)
        entry["id"] = icu_id
    if tick.service.get("key") != client.key_id:  # a new key: no waiting for the old one's
        tick.service.pop("not_before", None)
        tick.service["key"] = client.key_id
    not_before = tick.service.get("not_before", 0.0)
    if now < not_before:
        tick.result.notes.append(
            f"waiting {not_before - now:.0f} s ({tick.service.get('error') or 'backoff'})"
        )
        return tick.result
    started = clock()
    due = sorted(
        (state["athletes"].get(a, {}).get("next", 0.0), a)
        for a in targets
        if state["athletes"].get(a, {}).get("next", 0.0) <= now
    )
    left = len(due)
    try:
        for _, athlete in due[: limits.max_pulls]:
            if clock() - started > limits.budget_seconds:
                break
            left -= 1
            try:
                tick.pull(athlete, targets[athlete])
                tick.service_works()
            except ApiError as exc:
                if exc.kind == "forbidden" and not client.key_works():
                    raise ApiError("auth", 403, "the API key was refused (Access denied)") from None
                if exc.kind in ("forbidden", "not_found", "malformed"):
                    tick.service_works()  # it answered, and took the key
                    tick.athlete_failed(athlete, targets[athlete], exc)
                    continue
                raise
        if limits.write_back:
            for athlete, icu_id in targets.items():
                if clock() - started > limits.budget_seconds:
                    break
                entry = state["athletes"].get(athlete, {})
                if entry.get("error") or entry.get("push_next", 0.0) > now:
                    continue
                try:
                    tick.write_back(athlete, icu_id, forecast_path(athlete))
                except ApiError as exc:
                    if exc.kind not in ("forbidden", "not_found", "malformed"):
                        raise
                    tick.write_back_failed(athlete, icu_id, exc)
    except ApiError as exc:
        tick.service_failed(exc)
    if left > 0:
        tick.result.notes.append(f"{left} athlete(s) due, next tick")
    tick.result.notes.extend(_outlook(state, targets, now))
    return tick.result


def _outlook(state: dict[str, Any], targets: dict[str, str], now: float) -> list[str]:
    """What an idle tick says in the UI: who is pulled, when next, who is failing."""
    entries = {a: state["athletes"].get(a, {}) for a in targets}
    failing = sorted(f"{a} ({e['error']})" for a, e in entries.items() if e.get("error"))
    upcoming = [e["next"] for e in entries.values() if e.get("next") and not e.get("error")]
    out = [f"{len(targets)} athlete(s) with an Intervals.icu id"]
    if upcoming and min(upcoming) > now:
        out.append(f"next pull in {(min(upcoming) - now) / 60:.0f} min")
    if failing:
        shown = ", ".join(failing[:5]) + (
            f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        )
        out.append(f"failing: {shown}")
    return out
