"""Slack alerts, live: the real daemon, real slack-sdk, a local Slack Web API server."""

import datetime as dt
import json
import shutil
import time

import dagster as dg
import pytest

from tests.conftest import Tree
from tests.e2e.harness import daemon, embedded_home, quiet, runs, wait_for
from tests.slack_server import GOOD_TOKEN, FakeSlack

pytestmark = pytest.mark.e2e
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    slack = FakeSlack().start()
    root = tmp_path_factory.mktemp("slack_live")
    tree = Tree(root)
    for p in (tree.inbox, tree.sources, tree.data):
        p.mkdir()
    home = embedded_home(root / "dagster_home")
    env = {
        **tree.env(),
        "HRV_INBOX_SETTLE_SECONDS": "1",
        "HRV_SOURCES_SETTLE_SECONDS": "1",
        "HRV_INBOX_MAX_ATTEMPTS": "4",
        "SLACK_BOT_TOKEN": GOOD_TOKEN,
        "SLACK_CHANNEL": "#hrv-alerts",
        "SLACK_API_BASE_URL": slack.api_base_url,
        "DAGSTER_WEBSERVER_URL": "http://127.0.0.1:3000",
    }
    proc = daemon(home, env, root / "daemon.log").start()
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield tree, instance, proc, slack
    finally:
        proc.stop()
        instance.dispose()
        slack.stop()


def messages(slack, needle):
    return [m for m in slack.delivered() if needle in m.get("text", "")]


def athlete_with_data(tree, athlete, values, journals=True):
    (tree.sources / athlete).mkdir(parents=True, exist_ok=True)
    days = [TODAY - dt.timedelta(days=len(values) - 1 - i) for i in range(len(values))]
    (tree.sources / athlete / "hrv.csv").write_text(
        "date,rmssd_ms\n" + "".join(f"{d},{v}\n" for d, v in zip(days, values, strict=True))
    )
    if journals:
        (tree.inbox / athlete).mkdir(parents=True, exist_ok=True)
        rows = "".join(f"{d},7,{2 + i % 3}\n" for i, d in enumerate(days))
        (tree.inbox / athlete / "history.csv").write_text("date,sleep_hours,stress\n" + rows)


def test_failing_run_gives_one_message_and_recovery_one_resolved(live):
    tree, instance, proc, slack = live
    (tree.data / "store").mkdir(exist_ok=True)
    blocker = tree.data / "store" / "crash"
    blocker.write_text("a file where the athlete's folder should be")
    athlete_with_data(tree, "crash", [50, 60] * 10)

    firing = wait_for(
        lambda: messages(slack, "[FIRING] [crash] Run failed"),
        120,
        "the run failure message",
        proc.tail,
    )
    msg = firing[0]
    assert msg["channel"] == "#hrv-alerts"
    assert "bronze/journal_entries" in msg["text"] or "bronze/wearable_readings" in msg["text"]
    button = msg["blocks"][-1]["elements"][0]
    assert button["url"].startswith("http://127.0.0.1:3000/runs/")
    detail = next(
        b["text"]["text"] for b in msg["blocks"] if b["type"] == "section" and "text" in b
    )
    # the root cause first, then that it was retried (0.5, 1 and 2 s later)
    assert detail.startswith("```") and "data/store/crash" in detail.splitlines()[0]
    assert "retried 3 times" in detail

    time.sleep(8)  # the sensor retries the athlete: the same failure again is suppressed
    blocker.unlink()
    wait_for(
        lambda: (tree.outputs("crash") / "agent_forecast.json").exists() and quiet(instance),
        150,
        "the recovered run",
        proc.tail,
    )

    def subjects(prefix):
        out = {}
        for m in messages(slack, prefix):
            subject = (
                m["text"].split(" at ")[1] if " at " in m["text"] else m["text"].split("] ")[2]
            )
            out.setdefault(subject.split(":")[0].split(" ")[0], []).append(m)
        return out

    # one resolved per failed asset (a new athlete's first run can fail at two steps)
    wait_for(
        lambda: set(subjects("[FIRING] [crash] Run failed")) <= set(subjects("[RESOLVED] [crash]")),
        90,
        "every resolved message",
        proc.tail,
    )
    time.sleep(6)
    fired = subjects("[FIRING] [crash] Run failed")
    resolved = subjects("[RESOLVED] [crash]")
    assert all(len(v) == 1 for v in fired.values()), fired  # repeats were suppressed
    assert set(resolved) == set(fired) and all(len(v) == 1 for v in resolved.values())
    assert not messages(slack, "stuck")


