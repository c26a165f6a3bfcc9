"""The per-athlete asset graph, generated from the step graph (``hrv/steps``), and the two
jobs the sensors run: one athlete's assets (an asset run), and a squad of athletes (one
run that walks the same steps for each, ``assets/executor.py``)."""

import dagster as dg

from assets.board import squad_board, squad_board_job
from assets.common import ATHLETES, ATHLETES_PARTITIONS, asset_key
from assets.factory import build_asset, build_checks
from assets.runs import (
    ATHLETE_JOB,
    IN_PROGRESS,
    SQUAD_JOB,
    AthleteRun,
    run_athletes,
    squad_run_request,
)
from assets.squad import squad_update_job
from hrv.settings import load_settings
from hrv.steps import GRAPH

ASSETS = [build_asset(step, load_settings()) for step in GRAPH]
CHECKS = [check for step in GRAPH for check in build_checks(step)]
ASSET_KEYS = {step.key: asset_key(step) for step in GRAPH}

athlete_assets_job = dg.define_asset_job(
    ATHLETE_JOB,
    selection=dg.AssetSelection.assets(*ASSETS) | dg.AssetSelection.checks(*CHECKS),
    partitions_def=ATHLETES,
    description="One athlete's asset graph and checks (the part a trigger affects is selected "
    "per run; the freshness sensor selects only the source_freshness check).",
)

# One process per run: a run is one athlete's small graph, and a process per step (the
# multiprocess executor) would cost more than the steps themselves.
defs = dg.Definitions(
    assets=[*ASSETS, squad_board],
    asset_checks=CHECKS,
    jobs=[athlete_assets_job, squad_update_job, squad_board_job],
    executor=dg.in_process_executor,
)

__all__ = [
    "ASSETS",
    "ASSET_KEYS",
    "ATHLETES",
    "ATHLETES_PARTITIONS",
    "ATHLETE_JOB",
    "CHECKS",
    "IN_PROGRESS",
    "SQUAD_JOB",
    "AthleteRun",
    "athlete_assets_job",
    "defs",
    "run_athletes",
    "squad_run_request",
    "squad_update_job",
]
