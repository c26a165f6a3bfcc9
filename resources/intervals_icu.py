"""Intervals.icu, the outside world: the wellness API behind one API key."""

import dagster as dg

from hrv.intake.intervals_icu import WellnessClient
from hrv.planning.intervals_tick import PullLimits
from resources.settings import SettingsResource

API_KEY_VARIABLE = "INTERVALS_ICU_API_KEY"


class IntervalsIcuResource(dg.ConfigurableResource):
    """The Intervals.icu wellness API (`INTERVALS_ICU_BASE_URL`). The API key is read from
    the environment (`INTERVALS_ICU_API_KEY`, a `dg.EnvVar`) each time a client is made:
    it is never part of this resource's config, so it never shows in the UI."""

    settings: SettingsResource

    def api_key(self) -> str | None:
        value = dg.EnvVar(API_KEY_VARIABLE).get_value()
        return value.strip() if value and value.strip() else None

    def client(self) -> WellnessClient | None:
        """A client, or None when no key is set."""
        key = self.api_key()
        if key is None:
            return None
        return WellnessClient(self.settings.get().intervals_icu_base_url, key)

    def limits(self) -> PullLimits:
        config = self.settings.get()
        return PullLimits(
            poll_seconds=config.intervals_icu_poll_minutes * 60.0,
            history_days=config.intervals_icu_history_days,
            overlap_days=config.intervals_icu_overlap_days,
            write_back=config.intervals_icu_write_back,
        )
