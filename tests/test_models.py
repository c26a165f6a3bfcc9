"""Model selection: walk-forward backtest, cold start, baselines, intervals."""

import math

import numpy as np
import pandas as pd
import pytest

from hrv.analytics import quality
from hrv.analytics.features import build_daily_features, journal_frame, readings_frame
from hrv.analytics.models import (
    BASELINES,
    CANDIDATES,
    COLD_START_DAYS,
    MIN_TRAIN_ROWS,
    PERSISTENCE,
    ROLLING_7D,
    fit_final,
    predict_next,
    select_model,
)


def make_frame(n, *, effect=0.0, walk=False, seed=0):
    """n days; alcohol lowers next-morning ln rMSSD by ``effect`` per unit."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-01", periods=n + 1, freq="D")
    alcohol = rng.choice([0, 0, 0, 1, 2, 4, 6], size=n + 1).astype(float)
    ln = np.empty(n + 1)
    ln[0] = math.log(60)
    for i in range(1, n + 1):
        base = ln[i - 1] if walk else math.log(60)
        ln[i] = base - effect * alcohol[i - 1] + rng.normal(0, 0.12 if walk else 0.05)
    j = [
        {"date": d.date().isoformat(), "alcohol_units": float(a), "training": []}
        for d, a in zip(days[:n], alcohol[:n], strict=True)
    ]
    r = [
        {
            "date": d.date().isoformat(),
            "metric": "rmssd",
            "value_ms": float(np.exp(x)),
            "resting_hr_bpm": None,
            "source_format": "t",
        }
        for d, x in zip(days, ln, strict=True)
    ]
    return build_daily_features(journal_frame(j), readings_frame(r))


def test_cold_start_below_14_days_uses_baseline_and_says_so():
    frame = make_frame(COLD_START_DAYS - 3)
    sel = select_model(frame)
    assert sel.cold_start and sel.selected_model == ROLLING_7D
    metrics = sel.training_metrics("ann")
    assert metrics["cold_start"] is True and "baseline only" in metrics["cold_start_reason"]
    assert metrics["candidates"]["ridge"]["mae_ms"] is None
    assert set(metrics["baselines"]) == set(BASELINES)
    assert quality.model_beats_persistence(metrics).passed  # cold start is not a failure


def test_learned_model_wins_when_the_journal_carries_signal():
    frame = make_frame(200, effect=0.08, seed=1)
    sel = select_model(frame)
    assert not sel.cold_start
    assert sel.selected_model in ("ridge", "tree_ensemble")
    assert sel.mae_ms[sel.selected_model] < sel.mae_ms[PERSISTENCE]
    assert sel.mae_ms[sel.selected_model] < sel.mae_ms[ROLLING_7D]
    assert sel.n_backtest == sel.n_train_rows - MIN_TRAIN_ROWS
    assert set(sel.mae_ms) == set(CANDIDATES)
    assert quality.model_beats_persistence(sel.training_metrics("ann")).passed


def test_random_walk_persistence_wins_and_the_check_warns():
    frame = make_frame(200, walk=True, seed=2)
    sel = select_model(frame)
    assert sel.selected_model == PERSISTENCE
    outcome = quality.model_beats_persistence(sel.training_metrics("ann"))
    assert not outcome.passed and "no model beats persistence" in outcome.verdict


def test_walk_forward_only_trains_on_the_past():
    """Changing the last fold's targets must not change that fold's backtest predictions."""
    frame = make_frame(120, effect=0.08, seed=3)
    a = select_model(frame, max_folds=4)
    tampered = frame.copy()
    last_dates = a.backtest["date"].iloc[-5:]
    mask = tampered["date"].isin(last_dates)
    tampered.loc[mask, "target_ln"] = tampered.loc[mask, "target_ln"] + 1.0
    b = select_model(tampered, max_folds=4)
    for name in ("ridge", "tree_ensemble"):
        np.testing.assert_allclose(a.backtest[name].iloc[-5:], b.backtest[name].iloc[-5:])
    assert not np.allclose(a.backtest["actual_ln"].iloc[-5:], b.backtest["actual_ln"].iloc[-5:])


def test_predict_next_gives_ordered_intervals_for_tomorrow():
    frame = make_frame(120, effect=0.08, seed=4)
    sel = select_model(frame)
    fitted = fit_final(frame, sel)
    for_date, preds = predict_next(frame, sel, fitted)
    assert for_date == frame["date"].iloc[-1] + pd.Timedelta(days=1)
    assert set(preds) == set(CANDIDATES)
    for p in preds.values():
        assert 5 < p.lower_ms < p.predicted_ms < p.upper_ms < 300


def test_interval_from_residual_quantiles_covers_about_80_percent_in_backtest():
    frame = make_frame(300, effect=0.08, seed=5)
    sel = select_model(frame)
    lo, hi = sel.interval_offsets(sel.selected_model, 0.1)
    res = np.asarray(sel.residuals[sel.selected_model])
    coverage = np.mean((res >= lo) & (res <= hi))
    assert 0.75 <= coverage <= 0.85


def test_empty_frame():
    frame = make_frame(1)
    sel = select_model(frame.iloc[0:0])
    assert sel.cold_start and sel.n_train_rows == 0
    assert predict_next(frame.iloc[0:0], sel, {}) == (None, {})


@pytest.mark.parametrize("n", [15, 16, 20])
def test_just_above_cold_start(n):
    sel = select_model(make_frame(n + 8, effect=0.05, seed=n))
    assert sel.selected_model in CANDIDATES
