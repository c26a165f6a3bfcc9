"""One reading per athlete per wake day: the main overnight sleep.

Vendors report naps, short and daytime sleeps beside the night (WHOOP cycles whose sleep
is a 31-minute nap at 14:28, Oura ``late_nap`` and ``rest`` periods, Apple's daytime
samples). A sleep is the night only when it is long enough and not in the daytime:

- at least ``MIN_NIGHT_MINUTES`` asleep (when the export says how long), unless it lies
  in the night (midpoint between 21:00 and 08:00 local time): a short night after a late
  party is still that morning's night when nothing longer ends that day, and
- not a daytime sleep: a sleep of less than ``LONG_SLEEP_MINUTES`` whose midpoint is
  between 11:00 and 19:00 local time. A long sleep in the daytime (a shift worker's, a
  traveller's: 04:30 to 19:15, 11 h asleep) is that day's main sleep.

Among what remains for one wake day, the longest sleep wins; the others are skipped and
counted ("a shorter sleep on the same wake day").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hrv.intake.exports.model import NAP, RMSSD, SHORTER, Collector

MIN_NIGHT_MINUTES = 120
LONG_SLEEP_MINUTES = 240
DAYTIME = (11, 19)  # a shorter sleep whose midpoint falls in these local hours is a nap
NIGHT_HOURS = (21, 8)  # a sleep under MIN_NIGHT_MINUTES with its midpoint here: a short night


@dataclass(frozen=True)
class Night:
    row: int | None
    day: dt.date  # the wake day
    value: float
    rhr: float | None = None
    asleep_minutes: float | None = None
    onset: dt.datetime | None = None
    wake: dt.datetime | None = None
    athlete: str | None = None
    metric: str = RMSSD


def nap_detail(night: Night) -> str | None:
    """Why this sleep is not the night (shown with the skipped row), or None."""
    asleep = night.asleep_minutes
    when = ""
    if night.onset and night.wake:
        when = f"{night.onset:%Y-%m-%d %H:%M}-{night.wake:%H:%M}, "
    if asleep is not None and asleep < MIN_NIGHT_MINUTES and not _at_night(night):
        return f"{when}{asleep:.0f} min asleep"
    long_sleep = asleep is not None and asleep >= LONG_SLEEP_MINUTES
    if night.onset and night.wake and night.wake > night.onset and not long_sleep:
        mid = night.onset + (night.wake - night.onset) / 2
        if DAYTIME[0] <= mid.hour < DAYTIME[1]:
            return f"{night.onset:%Y-%m-%d %H:%M}-{night.wake:%H:%M}, daytime"
    return None


def _at_night(night: Night) -> bool:
    if not (night.onset and night.wake and night.wake > night.onset):
        return False
    mid = night.onset + (night.wake - night.onset) / 2
    return mid.hour >= NIGHT_HOURS[0] or mid.hour < NIGHT_HOURS[1]


def keep_nights(nights: list[Night], col: Collector, fieldname: str) -> None:
    """Add the main overnight sleep of each wake day; skip the rest with a reason."""
    best: dict[tuple[str | None, dt.date, str], Night] = {}
    for night in nights:
        detail = nap_detail(night)
        if detail is not None:
            col.skip(night.row, fieldname, night.value, NAP, detail)
            continue
        key = (night.athlete, night.day, night.metric)
        held = best.get(key)
        if held is None:
            best[key] = night
            continue
        longer = (night.asleep_minutes or 0) > (held.asleep_minutes or 0)
        loser = held if longer else night
        if longer:
            best[key] = night
        col.skip(loser.row, fieldname, loser.value, SHORTER, f"{loser.asleep_minutes or 0:.0f} min")
    for (_, day, metric), night in sorted(best.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        col.add(day, night.value, night.rhr, metric=metric, athlete=night.athlete, row=night.row)
