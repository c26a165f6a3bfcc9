"""The folders the system reads and writes: the inbox, the wearable exports, the data.

Each resource reads its folder and limits from the ``settings`` resource, so a test (or
a second deployment) points all of them elsewhere by handing them other settings.
"""

import datetime as dt
from pathlib import Path

import dagster as dg

from hrv.alerting.book import AlertBook, AlertPolicy
from hrv.alerting.catalogue import Alert
from hrv.intake import inbox as inbox_files
from hrv.intake.exports import SourceParseResult, parse_source_file
from hrv.intake.freshness import FreshnessSettings
from hrv.intake.journal import JournalParseResult
from hrv.intake.source_folder import SourceFile, scan_sources
from hrv.planning.inbox_tick import InboxLimits
from hrv.planning.sources_tick import SourceLimits
from hrv.settings import Settings
from hrv.storage.files import sha256_file
from resources.settings import SettingsResource


class InboxResource(dg.ConfigurableResource):
    """The journal drop folder: ``inbox/`` and ``inbox/<athlete>/`` (HRV_INBOX_DIR)."""

    settings: SettingsResource

    @property
    def path(self) -> Path:
        return self.settings.get().inbox_dir.expanduser().resolve()

    @property
    def athlete_default(self) -> str:
        return self.settings.get().default_athlete

    def limits(self) -> InboxLimits:
        s = self.settings.get()
        return InboxLimits(
            settle_seconds=s.inbox_settle_seconds,
            max_attempts=s.inbox_max_attempts,
            poll_seconds=s.inbox_poll_seconds,
        )

    def scan(self) -> list[inbox_files.Candidate]:
        """Pending files (the processed/ and rejected/ archives are never listed)."""
        return inbox_files.scan_inbox(self.path)

    def anything_pending(self) -> bool:
        """Whether a scan would find a file to read (names only: cheap)."""
        return inbox_files.anything_pending(self.path)

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
    """Wearable exports: ``sources/`` and ``sources/<athlete>/`` (HRV_SOURCES_DIR)."""

    settings: SettingsResource

    @property
    def path(self) -> Path:
        return self.settings.get().sources_dir.expanduser().resolve()

    @property
    def athlete_default(self) -> str:
        return self.settings.get().default_athlete

    def limits(self) -> SourceLimits:
        s = self.settings.get()
        return SourceLimits(
            settle_seconds=s.sources_settle_seconds, max_attempts=s.sources_max_attempts
        )

    def freshness(self) -> FreshnessSettings:
        """Stale thresholds: HRV_FRESHNESS_WARN_HOURS / _FAIL_HOURS, HRV_TIMEZONE."""
        return FreshnessSettings.from_settings(self.settings.get())

    def scan(self) -> list[SourceFile]:
        return scan_sources(self.path)

    def parse(self, f: SourceFile) -> SourceParseResult:
        return parse_source_file(
            f.path,
            folder_athlete=f.folder_athlete,
            default_athlete=self.athlete_default,
            tz=self.settings.get().tz,
        )

    def content_hash(self, f: SourceFile) -> str:
        return sha256_file(f.path)


class DataStoreResource(dg.ConfigurableResource):
    """Outputs, stores and the alert book: ``data/`` (HRV_DATA_DIR)."""

    settings: SettingsResource

    @property
    def path(self) -> Path:
        return self.settings.get().data_dir.expanduser().resolve()

    def alert_book(self) -> AlertBook:
        return AlertBook(self.path, AlertPolicy.from_settings(self.settings.get()))

    def record_alert(self, alert: Alert) -> bool:
        """Record an alert (deduplicated, rate-limited); True if it will be notified."""
        return self.alert_book().record(alert).notify


def folder_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The settings resource and the folder resources that read it."""
    carrier = SettingsResource.of(settings)
    return {
        "settings": carrier,
        "inbox": InboxResource(settings=carrier),
        "sources": SourcesResource(settings=carrier),
        "store": DataStoreResource(settings=carrier),
    }
