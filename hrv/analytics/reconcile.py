"""Reconciliation: registered forecasts against the readings that later arrived.

For each forecast day the last forecast registered for it is scored (a correction made
the evening before replaces an earlier forecast for the same morning). Reported for the
selected model, each baseline and the athlete's own guess, over the last 7 and 28 days
(counted back from the newest reconciled day) and over all days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from hrv.analytics.features import finite_or_none, is_plausible_rmssd
from hrv.storage.registry import BASELINE, SELECTED

WINDOWS = {"last_7": 7, "last_28": 28, "all": None}


def _stats(pairs: Sequence[tuple[float, float, float | None, float | None]]) -> dict[str, Any]:
    """pairs: (predicted, actual, lower, upper)."""
    if not pairs:
        return {"n": 0, "mae_ms": None, "bias_ms": None, "interval_coverage": None}
    errors = [p - a for p, a, _, _ in pairs]
    with_interval = [(a, lo, hi) for _, a, lo, hi in pairs if lo is not None and hi is not None]
    coverage = (
        sum(1 for a, lo, hi in with_interval if lo <= a <= hi) / len(with_interval)
        if with_interval
        else None
    )
    return {
        "n": len(pairs),
        "mae_ms": finite_or_none(sum(abs(e) for e in errors) / len(errors), 3),
        "bias_ms": finite_or_none(sum(errors) / len(errors), 3),
        "interval_coverage": finite_or_none(coverage, 3),
    }


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None


def reconcile(
    athlete: str,
    registry_rows: list[dict[str, str]],
    actuals: dict[str, float],
    metric: str = "rmssd",
) -> dict[str, Any]:
    """Score forecasts whose morning has a plausible reading in the athlete's metric.

    ``actuals`` maps ISO date -> the measured value (ms) in ``metric``; forecasts made in
    another metric (before an rMSSD source arrived) are never scored against it. Returns
    the contract's ``reconciliation.json`` with per-window details under ``windows``.
    """
    last: dict[tuple[str, str, str], dict[str, str]] = {}
    for row in registry_rows:
        if (row.get("metric") or "rmssd") != metric:
            continue
        last[(row["for_date"], row["role"], row["model"])] = row
    scored: dict[str, list[tuple[str, float, float, float | None, float | None]]] = {}
    guesses: list[tuple[str, float, float]] = []
    for (day, role, model), row in sorted(last.items()):
        actual = actuals.get(day)
        pred = _num(row.get("predicted_rmssd_ms"))
        if actual is None or pred is None or not is_plausible_rmssd(actual):
            continue
        name = "model" if role == SELECTED else model if role == BASELINE else None
        if name is None:
            continue
        scored.setdefault(name, []).append(
            (day, pred, actual, _num(row.get("lower_ms")), _num(row.get("upper_ms")))
        )
        guess = _num(row.get("user_guess_ms"))
        if role == SELECTED and guess is not None:
            guesses.append((day, guess, actual))

    model_days = [d for d, *_ in scored.get("model", [])]
    newest = max(model_days) if model_days else None
    windows: dict[str, Any] = {}
    for wname, length in WINDOWS.items():
        since = None
        if newest is not None and length is not None:
            since = (dt.date.fromisoformat(newest) - dt.timedelta(days=length - 1)).isoformat()

        def keep(day: str, since: str | None = since) -> bool:
            return since is None or day >= since

        block: dict[str, Any] = {}
        for name, rows in scored.items():
            block[name] = _stats([(p, a, lo, hi) for d, p, a, lo, hi in rows if keep(d)])
        g = [(p, a, None, None) for d, p, a in guesses if keep(d)]
        block["user_guess"] = _stats(g)
        windows[wname] = block

    overall = windows["all"]
    model = overall.get("model", _stats([]))
    baselines = {k: v["mae_ms"] for k, v in overall.items() if k not in ("model", "user_guess")}
    return {
        "athlete": athlete,
        "metric": metric,
        "n_reconciled": model["n"],
        "mae_ms": model["mae_ms"],
        "bias_ms": model["bias_ms"],
        "interval_coverage": model["interval_coverage"],
        "user_guess_mae_ms": overall["user_guess"]["mae_ms"],
        "baseline_mae_ms": baselines,
        "newest_reconciled_date": newest,
        "windows": windows,
    }


def reconstructed_stats(rows: list[dict[str, str]]) -> dict[str, Any]:
    """The reconstructed forecasts (``reconstructed_forecasts.csv``) scored the same way,
    reported apart from the live ones: what day one can already say."""
    pairs = []
    for row in rows:
        p, a = _num(row.get("predicted_ms")), _num(row.get("actual_ms"))
        if p is None or a is None:
            continue
        pairs.append((p, a, _num(row.get("lower_ms")), _num(row.get("upper_ms"))))
    days = sorted(r["for_date"] for r in rows if r.get("for_date"))
    return _stats(pairs) | {
        "first_date": days[0] if days else None,
        "last_date": days[-1] if days else None,
        "method": "each evening's forecast re-made out of sample (walk-forward: trained on "
        "earlier days only, model chosen on earlier errors only); never in the live registry",
    }
