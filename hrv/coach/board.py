"""The coach's squad board: every athlete, worst first (pure: no Dagster).

One row per known athlete from what the pipeline already wrote (features, forecast,
flags) and what is wrong around it (a stale source, a rejected or stuck file, a failing
check: the alert book's firing alerts). ``status``:

- ``alert``: HRV below normal for days, illness, a rest day, a failing ERROR check or a
  file stuck in the inbox;
- ``watch``: variation rising, a stale source, a rejected file, a failing WARN check,
  no current data, or the baseline still building;
- ``no_data``: no valid HRV reading yet;
- ``ok``: none of these.

Written as ``squad_board.json``, ``.csv`` and a self-contained ``.html`` page (inline
SVG charts, no script, no network: it opens from a phone's files app).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hrv.coach.flags import LABELS
from hrv.coach.roster import Roster
from hrv.intake.freshness import FRESH, NONE, FreshnessSettings, evaluate, newest_reading_date
from hrv.storage.athlete_store import AthleteStore

BOARD_JSON, BOARD_CSV, BOARD_HTML = "squad_board.json", "squad_board.csv", "squad_board.html"
STATUS_ORDER = {"alert": 0, "watch": 1, "no_data": 2, "ok": 3}
ALERT_FLAGS = {"hrv_low", "illness", "rest"}
CHART_DAYS = 42
COLUMNS = (
    "athlete",
    "name",
    "team",
    "status",
    "flags",
    "last_reading_date",
    "last_reading_ms",
    "normal_range_ms",
    "baseline_7d_ms",
    "trend_7d_pct",
    "cv_7d_pct",
    "recommendation",
    "predicted_ms",
    "interval_ms",
    "for_date",
    "baseline_building",
    "metric",
    "forecast_generated_at",
)


@dataclass
class BoardRow:
    athlete: str
    name: str
    team: str | None
    status: str
    flags: list[str]
    last_reading_date: str | None
    last_reading_ms: float | None
    normal_range_ms: list[float] | None
    baseline_7d_ms: float | None
    trend_7d_pct: float | None
    cv_7d_pct: float | None
    recommendation: str | None
    predicted_ms: float | None
    interval_ms: list[float] | None
    for_date: str | None
    baseline_building: bool
    metric: str
    forecast_generated_at: str | None
    advice: str | None = None
    z: float | None = None  # the 7-day mean's distance from the normal mean, in SD
    series: list[dict[str, Any]] = field(default_factory=list)  # the chart's days

    def to_dict(self) -> dict[str, Any]:
        out = {c: getattr(self, c) for c in COLUMNS}
        out["advice"] = self.advice
        return out


def _f(value: Any, digits: int = 1) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return round(out, digits) if math.isfinite(out) else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


FEATURE_COLUMNS = [
    "date",
    "rmssd_ms",
    "rmssd_valid",
    "baseline_7d_ms",
    "baseline_7d_ln",
    "normal_mean_ln",
    "normal_sd_ln",
    "normal_lo_ms",
    "normal_hi_ms",
    "cv_7d_pct",
    "metric",
]


def _features(data_dir: Path, athlete: str) -> pd.DataFrame:
    path = AthleteStore(data_dir, athlete).features_path
    try:
        frame = pd.read_csv(path, usecols=lambda c: c in FEATURE_COLUMNS, parse_dates=["date"])
    except (FileNotFoundError, ValueError, pd.errors.EmptyDataError):
        return pd.DataFrame(columns=FEATURE_COLUMNS)
    return frame


def pipeline_flags(alert_state: dict[str, dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """Per athlete, (severity, text) of the pipeline problems firing now."""
    out: dict[str, list[tuple[str, str]]] = {}
    for fp, entry in alert_state.items():
        if entry.get("status") != "firing" or not entry.get("athlete"):
            continue
        kind = entry.get("kind")
        if kind == "check_failure":
            check = fp.rsplit(":", 1)[-1]
            severity = "alert" if entry.get("severity") == "error" else "watch"
            text = f"check {check} failing"
        elif kind == "stuck_file":
            severity, text = "alert", "file stuck in the inbox"
        elif kind == "rejected_file":
            severity, text = "watch", "file rejected"
        else:
            continue
        out.setdefault(str(entry["athlete"]), []).append((severity, text))
    return out


def build_row(
    data_dir: Path,
    athlete: str,
    roster: Roster,
    now: dt.datetime,
    freshness: FreshnessSettings,
    problems: list[tuple[str, str]],
) -> BoardRow:
    config = roster.get(athlete)
    out = Path(data_dir) / "outputs" / athlete
    fc = _read_json(out / "agent_forecast.json")
    flags_doc = _read_json(out / "flags.json")
    frame = _features(data_dir, athlete)
    valid = (
        frame[frame["rmssd_valid"].astype(str).isin(["True", "true", "1"])] if len(frame) else frame
    )
    last = valid.iloc[-1] if len(valid) else None
    flags: list[str] = []
    severities: set[str] = set()
    for flag in flags_doc.get("flags", []):
        if flag.get("active"):
            flags.append(LABELS.get(flag["name"], flag["name"]))
            severities.add("alert" if flag["name"] in ALERT_FLAGS else "watch")
    for severity, text in problems:
        flags.append(text)
        severities.add(severity)
    newest = pd.Timestamp(last["date"]).date() if last is not None else None
    # stale: judged like the source_freshness check, on the newest reading of any kind
    fresh = evaluate(
        newest_reading_date(AthleteStore(data_dir, athlete).readings()), now, freshness
    )
    if fresh.state not in (FRESH, NONE):
        flags.append(f"stale source ({fresh.age_hours:.0f} h)")
        severities.add("watch")
    if fc and fc.get("predicted_ms") is None and last is not None:
        flags.append("no current data")
        severities.add("watch")
    building = bool(fc.get("baseline_building", True)) if fc else True
    if building and last is not None:
        flags.append("baseline building")
        severities.add("watch")

    row_now = frame.iloc[-1] if len(frame) else None
    base_now = _f(row_now["baseline_7d_ms"]) if row_now is not None else None
    week_ago = (
        frame[frame["date"] <= frame["date"].max() - pd.Timedelta(days=7)] if len(frame) else frame
    )
    base_then = _f(week_ago["baseline_7d_ms"].iloc[-1]) if len(week_ago) else None
    trend = _f(100 * (base_now / base_then - 1)) if base_now and base_then else None
    z = None
    if row_now is not None:
        mean, sd, b = (
            _f(row_now[c], 6) for c in ("normal_mean_ln", "normal_sd_ln", "baseline_7d_ln")
        )
        if mean is not None and sd and b is not None:
            z = _f((b - mean) / sd, 2)
    lo = _f(row_now["normal_lo_ms"]) if row_now is not None else None
    hi = _f(row_now["normal_hi_ms"]) if row_now is not None else None
    if last is None:
        status = "no_data"
    elif "alert" in severities:
        status = "alert"
    elif "watch" in severities:
        status = "watch"
    else:
        status = "ok"
    interval = fc.get("interval_ms")
    return BoardRow(
        athlete=athlete,
        name=config.label(athlete),
        team=config.team,
        status=status,
        flags=flags,
        last_reading_date=newest.isoformat() if newest else None,
        last_reading_ms=_f(last["rmssd_ms"]) if last is not None else None,
        normal_range_ms=[lo, hi] if lo is not None and hi is not None else None,
        baseline_7d_ms=base_now,
        trend_7d_pct=trend,
        cv_7d_pct=_f(row_now["cv_7d_pct"]) if row_now is not None else None,
        recommendation=fc.get("recommendation"),
        predicted_ms=_f(fc.get("predicted_ms")),
        interval_ms=[_f(v) for v in interval] if interval else None,  # type: ignore[misc]
        for_date=fc.get("for_date"),
        baseline_building=building,
        metric=str(
            fc.get("metric")
            or (row_now["metric"] if row_now is not None and "metric" in frame else "rmssd")
        ),
        forecast_generated_at=fc.get("generated_at"),
        advice=fc.get("advice"),
        z=z,
        series=_series(frame),
    )


def _series(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    tail = frame[frame["date"] > frame["date"].max() - pd.Timedelta(days=CHART_DAYS)]
    ok = tail["rmssd_valid"].astype(str).isin(["True", "true", "1"])
    return [
        {
            "date": pd.Timestamp(r.date).date().isoformat(),
            "ms": _f(r.rmssd_ms) if v else None,
            "mean7": _f(r.baseline_7d_ms),
            "lo": _f(r.normal_lo_ms),
            "hi": _f(r.normal_hi_ms),
        }
        for r, v in zip(tail.itertuples(), ok, strict=True)
    ]


def build_board(
    data_dir: Path,
    athletes: Iterable[str],
    roster: Roster,
    now: dt.datetime,
    freshness: FreshnessSettings,
    alert_state: dict[str, dict[str, Any]],
) -> list[BoardRow]:
    """Every athlete's row, worst first (status, then how far below normal)."""
    problems = pipeline_flags(alert_state)
    rows = [
        build_row(data_dir, a, roster, now, freshness, problems.get(a, []))
        for a in sorted(set(athletes))
    ]
    return sorted(
        rows,
        key=lambda r: (
            STATUS_ORDER[r.status],
            -len(r.flags),
            r.z if r.z is not None else math.inf,
            r.athlete,
        ),
    )


