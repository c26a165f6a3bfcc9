"""Every check rule passes on good data and fails on crafted bad data; recommendations."""

import math

import numpy as np
import pandas as pd
import pytest

from hrv.analytics import quality
from hrv.analytics.recommend import recommend


def test_journal_schema_pass_and_fail():
    good = [{"date": "2026-01-01", "athlete": "ann", "mood": 3}]
    assert quality.journal_schema(good).passed
    bad = [*good, {"date": "2026-01-02", "athlete": "ann", "mood": 9}]
    out = quality.journal_schema(bad)
    assert not out.passed and "mood" in out.verdict and out.metadata["invalid"]


def _version(i, day, sha, supersedes):
    return {
        "version": i,
        "date": day,
        "entry_sha": sha,
        "supersedes": supersedes,
        "entry": {"date": day},
    }


def test_one_entry_per_day_pass_and_fail():
    ok = [_version(1, "2026-01-01", "a", None), _version(2, "2026-01-01", "b", "a")]
    out = quality.one_entry_per_day(ok)
    assert out.passed and out.metadata["n_corrections"] == 1
    dup = [_version(1, "2026-01-01", "a", None), _version(2, "2026-01-01", "b", None)]
    out = quality.one_entry_per_day(dup)
    assert not out.passed and "two entries claim the same day" in out.verdict
    gap = [_version(1, "2026-01-01", "a", None), _version(3, "2026-01-02", "b", None)]
    assert not quality.one_entry_per_day(gap).passed


def test_rmssd_plausible_pass_and_fail():
    rows = [
        {"date": "2026-01-01", "metric": "rmssd", "value_ms": "50", "source_file": "x"},
        {"date": "2026-01-01", "metric": "sdnn", "value_ms": "900", "source_file": "y"},
    ]
    assert quality.rmssd_plausible(rows).passed  # SDNN is not judged by the rMSSD range
    rows.append({"date": "2026-01-02", "metric": "rmssd", "value_ms": "700", "source_file": "x"})
    out = quality.rmssd_plausible(rows)
    assert not out.passed and "700" in out.verdict


def _frame(n, rmssd_every=1, journal_every=1, baseline_last=True):
    f = pd.DataFrame({"date": pd.date_range("2026-01-01", periods=n)})
    f["rmssd_valid"] = [i % rmssd_every == 0 for i in range(n)]
    f["has_journal"] = [i % journal_every == 0 for i in range(n)]
    f["baseline_7d_ln"] = 4.0
    if not baseline_last:
        f.loc[n - 1, "baseline_7d_ln"] = np.nan
    return f


def test_feature_completeness_pass_and_fail():
    assert quality.feature_completeness(_frame(40)).passed
    out = quality.feature_completeness(_frame(40, journal_every=3))
    assert not out.passed and "journals on" in out.verdict
    assert not quality.feature_completeness(_frame(40, baseline_last=False)).passed
    assert not quality.feature_completeness(_frame(0)).passed


def test_model_vs_persistence():
    m = {
        "selected_model": "ridge",
        "cold_start": False,
        "n_days": 100,
        "candidates": {
            "persistence": {"mae_ms": 6.0},
            "rolling_7d": {"mae_ms": 5.5},
            "ridge": {"mae_ms": 5.0},
            "tree_ensemble": {"mae_ms": 5.2},
        },
    }
    assert quality.model_beats_persistence(m).passed
    m["selected_model"] = "persistence"
    assert not quality.model_beats_persistence(m).passed


def _preds(mid=50.0, lo=45.0, hi=55.0):
    return {
        "for_date": "2026-01-02",
        "predictions": [
            {
                "model": "ridge",
                "predicted_rmssd_ms": mid,
                "lower_ms": lo,
                "upper_ms": hi,
                "selected": True,
            }
        ],
    }


