"""Fixtures for the end-to-end tests: the real daemon on a temporary embedded instance."""

import json

import dagster as dg
import pytest

from tests.conftest import Tree
from tests.e2e.harness import daemon, embedded_home, quiet, wait_for


@pytest.fixture(scope="module")
def inbox_daemon(tmp_path_factory):
    """One daemon per test module; each test waits until every run has finished, so the
    next test sees only its own runs."""
    root = tmp_path_factory.mktemp("live")
    tree = Tree(root)
    for p in (tree.inbox, tree.sources, tree.data):
        p.mkdir()
    home = embedded_home(root / "dagster_home")
    env = {**tree.env(), "HRV_INBOX_SETTLE_SECONDS": "1.5", "HRV_INBOX_MAX_ATTEMPTS": "2"}
    proc = daemon(home, env, root / "daemon.log").start()
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield tree, instance, proc
    finally:
        proc.stop()
        instance.dispose()


def settle(live, timeout=120):
    tree, instance, proc = live

    def done():
        pending = [
            p
            for p in tree.inbox.rglob("*")
            if p.is_file() and p.relative_to(tree.inbox).parts[0] not in ("processed", "rejected")
        ]
        return not pending and quiet(instance)

    wait_for(done, timeout, "the inbox to empty and runs to finish", proc.tail)


def forecast(tree, athlete):
    path = tree.outputs(athlete) / "agent_forecast.json"
    return json.loads(path.read_text()) if path.exists() else None
