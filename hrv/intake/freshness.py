"""Is an athlete's wearable source fresh? (pure; thresholds from the settings)

An athlete's source is stale when the newest reading is older than
``HRV_FRESHNESS_WARN_HOURS`` (warn, default 36) or ``HRV_FRESHNESS_FAIL_HOURS`` (fail,
default 60). Exports date readings by their morning and many carry no time of day, so a
reading counts as taken at the end of its day in ``HRV_TIMEZONE`` (default UTC): the
conservative choice, which never calls a source stale early. With daily syncs and the
defaults, a missed sync is flagged about a day and a half after the last synced morning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FRESH, WARN, FAIL, NONE = "fresh", "warn", "fail", "none"


@dataclass(frozen=True)
class FreshnessSettings:
    warn_hours: float = 36.0
    fail_hours: float = 60.0
    timezone: str = "UTC"

    @classmethod
    def from_settings(cls, settings: Any) -> FreshnessSettings:
        """From ``hrv.settings.Settings`` (HRV_FRESHNESS_*_HOURS, HRV_TIMEZONE)."""
        return cls(settings.freshness_warn_hours, settings.freshness_fail_hours, settings.timezone)

    @property
    def tz(self) -> dt.tzinfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return dt.UTC


@dataclass(frozen=True)
class Freshness:
    state: str
    newest_date: str | None
    age_hours: float | None

    @property
    def fresh(self) -> bool:
        return self.state == FRESH

    def verdict(self, settings: FreshnessSettings) -> str:
        if self.state == NONE:
            return "no readings yet"
        age = f"newest reading {self.newest_date}, {max(0.0, self.age_hours or 0.0):.1f} h old"
        if self.state == FRESH:
            return f"fresh: {age}"
        limit = settings.warn_hours if self.state == WARN else settings.fail_hours
        return f"stale ({self.state}): {age}, over the {limit:g} h {self.state} threshold"


def reading_time(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The latest moment a reading dated ``day`` can have been taken."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)


def evaluate(newest: dt.date | None, now: dt.datetime, settings: FreshnessSettings) -> Freshness:
    if newest is None:
        return Freshness(NONE, None, None)
    age = (now - reading_time(newest, settings.tz)).total_seconds() / 3600
    state = FAIL if age > settings.fail_hours else WARN if age > settings.warn_hours else FRESH
    return Freshness(state, newest.isoformat(), round(age, 2))


def newest_reading_date(rows: list[dict[str, str]]) -> dt.date | None:
    dates = []
    for r in rows:
        try:
            dates.append(dt.date.fromisoformat(str(r["date"])))
        except (KeyError, ValueError):
            continue
    return max(dates) if dates else None
