"""Where each step's layer lives, and how the next step reads it back.

Every step writes its layer under ``data/`` and downstream steps read it from there, so
any process, container or machine that mounts the same ``data/`` folder can run any step.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from hrv.steps.graph import DataProblem
from hrv.storage.athlete_store import AthleteStore, outputs_dir
from hrv.storage.files import ParsedFiles

TRAINING_METRICS = "training_metrics.json"
MODEL_PREDICTIONS = "model_predictions.json"
PREDICTIONS_REGISTRY = "predictions_registry.csv"
INTELLIGENCE_SUMMARY = "intelligence_summary.json"
INTELLIGENCE_CHART = "intelligence_summary.png"
AGENT_FORECAST = "agent_forecast.json"
RECONSTRUCTED = "reconstructed_forecasts.csv"  # day one: past forecasts, out of sample
FLAGS = "flags.json"  # the athlete flags of the latest day (hrv.coach.flags)
RECONCILIATION = "reconciliation.json"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _parse_features(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, parse_dates=["date"])
    for col in ("has_journal", "has_rmssd", "rmssd_valid", "artefact"):
        if col in frame:
            frame[col] = frame[col].astype(str).str.lower().eq("true")
    return frame


# the features file is read by five steps of an athlete's update: parsed once per version
_FEATURES = ParsedFiles(_parse_features)


def read_features(data_dir: Path, athlete: str) -> pd.DataFrame:
    """The athlete's daily features (a copy: the caller may change it)."""
    path = AthleteStore(data_dir, athlete).features_path
    try:
        return _FEATURES.get(path).copy()
    except FileNotFoundError:
        raise DataProblem(
            f"{path} is missing: materialize silver/daily_features for athlete '{athlete}' first"
        ) from None


def read_json_output(data_dir: Path, athlete: str, name: str) -> dict[str, Any]:
    path = outputs_dir(data_dir, athlete) / name
    if not path.exists():
        raise DataProblem(f"{path} is missing: materialize its asset first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataProblem(f"{path} is not valid JSON: {exc}") from exc


def selected_prediction(doc: dict[str, Any]) -> dict[str, Any] | None:
    return next((p for p in doc.get("predictions", []) if p.get("selected")), None)


def registry_paths(data_dir: Path, athlete: str) -> tuple[Path, Path]:
    return (
        outputs_dir(data_dir, athlete) / PREDICTIONS_REGISTRY,
        AthleteStore(data_dir, athlete).registry_ledger_path,
    )
