"""How a model is chosen and how its numbers are kept honest.

- ``choose``: the default (the recent level moved by the journal's published effects)
  unless a candidate beat it on the same backtest days by a margin their number supports
  (paired absolute errors, one-sided t >= ``SELECTION_T``, at least
  ``MIN_SELECTION_DAYS`` days). ``lowest_mae`` is the stock rule, kept for the
  benchmark.
- ``conformal_offsets``: the 80% interval from percentiles of the most recent
  ``CONFORMAL_WINDOW`` out-of-sample errors (ln space), adaptive (Gibbs & Candes 2021,
  "Adaptive conformal inference under distribution shift"): each miss widens the next
  intervals a little, each hit narrows them, so the coverage stays near 80% when an
  athlete's errors grow or shrink.
- ``realised_summary``: what the procedure achieved out of sample (MAE, bias, the
  coverage each day's interval would have had), over its last ``RECENT_DAYS`` days.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

PERSISTENCE = "persistence"
ROLLING_7D = "rolling_7d"
LEVEL = "recent_level"  # exponentially weighted mean of recent nights (features.level_ln)
DEFAULT = "recent_level_journal"  # the recent level moved by the journal's published effects
INTERVAL_LEVEL = 0.80
MIN_RESIDUALS_FOR_QUANTILES = 20
Z_80 = 1.2816
DEFAULT_LN_SD = 0.12
SELECTION_T = 2.0  # a candidate must beat the default by ~2 standard errors
MIN_SELECTION_DAYS = 10  # fewer paired backtest days: the default stays
CONFORMAL_WINDOW = 90  # the most recent out-of-sample errors the interval is built from
ACI_GAMMA = 0.05  # how fast the interval adapts to its own misses
ACI_ALPHA_MIN, ACI_ALPHA_MAX = 0.02, 0.5  # never wider than the 1st-99th percentiles
RECENT_DAYS = 120  # the reported error: the procedure's over its most recent backtest days
BASELINES = (PERSISTENCE, ROLLING_7D)


def _quantile(ordered: list[float], q: float) -> float:
    """``np.quantile(ordered, q)`` (its default "linear" method, bit for bit) of a list
    already sorted: a few operations instead of a sort and an array per call."""
    h = (len(ordered) - 1) * q
    i = math.floor(h)
    t = h - i
    a = ordered[i]
    if t == 0 or i + 1 >= len(ordered):
        return a
    b = ordered[i + 1]
    d = b - a
    return b - d * (1 - t) if t >= 0.5 else a + d * t  # numpy's _lerp


def conformal_path(residuals: list[float], fallback_sd: float) -> list[tuple[float, float]]:
    """(low, high) ln offsets of the interval for each residual from the ones before it,
    and one more for the next forecast (``len(residuals) + 1`` pairs, oldest first).

    Split conformal on the last ``CONFORMAL_WINDOW`` errors, with the miscoverage level
    adapted after every day: ``alpha += ACI_GAMMA * (0.2 - missed)``. The window is kept
    sorted as it slides (a model's whole backtest costs ~1 ms, not ~30 ms)."""
    res = [float(r) for r in residuals if math.isfinite(r)]
    target = 1 - INTERVAL_LEVEL
    alpha = target
    ordered: list[float] = []  # the window, sorted
    out: list[tuple[float, float]] = []
    for i in range(len(res) + 1):
        if len(ordered) >= MIN_RESIDUALS_FOR_QUANTILES:
            a = min(max(alpha, ACI_ALPHA_MIN), ACI_ALPHA_MAX)
            lo, hi = _quantile(ordered, a / 2), _quantile(ordered, 1 - a / 2)
            pair = (min(lo, -0.01), max(hi, 0.01))
        else:
            window = res[max(0, i - CONFORMAL_WINDOW) : i]
            sd = float(np.std(window, ddof=1)) if len(window) >= 5 else fallback_sd
            sd = sd if math.isfinite(sd) and sd > 0 else DEFAULT_LN_SD
            pair = (-Z_80 * sd, Z_80 * sd)
        out.append(pair)
        if i == len(res):
            break
        if len(ordered) >= MIN_RESIDUALS_FOR_QUANTILES:
            missed = not pair[0] <= res[i] <= pair[1]
            alpha += ACI_GAMMA * (target - float(missed))
        bisect.insort(ordered, res[i])
        if i >= CONFORMAL_WINDOW:
            del ordered[bisect.bisect_left(ordered, res[i - CONFORMAL_WINDOW])]
    return out


def conformal_offsets(residuals: list[float], fallback_sd: float) -> tuple[float, float]:
    """(low, high) ln offsets of the next forecast's 80% interval (``conformal_path``)."""
    return conformal_path(residuals, fallback_sd)[-1]


def choose(abs_errors: dict[str, np.ndarray], allowed: tuple[str, ...]) -> tuple[str, str]:
    """(model, why) from paired absolute errors on the same backtest days: the recent level
    moved by the journal unless a candidate beats it by a margin the number of days
    supports."""
    default = DEFAULT if len(abs_errors.get(DEFAULT, [])) else ROLLING_7D
    label = "the recent level moved by the journal" if default == DEFAULT else "the 7-day mean"
    base = abs_errors.get(default)
    if base is None or not len(base):
        return PERSISTENCE, "no 7-day mean yet: the last reading"
    n = len(base)
    if n < MIN_SELECTION_DAYS:
        return default, f"{label}: {n} backtest days are too few to prefer another"
    winners: list[tuple[float, str, float]] = []
    for name in allowed:
        errs = abs_errors.get(name)
        if name == default or errs is None or len(errs) != n:
            continue
        gain = base - errs  # > 0 where the candidate was closer
        sd = float(np.std(gain, ddof=1))
        t = float(np.mean(gain)) / (sd / math.sqrt(n)) if sd > 0 else 0.0
        if np.mean(gain) > 0 and t >= SELECTION_T:
            winners.append((float(np.mean(errs)), name, t))
    if not winners:
        return default, (
            f"{label}: no candidate beat it by a margin {n} backtest days support "
            f"(t >= {SELECTION_T:g})"
        )
    mae, name, t = min(winners)
    return name, (
        f"{name}: beat {label} on {n} backtest days ({mae:.2f} vs "
        f"{float(np.mean(base)):.2f} ms, t = {t:.1f})"
    )


def lowest_mae(abs_errors: dict[str, np.ndarray], allowed: tuple[str, ...]) -> tuple[str, str]:
    """The stock rule, kept for comparison (``make bench``): the lowest backtest MAE wins."""
    scored = [(float(np.mean(abs_errors[c])), c) for c in allowed if len(abs_errors.get(c, []))]
    return (min(scored)[1], "lowest backtest MAE") if scored else (ROLLING_7D, "no backtest")


def realised_summary(pred_ln: np.ndarray, actual_ln: np.ndarray) -> dict[str, Any]:
    """The procedure's MAE, bias and the coverage of the 80% conformal interval each day
    would have had (built from the errors before it), all out of sample, over its most
    recent ``RECENT_DAYS`` backtest days (what it achieves now; ``mae_ms_all``: all)."""
    if not len(pred_ln):
        return {"mae_ms": None, "bias_ms": None, "interval_coverage": None, "n_days": 0}
    err_ms = np.exp(pred_ln) - np.exp(actual_ln)
    res = actual_ln - pred_ln
    path = conformal_path(res.tolist(), DEFAULT_LN_SD)
    hits = [
        path[i][0] <= res[i] <= path[i][1] for i in range(MIN_RESIDUALS_FOR_QUANTILES, len(res))
    ]
    recent = err_ms[-RECENT_DAYS:]
    return {
        "mae_ms": _r(float(np.mean(np.abs(recent)))),
        "bias_ms": _r(float(np.mean(recent))),
        "interval_coverage": round(float(np.mean(hits[-RECENT_DAYS:])), 3) if hits else None,
        "n_days": len(recent),
        "mae_ms_all": _r(float(np.mean(np.abs(err_ms)))),
        "n_days_all": len(err_ms),
    }


def _mae_ms(pred_ln: np.ndarray, actual_ln: np.ndarray) -> float:
    return float(np.mean(np.abs(np.exp(pred_ln) - np.exp(actual_ln))))


def score(
    preds: dict[str, np.ndarray], actual: np.ndarray, candidates: tuple[str, ...] = ()
) -> tuple[dict[str, float | None], dict[str, list[float]], dict[str, np.ndarray]]:
    """Each candidate's MAE (ms), ln residuals and absolute errors (ms) on the same days
    (the MAEs of candidates absent from ``preds``: None, when ``candidates`` are given)."""
    mae: dict[str, float | None] = dict.fromkeys(candidates)
    residuals: dict[str, list[float]] = {}
    abs_err: dict[str, np.ndarray] = {}
    for name, pred in preds.items():
        mae[name] = _mae_ms(pred, actual)
        residuals[name] = (actual - pred).tolist()
        abs_err[name] = np.abs(np.exp(pred) - np.exp(actual))
    return mae, residuals, abs_err


def realised_with_baselines(
    procedure: np.ndarray, actual: np.ndarray, preds: dict[str, np.ndarray]
) -> dict[str, Any]:
    """``realised_summary``, with the baselines over the same recent days beside it."""
    return realised_summary(procedure, actual) | {
        "baselines_mae_ms": {
            b: _r(_mae_ms(preds[b][-RECENT_DAYS:], actual[-RECENT_DAYS:])) for b in BASELINES
        }
    }


def _r(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 3)