def markdown_table(rows: list[BoardRow], webserver_url: str = "") -> str:
    """The board as the asset's metadata: one line per athlete, a link to its forecast."""
    head = (
        "| athlete | status | recommendation | flags | last reading | normal range | "
        "7-day trend | CV | forecast |\n|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        link = f"{webserver_url}/assets/agent/agent_forecast?partition={r.athlete}"
        last = f"{r.last_reading_ms:g} ms ({r.last_reading_date})" if r.last_reading_ms else "-"
        normal = f"{r.normal_range_ms[0]:g}-{r.normal_range_ms[1]:g}" if r.normal_range_ms else "-"
        trend = f"{r.trend_7d_pct:+.0f}%" if r.trend_7d_pct is not None else "-"
        cv = f"{r.cv_7d_pct:.1f}%" if r.cv_7d_pct is not None else "-"
        fc = (
            f"{r.predicted_ms:g} ({r.interval_ms[0]:g}-{r.interval_ms[1]:g})"
            if r.predicted_ms is not None and r.interval_ms
            else "-"
        )
        flags = ", ".join(r.flags).replace("|", "/") or "-"
        lines.append(
            f"| [{html.escape(r.name)}]({link}) | **{r.status}** | {r.recommendation or '-'} "
            f"| {flags} | {last} | {normal} | {trend} | {cv} | {fc} |"
        )
    return "\n".join(lines)
