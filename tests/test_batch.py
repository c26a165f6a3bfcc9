"""Batch runs: several athletes in one run record exactly what per-athlete asset runs do."""

import json

import dagster as dg
import pytest

from assets import ALL_ASSETS, ATHLETES
from assets import check_names as C
from assets.batch import BATCH_OP, athlete_batch_job, steps_for
from hrv.demo import SQUAD, write_demo
from hrv.pipeline import AGENT_FORECAST, PREDICTIONS_REGISTRY
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.registry import read_registry
from sensors.common import BatchSettings, chunks
from tests.conftest import yesterday

ALL_KEYS = {a.key for a in ALL_ASSETS}
ATHLETES_3 = ("alice", "bob", "carol")


@pytest.fixture
def squad(tree):
    profiles = tuple(p for p in SQUAD if p.athlete in ATHLETES_3)
    write_demo(tree.inbox, tree.sources, days=75, end=yesterday(), seed=11, squad=profiles)
    return tree


def pending(tree):
    """Every file waiting in the inbox (top level and athlete folders)."""
    skip = {"processed", "rejected"}
    return sorted(
        str(p.relative_to(tree.inbox))
        for p in tree.inbox.rglob("*")
        if p.is_file() and p.relative_to(tree.inbox).parts[0] not in skip
    )


def processed(tree):
    return sorted(p for p in (tree.inbox / "processed").rglob("*") if p.is_file())


def run_batch(instance, tree, athletes, files=None, with_readings=None, trigger="inbox"):
    instance.add_dynamic_partitions(ATHLETES.name, list(athletes))
    config = {
        "athletes": list(athletes),
        "trigger": trigger,
        # no files named: each athlete's step takes its pending files from the inbox
        "files": files or {},
        "with_readings": list(athletes) if with_readings is None else with_readings,
    }
    return athlete_batch_job.execute_in_process(
        run_config={"ops": {BATCH_OP: {"config": config}}},
        instance=instance,
        resources=tree.resources(),
        raise_on_error=False,
    )


