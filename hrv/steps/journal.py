"""bronze/journal_entries: the athlete's evening journals, stored durably, one per day."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from hrv.alerting import catalogue
from hrv.analytics import quality
from hrv.intake import inbox as inbox_files
from hrv.intake.late_writers import watch_archived
from hrv.steps.graph import CheckDef, Step, StepContext, StepOutput
from hrv.steps.outputs import utcnow
from hrv.storage.athlete_store import AthleteStore, IncomingEntry, IngestSummary
from hrv.storage.files import move_unique

KEY = ("bronze", "journal_entries")

SCHEMA = CheckDef(
    "journal_schema_and_ranges",
    "Every stored journal entry of this athlete passes the journal schema: known fields "
    "only, ISO dates, values in range (sleep 0-24 h, ratings 1-5, RPE 0-10, guess 5-300 "
    "ms...). ERROR, blocking: a failure stops features and forecasts from being built on "
    "bad entries. Fix: look at the 'invalid' metadata.",
    severity="ERROR",
    blocking=True,
)
ONE_PER_DAY = CheckDef(
    "one_entry_per_athlete_day",
    "Each athlete-day has exactly one current journal entry, and every correction records "
    "which entry it superseded (the audit trail is consistent). ERROR, blocking.",
    severity="ERROR",
    blocking=True,
)


@dataclass
class JournalIngestReport:
    athlete: str
    accepted_files: list[str] = field(default_factory=list)
    rejected_files: dict[str, list[str]] = field(default_factory=dict)
    missing_files: list[str] = field(default_factory=list)
    waiting_for_other_athletes: list[str] = field(default_factory=list)
    changing_files: list[str] = field(default_factory=list)  # left to be read again
    summary: IngestSummary = field(default_factory=IngestSummary)


def _attributable(c: inbox_files.Candidate, athlete: str, default_athlete: str) -> bool:
    return c.folder_athlete == athlete or (c.folder_athlete is None and athlete == default_athlete)


def _ingested_marker(store: AthleteStore, file_sha: str) -> Path:
    return store.dir / "ingested_files" / file_sha


def _candidates(ctx: StepContext, report: JournalIngestReport) -> list[inbox_files.Candidate]:
    if ctx.files is None:
        return [c for c in inbox_files.scan_inbox(ctx.inbox_dir) if c.ignored is None]
    out = []
    for rel in ctx.files:
        c = inbox_files.candidate_for(ctx.inbox_dir, rel)
        if c.ignored == "vanished while scanning" or not (c.path.exists() or c.path.is_symlink()):
            report.missing_files.append(rel)
        else:
            out.append(c)
    return out


def ingest_journals(ctx: StepContext) -> JournalIngestReport:
    """Store this athlete's entries from pending inbox files, then archive the files.

    ``ctx.files`` (inbox-relative paths, as the inbox sensor sends them) limits the work to
    those files; without it the inbox is scanned for files of this athlete. Files are
    applied in modification order, so a later correction of a day wins. A file moves to
    ``processed/`` only after its entries are durably stored; a file that no longer
    parses moves to ``rejected/`` with its reasons.
    """
    athlete, now = ctx.athlete, utcnow()
    store = AthleteStore(ctx.data_dir, athlete)
    report = JournalIngestReport(athlete=athlete)
    candidates = sorted(_candidates(ctx, report), key=lambda c: (c.mtime_ns, c.rel))

    incoming: list[IncomingEntry] = []
    to_accept: list[tuple[inbox_files.Candidate, list[str], str | None]] = []
    for c in candidates:
        result = inbox_files.parse_candidate(c, ctx.default_athlete)
        # from the sensor: a file it saw settled; modified since, or so recently, it is
        # being written again. A run started by hand takes the files as they are.
        handed_over = ctx.files is not None
        if (
            _being_written(c, now.timestamp(), ctx.settle_seconds)
            and (not result.ok or _changed(c))
            if handed_over
            else _changed(c)
        ):
            # re-saved after the sensor looked (a slow copy, an editor saving): what was read
            # may be half a file; leave it for the sensor, which reads it once it settles
            report.changing_files.append(c.rel)
            ctx.log.info(f"{c.rel} changed while it was read: left in the inbox for the next tick")
            continue
        if not result.ok:
            if ctx.files is not None or _attributable(c, athlete, ctx.default_athlete):
                errors = [str(e) for e in result.errors]
                # the alert before the move: never a file moved away unreported
                ctx.raise_alert(catalogue.journal_rejected(c.rel, athlete, errors, result.sha256))
                inbox_files.reject(ctx.inbox_dir, c, result, now)
                report.rejected_files[c.rel] = errors
                ctx.log.warning(f"rejected {c.rel}: " + "; ".join(errors[:3]))
            continue
        if athlete not in result.athletes:
            continue
        for entry in result.entries:
            if entry.athlete == athlete:
                incoming.append(IncomingEntry(entry, c.rel, result.sha256))
        to_accept.append((c, result.athletes, result.sha256))

    report.summary = store.ingest_journal(incoming, now)
    watched: list[tuple[Path, str, int, int]] = []
    for c, athletes, sha in to_accept:
        if athletes != [athlete] and sha:
            marker = _ingested_marker(store, sha)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            others = [a for a in athletes if a != athlete]
            if not all(
                _ingested_marker(AthleteStore(ctx.data_dir, a), sha).exists() for a in others
            ):
                report.waiting_for_other_athletes.append(c.rel)
                continue
        if _changed(c):
            # written to after it was read: its new rows were not stored; read it again
            report.changing_files.append(c.rel)
            ctx.log.info(f"{c.rel} changed after it was read: left in the inbox to be read again")
            continue
        archived = None
        with contextlib.suppress(FileNotFoundError):
            # another athlete's run may have archived this multi-athlete file first
            archived = inbox_files.accept(ctx.inbox_dir, c)
        if archived is not None and _signature(archived) != c.signature:
            # a writer still had it open and wrote after the move: back to the inbox, so
            # the bytes archived are always the bytes stored
            move_unique(archived, c.path.parent)
            report.changing_files.append(c.rel)
            ctx.log.warning(f"{c.rel} was written to while archived: back in the inbox")
            continue
        if archived is not None:
            watched.append((archived, c.rel, c.size, c.mtime_ns))
        report.accepted_files.append(c.rel)
    watch_archived(ctx.data_dir, watched)  # one small file per run
    return report


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.lstat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _changed(c: inbox_files.Candidate) -> bool:
    return _signature(c.path) != c.signature


def _being_written(c: inbox_files.Candidate, now: float, settle_seconds: float) -> bool:
    """The sensor hands over files quiet for the settle time; one modified more recently
    than that (or while it was read) is being written again."""
    current = _signature(c.path)
    if current is None:
        return False
    return current != c.signature or 0 <= now - current[1] / 1e9 < settle_seconds


def run(ctx: StepContext) -> StepOutput:
    report = ingest_journals(ctx)
    store = AthleteStore(ctx.data_dir, ctx.athlete)
    versions = store.journal_versions()
    effective = store.effective_journal()
    schema = quality.journal_schema(effective)
    per_day = quality.one_entry_per_day(versions)
    dates = [e["date"] for e in effective]
    return StepOutput(
        metadata={
            "athlete": ctx.athlete,
            "n_entries": len(effective),
            "n_versions": len(versions),
            "first_date": dates[0] if dates else None,
            "last_date": dates[-1] if dates else None,
            "new_dates": report.summary.new_dates,
            "superseded_dates": report.summary.superseded_dates,
            "unchanged_dates": len(report.summary.unchanged_dates),
            "accepted_files": report.accepted_files,
            "rejected_files": report.rejected_files,
            "missing_files": report.missing_files,
            "changing_files": report.changing_files,
            "log": store.journal_log_path,
        },
        checks=[
            SCHEMA.result(schema),
            ONE_PER_DAY.result(per_day),
        ],
    )


STEP = Step(
    key=KEY,
    run=run,
    description="""The athlete's evening journals, one current entry per day, with an audit trail.

Reads pending files from `inbox/` (Markdown front matter, JSON, YAML, CSV), stores their
entries durably in `data/store/<athlete>/journal_log.jsonl`, then moves each file to
`inbox/processed/`. A file that no longer parses moves to `inbox/rejected/` with
`<name>.error.json`. A new file for an existing day supersedes the old entry (kept in the
log); identical content changes nothing.""",
    checks=(SCHEMA, ONE_PER_DAY),
    kinds=frozenset({"python", "file"}),
    takes_files=True,
)
