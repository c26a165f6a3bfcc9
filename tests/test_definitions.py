"""The code location loads, and its shape matches the design: layers, groups, checks."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import dagster as dg

from assets import ASSETS, ATHLETES, CHECKS
from definitions import defs
from hrv.steps import GRAPH, features, journal, predictions, readings, registry

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
        "agent/squad_board",
    }


# The one confined exception (ARCHITECTURE.md, "Squad runs"); its contract test is
# tests/test_check_target.py.
PRIVATE_DAGSTER_ADAPTER = "assets/check_target.py"


def test_no_private_dagster_imports_outside_tests():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "tests") or rel.parts[0].startswith("."):
            continue
        text = path.read_text()
        if "from dagster._" in text or "import dagster._" in text:
            offenders.append(str(rel))
    assert offenders == [PRIVATE_DAGSTER_ADAPTER]
    adapter = (ROOT / PRIVATE_DAGSTER_ADAPTER).read_text()
    assert adapter.count("from dagster._") == 1  # one import, one type


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
    from assets.board import BOARD_KEY

    for trigger, root in (
        ("inbox", journal.KEY),
        ("sources", readings.KEY),
        ("settings", features.KEY),
    ):
        selected = set(AthleteRun("a", trigger, "k").selection() or [])
        closure = dg.AssetSelection.assets(dg.AssetKey(list(root))).downstream().resolve(graph)
        # the squad board is refreshed once per batch by its own sensor, never per athlete
        assert selected == closure - {BOARD_KEY}, trigger
    with_readings = AthleteRun("a", "inbox", "k", include_readings=True).selection() or []
    assert dg.AssetKey(list(readings.KEY)) in with_readings


def test_no_module_is_longer_than_350_lines_except_format_parsers():
    parsers = {"hrv/intake/journal.py"}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv", "tests/", "benchmarks/")) or rel in parsers:
            continue
        assert len(path.read_text().splitlines()) <= 350, rel


def test_no_import_cycles_between_modules():
    """No module imports (directly or through others) a module that imports it back.

    ``from package import submodule`` counts as importing the submodule only, so a
    package's ``__init__`` listing its modules is not a cycle with them."""
    import ast

    def module_name(path: Path) -> str:
        rel = path.relative_to(ROOT).with_suffix("")
        return ".".join(rel.parts).removesuffix(".__init__")

    paths = [
        p
        for p in ROOT.rglob("*.py")
        if p.relative_to(ROOT).parts[0] not in (".venv", "tests", "benchmarks")
        and not p.relative_to(ROOT).parts[0].startswith(".")
    ]
    names = {module_name(p) for p in paths}
    edges: dict[str, set[str]] = {}
    for path in paths:
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                subs = {f"{node.module}.{a.name}" for a in node.names} & names
                deps.update(subs or ({node.module} & names))
            elif isinstance(node, ast.Import):
                deps.update({a.name for a in node.names} & names)
        edges[module_name(path)] = deps - {module_name(path)}

    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_per_athlete_metadata_is_never_plotted_across_athletes():
    """Numbers in a per-athlete asset's or check's metadata are text, so the UI's Plots tab
    does not join different athletes into one line."""
    from assets.common import ui_metadata

    shown = ui_metadata({"mae_ms": 5.4321, "n_days": 120, "cold_start": False, "x": None})
    assert {k: type(v).__name__ for k, v in shown.items()} == dict.fromkeys(
        shown, "TextMetadataValue"
    )
    assert [v.value for v in shown.values()] == ["5.432", "120", "no", "-"]
