"""Squad runs: one run walks each athlete's steps and records them per athlete.

The same data through a squad run and through each athlete's own asset run gives the
same outputs, the same materialization metadata and the same check results per athlete,
each evaluation naming the athlete's partition and the materialization it checked (what
the UI's per-athlete check status needs), and the same failure behaviour: a failed step
or blocking check stops only that athlete's descendants.
"""

import json
import re
import time

import dagster as dg
import pytest

from assets import (
    ASSETS,
    ATHLETE_JOB,
    CHECKS,
    SQUAD_JOB,
    AthleteRun,
    athlete_assets_job,
    squad_run_request,
)
from assets.common import FS_RETRY
from assets.executor import with_retries
from definitions import defs
from hrv.demo import SQUAD, write_demo
from hrv.settings import Settings
from hrv.steps import journal
from hrv.steps.graph import RETRY_DELAYS_SECONDS
from hrv.steps.outputs import AGENT_FORECAST, PREDICTIONS_REGISTRY
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.registry import read_registry
from sensors.common import chunks, run_requests
from tests.conftest import Tree, yesterday

pytestmark = pytest.mark.slow  # materializes whole graphs: in make test, not test-fast
ALL_KEYS = {a.key for a in ASSETS}
N_CHECKS = sum(len(list(a.check_specs)) for a in ASSETS) + len(CHECKS)
ATHLETES_3 = ("alice", "bob", "carol")
VOLATILE = ("generated_at", "made_at", "trained_at", "ingested_at", "step_seconds", "age_hours")
AGE = re.compile(r"[0-9.]+ h old")  # the freshness verdict: the clock moves between runs


def write_squad(tree: Tree, athletes=ATHLETES_3, seed=11):
    profiles = tuple(p for p in SQUAD if p.athlete in athletes)
    write_demo(tree.inbox, tree.sources, days=45, end=yesterday(), seed=seed, squad=profiles)


def members(athletes, trigger="inbox"):
    return [AthleteRun(a, trigger, f"{trigger}:{a}:1", include_readings=True) for a in athletes]


def run_squad(instance, tree, athletes, trigger="inbox"):
    instance.add_dynamic_partitions("athletes", list(athletes))
    request = squad_run_request(members(athletes, trigger))
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
    job = dg.Definitions(
        assets=ASSETS, asset_checks=CHECKS, jobs=[athlete_assets_job], resources=tree.resources()
    ).resolve_job_def(ATHLETE_JOB)
    return job.execute_in_process(
        run_config=spec.run_config(),
        instance=instance,
        partition_key=athlete,
        asset_selection=spec.selection(),
        tags=spec.run_tags(),
        raise_on_error=False,
    )


def plain(metadata, root: str) -> dict:
    """Metadata values as plain data, without the ones that carry a clock, with the
    tree's folder as ``<tree>``."""
    out = {}
    for key, value in metadata.items():
        value = getattr(value, "value", value)
        if key not in VOLATILE:
            out[key] = (
                AGE.sub("N h old", value.replace(root, "<tree>"))
                if isinstance(value, str)
                else value
            )
    return out


def recorded(instance, tree: Tree) -> dict:
    """Per athlete: every materialization's metadata and every check evaluation, by
    asset and check, as every run of the instance recorded them; and whether each
    evaluation targets its partition's latest materialization (what the UI counts)."""
    out: dict = {}
    latest = {
        (key, athlete): instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[athlete]), limit=1
        )
        .records[0]
        .storage_id
        for key in ALL_KEYS
        for athlete in instance.get_materialized_partitions(key)
    }
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type_value == "ASSET_MATERIALIZATION":
                m = event.step_materialization_data.materialization
                mats = out.setdefault(m.partition, {}).setdefault("materialized", {})
                mats[m.asset_key.to_user_string()] = plain(m.metadata, str(tree.root))
            elif event.event_type_value == "ASSET_CHECK_EVALUATION":
                d = event.event_specific_data
                target = d.target_materialization_data
                checks = out.setdefault(d.partition, {}).setdefault("checks", {})
                checks[(d.asset_key.to_user_string(), d.check_name)] = {
                    "passed": d.passed,
                    "severity": d.severity,
                    "blocking": d.blocking,
                    "description": AGE.sub("N h old", d.description or ""),
                    "metadata": plain(d.metadata, str(tree.root)),
                    "targets_latest": target is not None
                    and target.storage_id == latest.get((d.asset_key, d.partition)),
                }
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


def squad_failure(result) -> list[dict]:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return failure.event_specific_data.user_failure_data.metadata["failures"].value


