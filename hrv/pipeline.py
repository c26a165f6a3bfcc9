"""The work of each asset, as plain functions over folders (no Dagster here).

Each step reads what the previous steps stored under ``<data>/store/<athlete>/`` and
writes its own layer, so a step can run in any process, container or machine that
mounts the same ``data/`` folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hrv.alerting.catalogue import record_alert, rejected_file_alert
from hrv.analytics.features import (
    build_daily_features,
    finite_or_none,
    journal_frame,
    readings_frame,
)
from hrv.analytics.models import (
    BASELINES,
    INTERVAL_LEVEL,
    SelectionResult,
    fit_final,
    predict_next,
    select_model,
)
from hrv.analytics.recommend import recommend
from hrv.analytics.reconcile import reconcile
from hrv.intake import inbox as inbox_mod
from hrv.intake.journal import is_ignored_name
from hrv.intake.wearables import (
    SOURCE_SUFFIXES,
    SourceParseResult,
    merge_readings,
    parse_source_file,
)
from hrv.storage.athlete_store import AthleteStore, IncomingEntry, IngestSummary, outputs_dir
from hrv.storage.files import write_json_atomic, write_text_atomic
from hrv.storage.registry import BASELINE, SELECTED, append_forecasts, read_registry

TRAINING_METRICS = "training_metrics.json"
MODEL_PREDICTIONS = "model_predictions.json"
PREDICTIONS_REGISTRY = "predictions_registry.csv"
INTELLIGENCE_SUMMARY = "intelligence_summary.json"
INTELLIGENCE_CHART = "intelligence_summary.png"
AGENT_FORECAST = "agent_forecast.json"
RECONCILIATION = "reconciliation.json"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- journal
@dataclass
class JournalIngestReport:
    athlete: str
    accepted_files: list[str] = field(default_factory=list)
    rejected_files: dict[str, list[str]] = field(default_factory=dict)
    missing_files: list[str] = field(default_factory=list)
    waiting_for_other_athletes: list[str] = field(default_factory=list)
    summary: IngestSummary = field(default_factory=IngestSummary)
    n_entries: int = 0


def _attributable(c: inbox_mod.Candidate, athlete: str, default_athlete: str) -> bool:
    return c.folder_athlete == athlete or (c.folder_athlete is None and athlete == default_athlete)


def _ingested_marker(store: AthleteStore, file_sha: str) -> Path:
    return store.dir / "ingested_files" / file_sha


def ingest_journals(
    *,
    inbox: Path,
    data_dir: Path,
    athlete: str,
    default_athlete: str,
    files: list[str] | None = None,
    now: dt.datetime | None = None,
) -> JournalIngestReport:
    """Store this athlete's entries from pending inbox files, then archive the files.

    ``files`` (inbox-relative paths, as the inbox sensor sends them) limits the work to
    those files; without it the inbox is scanned for files of this athlete. Files are
    applied in modification order, so a later correction of a day wins. A file moves to
    ``processed/`` only after its entries are durably stored; a file that no longer
    parses moves to ``rejected/`` with its reasons.
    """
    now = now or utcnow()
    store = AthleteStore(data_dir, athlete)
    report = JournalIngestReport(athlete=athlete)
    if files is None:
        candidates = [c for c in inbox_mod.scan_inbox(inbox) if c.ignored is None]
    else:
        candidates = []
        for rel in files:
            c = inbox_mod.candidate_for(inbox, rel)
            if c.ignored == "vanished while scanning" or not (
                c.path.exists() or c.path.is_symlink()
            ):
                report.missing_files.append(rel)
            else:
                candidates.append(c)
    candidates.sort(key=lambda c: (c.mtime_ns, c.rel))

    incoming: list[IncomingEntry] = []
    to_accept: list[tuple[inbox_mod.Candidate, list[str], str | None]] = []
    for c in candidates:
        result = inbox_mod.parse_candidate(c, default_athlete)
        if not result.ok:
            if files is not None or _attributable(c, athlete, default_athlete):
                inbox_mod.reject(inbox, c, result, now)
                report.rejected_files[c.rel] = [str(e) for e in result.errors]
                record_alert(
                    data_dir,
                    rejected_file_alert(
                        c.rel, athlete, report.rejected_files[c.rel], result.sha256
                    ),
                )
            continue
        if athlete not in result.athletes:
            continue
        for entry in result.entries:
            if entry.athlete == athlete:
                incoming.append(IncomingEntry(entry, c.rel, result.sha256))
        to_accept.append((c, result.athletes, result.sha256))

    report.summary = store.ingest_journal(incoming, now)
    for c, athletes, sha in to_accept:
        if athletes != [athlete] and sha:
            marker = _ingested_marker(store, sha)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            others = [a for a in athletes if a != athlete]
            if not all(_ingested_marker(AthleteStore(data_dir, a), sha).exists() for a in others):
                report.waiting_for_other_athletes.append(c.rel)
                continue
        with contextlib.suppress(FileNotFoundError):
            # another athlete's run may have archived this multi-athlete file first
            inbox_mod.accept(inbox, c)
        report.accepted_files.append(c.rel)
    report.n_entries = len(store.effective_journal())
    return report


# --------------------------------------------------------------------------- readings
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
    changed: bool = False


def source_files_for(sources: Path, athlete: str) -> list[tuple[Path, str | None]]:
    """Export files that may hold this athlete's readings: sources/<athlete>/** and
    top-level files in sources/ (those name athletes inside, or mean the default)."""
    out: list[tuple[Path, str | None]] = []
    if not sources.is_dir():
        return out
    for entry in sorted(os.scandir(sources), key=lambda e: e.name):
        if is_ignored_name(entry.name):
            continue
        if entry.is_file(follow_symlinks=False):
            if Path(entry.name).suffix.lower() in SOURCE_SUFFIXES:
                out.append((Path(entry.path), None))
        elif entry.is_dir(follow_symlinks=False) and entry.name == athlete:
            for root, dirs, names in os.walk(entry.path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if not is_ignored_name(name) and Path(name).suffix.lower() in SOURCE_SUFFIXES:
                        out.append((Path(root) / name, athlete))
    return out


def rebuild_readings(
    *,
    sources: Path,
    data_dir: Path,
    athlete: str,
    default_athlete: str,
    parsed: dict[str, SourceParseResult] | None = None,
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
            path, folder_athlete=folder, default_athlete=default_athlete
        )
        if not result.ok:
            report.bad_files[rel] = [str(e) for e in result.errors[:10]]
            continue
        if athlete in result.athletes:
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


# --------------------------------------------------------------------------- features
def load_features_inputs(data_dir: Path, athlete: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    store = AthleteStore(data_dir, athlete)
    return journal_frame(store.effective_journal()), readings_frame(store.readings())


def build_features(data_dir: Path, athlete: str) -> pd.DataFrame:
    journal, readings = load_features_inputs(data_dir, athlete)
    frame = build_daily_features(journal, readings)
    store = AthleteStore(data_dir, athlete)
    write_text_atomic(store.features_path, frame.to_csv(index=False, date_format="%Y-%m-%d"))
    return frame


def read_features(data_dir: Path, athlete: str) -> pd.DataFrame:
    path = AthleteStore(data_dir, athlete).features_path
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: materialize silver/daily_features for athlete '{athlete}' first"
        )
    frame = pd.read_csv(path, parse_dates=["date"])
    for col in ("has_journal", "has_rmssd", "rmssd_valid"):
        if col in frame:
            frame[col] = frame[col].astype(str).str.lower().eq("true")
    return frame


# --------------------------------------------------------------------------- model
def train(data_dir: Path, athlete: str) -> tuple[SelectionResult, dict[str, Any]]:
    """Select a model by walk-forward backtest, fit it on all days, store both."""
    import joblib

    frame = read_features(data_dir, athlete)
    selection = select_model(frame)
    fitted = fit_final(frame, selection)
    store = AthleteStore(data_dir, athlete)
    store.dir.mkdir(parents=True, exist_ok=True)
    tmp = store.model_path.with_suffix(".joblib.tmp")
    joblib.dump({"selection": _selection_state(selection), "fitted": fitted}, tmp)
    os.replace(tmp, store.model_path)
    if selection.backtest is not None:
        write_text_atomic(
            store.backtest_path, selection.backtest.to_csv(index=False, date_format="%Y-%m-%d")
        )
    metrics = selection.training_metrics(athlete)
    metrics["trained_at"] = utcnow().isoformat()
    write_json_atomic(outputs_dir(data_dir, athlete) / TRAINING_METRICS, metrics)
    return selection, metrics


def _selection_state(selection: SelectionResult) -> SelectionResult:
    return SelectionResult(
        n_days=selection.n_days,
        n_train_rows=selection.n_train_rows,
        cold_start=selection.cold_start,
        selected_model=selection.selected_model,
        mae_ms=selection.mae_ms,
        n_backtest=selection.n_backtest,
        residuals=selection.residuals,
    )


def load_model(data_dir: Path, athlete: str) -> tuple[SelectionResult, dict[str, Any]]:
    import joblib

    path = AthleteStore(data_dir, athlete).model_path
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: materialize gold/hrv_model first")
    state = joblib.load(path)
    return state["selection"], state["fitted"]


# --------------------------------------------------------------------------- predictions
def compute_predictions(data_dir: Path, athlete: str) -> dict[str, Any]:
    """Tomorrow's predictions of every candidate, the selected one flagged."""
    frame = read_features(data_dir, athlete)
    selection, fitted = load_model(data_dir, athlete)
    for_date, preds = predict_next(frame, selection, fitted)
    last = frame[frame["baseline_7d_ln"].notna()].tail(1)
    guess = finite_or_none(last["hrv_guess_ms"].iloc[0]) if len(last) else None
    ordered = sorted(preds.values(), key=lambda p: p.model != selection.selected_model)
    reason = None
    if not preds:
        n_valid = int(frame["rmssd_valid"].sum()) if "rmssd_valid" in frame else 0
        reason = (
            "no 7-day baseline yet: it needs 3 valid rMSSD readings within 7 days "
            f"(this athlete has {n_valid} valid readings in all)"
        )
        if len(frame):
            for_date = pd.Timestamp(frame["date"].iloc[-1]) + pd.Timedelta(days=1)
            guess = finite_or_none(frame["hrv_guess_ms"].iloc[-1])
    return {
        "athlete": athlete,
        "generated_at": utcnow().isoformat(),
        "for_date": for_date.date().isoformat() if for_date is not None else None,
        "based_on_date": last["date"].iloc[0].date().isoformat() if len(last) else None,
        "selected_model": selection.selected_model,
        "cold_start": selection.cold_start,
        "interval_level": INTERVAL_LEVEL,
        "user_guess_ms": guess,
        "predictions": [
            p.to_dict() | {"selected": p.model == selection.selected_model} for p in ordered
        ],
        "no_forecast_reason": reason,
    }


