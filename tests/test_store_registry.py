"""Journal store (supersede + audit trail), append-only registry, reconciliation numbers."""

import datetime as dt
import json

import pytest

from hrv.analytics.reconcile import reconcile
from hrv.intake.journal import JournalEntry
from hrv.storage.athlete_store import AthleteStore, IncomingEntry
from hrv.storage.registry import append_forecasts, read_registry, verify_registry

T0 = dt.datetime(2026, 11, 21, 20, 0, tzinfo=dt.UTC)


def entry(day, **kw):
    return JournalEntry.model_validate({"date": day, "athlete": "ann", **kw})


def incoming(*entries, source="f.md"):
    return [IncomingEntry(e, source, "sha-" + source) for e in entries]


def test_ingest_new_then_identical_is_a_no_op(tmp_path):
    store = AthleteStore(tmp_path, "ann")
    s1 = store.ingest_journal(incoming(entry("2026-01-01", mood=3), entry("2026-01-02")), T0)
    assert s1.new_dates == ["2026-01-01", "2026-01-02"] and s1.changed
    log_before = store.journal_log_path.read_bytes()
    s2 = store.ingest_journal(incoming(entry("2026-01-01", mood=3), source="again.md"), T0)
    assert not s2.changed and s2.unchanged_dates == ["2026-01-01"]
    assert store.journal_log_path.read_bytes() == log_before


def test_correction_supersedes_and_keeps_the_audit_trail(tmp_path):
    store = AthleteStore(tmp_path, "ann")
    store.ingest_journal(incoming(entry("2026-01-01", mood=3)), T0)
    s = store.ingest_journal(incoming(entry("2026-01-01", mood=5), source="fix.md"), T0)
    assert s.superseded_dates == ["2026-01-01"] and s.new_dates == []
    versions = store.journal_versions()
    assert [v["entry"]["mood"] for v in versions] == [3, 5]
    assert versions[1]["supersedes"] == versions[0]["entry_sha"]
    assert versions[1]["source_file"] == "fix.md"
    assert [e["mood"] for e in store.effective_journal()] == [5]


def test_later_item_in_a_batch_wins(tmp_path):
    store = AthleteStore(tmp_path, "ann")
    s = store.ingest_journal(incoming(entry("2026-01-01", mood=1), entry("2026-01-01", mood=2)), T0)
    assert s.new_dates == ["2026-01-01"]
    assert store.effective_journal()[0]["mood"] == 2


def test_store_refuses_other_athletes(tmp_path):
    other = JournalEntry.model_validate({"date": "2026-01-01", "athlete": "bob"})
    with pytest.raises(ValueError, match="bob"):
        AthleteStore(tmp_path, "ann").ingest_journal(incoming(other), T0)


def forecast(for_date, model="ridge", pred=50.0, lo=45.0, hi=55.0, guess=None, role="selected"):
    return {
        "athlete": "ann",
        "for_date": for_date,
        "model": model,
        "predicted_rmssd_ms": pred,
        "lower_ms": lo,
        "upper_ms": hi,
        "user_guess_ms": guess,
        "role": role,
    }


def test_registry_appends_only_new_forecasts(tmp_path):
    reg, ledger = tmp_path / "r.csv", tmp_path / "l.jsonl"
    assert append_forecasts(reg, ledger, [forecast("2026-01-02")], T0) == 1
    assert append_forecasts(reg, ledger, [forecast("2026-01-02")], T0) == 0  # unchanged
    assert append_forecasts(reg, ledger, [forecast("2026-01-02", pred=51)], T0) == 1  # revised
    rows = read_registry(reg)
    assert [r["predicted_rmssd_ms"] for r in rows] == ["50.00", "51.00"]
    assert list(rows[0])[:8] == [
        "made_at",
        "athlete",
        "for_date",
        "model",
        "predicted_rmssd_ms",
        "lower_ms",
        "upper_ms",
        "user_guess_ms",
    ]
    assert verify_registry(reg, ledger).passed


def test_registry_edit_truncation_and_extra_rows_are_detected(tmp_path):
    reg, ledger = tmp_path / "r.csv", tmp_path / "l.jsonl"
    append_forecasts(reg, ledger, [forecast("2026-01-02")], T0)
    append_forecasts(reg, ledger, [forecast("2026-01-03")], T0 + dt.timedelta(days=1))
    good = reg.read_text()

    reg.write_text(good.replace("50.00", "49.00", 1))
    edited = verify_registry(reg, ledger)
    assert not edited.passed and "edited" in edited.problems[0]

    reg.write_text(good.splitlines(keepends=True)[0])
    assert "removed" in verify_registry(reg, ledger).problems[0]

    reg.write_text(good + good.splitlines(keepends=True)[-1])
    assert "no append wrote" in verify_registry(reg, ledger).problems[0]

    reg.write_text(good)
    ledger.unlink()
    assert "ledger is missing" in verify_registry(reg, ledger).problems[0]


