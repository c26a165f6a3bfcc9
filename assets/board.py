"""agent/squad_board: the coach's board, one asset for the whole squad."""

import datetime as dt
import json
from typing import Any

import dagster as dg

from assets.common import ATHLETES_PARTITIONS
from hrv.alerting.book import AlertBook
from hrv.coach.board import BOARD_JSON, build_board, markdown_table
from hrv.coach.board_files import write_board
from hrv.coach.roster import roster_or_defaults
from hrv.intake.freshness import FreshnessSettings
from hrv.steps import forecast
from resources.folders import DataStoreResource
from resources.settings import SettingsResource

BOARD_KEY = dg.AssetKey(["agent", "squad_board"])
BOARD_JOB = "squad_board"
COVERS = "board_covers_every_athlete"
CURRENT = "board_is_current"


def known_athletes(instance: dg.DagsterInstance, roster_athletes: list[str]) -> list[str]:
    """Every athlete the system knows: with data (a partition) or named in athletes.yaml."""
    return sorted(set(instance.get_dynamic_partitions(ATHLETES_PARTITIONS)) | set(roster_athletes))


@dg.asset(
    key=BOARD_KEY,
    group_name="agent",
    deps=[dg.AssetKey(list(forecast.KEY))],
    kinds={"html", "json"},
    check_specs=[
        dg.AssetCheckSpec(
            COVERS,
            asset=BOARD_KEY,
            description="Every known athlete (with data, or named in athletes.yaml) has a row.",
        ),
        dg.AssetCheckSpec(
            CURRENT,
            asset=BOARD_KEY,
            description="No row is older than its athlete's latest forecast (a forecast written "
            "while the board was built makes the next refresh due).",
        ),
    ],
)
def squad_board(
    context: dg.AssetExecutionContext, settings: SettingsResource, store: DataStoreResource
) -> dg.MaterializeResult:
    """The squad this morning, worst first: every athlete with their last reading against
    their normal range, the 7-day trend and variation, tomorrow's forecast and
    recommendation, and the flags to act on (HRV below normal for days, variation rising,
    illness, a rest day, a stale wearable, a rejected or stuck file, a failing check,
    baseline still building, no current data).

    Refreshed on its own after athletes are updated (once per batch). Also in
    `data/outputs/squad_board.html` (opens on a phone), `.json` and `.csv`."""
    config = settings.get()
    now = dt.datetime.now(dt.UTC)
    roster, problem = roster_or_defaults(config.athletes_file.expanduser().resolve())
    athletes = known_athletes(context.instance, list(roster.athletes))
    rows = build_board(
        store.path,
        athletes,
        roster,
        now,
        FreshnessSettings.from_settings(config),
        AlertBook(store.path).state(),
    )
    paths = write_board(store.path / "outputs", rows, now, problem)

    missing = sorted(set(athletes) - {r.athlete for r in rows})
    stale = []
    for row in rows:
        try:
            doc = json.loads(
                (store.path / "outputs" / row.athlete / "agent_forecast.json").read_text()
            )
        except (FileNotFoundError, ValueError):
            continue
        if (doc.get("generated_at") or "") > (row.forecast_generated_at or ""):
            stale.append(row.athlete)
    counts = {s: sum(r.status == s for r in rows) for s in ("alert", "watch", "ok", "no_data")}
    if problem:
        context.log.warning(f"athletes.yaml refused, defaults in use:\n{problem}")
    metadata: dict[str, Any] = {
        "board": dg.MetadataValue.md(markdown_table(rows, config.webserver_url)),
        "athletes": len(rows),
        **{f"n_{k}": v for k, v in counts.items()},
        "html": dg.MetadataValue.path(str(paths["html"])),
        "json": dg.MetadataValue.path(str(paths["json"])),
    }
    if problem:
        metadata["athletes_yaml"] = dg.MetadataValue.md(
            f"**refused, defaults in use**\n\n{problem}"
        )
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=COVERS,
                passed=not missing,
                description=(
                    f"all {len(athletes)} athletes on the board"
                    if not missing
                    else f"{len(missing)} athletes missing: {', '.join(missing[:20])}"
                ),
                metadata={"athletes": len(athletes), "missing": len(missing)},
            ),
            dg.AssetCheckResult(
                check_name=CURRENT,
                passed=not stale,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    "every row shows its athlete's latest forecast"
                    if not stale
                    else f"{len(stale)} rows older than their forecast: {', '.join(stale[:20])} "
                    "(the next refresh picks them up)"
                ),
                metadata={"stale_rows": len(stale)},
            ),
        ],
    )


squad_board_job = dg.define_asset_job(
    BOARD_JOB,
    selection=dg.AssetSelection.assets(BOARD_KEY),
    description="Rebuilds the coach's squad board (the board sensor requests it after athletes "
    "are updated).",
)

__all__ = ["BOARD_JOB", "BOARD_JSON", "BOARD_KEY", "squad_board", "squad_board_job"]