def write_predictions(data_dir: Path, athlete: str, doc: dict[str, Any]) -> Path:
    path = outputs_dir(data_dir, athlete) / MODEL_PREDICTIONS
    write_json_atomic(path, doc)
    return path


def read_json_output(data_dir: Path, athlete: str, name: str) -> dict[str, Any]:
    import json

    path = outputs_dir(data_dir, athlete) / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: materialize its asset first")
    return json.loads(path.read_text(encoding="utf-8"))


def selected_prediction(doc: dict[str, Any]) -> dict[str, Any] | None:
    return next((p for p in doc.get("predictions", []) if p.get("selected")), None)


# --------------------------------------------------------------------------- registry
def registry_paths(data_dir: Path, athlete: str) -> tuple[Path, Path]:
    return (
        outputs_dir(data_dir, athlete) / PREDICTIONS_REGISTRY,
        AthleteStore(data_dir, athlete).registry_ledger_path,
    )


def register_predictions(data_dir: Path, athlete: str) -> int:
    """Append the selected forecast and the baselines' to the registry (if new)."""
    doc = read_json_output(data_dir, athlete, MODEL_PREDICTIONS)
    if doc.get("for_date") is None:
        return 0
    rows = []
    for p in doc["predictions"]:
        role = SELECTED if p["selected"] else BASELINE if p["model"] in BASELINES else None
        if role is None:
            continue
        rows.append(
            {
                "athlete": athlete,
                "for_date": doc["for_date"],
                "model": p["model"],
                "predicted_rmssd_ms": p["predicted_rmssd_ms"],
                "lower_ms": p["lower_ms"],
                "upper_ms": p["upper_ms"],
                "user_guess_ms": doc.get("user_guess_ms"),
                "role": role,
            }
        )
        if role == SELECTED and p["model"] in BASELINES:
            rows.append(rows[-1] | {"role": BASELINE})
    registry, ledger = registry_paths(data_dir, athlete)
    return append_forecasts(registry, ledger, rows, utcnow())