def test_a_squad_run_records_every_athlete_on_its_partition(tree, instance):
    write_squad(tree)
    n_files = len(pending(tree))
    result = run_squad(instance, tree, ATHLETES_3)
    assert result.success
    assert [r.job_name for r in instance.get_runs()] == [SQUAD_JOB]  # one run, no others
    seen = recorded(instance, tree)
    assert sorted(seen) == list(ATHLETES_3)
    for athlete in ATHLETES_3:
        assert set(seen[athlete]["materialized"]) == {k.to_user_string() for k in ALL_KEYS}
        checks = seen[athlete]["checks"]
        assert len(checks) == N_CHECKS
        assert all(c["targets_latest"] for c in checks.values()), athlete
        forecast = json.loads((tree.outputs(athlete) / AGENT_FORECAST).read_text())
        assert forecast["athlete"] == athlete and forecast["for_date"] > yesterday().isoformat()
    assert pending(tree) == [] and n_files > 0
    for key in ALL_KEYS:
        assert instance.get_materialized_partitions(key) == set(ATHLETES_3)
    # the squad run lists its athletes: in its tags (the Runs page) and its output
    (run,) = instance.get_runs()
    assert run.tags["hrv/athletes"] == "alice, bob, carol" and run.tags["hrv/squad"] == "3"
    table = next(
        e.step_output_data.metadata["athletes_updated"].value
        for e in result.all_events
        if e.event_type_value == "STEP_OUTPUT"
    )
    assert all(f"| {a} | ok | 9 |" in table for a in ATHLETES_3)


def test_squad_and_single_runs_record_the_same_outputs_metadata_checks_and_failures(tmp_path):
    """alice fine, bob's stored journal broken: one squad run vs one asset run each."""
    trees = {}
    for mode in ("squad", "single"):
        tree = Tree(tmp_path / mode)
        for folder in (tree.inbox, tree.sources, tree.data):
            folder.mkdir(parents=True)
        write_squad(tree, ("alice", "bob"), seed=5)
        break_journal_log(tree, "bob")
        trees[mode] = tree
    seen, results = {}, {}
    for mode, tree in trees.items():
        with dg.instance_for_test() as instance:
            if mode == "squad":
                results[mode] = [run_squad(instance, tree, ["alice", "bob"])]
            else:
                results[mode] = [run_single(instance, tree, a) for a in ("alice", "bob")]
            seen[mode] = recorded(instance, tree)
    assert seen["squad"] == seen["single"]
    assert all(c["targets_latest"] for a in seen["squad"].values() for c in a["checks"].values())
    # bob: the journal failed, only its descendants did not run; his readings still did
    assert set(seen["squad"]["bob"]["materialized"]) == {"bronze/wearable_readings"}
    assert [r.success for r in results["single"]] == [True, False]
    (squad,) = results["squad"]
    assert not squad.success  # one athlete failed: the squad says so, naming him
    (failure,) = squad_failure(squad)
    assert failure["athlete"] == "bob" and failure["asset"] == "bronze/journal_entries"
    assert "journal" in failure["error"].lower()
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
    before = {
        a: instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(["silver", "daily_features"]), asset_partitions=[a]
            ),
            limit=1,
        )
        .records[0]
        .storage_id
        for a in ATHLETES_3
    }
    result = run_squad(instance, tree, ATHLETES_3)
    (failure,) = squad_failure(result)
    assert failure["athlete"] == "bob" and failure["asset"] == "bronze/journal_entries"
    assert journal.SCHEMA.name in failure["error"]
    after = {
        a: instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(["silver", "daily_features"]), asset_partitions=[a]
            ),
            limit=1,
        )
        .records[0]
        .storage_id
        for a in ATHLETES_3
    }
    # recorded, then blocked: bob's journal materialized, nothing depending on it ran
    assert after["bob"] == before["bob"]
    assert after["alice"] > before["alice"] and after["carol"] > before["carol"]
    schema = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == journal.SCHEMA.name
        and e.event_specific_data.partition == "bob"
    ]
    assert [(s.passed, s.blocking) for s in schema] == [(False, True)]


def test_a_squad_retries_a_step_as_the_assets_retry_policy_does():
    """Transient errors are retried after each delay, then given up; a data problem
    (a Failure that forbids retries) fails at once."""
    import logging

    calls: list[float] = []

    def flaky(fail_times: int, exc: Exception):
        def work():
            calls.append(time.monotonic())
            if len(calls) <= fail_times:
                raise exc
            return "done"

        return work

    log = logging.getLogger("test")
    assert with_retries("a/x", flaky(2, OSError("disk busy")), log, (0.05, 0.1, 0.2)) == "done"
    assert len(calls) == 3 and calls[2] - calls[1] >= 0.1 > calls[1] - calls[0] >= 0.05
    calls.clear()
    with pytest.raises(OSError) as gave_up:
        with_retries("a/x", flaky(9, OSError("gone")), log, (0.0, 0.0, 0.0))
    assert len(calls) == 4  # the first try and 3 retries, as FS_RETRY
    assert gave_up.value.__notes__ == ["retried 3 times, after 0, 0, 0 s"]
    calls.clear()
    data_problem = dg.Failure(description="journal unreadable", allow_retries=False)
    with pytest.raises(dg.Failure):
        with_retries("a/x", flaky(9, data_problem), log, (0.0, 0.0, 0.0))
    assert len(calls) == 1
    assert RETRY_DELAYS_SECONDS == (0.5, 1.0, 2.0) and FS_RETRY.max_retries == 3