def test_failed_warn_check_in_a_successful_run_gives_one_message(live):
    tree, instance, proc, slack = live
    values = [50, 60] * 10
    athlete_with_data(tree, "spiky", values)
    wait_for(
        lambda: (tree.outputs("spiky") / "agent_forecast.json").exists() and quiet(instance),
        120,
        "spiky's forecast",
        proc.tail,
    )
    time.sleep(6)  # both sensors have seen the athlete; any transient alert is out
    before = len(messages(slack, "[FIRING] [spiky]"))
    since = time.time()
    # the wearable re-syncs with one implausible reading: WARN, excluded from features
    values[12] = 450
    athlete_with_data(tree, "spiky", values, journals=False)
    got = wait_for(
        lambda: messages(slack, "[FIRING] [spiky] Check rmssd_plausible"),
        60,
        "the check failure message",
        proc.tail,
    )
    wait_for(lambda: quiet(instance), 60, "runs to finish", proc.tail)
    time.sleep(8)
    new_runs = [r for r in runs(instance, since) if r.tags.get("athlete") == "spiky"]
    assert new_runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in new_runs)
    got = messages(slack, "[FIRING] [spiky]")[before:]
    assert len(got) == 1, [m["text"] for m in got]
    assert "rmssd_plausible" in got[0]["text"] and "450" in json.dumps(got[0]["blocks"])
    assert ":large_orange_circle:" in got[0]["blocks"][0]["text"]["text"]  # WARN


def test_slack_outage_queues_alerts_and_delivers_each_once(live):
    tree, _instance, proc, slack = live
    slack.mode = "error500"
    for i in range(3):
        (tree.inbox / f"broken-{i}.json").write_text(
            json.dumps({"date": f"2026-01-0{i + 1}", "moood": 3})
        )
    wait_for(
        lambda: len(list((tree.data / "alerts_outbox").glob("*.json"))) >= 3,
        60,
        "queued alerts",
        proc.tail,
    )
    wait_for(lambda: any(r.status == 500 for r in slack.requests), 30, "a failed delivery")
    time.sleep(5)
    assert not messages(slack, "broken-")  # nothing got through during the outage
    slack.mode = "ok"
    wait_for(
        lambda: len(messages(slack, "broken-")) >= 3, 60, "delivery after the outage", proc.tail
    )
    time.sleep(8)
    titles = sorted(m["text"].split(":")[0] for m in messages(slack, "broken-"))
    assert titles == [f"[FIRING] Rejected journal file broken-{i}.json" for i in range(3)]
    assert list((tree.data / "alerts_outbox").glob("*.json")) == []


def test_alerts_survive_a_daemon_restart_during_an_outage(live):
    tree, _instance, proc, slack = live
    slack.mode = "error500"
    (tree.inbox / "broken-x.json").write_text('{"date": "2026-01-09", "moood": 3}')
    wait_for(
        lambda: list((tree.data / "alerts_outbox").glob("*.json")), 60, "a queued alert", proc.tail
    )
    proc.kill()  # SIGKILL, mid-outage
    slack.mode = "ok"
    proc.start()
    wait_for(lambda: messages(slack, "broken-x.json"), 90, "delivery after restart", proc.tail)
    time.sleep(6)
    assert len(messages(slack, "broken-x.json")) == 1
    shutil.rmtree(tree.inbox / "rejected", ignore_errors=True)


def test_a_flood_of_rejected_files_is_grouped_in_slack(live):
    """Twenty bad journals dropped at once: a grouped message ("N files rejected ... more
    suppressed"), not twenty notifications; each file still has its own alert on record."""
    tree, _instance, proc, slack = live
    slack.mode = "ok"
    before = len(slack.delivered())
    staged = tree.root / "flood"
    staged.mkdir()
    for i in range(20):
        (staged / f"flood-{i:02d}.json").write_text(json.dumps({"date": "2026-01-01", "x": 1}))
    for path in sorted(staged.iterdir()):
        path.rename(tree.inbox / path.name)
    from hrv.alerting.book import read_alerts

    def recorded():
        return [a for a in read_alerts(tree.data) if "flood-" in a["title"]]

    wait_for(lambda: len(recorded()) == 20, 90, "20 rejected_file alerts on record", proc.tail)
    wait_for(
        lambda: not list((tree.data / "alerts_outbox").glob("*.json")),
        60,
        "the outbox drained",
        proc.tail,
    )
    sent = slack.delivered()[before:]
    grouped = [m for m in sent if "files rejected" in m["text"]]
    single = [m for m in sent if "Rejected journal file flood-" in m["text"]]
    assert grouped and len(grouped) + len(single) <= 4, [m["text"][:60] for m in sent]
    assert "more suppressed" in json.dumps(grouped[0]["blocks"])