# --------------------------------------------------------------------------- reconciliation
def actual_rmssd(data_dir: Path, athlete: str) -> dict[str, float]:
    out = {}
    for r in AthleteStore(data_dir, athlete).readings():
        if r["metric"] == "rmssd":
            try:
                out[r["date"]] = float(r["value_ms"])
            except ValueError:
                continue
    return out


def reconcile_athlete(data_dir: Path, athlete: str) -> dict[str, Any]:
    registry, _ = registry_paths(data_dir, athlete)
    doc = reconcile(athlete, read_registry(registry), actual_rmssd(data_dir, athlete))
    doc["generated_at"] = utcnow().isoformat()
    write_json_atomic(outputs_dir(data_dir, athlete) / RECONCILIATION, doc)
    return doc


# --------------------------------------------------------------------------- summary
def _status(value: float | None, lo: float | None, hi: float | None) -> str | None:
    if value is None or lo is None or hi is None:
        return None
    return "below" if value < lo else "above" if value > hi else "within"


def summarize(data_dir: Path, athlete: str) -> dict[str, Any]:
    """The athlete's state in one document, plus a chart of the last 120 days."""
    frame = read_features(data_dir, athlete)
    metrics = read_json_output(data_dir, athlete, TRAINING_METRICS)
    preds = read_json_output(data_dir, athlete, MODEL_PREDICTIONS)
    recon_path = outputs_dir(data_dir, athlete) / RECONCILIATION
    recon = read_json_output(data_dir, athlete, RECONCILIATION) if recon_path.exists() else {}
    valid = frame[frame["rmssd_valid"]]
    last = frame.iloc[-1] if len(frame) else None
    latest_valid = valid.iloc[-1] if len(valid) else None
    baseline = finite_or_none(last["baseline_7d_ms"]) if last is not None else None
    lo = finite_or_none(last["normal_lo_ms"]) if last is not None else None
    hi = finite_or_none(last["normal_hi_ms"]) if last is not None else None
    recent = valid.tail(28)
    trend = None
    if len(recent) >= 7:
        days = (recent["date"] - recent["date"].iloc[0]).dt.days.to_numpy(dtype=float)
        slope = float(
            pd.Series(recent["ln_rmssd"].to_numpy()).cov(pd.Series(days)) / days.var(ddof=1)
        )
        trend = round(100 * (math.exp(slope * 7) - 1), 2)
    doc = {
        "athlete": athlete,
        "generated_at": utcnow().isoformat(),
        "n_days": len(frame),
        "n_valid_rmssd_days": len(valid),
        "n_journal_days": int(frame["has_journal"].sum()) if len(frame) else 0,
        "first_date": frame["date"].iloc[0].date().isoformat() if len(frame) else None,
        "last_date": frame["date"].iloc[-1].date().isoformat() if len(frame) else None,
        "latest_rmssd_ms": finite_or_none(latest_valid["rmssd_ms"])
        if latest_valid is not None
        else None,
        "latest_rmssd_date": latest_valid["date"].date().isoformat()
        if latest_valid is not None
        else None,
        "baseline_7d_ms": baseline,
        "normal_range_ms": [lo, hi] if lo is not None and hi is not None else None,
        "baseline_status": _status(baseline, lo, hi),
        "cv_7d_pct": finite_or_none(last["cv_7d_pct"]) if last is not None else None,
        "acwr": finite_or_none(last["acwr"]) if last is not None else None,
        "trend_pct_per_week_28d": trend,
        "selected_model": metrics.get("selected_model"),
        "cold_start": metrics.get("cold_start"),
        "model_mae_ms": (
            metrics.get("candidates", {}).get(metrics.get("selected_model"), {}) or {}
        ).get("mae_ms"),
        "baselines_mae_ms": {k: v.get("mae_ms") for k, v in metrics.get("baselines", {}).items()},
        "next_forecast": selected_prediction(preds),
        "next_forecast_date": preds.get("for_date"),
        "reconciliation": {
            k: recon.get(k) for k in ("n_reconciled", "mae_ms", "bias_ms", "interval_coverage")
        },
        "chart": INTELLIGENCE_CHART,
    }
    out = outputs_dir(data_dir, athlete)
    write_json_atomic(out / INTELLIGENCE_SUMMARY, doc)
    from hrv.analytics.chart import render_chart

    registry, _ = registry_paths(data_dir, athlete)
    render_chart(frame, read_registry(registry), athlete, out / INTELLIGENCE_CHART)
    return doc


