"""What wakes the graph up: journal files, wearable exports, and the clock (freshness)."""

import dagster as dg

from sensors.board import squad_board_sensor
from sensors.freshness import freshness_sensor
from sensors.inbox import inbox_sensor
from sensors.sources import sources_sensor

defs = dg.Definitions(sensors=[inbox_sensor, sources_sensor, freshness_sensor, squad_board_sensor])

__all__ = ["defs", "freshness_sensor", "inbox_sensor", "sources_sensor", "squad_board_sensor"]
