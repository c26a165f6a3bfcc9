"""The asset graph through dg.materialize: two athletes, checks, corrections, retries."""

import json

import dagster as dg
import pytest

from assets import ASSETS, ATHLETES, CHECKS
from hrv.demo import SQUAD, write_demo
from hrv.steps import journal, predictions, readings
from hrv.steps import registry as registry_step
from hrv.steps.outputs import (
    AGENT_FORECAST,
    INTELLIGENCE_CHART,
    INTELLIGENCE_SUMMARY,
    MODEL_PREDICTIONS,
    PREDICTIONS_REGISTRY,
    RECONCILIATION,
    TRAINING_METRICS,
)
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.registry import read_registry
from tests.conftest import yesterday

pytestmark = pytest.mark.slow  # materializes whole graphs: in make test, not test-fast
ALL_KEYS = {a.key for a in ASSETS}
CONTRACT_KEYS = {
    TRAINING_METRICS: {
        "athlete",
        "n_days",
        "selected_model",
        "cold_start",
        "candidates",
        "baselines",
    },
    MODEL_PREDICTIONS: {"athlete", "for_date", "predictions"},
    INTELLIGENCE_SUMMARY: {"athlete", "baseline_7d_ms", "normal_range_ms"},
    AGENT_FORECAST: {
        "athlete",
        "for_date",
        "predicted_rmssd_ms",
        "interval_ms",
        "baseline_rmssd_ms",
        "normal_range_ms",
        "recommendation",
        "advice",
        "reasons",
        "baseline_building",
        "metric",
        "predicted_ms",
        "user_guess_ms",
        "model",
        "generated_at",
    },
    RECONCILIATION: {
        "athlete",
        "n_reconciled",
        "mae_ms",
        "bias_ms",
        "interval_coverage",
        "user_guess_mae_ms",
        "baseline_mae_ms",
    },
}


def run(instance, tree, athlete, selection=None, config=None):
    instance.add_dynamic_partitions(ATHLETES.name, [athlete])
    return dg.materialize(
        [*ASSETS, *CHECKS],
        selection=selection,
        partition_key=athlete,
        instance=instance,
        resources=tree.resources(),
        raise_on_error=False,
        run_config=config,
    )


def materialized(result):
    return {
        (m.asset_key, m.partition)
        for m in result.get_asset_materialization_events()
        for m in [m.event_specific_data.materialization]
    }


def checks(result):
    out = {}
    for e in result.all_events:
        if e.event_type_value == "ASSET_CHECK_EVALUATION":
            d = e.event_specific_data
            out[d.check_name] = d
    return out


@pytest.fixture
def demo(tree):
    squad = tuple(p for p in SQUAD if p.athlete in ("alice", "bob"))
    write_demo(tree.inbox, tree.sources, days=75, end=yesterday(), seed=11, squad=squad)
    return tree


def test_two_athletes_each_run_materializes_only_its_own_partition(demo, instance):
    n_pending = {a: len(list((demo.inbox / a).iterdir())) for a in ("alice", "bob")}
    for athlete in ("alice", "bob"):
        result = run(instance, demo, athlete)
        assert result.success
        assert materialized(result) == {(k, athlete) for k in ALL_KEYS}
        evaluations = checks(result)
        assert len(evaluations) == 10
        for name, d in evaluations.items():
            assert d.partition == athlete
            if d.severity == dg.AssetCheckSeverity.ERROR:
                assert d.passed, name
        out = demo.outputs(athlete)
        for name, keys in CONTRACT_KEYS.items():
            doc = json.loads((out / name).read_text())
            assert keys <= set(doc), name
            assert doc["athlete"] == athlete
        assert (out / INTELLIGENCE_CHART).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(read_registry(out / PREDICTIONS_REGISTRY)) >= 2
        forecast = json.loads((out / AGENT_FORECAST).read_text())
        assert forecast["for_date"] > yesterday().isoformat()
        assert (
            forecast["interval_ms"][0] < forecast["predicted_rmssd_ms"] < forecast["interval_ms"][1]
        )
        # every journal file of this athlete is archived, none left behind
        assert list((demo.inbox / athlete).iterdir()) == []
        assert len(list((demo.inbox / "processed" / athlete).iterdir())) == n_pending[athlete]
    # alice's run did not touch bob's outputs (bob had none before his own run)
    assert json.loads((demo.outputs("bob") / AGENT_FORECAST).read_text())["athlete"] == "bob"


