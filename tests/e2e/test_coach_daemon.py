"""The coach's morning, live: the real daemon, real slack-sdk, a local Slack Web API server.

A flagged athlete gives exactly one message in the coach's channel and one resolved
message after recovery; the squad board refreshes on its own and follows athletes.yaml
without a restart."""

import datetime as dt
import json
import time

import numpy as np
import pytest

from tests.e2e.conftest import live_daemon
from tests.e2e.harness import quiet, runs, wait_for
from tests.slack_server import GOOD_TOKEN, FakeSlack

pytestmark = pytest.mark.e2e
TODAY = dt.date.today()
STEADY = list(np.round(60 * np.exp(np.random.default_rng(0).normal(0, 0.05, 40)), 1))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    slack = FakeSlack().start()
    env = {
        "HRV_SOURCES_SETTLE_SECONDS": "1",
        "HRV_BOARD_QUIET_SECONDS": "1",
        "SLACK_BOT_TOKEN": GOOD_TOKEN,
        "SLACK_CHANNEL": "#hrv-alerts",
        "SLACK_COACH_CHANNEL": "#coach",
        "SLACK_API_BASE_URL": slack.api_base_url,
    }
    try:
        with live_daemon(tmp_path_factory, "coach_live", **env) as (tree, instance, proc):
            roster = tree.root / "athletes.yaml"  # HRV_ATHLETES_FILE in the test environment
            roster.write_text("athletes:\n  ann: {display_name: Ann Lee, team: Rowing}\n")
            yield tree, instance, proc, slack, roster
    finally:
        slack.stop()


def export(tree, athlete, values, last_day):
    days = [last_day - dt.timedelta(days=len(values) - 1 - i) for i in range(len(values))]
    (tree.sources / athlete).mkdir(parents=True, exist_ok=True)
    (tree.sources / athlete / "hrv.csv").write_text(
        "date,rmssd_ms\n" + "".join(f"{d},{v}\n" for d, v in zip(days, values, strict=True))
    )


def coach_messages(slack, needle):
    return [m for m in slack.delivered() if m["channel"] == "#coach" and needle in m["text"]]


def board(tree):
    try:
        return json.loads((tree.data / "outputs" / "squad_board.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def row(tree, athlete):
    return next((r for r in board(tree).get("rows", []) if r["athlete"] == athlete), None)


def test_a_flagged_athlete_gives_one_message_and_one_resolved_after_recovery(live):
    tree, instance, proc, slack, _ = live
    low = STEADY + [38.0] * 3  # the 7-day mean sinks below the normal range for 2 days
    export(tree, "ann", low, TODAY - dt.timedelta(days=6))
    wait_for(
        lambda: coach_messages(slack, "[FIRING] [ann] Ann Lee: HRV below normal"),
        120,
        "the flag in the coach's channel",
        proc.tail,
    )
    flagged = wait_for(
        lambda: (r := row(tree, "ann")) and "HRV below normal" in r["flags"] and r,
        90,
        "ann flagged on the board",
        proc.tail,
    )
    assert flagged["status"] == "alert" and flagged["name"] == "Ann Lee"
    assert board(tree)["rows"][0]["athlete"] == "ann"  # worst first
    page = (tree.data / "outputs" / "squad_board.html").read_text()
    assert "Ann Lee" in page and "<svg" in page

    export(tree, "ann", low + [62.0] * 6, TODAY)  # six good nights: back in range
    wait_for(
        lambda: coach_messages(slack, "[RESOLVED] [ann] Ann Lee: HRV below normal no more"),
        120,
        "the resolved message",
        proc.tail,
    )
    wait_for(lambda: quiet(instance), 60, "runs done", proc.tail)
    time.sleep(3)
    # one message per flag and state (the erratic nights also raised "variation rising")
    for flag in ("HRV below normal", "variation rising"):
        assert len(coach_messages(slack, f"[FIRING] [ann] Ann Lee: {flag}")) <= 1
        assert len(coach_messages(slack, f"[RESOLVED] [ann] Ann Lee: {flag}")) <= 1
    assert len(coach_messages(slack, "[FIRING] [ann] Ann Lee: HRV below normal")) == 1
    assert len(coach_messages(slack, "[RESOLVED] [ann] Ann Lee: HRV below normal")) == 1
    assert not [
        m for m in slack.delivered() if m["channel"] == "#hrv-alerts" and "Ann Lee" in m["text"]
    ]
    wait_for(
        lambda: (r := row(tree, "ann")) and "HRV below normal" not in r["flags"],
        60,
        "the board after recovery",
        proc.tail,
    )
    board_runs = [r for r in runs(instance, board=True) if r.job_name == "squad_board"]
    athlete_runs = runs(instance)
    # once per batch, never per step or athlete: at start, after each batch, and when an
    # athlete's alerts change (the old export made the source stale for a moment)
    assert 1 <= len(board_runs) <= len(athlete_runs) + 2


def test_editing_athletes_yaml_changes_the_board_without_a_restart(live):
    tree, instance, proc, _, roster = live
    wait_for(lambda: row(tree, "ann"), 120, "ann on the board", proc.tail)
    since = time.time()
    roster.write_text(
        "athletes:\n  ann: {display_name: Ann L., team: Rowing, normal_range_width: 0.8}\n"
        "  zoe: {display_name: Zoe}\n"
    )
    wait_for(
        lambda: (r := row(tree, "ann")) and r["name"] == "Ann L." and row(tree, "zoe"),
        120,
        "the board with the new names",
        proc.tail,
    )
    assert row(tree, "zoe")["status"] == "no_data"  # named, no data yet: still on the board
    rerun = [r for r in runs(instance, since) if r.tags.get("hrv/trigger") == "settings"]
    assert [r.tags["athlete"] for r in rerun] == ["ann"]  # its width changed: re-run
    # (a file that cannot be used: tests/test_coach.py, with the sensor's alert below)
