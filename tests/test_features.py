"""Feature formulas against hand-computed values, and proof of no look-ahead."""

import math

import numpy as np
import pandas as pd
import pytest

from hrv.analytics.features import (
    MODEL_FEATURES,
    build_daily_features,
    hand_ewma,
    journal_frame,
    readings_frame,
)


def readings(values, start="2026-01-01", metric="rmssd"):
    days = pd.date_range(start, periods=len(values), freq="D")
    return readings_frame(
        {
            "date": d.date().isoformat(),
            "metric": metric,
            "value_ms": v,
            "resting_hr_bpm": None,
            "source_format": "test",
        }
        for d, v in zip(days, values, strict=True)
        if v is not None
    )


def journals(rows):
    return journal_frame(rows)


def test_baseline_needs_three_valid_days_and_is_mean_of_ln():
    f = build_daily_features(journals([]), readings([50, 55, 60, 65]))
    assert math.isnan(f.loc[1, "baseline_7d_ln"])  # only two valid days
    expected = (math.log(50) + math.log(55) + math.log(60)) / 3
    assert f.loc[2, "baseline_7d_ln"] == pytest.approx(expected)
    assert f.loc[2, "baseline_7d_ms"] == pytest.approx(math.exp(expected))


def test_rolling_window_is_seven_calendar_days_with_gaps():
    # day 0..9 with a missing day 3; on day 9 the window is days 3..9 -> 6 valid values
    vals = [40, 42, 44, None, 46, 48, 50, 52, 54, 56]
    f = build_daily_features(journals([]), readings(vals))
    window = [46, 48, 50, 52, 54, 56]
    assert f.loc[9, "baseline_7d_ln"] == pytest.approx(np.mean(np.log(window)))
    assert f.loc[9, "n_valid_7d"] == 6
    assert f.loc[3, "has_rmssd"] == False  # noqa: E712 - numpy bool


def test_cv_is_sd_over_mean_of_raw_rmssd_in_percent():
    vals = [50, 60, 70]
    f = build_daily_features(journals([]), readings(vals))
    assert f.loc[2, "cv_7d_pct"] == pytest.approx(100 * np.std(vals, ddof=1) / np.mean(vals))


def test_normal_range_is_60_day_mean_plus_minus_half_sd_of_ln():
    vals = [50, 52, 48, 55, 60, 45, 51, 53]
    f = build_daily_features(journals([]), readings(vals))
    assert math.isnan(f.loc[5, "normal_mean_ln"])  # needs 7 valid days
    ln = np.log(vals)
    m, sd = ln.mean(), ln.std(ddof=1)
    assert f.loc[7, "normal_lo_ms"] == pytest.approx(math.exp(m - 0.5 * sd))
    assert f.loc[7, "normal_hi_ms"] == pytest.approx(math.exp(m + 0.5 * sd))


def test_an_artefact_is_flagged_against_the_athletes_own_nights_and_real_extremes_kept():
    """A 5 ms night in a 50 ms athlete is an artefact (it used to flip train_hard to rest
    and drag the forecasts down for six days); a high-HRV athlete's 314 ms night is real."""
    base = [50 + (i % 5) for i in range(30)]
    f = build_daily_features(journals([]), readings([*base, 5, 52, 700, 1]))
    assert list(f["rmssd_valid"])[-4:] == [False, True, False, False]
    assert bool(f["artefact"].iloc[30]) and f["artefact_z"].iloc[30] < -4.5
    assert f["baseline_7d_ms"].iloc[31] > 49  # the artefact does not drag the baseline
    high = [260 + (i % 7) * 8 for i in range(30)]
    g = build_daily_features(journals([]), readings([*high, 314]))
    assert bool(g["rmssd_valid"].iloc[-1]) and not bool(g["artefact"].iloc[-1])
    # a lasting change of level (real: TheOneRichy's nights went from ~13 to ~50 ms in
    # April 2024) is kept from its second night: only a lone night is an artefact
    shift = build_daily_features(
        journals([]), readings([*[13 + i % 3 for i in range(30)], 50, 48, 52, 55])
    )
    assert list(shift["artefact"])[-4:] == [True, False, False, False]
    # too little history to judge: only the absolute bounds (2-600 ms) apply
    h = build_daily_features(journals([]), readings([50, 2, 55, 400, 1]))
    assert list(h["rmssd_valid"]) == [True, True, True, True, False]


