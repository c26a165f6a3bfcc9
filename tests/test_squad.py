"""Squad runs: each athlete gets the very asset run a single athlete gets, in one process.

The same data through a squad run and through single runs gives the same outputs, the
same events per athlete (materializations, planned and evaluated checks with their
partition) and the same failure behaviour (a failed step skips only its own descendants,
for that athlete only).
"""

import json
from collections import Counter

import dagster as dg
import pytest

from assets import (
    ASSETS,
    ATHLETE_JOB,
    CHECKS,
    SQUAD_JOB,
    AthleteRun,
    athlete_job,
    squad_run_request,
)
from definitions import defs
from hrv.demo import SQUAD, write_demo
from hrv.settings import Settings
from hrv.steps import journal
from hrv.steps.outputs import AGENT_FORECAST, PREDICTIONS_REGISTRY
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.registry import read_registry
from sensors.common import chunks, run_requests
from tests.conftest import Tree, yesterday

pytestmark = pytest.mark.slow  # materializes whole graphs: in make test, not test-fast
ALL_KEYS = {a.key for a in ASSETS}
N_CHECKS = sum(len(list(a.check_specs)) for a in ASSETS) + len(CHECKS)
ATHLETES_3 = ("alice", "bob", "carol")
VOLATILE = ("generated_at", "made_at", "trained_at", "ingested_at")


def write_squad(tree: Tree, athletes=ATHLETES_3, seed=11):
    profiles = tuple(p for p in SQUAD if p.athlete in athletes)
    write_demo(tree.inbox, tree.sources, days=45, end=yesterday(), seed=seed, squad=profiles)


def members(athletes, trigger="inbox"):
    return [AthleteRun(a, trigger, f"{trigger}:{a}:1", include_readings=True) for a in athletes]


def run_squad(instance, tree, athletes):
    instance.add_dynamic_partitions("athletes", list(athletes))
    request = squad_run_request(members(athletes))
    return defs.resolve_job_def(SQUAD_JOB).execute_in_process(
        run_config=request.run_config,
        instance=instance,
        tags=request.tags,
        resources=tree.resources(),
        raise_on_error=False,
    )


def run_single(instance, tree, athlete):
    """What the daemon runs for one athlete: the same job, selection, config and tags."""
    instance.add_dynamic_partitions("athletes", [athlete])
    (spec,) = members([athlete])
    job = athlete_job(tree.resources()["store"])
    return job.execute_in_process(
        run_config=spec.run_config(),
        instance=instance,
        partition_key=athlete,
        asset_selection=spec.selection(),
        tags=spec.run_tags(),
        raise_on_error=False,
    )


def athlete_runs(instance) -> dict[str, dg.DagsterRun]:
    return {
        r.tags["athlete"]: r for r in instance.get_runs(filters=dg.RunsFilter(job_name=ATHLETE_JOB))
    }


def signature(instance, run_id):
    """What a run recorded, independent of run ids and timing."""
    out = Counter()
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            m = event.step_materialization_data.materialization
            out[(kind, m.asset_key.to_user_string(), m.partition)] += 1
        elif kind == "ASSET_CHECK_EVALUATION":
            d = event.event_specific_data
            out[(kind, d.asset_key.to_user_string(), d.check_name, d.partition, d.passed)] += 1
        elif kind == "ASSET_CHECK_EVALUATION_PLANNED":
            d = event.event_specific_data
            out[(kind, d.asset_key.to_user_string(), d.check_name)] += 1
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED", "STEP_UP_FOR_RETRY"):
            out[(kind, event.step_key)] += 1
        elif kind in ("RUN_SUCCESS", "RUN_FAILURE"):
            out[(kind,)] += 1
    return out


def outputs(tree, athlete):
    docs = {}
    for name in (AGENT_FORECAST, "model_predictions.json", "reconciliation.json"):
        path = tree.outputs(athlete) / name
        doc = json.loads(path.read_text()) if path.exists() else None
        for key in VOLATILE:
            (doc or {}).pop(key, None)
        docs[name] = doc
    rows = read_registry(tree.outputs(athlete) / PREDICTIONS_REGISTRY)
    docs["registry"] = [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]
    return docs


def pending(tree):
    skip = {"processed", "rejected"}
    return sorted(
        str(p.relative_to(tree.inbox))
        for p in tree.inbox.rglob("*")
        if p.is_file() and p.relative_to(tree.inbox).parts[0] not in skip
    )


