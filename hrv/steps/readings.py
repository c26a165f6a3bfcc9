"""bronze/wearable_readings: the athlete's morning HRV from every export that names them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hrv.analytics import quality
from hrv.intake import freshness
from hrv.intake.exports import SourceParseResult, merge_readings, parse_source_file
from hrv.intake.source_folder import source_files_for
from hrv.steps.graph import CheckDef, CheckResult, Step, StepContext, StepOutput
from hrv.storage.athlete_store import AthleteStore

KEY = ("bronze", "wearable_readings")


def evaluate_freshness(ctx: StepContext) -> CheckResult:
    """Is this athlete's newest stored reading recent? (ERROR past the fail threshold)"""
    stored = AthleteStore(ctx.data_dir, ctx.athlete).readings()
    state = freshness.evaluate(
        freshness.newest_reading_date(stored), dt.datetime.now(dt.UTC), ctx.freshness
    )
    outcome = quality.source_freshness(state, ctx.freshness)
    return CheckResult(
        "source_freshness",
        outcome.passed,
        outcome.verdict,
        outcome.metadata,
        "ERROR" if state.state == freshness.FAIL else "WARN",
    )


FRESHNESS = CheckDef(
    "source_freshness",
    "This athlete's newest reading is recent: stale past HRV_FRESHNESS_WARN_HOURS (WARN, "
    "default 36 h) or HRV_FRESHNESS_FAIL_HOURS (ERROR, default 60 h); a reading counts as "
    "taken at the end of its day. Re-evaluated every minute by freshness_sensor without "
    "waiting for a run; every change of state is an alert (stale_source firing, then "
    "resolved). Fix: check the wearable sync.",
    severity="WARN",
    evaluate=evaluate_freshness,
)
PLAUSIBLE = CheckDef(
    "rmssd_plausible",
    "Every HRV reading is plausible for this athlete: not far off their own recent nights "
    "(a 5 ms night in a 50 ms athlete is a sensor artefact; a real 30-50% drop after illness "
    "or drinking is not) and within 2-600 ms. WARN: an implausible reading is excluded from "
    "features and listed in the metadata; the rest of the pipeline goes on.",
    severity="WARN",
)


@dataclass
class ReadingsReport:
    athlete: str
    n_readings: int = 0
    n_rmssd: int = 0
    n_sdnn: int = 0
    first_date: str | None = None
    newest_date: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # rel -> format
    bad_files: dict[str, list[str]] = field(default_factory=dict)
    not_hrv: dict[str, str] = field(default_factory=dict)  # rel -> what it is
    rows_read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> rows
    changed: bool = False


def rebuild_readings(
    *,
    sources: Path,
    data_dir: Path,
    athlete: str,
    default_athlete: str,
    parsed: dict[str, SourceParseResult] | None = None,
    tz: dt.tzinfo = dt.UTC,
) -> ReadingsReport:
    """Rebuild this athlete's readings from every export that mentions them.

    When two exports give the same morning and metric, the most recently modified
    export wins. Exports that fail to parse are reported and skipped.
    """
    store = AthleteStore(data_dir, athlete)
    report = ReadingsReport(athlete=athlete)
    items = []
    for path, folder in source_files_for(sources, athlete):
        rel = path.relative_to(sources).as_posix()
        result = (parsed or {}).get(rel) or parse_source_file(
            path, folder_athlete=folder, default_athlete=default_athlete, tz=tz
        )
        if result.not_hrv is not None and not result.readings:
            report.not_hrv[rel] = result.not_hrv
            continue
        if not result.ok:
            report.bad_files[rel] = [str(e) for e in result.errors[:10]]
            continue
        for member in result.members:  # a zip's files without HRV, listed too
            if member.not_hrv is not None and not member.readings:
                report.not_hrv[f"{rel}: {member.file}"] = member.not_hrv
        if athlete in result.athletes:
            report.rows_read += result.rows_read
            report.skipped.update(result.skip_counts)
            report.files[rel] = result.format or "unknown"
            items.append((path.stat().st_mtime_ns, rel, result))
    rows = merge_readings(items, athlete)
    before = store.readings()
    store.write_readings(rows)
    after = store.readings()
    report.changed = before != after
    report.n_readings = len(rows)
    report.n_rmssd = sum(1 for r in rows if r["metric"] == "rmssd")
    report.n_sdnn = sum(1 for r in rows if r["metric"] == "sdnn")
    dates = sorted(r["date"] for r in rows)
    report.first_date = dates[0] if dates else None
    report.newest_date = dates[-1] if dates else None
    return report


def run(ctx: StepContext) -> StepOutput:
    report = rebuild_readings(
        sources=ctx.sources_dir,
        data_dir=ctx.data_dir,
        athlete=ctx.athlete,
        default_athlete=ctx.default_athlete,
        tz=ctx.freshness.tz,
    )
    for rel, errors in report.bad_files.items():
        ctx.log.warning(f"export {rel} skipped: " + "; ".join(errors[:3]))
    readings = AthleteStore(ctx.data_dir, ctx.athlete).readings()
    return StepOutput(
        metadata={
            "athlete": ctx.athlete,
            "n_readings": report.n_readings,
            "n_rmssd": report.n_rmssd,
            "n_sdnn": report.n_sdnn,
            "first_date": report.first_date,
            "newest_date": report.newest_date,
            "exports": report.files,
            "rows_read": report.rows_read,
            "rows_skipped": sum(report.skipped.values()),
            "skipped_by_reason": dict(sorted(report.skipped.items())),
            "not_hrv_files": report.not_hrv,
            "bad_exports": report.bad_files,
            "changed": report.changed,
        },
        checks=[PLAUSIBLE.result(quality.rmssd_plausible(readings))],
    )


STEP = Step(
    key=KEY,
    run=run,
    description="""The athlete's morning HRV readings from every wearable export that mentions them.

Exports in `sources/<athlete>/` and top-level `sources/` files are detected by content
(generic CSV, WHOOP, Oura, Garmin, Fitbit, Polar, Apple Health, HRV4Training, HRV Logger,
Elite HRV), and so is the wellness pulled from Intervals.icu
(`sources/<athlete>/intervals.icu/wellness.json`). rMSSD and SDNN (Apple, Polar) are
stored as separate metrics and never mixed. Stored in `data/store/<athlete>/readings.csv`.""",
    checks=(FRESHNESS, PLAUSIBLE),
    kinds=frozenset({"python", "file"}),
    watches_freshness=True,
)