def test_sdnn_is_its_own_column_and_never_feeds_rmssd_features():
    r = pd.concat([readings([50, 55, 60]), readings([90, 90, 90], metric="sdnn")])
    f = build_daily_features(journals([]), r)
    assert list(f["sdnn_ms"]) == [90, 90, 90]
    assert f.loc[2, "baseline_7d_ln"] == pytest.approx(np.mean(np.log([50, 55, 60])))


def test_training_load_ewma_and_acwr_hand_computed():
    rows = [
        {"date": "2026-01-01", "training": [{"type": "run", "minutes": 50, "rpe": 2}]},  # 100
        {"date": "2026-01-02", "training": []},  # 0
        {
            "date": "2026-01-03",
            "training": [
                {"type": "a", "minutes": 20, "rpe": 5},
                {"type": "b", "minutes": 20, "rpe": 5},
            ],
        },  # 200
    ]
    f = build_daily_features(journals(rows), readings([50, 50, 50]))
    assert list(f["load_au"]) == [100, 0, 200]
    # acute span 7: lambda = 0.25 -> 100, 75, 0.25*200 + 0.75*75 = 106.25
    assert list(f["acute_load"]) == pytest.approx([100, 75, 106.25])
    lam = 2 / 29
    c1 = (1 - lam) * 100
    c2 = lam * 200 + (1 - lam) * c1
    assert list(f["chronic_load"]) == pytest.approx([100, c1, c2])
    assert f.loc[2, "acwr"] == pytest.approx(106.25 / c2)
    assert hand_ewma([100, 0, 200], 7) == pytest.approx([100, 75, 106.25])


def test_days_without_journal_count_as_zero_load():
    rows = [
        {"date": "2026-01-01", "training": [{"minutes": 60, "rpe": 5}]},
        {"date": "2026-01-03", "training": [{"minutes": 60, "rpe": 5}]},
    ]
    f = build_daily_features(journals(rows), readings([50, 50, 50]))
    assert list(f["load_au"]) == [300, 0, 300]
    assert list(f["has_journal"]) == [True, False, True]


def test_target_is_next_morning():
    f = build_daily_features(journals([]), readings([50, 55, 60]))
    assert f.loc[0, "target_ln"] == pytest.approx(math.log(55))
    assert f.loc[1, "target_rmssd_ms"] == 60
    assert math.isnan(f.loc[2, "target_ln"])


def test_journal_fields_are_typed():
    rows = [
        {
            "date": "2026-01-01",
            "late_meal": True,
            "illness": False,
            "alcohol_units": 3,
            "hrv_guess_ms": 55,
        }
    ]
    f = build_daily_features(journals(rows), readings([50]))
    assert f.loc[0, "late_meal"] == 1.0 and f.loc[0, "illness"] == 0.0
    assert f.loc[0, "alcohol_units"] == 3.0 and math.isnan(f.loc[0, "travel"])