def materialized(result):
    return {
        (
            e.event_specific_data.materialization.asset_key,
            e.event_specific_data.materialization.partition,
        )
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def evaluations(result):
    return [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]


def test_one_batch_run_records_every_athletes_partitions_and_checks(squad, instance):
    n_files = len(pending(squad))
    result = run_batch(instance, squad, ATHLETES_3)
    assert result.success
    assert materialized(result) == {(k, a) for k in ALL_KEYS for a in ATHLETES_3}
    evals = evaluations(result)
    n_checks = sum(len(list(a.check_specs)) for a in ALL_ASSETS)
    assert len(evals) == n_checks * 3
    for athlete in ATHLETES_3:
        mine = [e for e in evals if e.partition == athlete]
        assert len({e.check_name for e in mine}) == n_checks
        assert all(e.passed for e in mine if e.severity == dg.AssetCheckSeverity.ERROR)
        assert all(e.metadata["athlete"].value == athlete for e in mine)
        forecast = json.loads((squad.outputs(athlete) / AGENT_FORECAST).read_text())
        assert forecast["athlete"] == athlete and forecast["for_date"] > yesterday().isoformat()
    assert pending(squad) == [] and len(processed(squad)) == n_files
    # the instance sees every athlete's partition as materialized, as after asset runs
    for key in ALL_KEYS:
        assert instance.get_materialized_partitions(key) == set(ATHLETES_3)
    blocking = [e for e in evals if e.check_name == C.JOURNAL_SCHEMA]
    assert blocking and all(e.blocking for e in blocking)


def test_batch_and_asset_run_produce_the_same_outputs(tree, instance):
    """The same athlete's data through a batch run and through an asset run."""
    profiles = tuple(p for p in SQUAD if p.athlete == "alice")
    write_demo(tree.inbox, tree.sources, days=75, end=yesterday(), seed=5, squad=profiles)
    assert run_batch(instance, tree, ["alice"]).success
    batch_out = {
        name: json.loads((tree.outputs("alice") / name).read_text())
        for name in (AGENT_FORECAST, "model_predictions.json", "reconciliation.json")
    }
    batch_rows = read_registry(tree.outputs("alice") / PREDICTIONS_REGISTRY)
    # a second, independent tree fed identically, through the asset job
    other = type(tree)(tree.root / "asset-run")
    write_demo(other.inbox, other.sources, days=75, end=yesterday(), seed=5, squad=profiles)
    other.data.mkdir(parents=True, exist_ok=True)
    result = dg.materialize(
        ALL_ASSETS,
        partition_key="alice",
        instance=instance,
        resources=other.resources(),
    )
    assert result.success
    for name, doc in batch_out.items():
        asset_doc = json.loads((other.outputs("alice") / name).read_text())
        for volatile in ("generated_at", "made_at"):
            doc.pop(volatile, None)
            asset_doc.pop(volatile, None)
        assert doc == asset_doc, name
    asset_rows = read_registry(other.outputs("alice") / PREDICTIONS_REGISTRY)
    strip = [{k: v for k, v in r.items() if k != "made_at"} for r in batch_rows]
    assert strip == [{k: v for k, v in r.items() if k != "made_at"} for r in asset_rows]


def test_one_athletes_failure_does_not_stop_the_others(squad, instance):
    # carol's stored journal is unreadable: her run fails at the journal, the others go on
    log = AthleteStore(squad.data, "carol").journal_log_path
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("{not json\n")
    result = run_batch(instance, squad, ATHLETES_3)
    assert not result.success
    done = materialized(result)
    for athlete in ("alice", "bob"):
        assert {(k, athlete) for k in ALL_KEYS} <= done
    assert not any(a == "carol" and k.path[0] != "bronze" for k, a in done)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    listed = failure.event_specific_data.user_failure_data.metadata["failures"].value
    assert [(f["athlete"], f["asset"]) for f in listed] == [("carol", "bronze/journal_entries")]
    assert "journal_log.jsonl" in listed[0]["error"] or "JSON" in listed[0]["error"]
    # carol's files were not consumed: the inbox sensor will try them again
    assert pending(squad) and all("carol" in rel for rel in pending(squad))


def test_blocking_check_stops_only_that_athletes_downstream(squad, instance):
    assert run_batch(instance, squad, ATHLETES_3).success
    log = AthleteStore(squad.data, "bob").journal_log_path
    lines = log.read_text().splitlines()
    tampered = json.loads(lines[-1])
    tampered["entry"]["mood"] = 9
    log.write_text("\n".join([*lines[:-1], json.dumps(tampered)]) + "\n")
    result = run_batch(instance, squad, ATHLETES_3, files={}, with_readings=[])
    assert not result.success
    done = materialized(result)
    journal = dg.AssetKey(["bronze", "journal_entries"])
    assert {k for k, a in done if a == "bob"} == {journal}  # recorded, then blocked
    assert {k for k, a in done if a == "alice"} == ALL_KEYS - {
        dg.AssetKey(["bronze", "wearable_readings"])
    }
    schema = [
        e for e in evaluations(result) if e.partition == "bob" and e.check_name == C.JOURNAL_SCHEMA
    ]
    assert len(schema) == 1 and not schema[0].passed and "mood" in schema[0].description
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    listed = failure.event_specific_data.user_failure_data.metadata["failures"].value
    assert [(f["athlete"], f["asset"]) for f in listed] == [("bob", "bronze/journal_entries")]
    assert f"blocking check {C.JOURNAL_SCHEMA} failed" in listed[0]["error"]


def test_steps_follow_the_trigger():
    inbox = [k.to_user_string() for k in steps_for("inbox", with_readings=False)]
    assert inbox[0] == "bronze/journal_entries" and "bronze/wearable_readings" not in inbox
    assert inbox[-1] == "agent/agent_forecast"
    sources = [k.to_user_string() for k in steps_for("sources", with_readings=False)]
    assert sources[0] == "bronze/wearable_readings" and "bronze/journal_entries" not in sources
    with pytest.raises(ValueError, match="trigger 'email'"):
        steps_for("email", with_readings=False)


@pytest.mark.parametrize(
    ("n", "size", "expected"),
    [
        (0, 25, []),
        (3, 25, [3]),
        (25, 25, [25]),
        (26, 25, [13, 13]),
        (200, 25, [25] * 8),
        (51, 25, [17, 17, 17]),
    ],
)
def test_chunks_are_balanced_and_keep_order(n, size, expected):
    items = list(range(n))
    groups = chunks(items, size)
    assert [len(g) for g in groups] == expected
    assert [x for g in groups for x in g] == items


def test_batch_settings_from_env(monkeypatch):
    assert BatchSettings.from_env() == BatchSettings(4, 25)
    monkeypatch.setenv("HRV_BATCH_MIN_ATHLETES", "0")
    assert not BatchSettings.from_env().batched(100)
    monkeypatch.setenv("HRV_BATCH_MIN_ATHLETES", "many")
    with pytest.raises(ValueError, match="HRV_BATCH_MIN_ATHLETES='many' is not a whole number"):
        BatchSettings.from_env()
    monkeypatch.setenv("HRV_BATCH_MIN_ATHLETES", "4")
    monkeypatch.setenv("HRV_BATCH_SIZE", "0")
    with pytest.raises(ValueError, match="HRV_BATCH_SIZE='0' must be at least 1"):
        BatchSettings.from_env()
