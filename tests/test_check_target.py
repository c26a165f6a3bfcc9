"""The contract behind squad runs' per-athlete check status (``assets/check_target.py``).

Dagster's UI (the webserver's GraphQL ``partitionStatuses``, what a check's Partitions
tab shows) counts a check evaluation for an athlete only when it names the athlete's
partition and targets that partition's latest materialization. A squad run records
evaluations itself, so it sets the target through the one private type this project
imports. These tests ask the real webserver:

- an op that records materializations and evaluations with a target: every partition
  counted, passed and failed as recorded; without a target: not counted (the reason the
  adapter exists). A Dagster upgrade that changes either fails here;
- a real squad run of three athletes: every check of every asset lists each of them.
"""

import dagster as dg
import pytest

from assets import SQUAD_JOB
from assets.check_target import TargetMaterialization, latest_materialization
from hrv.steps import journal
from tests.conftest import Tree
from tests.e2e.harness import (
    ROOT,
    embedded_home,
    free_port,
    graphql,
    wait_for,
    webserver,
)
from tests.test_squad import ATHLETES_3, run_squad, write_squad

pytestmark = pytest.mark.e2e

CHECKS = """{ assetNodes { assetKey { path }
  assetChecksOrError { ... on AssetChecks { checks { name
    partitionStatuses { ... on AssetCheckDefaultPartitionStatuses {
      succeededPartitions failedPartitions inProgressPartitions skippedPartitions
      executionFailedPartitions } } } } } } }"""
JOURNAL = dg.AssetKey(list(journal.KEY))


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """A tree, its embedded instance and the real webserver over the code location."""
    root = tmp_path_factory.mktemp("ui")
    tree = Tree(root)
    for p in (tree.inbox, tree.sources, tree.data):
        p.mkdir()
    home = embedded_home(root / "home")
    workspace = root / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_file:\n"
        f"      relative_path: {ROOT / 'definitions.py'}\n"
        f"      working_directory: {ROOT}\n"
        "      location_name: hrv_sentinel\n"
    )
    port = free_port()
    web = webserver(home, tree.env(), workspace, port, root / "web.log").start()
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        wait_for(lambda: _answers(port), 120, "the webserver", web.tail)
        yield tree, instance, port
    finally:
        web.stop()
        instance.dispose()


def _answers(port: int) -> bool:
    try:
        return bool(graphql(port, CHECKS)["assetNodes"])
    except Exception:
        return False


def statuses(port: int) -> dict[tuple[str, str], dict]:
    out = {}
    for node in graphql(port, CHECKS)["assetNodes"]:
        key = "/".join(node["assetKey"]["path"])
        for check in node["assetChecksOrError"]["checks"]:
            out[(key, check["name"])] = check["partitionStatuses"] or {}
    return out


def test_an_evaluation_counts_per_partition_only_with_its_target(ui):
    _, instance, port = ui
    athletes = ["c1", "c2", "c3", "c4"]
    instance.add_dynamic_partitions("athletes", athletes)

    @dg.op(out=dg.Out(dg.Nothing))
    def record(context: dg.OpExecutionContext):
        for athlete in athletes:
            yield dg.AssetMaterialization(asset_key=JOURNAL, partition=athlete)
            target = latest_materialization(context.instance, JOURNAL, athlete)
            assert isinstance(target, TargetMaterialization)
            yield dg.AssetCheckEvaluation(
                asset_key=JOURNAL,
                check_name=journal.SCHEMA.name,
                passed=athlete != "c3",
                partition=athlete,
                # c4 without a target: recorded, but not what the UI counts
                target_materialization_data=None if athlete == "c4" else target,
                severity=dg.AssetCheckSeverity.WARN,
            )

    @dg.job
    def contract():
        record()

    assert contract.execute_in_process(instance=instance).success
    assert latest_materialization(instance, JOURNAL, "never") is None
    status = statuses(port)[(JOURNAL.to_user_string(), journal.SCHEMA.name)]
    assert set(status["succeededPartitions"]) >= {"c1", "c2"}
    assert "c3" in status["failedPartitions"]
    counted = {p for ps in status.values() for p in ps}
    assert "c4" not in counted  # no target: "Missing" in the UI


def test_after_a_squad_run_every_check_lists_every_athlete(ui):
    tree, instance, port = ui
    write_squad(tree)
    result = run_squad(instance, tree, ATHLETES_3)
    assert result.success and result.dagster_run.job_name == SQUAD_JOB
    per_check = statuses(port)
    athlete_checks = {k: v for k, v in per_check.items() if k[0] != "agent/squad_board"}
    assert len(athlete_checks) == 10
    for (asset, check), st in athlete_checks.items():
        shown = set(st.get("succeededPartitions", [])) | set(st.get("failedPartitions", []))
        assert shown >= set(ATHLETES_3), (asset, check, st)
        assert not set(st.get("executionFailedPartitions", [])) & set(ATHLETES_3)
