"""Resources for the folders the system reads and writes.

Each folder comes from its field if set, else from its environment variable (read when
the folder is first used, never at import time), else from the contract's default.
"""

import os
from pathlib import Path

import dagster as dg
from pydantic import Field


def _resolve(value: str | None, env: str, default: str) -> Path:
    return Path(value or os.environ.get(env) or default).expanduser().resolve()


def default_athlete(value: str | None) -> str:
    return value or os.environ.get("HRV_DEFAULT_ATHLETE") or "me"


class InboxResource(dg.ConfigurableResource):
    """The journal drop folder: ``inbox/`` and ``inbox/<athlete>/``."""

    inbox_dir: str | None = Field(
        default=None, description="Drop folder; default $HRV_INBOX_DIR, else 'inbox'."
    )
    default_athlete: str | None = Field(
        default=None,
        description="Athlete for files that name none; default $HRV_DEFAULT_ATHLETE, else 'me'.",
    )
    settle_seconds: float = Field(
        default=2.0,
        description="A file is read only after its size and mtime are stable this long.",
    )

    @property
    def path(self) -> Path:
        return _resolve(self.inbox_dir, "HRV_INBOX_DIR", "inbox")

    @property
    def athlete_default(self) -> str:
        return default_athlete(self.default_athlete)


class SourcesResource(dg.ConfigurableResource):
    """Wearable exports: ``sources/`` and ``sources/<athlete>/``."""

    sources_dir: str | None = Field(
        default=None, description="Exports folder; default $HRV_SOURCES_DIR, else 'sources'."
    )
    default_athlete: str | None = Field(
        default=None,
        description="Athlete for exports that name none; default $HRV_DEFAULT_ATHLETE.",
    )

    @property
    def path(self) -> Path:
        return _resolve(self.sources_dir, "HRV_SOURCES_DIR", "sources")

    @property
    def athlete_default(self) -> str:
        return default_athlete(self.default_athlete)


class DataStoreResource(dg.ConfigurableResource):
    """Outputs and stores: ``data/outputs/<athlete>/``, ``data/store/<athlete>/`` and
    ``data/alerts.jsonl``."""

    data_dir: str | None = Field(
        default=None, description="Data folder; default $HRV_DATA_DIR, else 'data'."
    )

    @property
    def path(self) -> Path:
        return _resolve(self.data_dir, "HRV_DATA_DIR", "data")
