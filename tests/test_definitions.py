"""The code location loads, and its shape matches the design: layers, groups, checks."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import dagster as dg

from assets import ASSETS, ATHLETES, CHECKS
from definitions import defs
from hrv.steps import GRAPH, journal, predictions, readings, registry

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"bronze", "silver", "gold", "agent"}
BLOCKING = {
    journal.SCHEMA.name,
    journal.ONE_PER_DAY.name,
    predictions.IN_RANGE.name,
    registry.APPEND_ONLY.name,
}


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
    for asset in ASSETS:
        (key,) = asset.keys
        layer = key.path[0]
        assert layer in LAYERS
        assert asset.group_names_by_key[key] == layer
        assert asset.partitions_def == ATHLETES
        assert (asset.descriptions_by_key.get(key) or "").strip(), key
        assert asset.op.retry_policy is not None
        assert asset.op.retry_policy.backoff == dg.Backoff.EXPONENTIAL


def test_every_declared_check_is_a_documented_partitioned_deliberately_blocking_spec():
    declared = {(step.key, check.name) for step, check in GRAPH.check_defs()}
    specs = [s for a in ASSETS for s in a.check_specs] + [s for c in CHECKS for s in c.check_specs]
    assert {(tuple(s.asset_key.path), s.name) for s in specs} == declared
    assert len(specs) == len(declared) == 10
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
    modules = list((ROOT / "hrv").rglob("*.py"))
    assert len(modules) > 30
    for path in modules:
        text = path.read_text()
        assert "import dagster" not in text and "from dagster" not in text, path


def test_the_asset_graph_is_the_step_graph():
    """Keys, dependencies and order of the assets are those declared in hrv/steps."""
    graph = defs.get_repository_def().asset_graph
    for step in GRAPH:
        key = dg.AssetKey(list(step.key))
        parents = {k.to_user_string() for k in graph.get(key).parent_keys}
        assert parents == {"/".join(d) for d in step.deps}, step.path


def test_trigger_selections_are_exactly_the_downstream_closures():
    from assets import AthleteRun

    graph = defs.get_repository_def().asset_graph
    for trigger, root in (("inbox", journal.KEY), ("sources", readings.KEY)):
        selected = set(AthleteRun("a", trigger, "k").selection() or [])
        closure = dg.AssetSelection.assets(dg.AssetKey(list(root))).downstream().resolve(graph)
        assert selected == closure, trigger
    with_readings = AthleteRun("a", "inbox", "k", include_readings=True).selection() or []
    assert dg.AssetKey(list(readings.KEY)) in with_readings


def test_no_module_is_longer_than_350_lines_except_format_parsers():
    parsers = {"hrv/intake/journal.py", "hrv/intake/wearables.py"}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv", "tests/", "benchmarks/")) or rel in parsers:
            continue
        assert len(path.read_text().splitlines()) <= 350, rel


def test_no_import_cycles_between_modules():
    import ast

    modules: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "tests", "benchmarks") or rel.parts[0].startswith("."):
            continue
        name = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        imports = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imports.add(node.module)
                imports.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                imports.update(a.name for a in node.names)
        modules[name] = imports
    edges = {m: {i for i in deps if i in modules and i != m} for m, deps in modules.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in edges[node]:
                if nxt == start:
                    return path
                if nxt not in path and len(path) < 12:
                    stack.append((nxt, [*path, nxt]))
        return None

    # a package importing its own submodules (its __init__ re-exporting) is not a cycle
    cycles = []
    for m in modules:
        found = cycle_from(m)
        if found and not all(
            x.startswith(found[0].split(".")[0] + ".") or x == found[0].split(".")[0] for x in found
        ):
            cycles.append(found)
    assert cycles == []