def test_correction_supersedes_and_identical_bytes_change_nothing(demo, instance):
    assert run(instance, demo, "alice").success
    last = yesterday().isoformat()
    registry = demo.outputs("alice") / PREDICTIONS_REGISTRY
    rows_before = len(read_registry(registry))

    fix = demo.inbox / "alice" / f"{last}.md"
    fix.write_text("---\nalcohol_units: 8\nillness: true\nsleep_hours: 4.5\n---\nCorrected.\n")
    result = run(instance, demo, "alice")
    assert result.success
    journal_meta = next(
        m.event_specific_data.materialization.metadata
        for m in result.get_asset_materialization_events()
        if m.event_specific_data.materialization.asset_key == ASSETS[0].key
    )
    assert journal_meta["superseded_dates"].value == [last]
    versions = AthleteStore(demo.data, "alice").journal_versions()
    assert [v["entry"]["notes"] for v in versions if v["date"] == last][-1] == "Corrected."
    assert sum(1 for v in versions if v["date"] == last) == 2  # the audit trail keeps both
    forecast = json.loads((demo.outputs("alice") / AGENT_FORECAST).read_text())
    assert forecast["recommendation"] == "rest"  # illness
    rows_after_fix = len(read_registry(registry))
    assert rows_after_fix > rows_before  # a revised forecast for the same morning

    fix2 = demo.inbox / "alice" / "again.md"
    fix2.write_text(
        f"---\ndate: {last}\nalcohol_units: 8\nillness: true\nsleep_hours: 4.5\n---\nCorrected.\n"
    )
    result = run(instance, demo, "alice")
    assert result.success
    assert len(AthleteStore(demo.data, "alice").journal_versions()) == len(versions)
    assert len(read_registry(registry)) == rows_after_fix
    assert (demo.inbox / "processed" / "alice" / "again.md").exists()


def test_rejected_file_moves_with_an_error_report(demo, instance):
    bad = demo.inbox / "alice" / "2020-01-01.md"
    bad.write_text("---\nsleep_hours: 30\nmoood: 2\n---\n")
    assert run(instance, demo, "alice").success
    moved = demo.inbox / "rejected" / "alice" / "2020-01-01.md"
    report = json.loads((moved.parent / "2020-01-01.md.error.json").read_text())
    assert moved.exists() and not bad.exists()
    assert report["file"] == "alice/2020-01-01.md"
    by_field = {e["field"]: e for e in report["errors"]}
    assert by_field["sleep_hours"]["value"] == 30
    assert "did you mean 'mood'" in by_field["moood"]["message"]
    assert report["rejected_at"]


def test_blocking_journal_check_stops_everything_downstream(demo, instance):
    assert run(instance, demo, "alice").success
    log = AthleteStore(demo.data, "alice").journal_log_path
    lines = log.read_text().splitlines()
    tampered = json.loads(lines[-1])
    tampered["entry"]["mood"] = 9
    log.write_text("\n".join([*lines[:-1], json.dumps(tampered)]) + "\n")
    result = run(instance, demo, "alice")
    assert not result.success
    # the journal's materialization is recorded; nothing downstream of it runs (the
    # readings branch does not depend on the journal and still materializes)
    assert materialized(result) == {
        (dg.AssetKey(["bronze", "journal_entries"]), "alice"),
        (dg.AssetKey(["bronze", "wearable_readings"]), "alice"),
    }
    evaluation = checks(result)[journal.SCHEMA.name]
    assert not evaluation.passed and "mood" in evaluation.metadata["verdict"].value


def test_registry_tampering_blocks_reconciliation(demo, instance):
    assert run(instance, demo, "alice").success
    registry = demo.outputs("alice") / PREDICTIONS_REGISTRY
    text = registry.read_text()
    registry.write_text(text.replace(".", ",", 3))
    result = run(instance, demo, "alice")
    assert not result.success
    evaluation = checks(result)[registry_step.APPEND_ONLY.name]
    assert not evaluation.passed
    keys = {k.to_user_string() for k, _ in materialized(result)}
    assert "gold/reconciliation" not in keys and "gold/predictions_registry" in keys


