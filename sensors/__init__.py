"""What wakes the graph up: journal files, wearable exports, the clock (freshness), and
Intervals.icu (pulled into an export of its own)."""

import dagster as dg

from sensors.board import squad_board_sensor
from sensors.freshness import freshness_sensor
from sensors.inbox import inbox_sensor
from sensors.intervals_icu import intervals_icu_sensor
from sensors.sources import sources_sensor

defs = dg.Definitions(
    sensors=[
        inbox_sensor,
        sources_sensor,
        freshness_sensor,
        squad_board_sensor,
        intervals_icu_sensor,
    ]
)

__all__ = [
    "defs",
    "freshness_sensor",
    "inbox_sensor",
    "intervals_icu_sensor",
    "sources_sensor",
    "squad_board_sensor",
]