def break_journal_log(tree, athlete):
    """A stored journal that no longer reads: that athlete's journal step fails."""
    log = AthleteStore(tree.data, athlete).journal_log_path
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("{not json\n")


def test_a_squad_run_gives_every_athlete_an_asset_run_of_its_own(tree, instance):
    write_squad(tree)
    n_files = len(pending(tree))
    result = run_squad(instance, tree, ATHLETES_3)
    assert result.success
    runs = athlete_runs(instance)
    assert sorted(runs) == list(ATHLETES_3)
    for athlete, run in runs.items():
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == athlete
        assert run.tags["hrv/squad_run"] == result.run_id
        recorded = signature(instance, run.run_id)
        assert {(k.to_user_string(), athlete) for k in ALL_KEYS} == {
            (key[1], key[2]) for key in recorded if key[0] == "ASSET_MATERIALIZATION"
        }
        planned = [k for k in recorded if k[0] == "ASSET_CHECK_EVALUATION_PLANNED"]
        evaluated = [k for k in recorded if k[0] == "ASSET_CHECK_EVALUATION"]
        assert len(planned) == len(evaluated) == N_CHECKS  # planned, then evaluated
        assert all(k[3] == athlete for k in evaluated)
        forecast = json.loads((tree.outputs(athlete) / AGENT_FORECAST).read_text())
        assert forecast["athlete"] == athlete and forecast["for_date"] > yesterday().isoformat()
    assert pending(tree) == [] and n_files > 0
    for key in ALL_KEYS:
        assert instance.get_materialized_partitions(key) == set(ATHLETES_3)
    # the squad run says which run each athlete got
    table = next(
        e.step_output_data.metadata["runs"].value
        for e in result.all_events
        if e.event_type_value == "STEP_OUTPUT"
    )
    assert all(runs[a].run_id[:8] in table for a in ATHLETES_3)


def test_squad_and_single_runs_record_the_same_outputs_events_and_failures(tmp_path):
    """alice fine, bob's stored journal broken: a squad run vs one run each."""
    trees = {}
    for mode in ("squad", "single"):
        tree = Tree(tmp_path / mode)
        for folder in (tree.inbox, tree.sources, tree.data):
            folder.mkdir(parents=True)
        write_squad(tree, ("alice", "bob"), seed=5)
        break_journal_log(tree, "bob")
        trees[mode] = tree
    recorded = {}
    for mode, tree in trees.items():
        with dg.instance_for_test() as instance:
            if mode == "squad":
                squad = run_squad(instance, tree, ["alice", "bob"])
                assert not squad.success  # one athlete failed: the squad says so
            else:
                for athlete in ("alice", "bob"):
                    run_single(instance, tree, athlete)
            runs = athlete_runs(instance)
            recorded[mode] = {a: (r.status, signature(instance, r.run_id)) for a, r in runs.items()}
    assert recorded["squad"] == recorded["single"]
    alice_status, _ = recorded["squad"]["alice"]
    bob_status, bob_events = recorded["squad"]["bob"]
    assert alice_status == dg.DagsterRunStatus.SUCCESS
    assert bob_status == dg.DagsterRunStatus.FAILURE
    # bob: the journal failed, only its descendants were skipped; his readings still ran
    assert bob_events[("STEP_FAILURE", "bronze__journal_entries")] == 1
    assert bob_events[("STEP_SUCCESS", "bronze__wearable_readings")] == 1
    assert ("STEP_SUCCESS", "silver__daily_features") not in bob_events
    assert outputs(trees["squad"], "alice") == outputs(trees["single"], "alice")
    assert not (trees["squad"].outputs("bob") / AGENT_FORECAST).exists()
    assert pending(trees["squad"]) == pending(trees["single"])  # bob's files wait
    assert pending(trees["squad"]) and all(p.startswith("bob/") for p in pending(trees["squad"]))


