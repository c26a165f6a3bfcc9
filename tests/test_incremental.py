"""A new day extends the stored model instead of refitting it, and the numbers stay honest.

The history arrives day by day (features rebuilt from what was known each evening, as the
pipeline does); ``gold/hrv_model``'s ``train`` runs after each day."""

import math

import numpy as np
import pandas as pd
import pytest

from hrv.analytics.features import build_daily_features, journal_frame, readings_frame
from hrv.analytics.incremental import DRIFT_FACTOR, REFIT_AFTER_DAYS
from hrv.analytics.models import predict_next, select_model, training_rows
from hrv.steps.model import load_state, train
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.files import write_text_atomic


def history(n, seed=0, effect=0.04):
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-01", periods=n + 1, freq="D")
    alcohol = rng.choice([0, 0, 0, 1, 2, 4, 6], size=n + 1).astype(float)
    ln = math.log(60) - effect * np.r_[0, alcohol[:-1]] + rng.normal(0, 0.06, n + 1)
    journal = [
        {"date": d.date().isoformat(), "alcohol_units": float(a), "training": []}
        for d, a in zip(days[:n], alcohol[:n], strict=True)
    ]
    readings = [
        {"date": d.date().isoformat(), "metric": "rmssd", "value_ms": float(np.exp(x))}
        for d, x in zip(days, ln, strict=True)
    ]
    return journal, readings


class Athlete:
    """Features as the pipeline stores them (CSV), one evening at a time."""

    def __init__(self, tmp_path, journal, readings):
        self.data, self.name = tmp_path / "data", "ann"
        self.journal, self.readings = journal, readings
        self.store = AthleteStore(self.data, self.name)

    def evening(self, k):
        """What was known on evening k: journals of days < k+1, readings up to morning k."""
        frame = build_daily_features(
            journal_frame(self.journal[: k + 1]), readings_frame(self.readings[: k + 1])
        )
        self.store.dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(
            self.store.features_path, frame.to_csv(index=False, date_format="%Y-%m-%d")
        )
        return train(self.data, self.name)


def test_a_new_day_extends_the_backtest_without_refitting(tmp_path):
    journal, readings = history(120)
    ann = Athlete(tmp_path, journal, readings)
    _, first = ann.evening(90)
    assert first["refit"] and first["refit_reason"] == "no stored model yet"
    fitted = load_state(ann.data, ann.name)
    _, second = ann.evening(91)
    state = load_state(ann.data, ann.name)
    assert not second["refit"] and second["days_since_fit"] == 1
    assert state.fitted_at == fitted.fitted_at
    assert state.selection.n_backtest == fitted.selection.n_backtest + 1
    # the new backtest day is forecast by the models fitted before it: out of sample
    new_row = training_rows(pd.read_csv(ann.store.features_path, parse_dates=["date"])).iloc[-1:]
    assert state.selection.backtest["date"].iloc[-1] == new_row["date"].iloc[0]
    before, after = fitted.fitted["ridge"].coef, state.fitted["ridge"].coef
    assert np.array_equal(before, after), "the models were not refitted"


def test_the_backtest_holds_the_forecast_that_was_published_that_evening(tmp_path):
    """The honesty of model_mae_ms: for each day added without a refit, the procedure's
    backtest forecast is exactly what the selected model forecast the evening before."""
    journal, readings = history(110, seed=3)
    ann = Athlete(tmp_path, journal, readings)
    published = {}
    for k in range(80, 86):
        ann.evening(k)
        state = load_state(ann.data, ann.name)
        frame = pd.read_csv(ann.store.features_path, parse_dates=["date"])
        for_date, preds = predict_next(frame, state.selection, state.fitted)
        published[for_date] = math.log(preds[state.selection.selected_model].predicted_ms)
    bt = state.selection.backtest
    checked = 0
    for _, row in bt.tail(5).iterrows():
        morning = pd.Timestamp(row["date"]) + pd.Timedelta(days=1)
        if morning in published:
            assert row["procedure"] == pytest.approx(published[morning], abs=1e-9)
            checked += 1
    assert checked == 5


def test_models_are_fitted_again_after_enough_new_days(tmp_path):
    journal, readings = history(120, seed=1)
    ann = Athlete(tmp_path, journal, readings)
    ann.evening(80)
    reasons = [ann.evening(k)[1] for k in range(81, 81 + REFIT_AFTER_DAYS)]
    assert [m["refit"] for m in reasons] == [False] * (REFIT_AFTER_DAYS - 1) + [True]
    assert (
        reasons[-1]["refit_reason"] == f"{REFIT_AFTER_DAYS} new days since the models were fitted"
    )
    # a refit at day 87 gives the same selection as a fresh selection on that day
    frame = pd.read_csv(ann.store.features_path, parse_dates=["date"])
    fresh = select_model(frame)
    state = load_state(ann.data, ann.name)
    assert state.selection.selected_model == fresh.selected_model
    assert state.selection.realised == fresh.realised


