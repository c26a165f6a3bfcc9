"""Resources for the folders the system reads and writes.

Each folder comes from its field if set, else from its environment variable (read when
the folder is first used, never at import time), else from the contract's default.
"""

import datetime as dt
import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from hrv.intake import inbox as inbox_files
from hrv.intake.freshness import FreshnessSettings
from hrv.intake.journal import JournalParseResult
from hrv.intake.wearables import SourceParseResult, parse_source_file
from hrv.planning.inbox_tick import InboxLimits
from hrv.planning.sources_tick import SourceFile, SourceLimits, scan_sources
from hrv.storage.files import sha256_file


def _resolve(value: str | None, env: str, default: str) -> Path:
    return Path(value or os.environ.get(env) or default).expanduser().resolve()


def default_athlete(value: str | None) -> str:
    return value or os.environ.get("HRV_DEFAULT_ATHLETE") or "me"


def _number(value: float | None, env: str, default: float) -> float:
    if value is not None:
        return value
    raw = os.environ.get(env)
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


class InboxResource(dg.ConfigurableResource):
    """The journal drop folder: ``inbox/`` and ``inbox/<athlete>/``."""

    inbox_dir: str | None = Field(
        default=None, description="Drop folder; default $HRV_INBOX_DIR, else 'inbox'."
    )
    default_athlete: str | None = Field(
        default=None,
        description="Athlete for files that name none; default $HRV_DEFAULT_ATHLETE, else 'me'.",
    )
    settle_seconds: float | None = Field(
        default=None,
        description="A file is read once unmodified this long; default "
        "$HRV_INBOX_SETTLE_SECONDS, else 2.",
    )
    max_attempts: int | None = Field(
        default=None,
        description="Runs tried for a pending file before it is reported stuck; default "
        "$HRV_INBOX_MAX_ATTEMPTS, else 3.",
    )
    poll_seconds: float | None = Field(
        default=None,
        description="An idle sensor tick keeps watching the inbox this long for a new "
        "file before it returns (0: off); default $HRV_INBOX_POLL_SECONDS, else 4.",
    )

    @property
    def path(self) -> Path:
        return _resolve(self.inbox_dir, "HRV_INBOX_DIR", "inbox")

    @property
    def athlete_default(self) -> str:
        return default_athlete(self.default_athlete)

    def limits(self) -> InboxLimits:
        return InboxLimits(
            settle_seconds=_number(self.settle_seconds, "HRV_INBOX_SETTLE_SECONDS", 2.0),
            max_attempts=int(_number(self.max_attempts, "HRV_INBOX_MAX_ATTEMPTS", 3)),
            poll_seconds=max(0.0, _number(self.poll_seconds, "HRV_INBOX_POLL_SECONDS", 4.0)),
        )

    def scan(self) -> list[inbox_files.Candidate]:
        """Pending files (the processed/ and rejected/ archives are never listed)."""
        return inbox_files.scan_inbox(self.path)

    def parse(self, candidate: inbox_files.Candidate) -> JournalParseResult:
        return inbox_files.parse_candidate(candidate, self.athlete_default)

    def restat(self, candidate: inbox_files.Candidate) -> tuple[int, int] | None:
        try:
            st = candidate.path.lstat()
        except FileNotFoundError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def archive(self, candidate: inbox_files.Candidate) -> Path:
        """Move to inbox/processed/ (its content is already stored)."""
        return inbox_files.accept(self.path, candidate)

    def reject(
        self, candidate: inbox_files.Candidate, result: JournalParseResult, now: dt.datetime
    ) -> Path:
        """Move to inbox/rejected/ with <name>.error.json beside it."""
        return inbox_files.reject(self.path, candidate, result, now)


class SourcesResource(dg.ConfigurableResource):
    """Wearable exports: ``sources/`` and ``sources/<athlete>/``."""

    sources_dir: str | None = Field(
        default=None, description="Exports folder; default $HRV_SOURCES_DIR, else 'sources'."
    )
    default_athlete: str | None = Field(
        default=None,
        description="Athlete for exports that name none; default $HRV_DEFAULT_ATHLETE.",
    )

    settle_seconds: float | None = Field(
        default=None,
        description="An export is read once unmodified this long; default "
        "$HRV_SOURCES_SETTLE_SECONDS, else 2.",
    )

    @property
    def path(self) -> Path:
        return _resolve(self.sources_dir, "HRV_SOURCES_DIR", "sources")

    def limits(self) -> SourceLimits:
        return SourceLimits(
            settle_seconds=_number(self.settle_seconds, "HRV_SOURCES_SETTLE_SECONDS", 2.0),
            max_attempts=int(_number(None, "HRV_INBOX_MAX_ATTEMPTS", 3)),
        )

    def freshness(self) -> FreshnessSettings:
        """Stale thresholds: $HRV_FRESHNESS_WARN_HOURS / _FAIL_HOURS, $HRV_TIMEZONE."""
        return FreshnessSettings.from_env()

    def scan(self) -> list[SourceFile]:
        return scan_sources(self.path)

    def parse(self, f: SourceFile) -> SourceParseResult:
        return parse_source_file(
            f.path, folder_athlete=f.folder_athlete, default_athlete=self.athlete_default
        )

    def content_hash(self, f: SourceFile) -> str:
        return sha256_file(f.path)

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
