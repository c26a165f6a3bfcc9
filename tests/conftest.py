"""Shared fixtures: a temporary inbox/sources/data tree and the resources pointing at it."""

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from hrv.settings import Settings
from resources import build_resources

# The compose test builds images and starts containers on a Docker engine: its own
# command, `make test-compose` (CI runs it after `make test`), not part of `make test`.
collect_ignore_glob = [] if os.environ.get("HRV_TEST_COMPOSE") else ["compose/*"]


@dataclass
class Tree:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def outputs(self, athlete: str) -> Path:
        return self.data / "outputs" / athlete

    def settings(self, **overrides) -> Settings:
        # an idle inbox tick would otherwise keep watching for 4 s (tested on its own)
        values = {
            "inbox_poll_seconds": 0.0,
            "athletes_file": self.root / "athletes.yaml",
            **overrides,
        }
        return Settings(
            inbox_dir=self.inbox, sources_dir=self.sources, data_dir=self.data, **values
        )

    def resources(self, **overrides) -> dict:
        return build_resources(self.settings(**overrides))

    def env(self) -> dict[str, str]:
        return {
            "HRV_INBOX_DIR": str(self.inbox),
            "HRV_SOURCES_DIR": str(self.sources),
            "HRV_DATA_DIR": str(self.data),
            "HRV_DEFAULT_ATHLETE": "me",
            "HRV_ATHLETES_FILE": str(self.root / "athletes.yaml"),
            # tests about something else do not pay for board refreshes (the coach's do)
            "HRV_BOARD_QUIET_SECONDS": "3600",
        }


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    t = Tree(tmp_path)
    for p in (t.inbox, t.sources, t.data):
        p.mkdir()
    return t


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def yesterday() -> dt.date:
    return dt.date.today() - dt.timedelta(days=1)


# `make test` runs modules in parallel, one module per worker (pytest-xdist --dist
# loadfile), in collection order: the longest modules (each waits on its own daemon) go
# first, so the short ones fill in around them instead of trailing at the end.
SLOWEST_FIRST = (
    "e2e/test_stack_postgres.py",
    "e2e/test_slack_daemon.py",
    "e2e/test_sources_daemon.py",
    "e2e/test_inbox_failures.py",
    "e2e/test_real_exports_daemon.py",
    "test_squad.py",
    "e2e/test_inbox_daemon.py",
    "e2e/test_chaos.py",
    "test_assets.py",
    "test_fuzz.py",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        path = item.nodeid.split("::")[0].removeprefix("tests/")
        return SLOWEST_FIRST.index(path) if path in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: the order within a module is kept


@dataclass
class Update:
    """One athlete's update as a sensor requested it: in an asset run of its own, or as a
    member of a squad run (the shape of the request aside, the same update)."""

    athlete: str
    job: str
    trigger: str
    files: list[str] | None
    selection: set
    checks: set | None
    request: dg.RunRequest


def updates(requests) -> dict[str, Update]:
    """The athletes a tick's run requests update, each with its update."""
    from assets.runs import JOURNAL_OP, SQUAD_JOB, SQUAD_OP, AthleteRun

    out: dict[str, Update] = {}
    for r in requests:
        if r.job_name == SQUAD_JOB:
            for m in r.run_config["ops"][SQUAD_OP]["config"]["athletes"]:
                spec = AthleteRun(**m)
                checks = spec.check_selection()
                out[spec.athlete] = Update(
                    spec.athlete,
                    r.job_name,
                    spec.trigger,
                    spec.files,
                    set(spec.selection()),
                    set(checks) if checks is not None else None,
                    r,
                )
        else:
            config = (r.run_config or {}).get("ops", {}).get(JOURNAL_OP, {}).get("config", {})
            out[r.partition_key] = Update(
                r.partition_key,
                r.job_name,
                r.tags.get("hrv/trigger", ""),
                config.get("files"),
                set(r.asset_selection or []),
                set(r.asset_check_keys) if r.asset_check_keys is not None else None,
                r,
            )
    return out
