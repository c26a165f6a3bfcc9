"""A squad arriving at once, seen through the UI: `dagster dev` (what `make run` starts),
six athletes dropped together, then the webserver's GraphQL API, as the UI reads it.

Every athlete must show a status (not "Missing") on every check's Partitions tab,
although they were updated by one squad run, and each athlete's run carries its name.
"""

import datetime as dt
import json

import dagster as dg
import pytest

from hrv.demo import AthleteProfile, write_demo
from tests.conftest import Tree, yesterday
from tests.e2e.harness import (
    check_partition_statuses,
    dagster_dev,
    embedded_home,
    free_port,
    graphql,
    quiet,
    runs,
    wait_for,
    webserver_up,
)

pytestmark = pytest.mark.e2e

STYLES = (
    ("csv_plus_md", "generic_csv"),
    ("json_yaml", "whoop"),
    ("md_named", "garmin"),
    ("md_named", "generic_csv"),
)
SIX = tuple(AthleteProfile(f"runner{i}", 50.0 + 6 * i, *STYLES[i % len(STYLES)]) for i in range(6))


def forecasts(tree):
    return all((tree.outputs(p.athlete) / "agent_forecast.json").exists() for p in SIX)


def test_six_athletes_at_once_show_every_check_status_per_athlete(tmp_path):
    tree = Tree(tmp_path)
    for folder in (tree.inbox, tree.sources, tree.data):
        folder.mkdir()
    home = embedded_home(tmp_path / "home")
    port = free_port()
    env = {**tree.env(), "HRV_INBOX_SETTLE_SECONDS": "1", "HRV_SOURCES_SETTLE_SECONDS": "1"}
    proc = dagster_dev(home, env, port, tmp_path / "dev.log").start()
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        wait_for(lambda: webserver_up(port), 90, "the webserver", proc.tail)
        # six athletes' journals and exports, written aside and then dropped at once
        staging = Tree(tmp_path / "staging")
        write_demo(staging.inbox, staging.sources, days=60, end=yesterday(), seed=21, squad=SIX)
        for kind in ("inbox", "sources"):
            for folder in sorted(getattr(staging, kind).iterdir()):
                folder.rename(getattr(tree, kind) / folder.name)
        wait_for(lambda: forecasts(tree), 240, "six forecasts", proc.tail)
        wait_for(lambda: quiet(instance), 120, "runs to finish", proc.tail)
        athletes = sorted(p.athlete for p in SIX)

        squads = [r for r in runs(instance) if r.job_name == "squad_update"]
        assert squads, "six athletes at once should share a squad run"
        named = {r.tags.get("athlete") for r in runs(instance) if r.job_name == "athlete_assets"}
        assert set(athletes) <= named  # every athlete's run carries the athlete's name

        statuses = check_partition_statuses(port)
        assert len(statuses) == 10
        for (asset, check), by_status in statuses.items():
            shown = set(by_status["succeeded"]) | set(by_status["failed"])
            assert shown == set(athletes), f"{asset} {check}: {by_status}"
            assert by_status["inProgress"] == [] and by_status["executionFailed"] == []
            if check != "model_mae_vs_persistence":  # skill on 60 days may go either way
                assert by_status["failed"] == [], f"{asset} {check}: {by_status}"

        tags = graphql(
            port,
            'query { runsOrError(filter: {tags: [{key: "athlete", value: "runner0"}]}) '
            "{ ... on Runs { results { jobName tags { key value } } } } }",
        )["runsOrError"]["results"]
        assert tags and all(r["jobName"] == "athlete_assets" for r in tags)
        # the settings in effect are visible in the UI (Resources, "settings"), secrets not
        workspace = graphql(
            port, "query { workspaceOrError { ... on Workspace { locationEntries { name } } } }"
        )
        location = workspace["workspaceOrError"]["locationEntries"][0]["name"]
        details = graphql(
            port,
            "query { topLevelResourceDetailsOrError(resourceSelector: {repositoryLocationName: "
            f'"{location}", repositoryName: "__repository__", resourceName: "settings"}}) '
            "{ ... on ResourceDetails { configuredValues { key value } } } }",
        )["topLevelResourceDetailsOrError"]
        shown = json.dumps(details["configuredValues"])
        assert "HRV_INBOX_SETTLE_SECONDS" in shown and str(tree.inbox) in shown
        assert "SLACK_BOT_TOKEN" in shown and "xoxb" not in shown
        forecast = json.loads((tree.outputs("runner0") / "agent_forecast.json").read_text())
        assert forecast["for_date"] == (yesterday() + dt.timedelta(days=1)).isoformat()
    finally:
        proc.stop()
        instance.dispose()