def test_a_corrected_earlier_day_refits(tmp_path):
    journal, readings = history(100, seed=2)
    ann = Athlete(tmp_path, journal, readings)
    ann.evening(80)
    ann.journal = [dict(j) for j in journal]
    ann.journal[40]["alcohol_units"] = 9.0  # a correction of a day long seen
    _, metrics = ann.evening(81)
    assert metrics["refit"] and "days already seen changed" in metrics["refit_reason"]


def test_drift_refits(tmp_path):
    """The athlete's nights drop by half (illness, a new device): the forecasts since the
    last fit miss by far more than usual and the models are fitted again at once."""
    journal, readings = history(100, seed=4)
    readings = [dict(r) for r in readings]
    for r in readings[82:]:
        r["value_ms"] *= 0.45
    ann = Athlete(tmp_path, journal, readings)
    ann.evening(80)
    seen = [ann.evening(k)[1] for k in range(81, 86)]
    drift = [m for m in seen if m["refit"]]
    assert drift and drift[0]["refit_reason"].startswith("drift:")
    assert f"{DRIFT_FACTOR:g}x" in drift[0]["refit_reason"]


def test_an_old_or_damaged_state_is_rebuilt(tmp_path):
    journal, readings = history(90)
    ann = Athlete(tmp_path, journal, readings)
    ann.evening(80)
    ann.store.model_path.write_bytes(b"\x80\x04not a pickle")
    _, metrics = ann.evening(81)
    assert metrics["refit"] and metrics["refit_reason"] == "no stored model yet"


def test_the_evenings_journal_alone_changes_no_model(tmp_path):
    """The journal of the latest evening arrives before the next morning's reading: no
    training day is added, the stored models stand, tomorrow's forecast uses the journal."""
    journal, readings = history(100, seed=5)
    ann = Athlete(tmp_path, journal, readings)
    ann.readings = readings[:81]  # mornings up to day 80
    ann.journal = journal[:80]  # the journal of evening 80 has not arrived yet
    ann.evening(80)
    before = load_state(ann.data, ann.name)
    ann.journal = journal[:81]
    _, metrics = ann.evening(80)
    after = load_state(ann.data, ann.name)
    assert not metrics["refit"] and metrics["days_since_fit"] == 0
    assert after.selection.n_backtest == before.selection.n_backtest
    assert after.fitted_at == before.fitted_at


def test_stored_models_predict_exactly_like_scikit_learn_with_missing_values(tmp_path):
    from hrv.analytics.compiled import LinearPredictor, TreesPredictor
    from hrv.analytics.incremental import compile_fitted
    from hrv.analytics.learners import RIDGE, TREES
    from hrv.analytics.models import _fit, _x

    journal, readings = history(150, seed=6)
    frame = build_daily_features(journal_frame(journal), readings_frame(readings))
    rows = training_rows(frame)
    fitted = {name: _fit(name, rows) for name in (RIDGE, TREES)}
    stored = compile_fitted(frame, fitted)
    assert isinstance(stored[RIDGE], LinearPredictor)
    assert isinstance(stored[TREES], TreesPredictor)
    x = _x(rows)
    x[np.random.default_rng(0).random(x.shape) < 0.3] = np.nan  # days with fields left out
    for name in (RIDGE, TREES):
        assert np.array_equal(stored[name].predict(x), fitted[name].predict(x))


def test_a_morning_without_refit_imports_no_scikit_learn(tmp_path):
    """The single-athlete path pays only for what it needs: a fresh process (as a run
    worker is) extends the model and forecasts tomorrow without importing either."""
    import subprocess
    import sys
    import textwrap

    journal, readings = history(100, seed=7)
    ann = Athlete(tmp_path, journal, readings)
    ann.evening(80)
    ann.journal, ann.readings = journal[:82], readings[:82]
    frame = build_daily_features(journal_frame(ann.journal), readings_frame(ann.readings))
    write_text_atomic(ann.store.features_path, frame.to_csv(index=False, date_format="%Y-%m-%d"))
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from hrv.steps.model import train
        from hrv.steps.predictions import compute_predictions
        _, metrics = train(Path({str(ann.data)!r}), "ann")
        out = compute_predictions(Path({str(ann.data)!r}), "ann")
        assert not metrics["refit"], metrics["refit_reason"]
        assert out["predictions"], out
        loaded = sorted(m for m in ("sklearn", "matplotlib", "scipy") if m in sys.modules)
        print("loaded:", loaded, len(out["predictions"]))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "loaded: [] 7" in done.stdout, done.stdout
