"""Bronze: raw inputs made durable. Journal entries from the inbox, readings from sources."""

import datetime as dt

import dagster as dg
from pydantic import Field

from assets import check_names as C
from assets.common import (
    ATHLETES,
    FS_RETRY,
    AthleteWork,
    CheckReport,
    StepOutput,
    check_spec,
    data_step,
    materialize,
)
from hrv import pipeline
from hrv.analytics import quality
from hrv.intake import freshness
from hrv.storage.athlete_store import AthleteStore
from resources.folders import DataStoreResource, InboxResource, SourcesResource

JOURNAL_KEY = dg.AssetKey(["bronze", "journal_entries"])
READINGS_KEY = dg.AssetKey(["bronze", "wearable_readings"])


class JournalIngestConfig(dg.Config):
    files: list[str] | None = Field(
        default=None,
        description=(
            "Inbox-relative paths of the files to ingest (the inbox sensor fills this in). "
            "Leave empty to scan the inbox for this athlete's pending files."
        ),
    )


@dg.asset(
    key=JOURNAL_KEY,
    group_name="bronze",
    partitions_def=ATHLETES,
    retry_policy=FS_RETRY,
    kinds={"python", "file"},
    check_specs=[
        check_spec(
            C.JOURNAL_SCHEMA,
            JOURNAL_KEY,
            "Every stored journal entry of this athlete passes the journal schema: known "
            "fields only, ISO dates, values in range (sleep 0-24 h, ratings 1-5, RPE 0-10, "
            "guess 5-300 ms...). ERROR, blocking: a failure stops features and forecasts "
            "from being built on bad entries. Fix: look at the 'invalid' metadata.",
            blocking=True,
        ),
        check_spec(
            C.ONE_ENTRY_PER_DAY,
            JOURNAL_KEY,
            "Each athlete-day has exactly one current journal entry, and every correction "
            "records which entry it superseded (the audit trail is consistent). ERROR, "
            "blocking.",
            blocking=True,
        ),
    ],
)
def journal_entries(
    context: dg.AssetExecutionContext,
    config: JournalIngestConfig,
    inbox: InboxResource,
    store: DataStoreResource,
) -> dg.MaterializeResult:
    """The athlete's evening journals, one current entry per day, with an audit trail.

    Reads pending files from `inbox/` (Markdown front matter, JSON, YAML, CSV), stores
    their entries durably in `data/store/<athlete>/journal_log.jsonl`, then moves each
    file to `inbox/processed/`. A file that no longer parses moves to `inbox/rejected/`
    with `<name>.error.json`. A new file for an existing day supersedes the old entry
    (kept in the log); identical content changes nothing.
    """
    return materialize(journal_step, context, store, inbox=inbox, files=config.files)


def journal_step(work: AthleteWork) -> StepOutput:
    athlete, inbox = work.athlete, work.inbox
    assert inbox is not None, "the journal step needs the inbox"
    report = pipeline.ingest_journals(
        inbox=inbox.path,
        data_dir=work.store.path,
        athlete=athlete,
        default_athlete=inbox.athlete_default,
        files=work.files,
    )
    for rel, errors in report.rejected_files.items():
        work.log.warning(f"rejected {rel}: " + "; ".join(errors))
    athlete_store = AthleteStore(work.store.path, athlete)
    versions = athlete_store.journal_versions()
    effective = athlete_store.effective_journal()
    schema = quality.journal_schema(effective)
    per_day = quality.one_entry_per_day(versions)
    dates = [e["date"] for e in effective]
    return StepOutput(
        metadata={
            "athlete": athlete,
            "n_entries": len(effective),
            "n_versions": len(versions),
            "first_date": dates[0] if dates else "-",
            "last_date": dates[-1] if dates else "-",
            "new_dates": dg.MetadataValue.json(report.summary.new_dates),
            "superseded_dates": dg.MetadataValue.json(report.summary.superseded_dates),
            "unchanged_dates": len(report.summary.unchanged_dates),
            "accepted_files": dg.MetadataValue.json(report.accepted_files),
            "rejected_files": dg.MetadataValue.json(report.rejected_files),
            "missing_files": dg.MetadataValue.json(report.missing_files),
            "log": dg.MetadataValue.path(str(athlete_store.journal_log_path)),
        },
        checks=[
            CheckReport(C.JOURNAL_SCHEMA, schema, dg.AssetCheckSeverity.ERROR),
            CheckReport(C.ONE_ENTRY_PER_DAY, per_day, dg.AssetCheckSeverity.ERROR),
        ],
    )


