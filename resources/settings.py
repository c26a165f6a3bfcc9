"""The settings, as Dagster sees them: one resource that carries ``hrv.settings.Settings``.

It is built from the environment once, when the code location loads, and every other
resource reads its folders and limits from it. Its value in the UI (Deployment, the
code location, Resources, ``settings``) lists every setting in effect by variable name;
secrets appear only as "set (secret)" or "not set".
"""

from typing import Any

import dagster as dg
from pydantic import Field

from hrv.settings import Settings, load_settings

_PARSED: dict[frozenset[tuple[str, str]], Settings] = {}


class SettingsResource(dg.ConfigurableResource):
    """Every hrv-sentinel setting in effect, by environment variable (read when the code
    location loads; change a variable, then reload the location). Secrets show only as
    set or not set."""

    values: dict[str, str] = Field(
        default_factory=dict,
        description="Setting -> value, by environment variable. Empty: read the environment.",
    )

    @classmethod
    def of(cls, settings: Settings) -> "SettingsResource":
        return cls(values=settings.public())

    def get(self) -> Settings:
        if not self.values:
            return load_settings()
        key = frozenset(self.values.items())
        if key not in _PARSED:
            _PARSED[key] = Settings.from_variables(dict(self.values))
        return _PARSED[key]

    def describe(self) -> dict[str, Any]:
        return self.get().public()
