"""Fixtures for the end-to-end tests: the real daemon on a temporary embedded instance."""

import contextlib
import json

import dagster as dg
import pytest

from tests.conftest import Tree
from tests.e2e.harness import daemon, embedded_home, quiet, wait_for


@contextlib.contextmanager
def live_daemon(tmp_path_factory, name: str, **env: str):
    """The real daemon on an empty tree and a fresh embedded instance: (tree, instance,
    process), stopped on exit."""
    root = tmp_path_factory.mktemp(name)
    tree = Tree(root)
    for p in (tree.inbox, tree.sources, tree.data):
        p.mkdir()
    home = embedded_home(root / "dagster_home")
    proc = daemon(home, {**tree.env(), **env}, root / "daemon.log").start()
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield tree, instance, proc
    finally:
        proc.stop()
        instance.dispose()


@pytest.fixture(scope="module")
def inbox_daemon(tmp_path_factory):
    """One daemon per test module; each test waits until every run has finished, so the
    next test sees only its own runs."""
    with live_daemon(
        tmp_path_factory, "live", HRV_INBOX_SETTLE_SECONDS="1.5", HRV_INBOX_MAX_ATTEMPTS="2"
    ) as live:
        yield live


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