@pytest.mark.parametrize(
    ("doc", "passed"),
    [
        (_preds(), True),
        (_preds(mid=650, lo=600, hi=700), False),
        (_preds(mid=1.5, lo=1, hi=4), False),
        (_preds(mid=50, lo=52, hi=55), False),
        (_preds(mid=math.nan), False),
        ({"for_date": None, "predictions": []}, False),
        ({"for_date": "2026-01-02", "predictions": [], "no_forecast_reason": "no readings"}, True),
    ],
)
def test_prediction_in_range(doc, passed):
    assert quality.prediction_in_range(doc).passed is passed


def test_reconciliation_coverage():
    assert quality.reconciliation_coverage({"n_reconciled": 3, "interval_coverage": 0.0}).passed
    assert quality.reconciliation_coverage({"n_reconciled": 20, "interval_coverage": 0.8}).passed
    out = quality.reconciliation_coverage({"n_reconciled": 20, "interval_coverage": 0.4})
    assert not out.passed and "overconfident" in out.verdict


def test_agent_forecast_contract():
    doc = {k: 1 for k in quality.AGENT_FORECAST_KEYS} | {
        "recommendation": "rest",
        "reasons": ["ill"],
    }
    assert quality.agent_forecast_contract(doc).passed
    assert not quality.agent_forecast_contract(doc | {"recommendation": "party"}).passed
    assert not quality.agent_forecast_contract(doc | {"reasons": []}).passed
    missing = dict(doc)
    missing.pop("interval_ms")
    assert not quality.agent_forecast_contract(missing).passed


BASE = dict(
    normal_mean_ln=math.log(60),
    normal_sd_ln=0.1,
    baseline_ms=60.0,
    normal_lo_ms=60 * math.exp(-0.05),
    cv_7d_pct=6.0,
    acwr=1.0,
    illness=False,
    alcohol_units=0.0,
    sleep_hours=7.5,
    cold_start=False,
)


@pytest.mark.parametrize(
    ("pred", "changes", "expected"),
    [
        (60, {}, "train_hard"),
        (56, {}, "train_easy"),  # z = -0.69
        (50, {}, "rest"),  # z = -1.8
        (60, {"illness": True}, "rest"),
        (60, {"acwr": 1.7}, "train_moderate"),
        (60, {"cv_7d_pct": 20.0}, "train_moderate"),
        (60, {"acwr": 1.7, "cv_7d_pct": 20.0}, "train_easy"),
        (60, {"baseline_ms": 50.0}, "train_moderate"),
        (60, {"normal_sd_ln": None}, "train_moderate"),
        # the journal's words cap the day: never "train hard" beside "5 drinks lower HRV"
        (60, {"alcohol_units": 5.0}, "train_moderate"),
        (60, {"sleep_hours": 5.0, "cold_start": True}, "train_moderate"),
    ],
)
def test_recommendations(pred, changes, expected):
    level, reasons = recommend(predicted_ms=pred, **(BASE | changes))
    assert level == expected
    assert reasons


def test_the_numbers_shown_say_what_the_words_say():
    """A 46.6 ms forecast against a 46.7-53 ms range is below it: not "47 vs 47-53"."""
    mean, sd = (math.log(46.7) + math.log(53.0)) / 2, math.log(53.0) - math.log(46.7)
    _, reasons = recommend(
        predicted_ms=46.6, **(BASE | {"normal_mean_ln": mean, "normal_sd_ln": sd})
    )
    assert reasons[0] == "forecast below normal range (46.6 ms vs normal range 46.7-53.0 ms)"


def test_advice_is_one_plain_sentence_with_its_reason():
    from hrv.analytics.recommend import advice

    level, reasons = recommend(predicted_ms=60, **(BASE | {"alcohol_units": 5.0}))
    text = advice(level, reasons)
    assert text.startswith("Train at a moderate effort today: forecast within normal range (")
    assert text.endswith(".") and text.count(".") <= 3


def test_reasons_cite_numbers():
    _, reasons = recommend(
        predicted_ms=50, **(BASE | {"alcohol_units": 5.0, "sleep_hours": 5.0, "cold_start": True})
    )
    text = " ".join(reasons)
    assert "5 drinks" in text and "short sleep (5 h)" in text and "cold start" in text
    assert "50 ms" in text