def test_a_blocking_check_stops_only_that_athletes_descendants(tree, instance):
    write_squad(tree)
    assert run_squad(instance, tree, ATHLETES_3).success
    log = AthleteStore(tree.data, "bob").journal_log_path
    lines = log.read_text().splitlines()
    tampered = json.loads(lines[-1])
    tampered["entry"]["mood"] = 9
    log.write_text("\n".join([*lines[:-1], json.dumps(tampered)]) + "\n")
    result = run_squad(instance, tree, ATHLETES_3)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    listed = failure.event_specific_data.user_failure_data.metadata["failed_runs"].value
    assert [f["athlete"] for f in listed] == ["bob"]
    bob = next(
        r
        for r in instance.get_runs(filters=dg.RunsFilter(job_name=ATHLETE_JOB))
        if r.tags["athlete"] == "bob" and r.run_id == listed[0]["run_id"]
    )
    events = signature(instance, bob.run_id)
    mats = {k[1] for k in events if k[0] == "ASSET_MATERIALIZATION"}
    # recorded, then blocked: the journal materialized, nothing depending on it ran
    assert "bronze/journal_entries" in mats and "silver/daily_features" not in mats
    schema = [k for k in events if k[0] == "ASSET_CHECK_EVALUATION" and k[2] == journal.SCHEMA.name]
    assert schema == [
        ("ASSET_CHECK_EVALUATION", "bronze/journal_entries", journal.SCHEMA.name, "bob", False)
    ]


@pytest.mark.parametrize(
    ("n", "size", "expected"),
    [(0, 25, []), (3, 25, [3]), (25, 25, [25]), (26, 25, [13, 13]), (51, 25, [17, 17, 17])],
)
def test_chunks_are_balanced_and_keep_order(n, size, expected):
    items = list(range(n))
    groups = chunks(items, size)
    assert [len(g) for g in groups] == expected
    assert [x for g in groups for x in g] == items


def test_a_tick_with_many_athletes_becomes_squad_runs_and_few_stay_single():
    settings = Settings(squad_min_athletes=4, squad_size=25)
    few = run_requests(members(["a", "b", "c"]), settings)
    assert [r.job_name for r in few] == [ATHLETE_JOB] * 3
    assert [r.partition_key for r in few] == ["a", "b", "c"]
    many = run_requests(members([f"x{i}" for i in range(60)]), settings)
    assert [r.job_name for r in many] == [SQUAD_JOB] * 3
    assert [r.tags["hrv/squad"] for r in many] == ["20", "20", "20"]
    assert (
        many[0].tags["hrv/athletes"].startswith("x0, x1, x2")
        and "+8 more" in many[0].tags["hrv/athletes"]
    )
    off = run_requests(members([f"x{i}" for i in range(60)]), Settings(squad_min_athletes=0))
    assert len(off) == 60 and {r.job_name for r in off} == {ATHLETE_JOB}


def test_a_clock_member_runs_only_its_athletes_checks(tree, instance):
    """The freshness sensor's squad of check runs: no asset is materialized again."""
    write_squad(tree, ("alice",))
    assert run_squad(instance, tree, ["alice"]).success
    before = len(instance.get_runs())
    request = squad_run_request([AthleteRun("alice", "clock", "clock:alice:1")])
    result = defs.resolve_job_def(SQUAD_JOB).execute_in_process(
        run_config=request.run_config,
        instance=instance,
        resources=tree.resources(),
        raise_on_error=False,
    )
    assert result.success and len(instance.get_runs()) == before + 2
    check_run = next(r for r in instance.get_runs() if r.tags.get("hrv/trigger") == "clock")
    recorded = signature(instance, check_run.run_id)
    assert not [k for k in recorded if k[0] == "ASSET_MATERIALIZATION"]
    evaluated = [k for k in recorded if k[0] == "ASSET_CHECK_EVALUATION"]
    assert evaluated == [
        ("ASSET_CHECK_EVALUATION", "bronze/wearable_readings", "source_freshness", "alice", True)
    ]


def test_a_squad_waits_for_an_athletes_run_started_elsewhere(tree, instance):
    """Two sensors deciding in the same moment: an athlete's own run and a squad that
    includes that athlete. The squad runs the athlete only once the other run is over."""
    import threading
    import time

    write_squad(tree, ("alice",))
    other = instance.add_run(
        dg.DagsterRun(
            job_name=ATHLETE_JOB, status=dg.DagsterRunStatus.STARTED, tags={"athlete": "alice"}
        )
    )
    ended = {}

    def finish_later():
        time.sleep(1.5)
        ended["at"] = time.time()
        instance.report_run_failed(other)

    threading.Thread(target=finish_later).start()
    assert run_squad(instance, tree, ["alice"]).success
    mine = next(r for r in instance.get_run_records() if "hrv/squad_run" in r.dagster_run.tags)
    assert mine.start_time is not None and mine.start_time >= ended["at"]
