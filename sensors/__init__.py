"""What wakes the graph up: the inbox sensor (journal files)."""

import dagster as dg

from sensors.inbox import inbox_sensor

defs = dg.Definitions(sensors=[inbox_sensor])

__all__ = ["defs", "inbox_sensor"]