def test_warn_check_fails_inside_a_successful_run(demo, instance):
    csv = demo.sources / "alice" / "hrv.csv"
    lines = csv.read_text().splitlines()
    day, _, rhr = lines[40].split(",")
    lines[40] = f"{day},450,{rhr}"
    csv.write_text("\n".join(lines) + "\n")
    result = run(instance, demo, "alice")
    assert result.success
    evaluation = checks(result)[readings.PLAUSIBLE.name]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "450" in evaluation.metadata["verdict"].value


def test_cold_start_athlete_gets_a_baseline_forecast_that_says_so(tree, instance):
    folder = tree.inbox / "newbie"
    folder.mkdir()
    lines = ["date,rmssd_ms"]
    for i in range(10):
        day = yesterday().toordinal() - 9 + i
        iso = type(yesterday()).fromordinal(day).isoformat()
        (folder / f"{iso}.json").write_text(json.dumps({"date": iso, "sleep_hours": 7}))
        lines.append(f"{iso},{50 + i % 3}")
    (tree.sources / "newbie").mkdir()
    (tree.sources / "newbie" / "hrv.csv").write_text("\n".join(lines) + "\n")
    result = run(instance, tree, "newbie")
    assert result.success
    forecast = json.loads((tree.outputs("newbie") / AGENT_FORECAST).read_text())
    assert forecast["model"] == "recent_level_journal"
    assert any("cold start" in r for r in forecast["reasons"])
    metrics = json.loads((tree.outputs("newbie") / TRAINING_METRICS).read_text())
    assert metrics["cold_start"] is True


def test_journals_without_any_readings_give_a_plain_no_forecast_not_a_failure(tree, instance):
    (tree.inbox / "nowear").mkdir()
    (tree.inbox / "nowear" / "2026-11-20.md").write_text("---\nsleep_hours: 7\n---\n")
    result = run(instance, tree, "nowear")
    assert result.success
    forecast = json.loads((tree.outputs("nowear") / AGENT_FORECAST).read_text())
    assert forecast["predicted_rmssd_ms"] is None and forecast["for_date"] == "2026-11-21"
    assert forecast["recommendation"] == "train_moderate"
    assert "no HRV forecast yet" in forecast["reasons"][0]
    assert checks(result)[predictions.IN_RANGE.name].passed


def test_data_errors_fail_once_but_filesystem_errors_are_retried(tree, instance):
    instance.add_dynamic_partitions(ATHLETES.name, ["ghost"])
    # no features stored for this athlete: a data error, not retried
    result = run(instance, tree, "ghost", selection=["gold/hrv_model"])
    assert not result.success
    kinds = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" not in kinds
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "silver/daily_features" in failure.event_specific_data.error.message

    # the athlete's store path is a file: every write raises OSError -> retried 3 times
    (tree.data / "store").mkdir(parents=True)
    (tree.data / "store" / "ghost").write_text("not a folder")
    (tree.inbox / "ghost").mkdir()
    (tree.inbox / "ghost" / "2026-01-01.md").write_text("---\nmood: 3\n---\n")
    result = run(instance, tree, "ghost", selection=["bronze/journal_entries"])
    assert not result.success
    kinds = [e.event_type_value for e in result.all_events]
    assert kinds.count("STEP_UP_FOR_RETRY") == 3
    assert (tree.inbox / "ghost" / "2026-01-01.md").exists()  # not archived: not stored


def apple_export(days: int, end) -> str:
    """An Apple Health export: the watch's overnight SDNN samples and resting HR."""
    import datetime as dt
    import math

    rows = []
    for i in range(days):
        day = end - dt.timedelta(days=days - 1 - i)
        sdnn = 55 + 8 * math.sin(i / 3)
        for hh, delta in (("01:30", -3), ("05:45", 3)):
            rows.append(
                ' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" '
                'sourceName="Ann\'s Apple Watch" device="name:Apple Watch" unit="ms" '
                f'startDate="{day} {hh}:00 +0100" value="{sdnn + delta:.1f}"/>\n'
            )
        rows.append(
            ' <Record type="HKQuantityTypeIdentifierRestingHeartRate" '
            'sourceName="Ann\'s Apple Watch" device="name:Apple Watch" unit="count/min" '
            f'startDate="{day} 00:00:00 +0100" value="{52 + i % 3}"/>\n'
        )
    return (
        '<?xml version="1.0"?>\n<HealthData locale="en_US">\n' + "".join(rows) + "</HealthData>\n"
    )