# --------------------------------------------------------------------------- agent
def agent_forecast(data_dir: Path, athlete: str) -> dict[str, Any]:
    """Tomorrow's forecast with a training recommendation and its reasons."""
    frame = read_features(data_dir, athlete)
    preds = read_json_output(data_dir, athlete, MODEL_PREDICTIONS)
    chosen = selected_prediction(preds)
    if chosen is None:
        return _no_forecast(data_dir, athlete, frame, preds)
    row = frame[frame["baseline_7d_ln"].notna()].iloc[-1]
    lo, hi = finite_or_none(row["normal_lo_ms"]), finite_or_none(row["normal_hi_ms"])
    level, reasons = recommend(
        predicted_ms=chosen["predicted_rmssd_ms"],
        normal_mean_ln=finite_or_none(row["normal_mean_ln"], 6),
        normal_sd_ln=finite_or_none(row["normal_sd_ln"], 6),
        baseline_ms=finite_or_none(row["baseline_7d_ms"]),
        normal_lo_ms=lo,
        cv_7d_pct=finite_or_none(row["cv_7d_pct"]),
        acwr=finite_or_none(row["acwr"]),
        illness=bool(row["illness"] == 1.0),
        alcohol_units=finite_or_none(row["alcohol_units"]),
        sleep_hours=finite_or_none(row["sleep_hours"]),
        cold_start=bool(preds.get("cold_start")),
    )
    doc = {
        "athlete": athlete,
        "for_date": preds["for_date"],
        "predicted_rmssd_ms": chosen["predicted_rmssd_ms"],
        "interval_ms": [chosen["lower_ms"], chosen["upper_ms"]],
        "interval_level": preds.get("interval_level"),
        "baseline_rmssd_ms": finite_or_none(row["baseline_7d_ms"]),
        "normal_range_ms": [lo, hi] if lo is not None and hi is not None else None,
        "recommendation": level,
        "reasons": reasons,
        "user_guess_ms": preds.get("user_guess_ms"),
        "model": chosen["model"],
        "cold_start": bool(preds.get("cold_start")),
        "based_on_date": preds.get("based_on_date"),
        "generated_at": utcnow().isoformat(),
    }
    write_json_atomic(outputs_dir(data_dir, athlete) / AGENT_FORECAST, doc)
    return doc


def _no_forecast(
    data_dir: Path, athlete: str, frame: pd.DataFrame, preds: dict[str, Any]
) -> dict[str, Any]:
    """Journals but no usable HRV yet: say so plainly instead of failing the run."""
    ill = bool(len(frame) and frame["illness"].iloc[-1] == 1.0)
    reasons = [f"no HRV forecast yet: {preds.get('no_forecast_reason') or 'no data'}"]
    reasons.append(
        "illness reported in the journal: rest until symptoms clear"
        if ill
        else "train by feel until the wearable export provides readings"
    )
    doc = {
        "athlete": athlete,
        "for_date": preds.get("for_date"),
        "predicted_rmssd_ms": None,
        "interval_ms": None,
        "interval_level": preds.get("interval_level"),
        "baseline_rmssd_ms": None,
        "normal_range_ms": None,
        "recommendation": "rest" if ill else "train_moderate",
        "reasons": reasons,
        "user_guess_ms": preds.get("user_guess_ms"),
        "model": None,
        "cold_start": True,
        "based_on_date": preds.get("based_on_date"),
        "generated_at": utcnow().isoformat(),
    }
    write_json_atomic(outputs_dir(data_dir, athlete) / AGENT_FORECAST, doc)
    return doc