@pytest.mark.parametrize(
    ("n", "size", "at_least", "expected"),
    [
        (0, 25, 1, []),
        (3, 25, 1, [3]),
        (25, 25, 1, [25]),
        (26, 25, 1, [13, 13]),
        (51, 25, 1, [17, 17, 17]),
        (200, 250, 2, [100, 100]),
        (1000, 250, 2, [250, 250, 250, 250]),
        (3, 250, 5, [1, 1, 1]),
    ],
)
def test_chunks_are_balanced_and_keep_order(n, size, at_least, expected):
    items = list(range(n))
    groups = chunks(items, size, at_least)
    assert [len(g) for g in groups] == expected
    assert [x for g in groups for x in g] == items


def test_a_tick_with_many_athletes_becomes_squad_runs_spread_over_the_cores():
    settings = Settings(squad_min_athletes=4, squad_size=250, squad_runs=2)
    few = run_requests(members(["a", "b", "c"]), settings)
    assert [r.job_name for r in few] == [ATHLETE_JOB] * 3
    assert [r.partition_key for r in few] == ["a", "b", "c"]
    many = run_requests(members([f"x{i}" for i in range(200)]), settings)
    assert [r.job_name for r in many] == [SQUAD_JOB] * 2  # one per core
    assert [r.tags["hrv/squad"] for r in many] == ["100", "100"]
    assert (
        many[0].tags["hrv/athletes"].startswith("x0, x1, x2")
        and "+88 more" in many[0].tags["hrv/athletes"]
    )
    huge = run_requests(members([f"x{i}" for i in range(1000)]), settings)
    assert [r.tags["hrv/squad"] for r in huge] == ["250"] * 4  # no run past HRV_SQUAD_SIZE
    five = run_requests(members([f"x{i}" for i in range(5)]), settings)
    assert [r.tags["hrv/squad"] for r in five] == ["5"]  # no squad below the minimum
    off = run_requests(members([f"x{i}" for i in range(60)]), Settings(squad_min_athletes=0))
    assert len(off) == 60 and {r.job_name for r in off} == {ATHLETE_JOB}


def test_an_athlete_retried_after_a_failure_gets_an_asset_run_of_its_own():
    """A retry goes alone: if it fails again, Dagster shows the failed step on the
    athlete's asset partitions, as for any asset run."""
    settings = Settings(squad_min_athletes=4, squad_runs=2)
    tick = members([f"x{i}" for i in range(8)])
    tick[3] = AthleteRun("x3", "inbox", "inbox:x3:2", attempt=2, files=["x3/a.md"])
    requests = run_requests(tick, settings)
    assert [r.job_name for r in requests] == [SQUAD_JOB, ATHLETE_JOB]
    assert requests[1].partition_key == "x3" and "x3" not in requests[0].tags["hrv/athletes"]


def test_a_clock_member_runs_only_its_athletes_checks(tree, instance):
    """The freshness sensor's squad of check runs: no asset is materialized again."""
    write_squad(tree, ("alice",))
    assert run_squad(instance, tree, ["alice"]).success
    mats_before = len(
        instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["bronze", "wearable_readings"])), limit=100
        ).records
    )
    result = run_squad(instance, tree, ["alice"], trigger="clock")
    assert result.success
    assert not [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    evaluated = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert [
        (d.asset_key.to_user_string(), d.check_name, d.partition, d.passed) for d in evaluated
    ] == [("bronze/wearable_readings", "source_freshness", "alice", True)]
    assert recorded(instance, tree)["alice"]["checks"][
        ("bronze/wearable_readings", "source_freshness")
    ]["targets_latest"]
    assert mats_before == len(
        instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["bronze", "wearable_readings"])), limit=100
        ).records
    )


def test_a_squad_waits_for_an_athletes_run_started_elsewhere(tree, instance):
    """Two sensors deciding in the same moment: an athlete's own run and a squad that
    includes that athlete. The squad runs the athlete only once the other run is over."""
    import threading

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
    first = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(["bronze", "journal_entries"]), asset_partitions=["alice"]
        ),
        limit=1,
    ).records[0]
    assert first.timestamp >= ended["at"]


def test_of_two_runs_sharing_an_athlete_only_the_later_one_waits(instance):
    """Two sensors deciding in the same moment start two runs for one athlete: each
    waiting for the other would wait forever (seen on the compose stack); the earlier one
    goes ahead, the later one waits for it."""
    from assets.squad import earlier_runs_athletes

    def squad(names):
        request = squad_run_request(members(names))
        return instance.add_run(
            dg.DagsterRun(
                job_name=SQUAD_JOB,
                status=dg.DagsterRunStatus.STARTED,
                run_config=request.run_config,
                tags=request.tags,
            )
        )

    first = squad(["carol", "me"])
    second = squad(["me"])
    third = squad(["dan"])
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
    )
    assert earlier_runs_athletes(records, first.run_id) == set()
    assert earlier_runs_athletes(records, second.run_id) == {"carol", "me"}
    assert earlier_runs_athletes(records, third.run_id) == {"carol", "me"}
