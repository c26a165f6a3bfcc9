"""What the forecast really achieved: an athlete's history replayed as it arrived.

For every evening D of the history, only what was known that evening is used (readings
up to the morning of D, journals up to D): the features are built, the model is selected
and fitted, and the morning of D+1 is forecast exactly as the pipeline would have done
that evening. The forecast is then compared with the reading that came on D+1. Nothing
of D+1 or later is ever seen, selection included: these are out-of-sample numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hrv.analytics.features import (
    build_daily_features,
    journal_frame,
    metric_of,
    readings_frame,
)
from hrv.analytics.models import (
    PERSISTENCE,
    ROLLING_7D,
    SelectionResult,
    fit_final,
    predict_next,
    select_model,
)
from hrv.analytics.selection import INTERVAL_LEVEL


@dataclass
class Evening:
    """One evening's forecast of the next morning, and what the morning brought."""

    for_date: str
    actual_ms: float
    model: str
    predicted_ms: float
    lower_ms: float
    upper_ms: float
    persistence_ms: float | None
    rolling_7d_ms: float | None

    @property
    def covered(self) -> bool:
        return self.lower_ms <= self.actual_ms <= self.upper_ms


@dataclass
class BacktestReport:
    """The contract's keys of ``hrv-sentinel backtest --json``, plus the evenings."""

    athlete: str
    metric: str
    n_days: int
    evaluated_days: int
    model_mae_ms: float | None
    persistence_mae_ms: float | None
    rolling_7d_mae_ms: float | None
    bias_ms: float | None
    interval_level: float
    interval_coverage: float | None
    models_used: dict[str, int] = field(default_factory=dict)
    evenings: list[Evening] = field(default_factory=list)

    def to_dict(self, with_evenings: bool = False) -> dict[str, Any]:
        out = asdict(self)
        out.pop("evenings")
        if with_evenings:
            out["evenings"] = [asdict(e) for e in self.evenings]
        return out


def _mae(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    errs = [abs(p - a) for p, a in pairs if p is not None and math.isfinite(p)]
    return round(float(np.mean(errs)), 3) if errs else None


def evenings_to_replay(
    readings: pd.DataFrame, valid_dates: set[pd.Timestamp], last: int | None
) -> list[pd.Timestamp]:
    """Evenings D whose next morning has a valid reading (the last ``last`` of them)."""
    days = sorted(d - pd.Timedelta(days=1) for d in valid_dates)
    first_data = readings["date"].min() if len(readings) else None
    days = [d for d in days if first_data is not None and d >= first_data]
    return days[-last:] if last else days


def replay(
    athlete: str,
    entries: list[dict[str, Any]],
    readings: list[dict[str, Any]],
    *,
    last: int | None = None,
    progress: Callable[[int], None] | None = None,
    rule: Any = None,
) -> BacktestReport:
    """Replay ``athlete``'s history evening by evening (see the module docstring).

    ``entries`` are the effective journal rows (``AthleteStore.effective_journal``),
    ``readings`` the stored readings (``AthleteStore.readings``)."""
    return replay_rules(athlete, entries, readings, (rule,), last=last, progress=progress)[0]


def replay_rules(
    athlete: str,
    entries: list[dict[str, Any]],
    readings: list[dict[str, Any]],
    rules: tuple[Any, ...],
    *,
    last: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[BacktestReport]:
    """``replay`` under several selection rules at once (one report per rule; ``None``:
    ours): the candidates are fitted once per evening and every rule chooses from them."""
    journal_all = journal_frame(entries)
    readings_all = readings_frame(readings)
    full = build_daily_features(journal_all, readings_all)
    metric = metric_of(full)
    valid = full[full["rmssd_valid"].astype(bool)] if len(full) else full
    actual = dict(zip(valid["date"], valid["rmssd_ms"], strict=True)) if len(valid) else {}
    reports = [
        BacktestReport(
            athlete=athlete,
            metric=metric,
            n_days=len(actual),
            evaluated_days=0,
            model_mae_ms=None,
            persistence_mae_ms=None,
            rolling_7d_mae_ms=None,
            bias_ms=None,
            interval_level=INTERVAL_LEVEL,
            interval_coverage=None,
        )
        for _ in rules
    ]
    for evening in evenings_to_replay(readings_all, set(actual), last):
        morning = evening + pd.Timedelta(days=1)
        frame = build_daily_features(
            journal_all[journal_all["date"] <= evening],
            readings_all[readings_all["date"] <= evening],
        )
        if progress:
            progress(1)
        if frame.empty:
            continue
        first: SelectionResult | None = None
        fitted: dict[str, Any] | None = None
        for rule, report in zip(rules, reports, strict=True):
            selection = select_model(frame, rule=rule, reuse=first)
            first = first or selection
            fitted = fit_final(frame, selection) if fitted is None else fitted
            for_date, preds = predict_next(frame, selection, fitted)
            chosen = preds.get(selection.selected_model)
            if for_date is None or chosen is None or for_date != morning:
                continue  # nothing forecast for that morning (no baseline yet, or a gap)
            base = {name: p.predicted_ms for name, p in preds.items()}
            report.evenings.append(
                Evening(
                    for_date=morning.date().isoformat(),
                    actual_ms=float(actual[morning]),
                    model=chosen.model,
                    predicted_ms=chosen.predicted_ms,
                    lower_ms=chosen.lower_ms,
                    upper_ms=chosen.upper_ms,
                    persistence_ms=base.get(PERSISTENCE),
                    rolling_7d_ms=base.get(ROLLING_7D),
                )
            )
    for report in reports:
        _summarize(report)
    return reports


def _summarize(report: BacktestReport) -> None:
    ev = report.evenings
    report.evaluated_days = len(ev)
    if not ev:
        return
    report.model_mae_ms = _mae((e.predicted_ms, e.actual_ms) for e in ev)
    report.persistence_mae_ms = _mae((e.persistence_ms, e.actual_ms) for e in ev)
    report.rolling_7d_mae_ms = _mae((e.rolling_7d_ms, e.actual_ms) for e in ev)
    report.bias_ms = round(float(np.mean([e.predicted_ms - e.actual_ms for e in ev])), 3)
    report.interval_coverage = round(sum(e.covered for e in ev) / len(ev), 3)
    for e in ev:
        report.models_used[e.model] = report.models_used.get(e.model, 0) + 1


def n_evenings(readings: list[dict[str, Any]], last: int | None) -> int:
    """How many evenings ``replay`` will look at (for a progress bar)."""
    dates = {dt.date.fromisoformat(str(r["date"])[:10]) for r in readings}
    n = len(dates)
    return min(n, last) if last else n