def test_an_apple_only_athlete_gets_baselines_and_a_forecast_in_sdnn_never_mixed(tree, instance):
    (tree.sources / "ann").mkdir()
    (tree.sources / "ann" / "export.xml").write_text(apple_export(40, yesterday()))
    assert run(instance, tree, "ann").success
    out = tree.outputs("ann")
    forecast = json.loads((out / AGENT_FORECAST).read_text())
    assert forecast["metric"] == "sdnn" and forecast["predicted_rmssd_ms"] is None
    assert forecast["interval_ms"][0] < forecast["predicted_ms"] < forecast["interval_ms"][1]
    assert forecast["baseline_ms"] > 40 and forecast["baseline_rmssd_ms"] is None
    assert forecast["normal_range_ms"][0] < forecast["normal_range_ms"][1]
    for name in (TRAINING_METRICS, MODEL_PREDICTIONS, INTELLIGENCE_SUMMARY, RECONCILIATION):
        assert json.loads((out / name).read_text())["metric"] == "sdnn", name
    features = AthleteStore(tree.data, "ann").features_path.read_text().splitlines()
    header = features[0].split(",")
    last = dict(zip(header, features[-1].split(","), strict=True))
    assert last["metric"] == "sdnn" and float(last["resting_hr_bpm"]) >= 52  # RHR read too
    assert {r["metric"] for r in read_registry(out / PREDICTIONS_REGISTRY)} == {"sdnn"}

    # an rMSSD source arrives: from now on rMSSD, and SDNN forecasts are never scored on it
    sdnn_forecast_day = forecast["for_date"]  # this morning: measured in rMSSD below
    lines = ["date,rmssd_ms"]
    for i in range(21):
        day = yesterday().toordinal() - 19 + i
        lines.append(f"{type(yesterday()).fromordinal(day).isoformat()},{30 + i % 4}")
    assert lines[-1].startswith(sdnn_forecast_day)
    (tree.sources / "ann" / "hrv.csv").write_text("\n".join(lines) + "\n")
    assert run(instance, tree, "ann").success
    forecast = json.loads((out / AGENT_FORECAST).read_text())
    assert (
        forecast["metric"] == "rmssd" and forecast["predicted_rmssd_ms"] == forecast["predicted_ms"]
    )
    assert forecast["predicted_ms"] < 40  # rMSSD scale, not SDNN
    recon = json.loads((out / RECONCILIATION).read_text())
    assert recon["metric"] == "rmssd" and recon["n_reconciled"] == 0  # not the SDNN forecast
    assert {r["metric"] for r in read_registry(out / PREDICTIONS_REGISTRY)} == {"sdnn", "rmssd"}


def test_a_new_athletes_file_deleted_before_its_run_ends_as_no_data_not_a_crash(tree):
    """The only file of a new athlete is removed between the sensor's request and the run:
    the run succeeds, says the file was missing, and no step fails on an empty history
    (it used to fail at gold/intelligence_summary with KeyError 'rmssd_valid')."""
    from assets import AthleteRun

    with dg.instance_for_test() as inst:
        selection = AthleteRun("ghost", "inbox", "k").selection()
        config = {
            "ops": {"bronze__journal_entries": {"config": {"files": ["ghost/2026-11-20.md"]}}}
        }
        result = run(inst, tree, "ghost", selection=selection, config=config)
        failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert result.success and not failed, failed
        journal = next(
            m.event_specific_data.materialization
            for m in result.get_asset_materialization_events()
            if m.event_specific_data.materialization.asset_key
            == dg.AssetKey(["bronze", "journal_entries"])
        )
        assert journal.metadata["missing_files"].value == ["ghost/2026-11-20.md"]
