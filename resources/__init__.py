"""The outside world: the settings, the inbox, the wearable exports, the data, Slack,
Intervals.icu."""

import dagster as dg

from hrv.settings import Settings, load_settings
from resources.folders import DataStoreResource, InboxResource, SourcesResource, folder_resources
from resources.intervals_icu import IntervalsIcuResource
from resources.settings import SettingsResource
from resources.slack import SlackResource


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Every resource of the code location, all reading the same settings."""
    found = folder_resources(settings)
    carrier = found["settings"]
    assert isinstance(carrier, SettingsResource)
    return {
        **found,
        "slack": SlackResource(settings=carrier),
        "intervals_icu": IntervalsIcuResource(settings=carrier),
    }


# Read once, when the code location loads (a bad value fails the load with an error that
# names the variable; the UI shows it on the code location).
defs = dg.Definitions(resources=build_resources(load_settings()))

__all__ = [
    "DataStoreResource",
    "InboxResource",
    "IntervalsIcuResource",
    "SettingsResource",
    "SlackResource",
    "SourcesResource",
    "build_resources",
    "defs",
]