def test_reconciliation_hand_computed():
    rows = [
        {
            **{
                k: str(v)
                for k, v in forecast("2026-01-02", pred=50, lo=45, hi=55, guess=60).items()
            },
            "made_at": "a",
        },
        {
            **{
                k: str(v)
                for k, v in forecast("2026-01-03", pred=40, lo=38, hi=42, guess=50).items()
            },
            "made_at": "b",
        },
        # a later forecast for the same morning replaces the earlier one
        {
            **{
                k: str(v)
                for k, v in forecast("2026-01-03", pred=44, lo=40, hi=48, guess=50).items()
            },
            "made_at": "c",
        },
        {
            **{
                k: str(v)
                for k, v in forecast(
                    "2026-01-02", model="persistence", pred=58, role="baseline"
                ).items()
            },
            "made_at": "a",
        },
        # no actual yet for this morning: not reconciled
        {**{k: str(v) for k, v in forecast("2026-01-04", pred=40).items()}, "made_at": "d"},
    ]
    for r in rows:
        r["user_guess_ms"] = "" if r["user_guess_ms"] == "None" else r["user_guess_ms"]
    actual = {"2026-01-02": 52.0, "2026-01-03": 50.0}
    doc = reconcile("ann", rows, actual)
    assert doc["n_reconciled"] == 2
    assert doc["mae_ms"] == pytest.approx((2 + 6) / 2)
    assert doc["bias_ms"] == pytest.approx((-2 - 6) / 2)
    assert doc["interval_coverage"] == pytest.approx(0.5)  # 52 in [45,55]; 50 not in [40,48]
    assert doc["user_guess_mae_ms"] == pytest.approx((8 + 0) / 2)
    assert doc["baseline_mae_ms"] == {"persistence": 6.0}
    assert doc["windows"]["last_7"]["model"]["n"] == 2
    assert set(doc) >= {
        "athlete",
        "n_reconciled",
        "mae_ms",
        "bias_ms",
        "interval_coverage",
        "user_guess_mae_ms",
        "baseline_mae_ms",
    }
    json.dumps(doc)


def test_reconciliation_windows_count_back_from_newest_day():
    rows = []
    actual = {}
    for i in range(40):
        day = (dt.date(2026, 1, 1) + dt.timedelta(days=i)).isoformat()
        rows.append(
            {
                **{k: str(v) for k, v in forecast(day, pred=50 + (10 if i < 30 else 0)).items()},
                "made_at": day,
                "user_guess_ms": "",
            }
        )
        actual[day] = 50.0
    doc = reconcile("ann", rows, actual)
    assert doc["windows"]["last_7"]["model"] == {
        "n": 7,
        "mae_ms": 0.0,
        "bias_ms": 0.0,
        "interval_coverage": 1.0,
    }
    assert doc["windows"]["last_28"]["model"]["n"] == 28
    assert doc["windows"]["last_28"]["model"]["mae_ms"] == pytest.approx(10 * 18 / 28, abs=1e-3)
    assert doc["windows"]["all"]["model"]["n"] == 40
    assert doc["user_guess_mae_ms"] is None


def test_reconciliation_ignores_implausible_actuals():
    rows = [
        {
            **{k: str(v) for k, v in forecast("2026-01-02").items()},
            "made_at": "a",
            "user_guess_ms": "",
        }
    ]
    assert reconcile("ann", rows, {"2026-01-02": 900.0})["n_reconciled"] == 0


def test_outputs_are_readable_by_other_users_like_any_file(tmp_path):
    """Atomic writes go through a temp file (mode 0600); the output gets the mode a plain
    open() gives (0644 under umask 022), so the host of a container, or another user on a
    laptop, can read data/outputs (issue 15)."""
    import os
    import stat

    from hrv.storage import files

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    files.write_json_atomic(tmp_path / "out" / "agent_forecast.json", {"a": 1})
    files.write_bytes_atomic(tmp_path / "chart.png", b"png")
    for p in (tmp_path / "out" / "agent_forecast.json", tmp_path / "chart.png"):
        assert stat.S_IMODE(p.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~files.UMASK
    assert os.access(tmp_path / "chart.png", os.R_OK)


def test_a_damaged_store_file_is_named_with_its_line_and_what_to_do(tmp_path):
    """journal_log.jsonl cut mid-line, readings.csv cut mid-row: a clear error naming the
    file and line (before: a bare JSONDecodeError, and a silent 3 ms reading)."""
    import datetime as dt

    import pytest

    from hrv.intake.journal import JournalEntry
    from hrv.storage.athlete_store import AthleteStore, IncomingEntry, StoreDamaged

    store = AthleteStore(tmp_path, "ann")
    entries = [
        IncomingEntry(
            JournalEntry.model_validate({"date": f"2026-01-0{d}", "athlete": "ann", "mood": 3}),
            "x",
            None,
        )
        for d in (1, 2)
    ]
    store.ingest_journal(entries, dt.datetime.now(dt.UTC))
    store.write_readings(
        [
            {"date": "2026-01-01", "metric": "rmssd", "value_ms": 35.5, "source": "a.csv"},
            {"date": "2026-01-02", "metric": "rmssd", "value_ms": 38.25, "source": "a.csv"},
        ]
    )
    assert len(store.journal_versions()) == 2 and len(store.readings()) == 2

    log = store.journal_log_path.read_text()
    store.journal_log_path.write_text(log[: len(log) - 40])
    with pytest.raises(StoreDamaged, match=r"journal_log.jsonl: line 2 is not a whole JSON"):
        store.journal_versions()

    readings = store.readings_path.read_text()
    store.readings_path.write_text(readings[: readings.rindex(",3") + 2])  # "...,3" cut
    with pytest.raises(StoreDamaged, match=r"readings.csv: line 3 is cut short"):
        store.readings()
