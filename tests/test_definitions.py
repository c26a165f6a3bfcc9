"""The code location loads, and its shape matches the design: layers, groups, checks."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import dagster as dg

from assets import ALL_ASSETS, ATHLETES
from assets import check_names as C
from definitions import defs

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"bronze", "silver", "gold", "agent"}
BLOCKING = {C.JOURNAL_SCHEMA, C.ONE_ENTRY_PER_DAY, C.PREDICTION_RANGE, C.REGISTRY_APPEND_ONLY}


def test_dagster_definitions_validate_passes(tmp_path):
    # An explicit, empty DAGSTER_HOME: without one, Dagster's CLI would load the root
    # dagster.yaml (the PostgreSQL server instance) from the working directory.
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    # it must have found the code location through pyproject.toml (zero locations "pass")
    assert "Validation successful for code location hrv_sentinel" in out, out


def test_pyproject_declares_the_code_location():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]
    assert conf["module_name"] == "definitions" and conf["code_location_name"] == "hrv_sentinel"


def test_assets_carry_layer_prefix_group_partitions_docs_and_retries():
    for asset in ALL_ASSETS:
        (key,) = asset.keys
        layer = key.path[0]
        assert layer in LAYERS
        assert asset.group_names_by_key[key] == layer
        assert asset.partitions_def == ATHLETES
        assert (asset.descriptions_by_key.get(key) or "").strip(), key
        assert asset.op.retry_policy is not None
        assert asset.op.retry_policy.backoff == dg.Backoff.EXPONENTIAL


def test_every_check_is_named_by_a_constant_documented_partitioned_and_deliberately_blocking():
    names = {v for k, v in vars(C).items() if k.isupper()}
    specs = [s for a in ALL_ASSETS for s in a.check_specs]
    assert {s.name for s in specs} == names
    for spec in specs:
        assert len(spec.description or "") > 40, spec.name
        assert spec.partitions_def == ATHLETES
        assert spec.blocking == (spec.name in BLOCKING), spec.name


def test_definitions_resolve_with_resources():
    repo = defs.get_repository_def()
    assert {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()} == {
        "bronze/journal_entries",
        "bronze/wearable_readings",
        "silver/daily_features",
        "gold/hrv_model",
        "gold/model_predictions",
        "gold/predictions_registry",
        "gold/reconciliation",
        "gold/intelligence_summary",
        "agent/agent_forecast",
    }


def test_no_private_dagster_imports_outside_tests():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "tests") or rel.parts[0].startswith("."):
            continue
        text = path.read_text()
        if "from dagster._" in text or "import dagster._" in text:
            offenders.append(str(rel))
    assert offenders == []


def test_pure_modules_do_not_import_dagster():
    for path in (ROOT / "hrv").glob("*.py"):
        text = path.read_text()
        assert "import dagster" not in text and "from dagster" not in text, path.name


def test_trigger_selections_are_exactly_the_downstream_closures():
    from assets import JOURNAL_AND_DOWNSTREAM, READINGS_AND_DOWNSTREAM, READINGS_KEY
    from assets.bronze import JOURNAL_KEY

    graph = defs.get_repository_def().asset_graph
    for root, constant in (
        (JOURNAL_KEY, JOURNAL_AND_DOWNSTREAM),
        (READINGS_KEY, READINGS_AND_DOWNSTREAM),
    ):
        closure = dg.AssetSelection.assets(root).downstream().resolve(graph)
        assert set(constant) == closure, root