def _random_history(seed, n=150):
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-01", periods=n, freq="D")
    j = []
    for d in days:
        if rng.random() < 0.9:
            j.append(
                {
                    "date": d.date().isoformat(),
                    "sleep_hours": float(rng.uniform(4, 9)),
                    "alcohol_units": float(rng.integers(0, 5)),
                    "stress": int(rng.integers(1, 6)),
                    "illness": bool(rng.random() < 0.05),
                    "training": [
                        {"minutes": float(rng.integers(0, 120)), "rpe": float(rng.integers(0, 10))}
                    ],
                }
            )
    vals = [float(np.exp(rng.normal(4, 0.2))) if rng.random() < 0.92 else None for _ in days]
    return j, vals


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_look_ahead_features_for_day_d_use_nothing_after_d(seed):
    """Recompute with everything after D replaced by other data: rows <= D are unchanged."""
    j, vals = _random_history(seed)
    full = build_daily_features(journals(j), readings(vals))
    rng = np.random.default_rng(seed + 100)
    feature_cols = [c for c in full.columns if c not in ("target_ln", "target_rmssd_ms")]
    for cut in (20, 61, 100, 140):
        cut_date = full.loc[cut, "date"]
        j_other = [e for e in j if pd.Timestamp(e["date"]) <= cut_date] + [
            {
                "date": (cut_date + pd.Timedelta(days=k)).date().isoformat(),
                "alcohol_units": 20.0,
                "training": [{"minutes": 600, "rpe": 10}],
            }
            for k in range(1, 30)
        ]
        vals_other = vals[: cut + 1] + [
            float(rng.uniform(5, 300)) for _ in range(len(vals) - cut - 1)
        ]
        other = build_daily_features(journals(j_other), readings(vals_other))
        left = full.loc[:cut, feature_cols].reset_index(drop=True)
        right = other.loc[:cut, feature_cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_dtype=False)
        # and the truncated history gives the same rows too
        trunc = build_daily_features(
            journals([e for e in j if pd.Timestamp(e["date"]) <= cut_date]),
            readings(vals[: cut + 1]),
        )
        pd.testing.assert_frame_equal(
            trunc[feature_cols].reset_index(drop=True), left, check_dtype=False
        )


def test_model_features_exist():
    j, vals = _random_history(5, n=30)
    f = build_daily_features(journals(j), readings(vals))
    assert set(MODEL_FEATURES) <= set(f.columns)


def _artefacts_by_numpy(values):
    """The artefact rule as first written: np.median on each night's window."""
    import math

    from hrv.analytics import features as f

    ln = np.log(values.to_numpy(dtype=float))
    z, flag, history, previous = np.full(len(ln), np.nan), np.zeros(len(ln), bool), [], 0
    for i, x in enumerate(ln):
        if not math.isfinite(x):
            previous = 0
            continue
        side = 0
        if len(history) >= f.ARTEFACT_MIN_HISTORY:
            recent = np.asarray(history[-f.ARTEFACT_WINDOW :])
            med = float(np.median(recent))
            mad = max(float(np.median(np.abs(recent - med))) * 1.4826, f.ARTEFACT_MIN_MAD)
            z[i] = (x - med) / mad
            if abs(z[i]) > f.ARTEFACT_Z and abs(x - med) > math.log(f.ARTEFACT_MIN_RATIO):
                side = 1 if x > med else -1
        if side and side != previous:
            flag[i] = True
        else:
            history.append(float(x))
        previous = side
    return z, flag


def test_the_sliding_artefact_rule_gives_the_numbers_of_np_median():
    """Sorted windows instead of two np.median calls a night: the same z and flags, bit
    for bit, on noisy series with gaps, ties, lone spikes and a change of level."""
    from hrv.analytics.features import artefacts

    rng = np.random.default_rng(3)
    for trial in range(60):
        n = int(rng.integers(0, 300))
        v = np.exp(np.log(55) + rng.normal(0, 0.15, n))
        if trial % 3 == 0:
            v = np.round(v)  # ties
        for k in rng.integers(0, max(n, 1), size=min(n, 4)):
            v[k] = rng.choice([4.0, 600.0, np.nan])
        if n > 100 and trial % 5 == 0:
            v[n // 2 :] *= 4  # a new device: a lasting change of level
        z, flag = artefacts(pd.Series(v))
        rz, rflag = _artefacts_by_numpy(pd.Series(v))
        assert np.array_equal(z.to_numpy(), rz, equal_nan=True), trial
        assert np.array_equal(flag.to_numpy(), rflag), trial
