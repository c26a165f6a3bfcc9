"""The hrv-sentinel code location: merges each folder's ``defs``."""

import dagster as dg

import alerts
import assets
import resources
import sensors

defs = dg.Definitions.merge(assets.defs, sensors.defs, alerts.defs, resources.defs)