def freshness_check(
    rows: list[dict[str, str]], settings: freshness.FreshnessSettings
) -> quality.CheckOutcome:
    """The source_freshness outcome for an athlete's stored readings."""
    state = freshness.evaluate(
        freshness.newest_reading_date(rows), dt.datetime.now(dt.UTC), settings
    )
    if state.state == freshness.NONE:
        return quality.CheckOutcome(
            False,
            "no wearable readings yet: put an export in sources/<athlete>/",
            {"state": state.state},
        )
    return quality.CheckOutcome(
        state.fresh,
        state.verdict(settings),
        {
            "state": state.state,
            "newest_reading": state.newest_date,
            "age_hours": state.age_hours,
            "warn_hours": settings.warn_hours,
            "fail_hours": settings.fail_hours,
        },
    )


def freshness_severity(outcome: quality.CheckOutcome) -> dg.AssetCheckSeverity:
    failing = outcome.metadata.get("state") == freshness.FAIL
    return dg.AssetCheckSeverity.ERROR if failing else dg.AssetCheckSeverity.WARN


@dg.asset(
    key=READINGS_KEY,
    group_name="bronze",
    partitions_def=ATHLETES,
    retry_policy=FS_RETRY,
    kinds={"python", "file"},
    # Squad level: some athlete's readings were rebuilt within the last 36 h (warn) /
    # 60 h (fail). Per athlete, see the source_freshness check (thresholds from env).
    freshness_policy=dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(hours=60), warn_window=dt.timedelta(hours=36)
    ),
    check_specs=[
        check_spec(
            C.SOURCE_FRESHNESS,
            READINGS_KEY,
            "This athlete's newest reading is recent: stale past HRV_FRESHNESS_WARN_HOURS "
            "(WARN, default 36 h) or HRV_FRESHNESS_FAIL_HOURS (ERROR, default 60 h); a "
            "reading counts as taken at the end of its day. Re-evaluated every minute by "
            "freshness_sensor without waiting for a run; every change of state is an "
            "alert (stale_source firing, then resolved). Fix: check the wearable sync.",
        ),
        check_spec(
            C.RMSSD_PLAUSIBLE,
            READINGS_KEY,
            "Every rMSSD reading lies in the physiological range 5-300 ms. WARN: an "
            "implausible reading (sensor artifact, unit mix-up) is excluded from features "
            "and listed in the metadata; the rest of the pipeline goes on.",
        ),
    ],
)
def wearable_readings(
    context: dg.AssetExecutionContext,
    sources: SourcesResource,
    store: DataStoreResource,
) -> dg.MaterializeResult:
    """The athlete's morning HRV readings from every wearable export that mentions them.

    Exports in `sources/<athlete>/` and top-level `sources/` files are detected by content
    (generic CSV, WHOOP, Oura, Garmin, Apple Health). rMSSD and Apple's SDNN are stored as
    separate metrics and never mixed. Stored in `data/store/<athlete>/readings.csv`.
    """
    return materialize(readings_step, context, store, sources=sources)


def readings_step(work: AthleteWork) -> StepOutput:
    athlete, sources = work.athlete, work.sources
    assert sources is not None, "the readings step needs the sources folder"
    report = data_step(
        "reading wearable exports",
        lambda: pipeline.rebuild_readings(
            sources=sources.path,
            data_dir=work.store.path,
            athlete=athlete,
            default_athlete=sources.athlete_default,
        ),
    )
    for rel, errors in report.bad_files.items():
        work.log.warning(f"export {rel} skipped: " + "; ".join(errors[:3]))
    readings = AthleteStore(work.store.path, athlete).readings()
    outcome = quality.rmssd_plausible(readings)
    fresh = freshness_check(readings, sources.freshness())
    return StepOutput(
        metadata={
            "athlete": athlete,
            "n_readings": report.n_readings,
            "n_rmssd": report.n_rmssd,
            "n_sdnn": report.n_sdnn,
            "first_date": report.first_date or "-",
            "newest_date": report.newest_date or "-",
            "exports": dg.MetadataValue.json(report.files),
            "bad_exports": dg.MetadataValue.json(report.bad_files),
            "changed": report.changed,
        },
        checks=[
            CheckReport(C.RMSSD_PLAUSIBLE, outcome, dg.AssetCheckSeverity.WARN),
            CheckReport(C.SOURCE_FRESHNESS, fresh, freshness_severity(fresh)),
        ],
    )
