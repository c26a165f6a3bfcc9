"""Alert semantics and Slack delivery, against a local Slack Web API server (real HTTP)."""

import datetime as dt
import json
import time

import dagster as dg
import pytest

from alerts.dispatcher import alert_dispatcher
from alerts.guard import FAILURES_BEFORE_ALERT, guarded
from hrv.alerting import catalogue
from hrv.alerting.book import AlertBook, AlertPolicy, read_alerts
from hrv.alerting.briefing import build_briefing
from hrv.alerting.catalogue import Alert
from hrv.alerting.delivery import (
    GROUP_REJECTIONS_FROM,
    REJECTIONS_MAX_WAIT_SECONDS,
    REJECTIONS_QUIET_SECONDS,
    Outbox,
    deliver,
)
from hrv.alerting.slack_format import build_message
from hrv.intake.freshness import FreshnessSettings
from hrv.settings import Settings
from hrv.storage.athlete_store import AthleteStore
from resources import SettingsResource, SlackResource
from resources.slack import SlackTransport
from tests.slack_server import GOOD_TOKEN, FakeSlack

T0 = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)


def alert(status="firing", severity="warning", fp="check_failure:ann:gold/x:c"):
    return Alert(
        kind="check_failure",
        severity=severity,
        status=status,
        title="Check c failed",
        text="x is 3\nline 2",
        fingerprint=fp,
        athlete="ann",
        at=T0.isoformat(),
        subject="gold/x:c",
        link="/runs/abc",
    )


def window(minutes):
    return AlertPolicy(repeat_window=dt.timedelta(minutes=minutes))


@pytest.fixture
def slack():
    server = FakeSlack().start()
    yield server
    server.stop()


def bot(server, token=GOOD_TOKEN, channel="#hrv", timeout=10.0):
    return SlackTransport(
        token=token,
        channel=channel,
        webhook_url=None,
        base_url=server.api_base_url,
        webserver_url="http://127.0.0.1:3000",
        timeout=timeout,
    )


def hook(server, url=None):
    return SlackTransport(
        token=None,
        channel=None,
        webhook_url=url or server.webhook_url,
        base_url=None,
        webserver_url="http://127.0.0.1:3000",
    )


# --------------------------------------------------------------------------- the book
def test_dedupe_suppression_counts_and_resolution(tmp_path):
    book = AlertBook(tmp_path, window(30))
    assert book.record(alert(), T0).notify
    for k in range(3):
        d = book.record(alert(), T0 + dt.timedelta(minutes=5 + k))
        assert d.recorded and not d.notify
    later = book.record(alert(), T0 + dt.timedelta(minutes=40))
    assert later.notify and later.note.startswith("3 more suppressed")
    resolved = book.record(alert(status="resolved", severity="info"), T0 + dt.timedelta(hours=1))
    assert resolved.notify
    again = book.record(alert(status="resolved", severity="info"), T0 + dt.timedelta(hours=2))
    assert not again.recorded  # nothing was firing: no "resolved" out of the blue
    lines = read_alerts(tmp_path)
    # Slack is not configured here: what is notified goes to the log, repeats are suppressed
    assert [(x["status"], x["delivery"]) for x in lines] == [
        ("firing", "log"),
        ("firing", "suppressed"),
        ("firing", "suppressed"),
        ("firing", "suppressed"),
        ("firing", "log"),
        ("resolved", "log"),
    ]
    assert {"kind", "severity", "status", "title", "text", "fingerprint", "athlete", "at"} <= set(
        lines[0]
    )
    assert len(Outbox(tmp_path).pending()) == 3


def test_resolution_reports_suppressed_repeats_and_escalation_breaks_through(tmp_path):
    book = AlertBook(tmp_path, window(60))
    book.record(alert(), T0)
    assert not book.record(alert(), T0 + dt.timedelta(minutes=1)).notify
    escalated = book.record(alert(severity="error"), T0 + dt.timedelta(minutes=2))
    assert escalated.notify
    d = book.record(alert(status="resolved", severity="info"), T0 + dt.timedelta(minutes=3))
    assert d.notify and d.note is None
    book.record(alert(), T0 + dt.timedelta(minutes=4))
    book.record(alert(), T0 + dt.timedelta(minutes=5))
    d = book.record(alert(status="resolved", severity="info"), T0 + dt.timedelta(minutes=6))
    assert d.note == "1 more suppressed while firing"


def test_fingerprints_are_independent(tmp_path):
    book = AlertBook(tmp_path)
    assert book.record(alert(fp="a"), T0).notify
    assert book.record(alert(fp="b"), T0).notify
    assert book.firing() == ["a", "b"]


# --------------------------------------------------------------------------- messages
def test_block_kit_message_with_fallback_and_button():
    a = alert(severity="error").to_dict()
    a["text"] = "\n".join(f"line {i}" for i in range(20))
    text, blocks = build_message(a, "2 more suppressed", "http://dagster.local:3000/")
    assert text.startswith("[FIRING] [ann] Check c failed: line 0") and "2 more suppressed" in text
    assert blocks[0]["type"] == "header" and ":red_circle:" in blocks[0]["text"]["text"]
    fields = " ".join(f["text"] for f in blocks[1]["fields"])
    assert "*Athlete*\nann" in fields and "gold/x:c" in fields
    detail = blocks[2]["text"]["text"]
    assert "line 7" in detail and "line 8" not in detail and "12 more lines" in detail
    button = blocks[-1]["elements"][0]
    assert button["url"] == "http://dagster.local:3000/runs/abc"
    r_text, r_blocks = build_message(alert(status="resolved", severity="info").to_dict(), None, "u")
    assert r_text.startswith("[RESOLVED]") and "Resolved:" in r_blocks[0]["text"]["text"]


# --------------------------------------------------------------------------- delivery
def test_bot_and_webhook_transports_post_for_real(slack):
    a = alert().to_dict()
    assert bot(slack).send(a, None).ok
    assert hook(slack).send(a, None).ok
    (via_bot, via_hook) = slack.delivered()
    assert via_bot["channel"] == "#hrv" and via_bot["blocks"][0]["type"] == "header"
    assert via_hook["text"].startswith("[FIRING]")
    auth = next(r for r in slack.requests if r.path == "/api/chat.postMessage").headers
    assert auth["Authorization"] == f"Bearer {GOOD_TOKEN}"


@pytest.mark.parametrize("make", [bot, hook])
def test_outage_429_and_invalid_auth(slack, tmp_path, make):
    book = AlertBook(tmp_path)
    for i in range(3):
        book.record(alert(fp=f"fp{i}"), T0)
    status = tmp_path / "slack_status.json"
    t = make(slack)

    slack.mode = "error500"
    n = slack.attempts()
    r = deliver(Outbox(tmp_path), t, now=100.0, status_path=status)
    assert r.sent == 0 and r.queued == 3 and r.errors
    # Slack is failing: one message tried and backed off, the others wait (no hammering)
    assert slack.attempts() - n == 1
    assert Outbox(tmp_path).pending()[0].next_attempt_at > 100

    slack.mode, slack.retry_after = "ratelimit", 7
    r = deliver(Outbox(tmp_path), t, now=200.0, status_path=status)
    assert r.paused_until == 207.0 and r.sent == 0
    n = slack.attempts()
    r = deliver(Outbox(tmp_path), t, now=205.0, status_path=status)
    assert slack.attempts() == n and r.paused_until  # honours Retry-After: no request

    slack.mode = "ok"
    r = deliver(Outbox(tmp_path), t, now=300.0, status_path=status)
    assert r.sent == 3 and r.queued == 0
    assert sorted(m["text"][:9] for m in slack.delivered()) == ["[FIRING] "] * 3
    r = deliver(Outbox(tmp_path), t, now=400.0, status_path=status)
    assert r.sent == 0  # never twice


def test_invalid_token_is_one_clear_error_and_messages_wait(slack, tmp_path):
    book = AlertBook(tmp_path)
    book.record(alert(fp="x"), T0)
    book.record(alert(fp="y"), T0)
    status = tmp_path / "slack_status.json"
    errors = []

    class Log:
        def error(self, msg):
            errors.append(msg)

        def info(self, msg):
            pass

    wrong = bot(slack, token="xoxb-wrong")
    r = deliver(Outbox(tmp_path), wrong, now=1.0, status_path=status, log=Log())
    assert r.config_error == "invalid_auth" and r.queued == 2
    attempts = slack.attempts()
    for k in range(5):  # no crash loop, no hammering, no repeated error
        r = deliver(Outbox(tmp_path), wrong, now=2.0 + k, status_path=status, log=Log())
        assert r.config_error == "invalid_auth"
    assert slack.attempts() == attempts and len(errors) == 1
    assert "invalid_auth" in errors[0] and "xoxb" not in errors[0]
    fixed = bot(slack)  # a new token: the configuration changed, delivery resumes
    r = deliver(Outbox(tmp_path), fixed, now=10.0, status_path=status)
    assert r.sent == 2 and json.loads(status.read_text()) == {}


def test_not_configured_goes_to_the_log_only(tmp_path):
    AlertBook(tmp_path).record(alert(), T0)
    logged = []

    class Log:
        def info(self, msg):
            logged.append(msg)

    r = deliver(Outbox(tmp_path), None, now=1.0, status_path=tmp_path / "s.json", log=Log())
    assert r.dropped == 1 and r.queued == 0 and "Check c failed" in logged[0]
    assert read_alerts(tmp_path)  # still in alerts.jsonl


def slack_resource(**settings):
    return SlackResource(settings=SettingsResource.of(Settings(**settings)))


def test_resource_reads_secrets_from_env_only_when_sending(slack, monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    # channel and API address are settings (SLACK_API_BASE_URL without its slash)
    res = slack_resource(slack_channel="C123", slack_api_base_url=slack.api_base_url.rstrip("/"))
    assert res.transport() is None and "not configured" in res.describe()
    monkeypatch.setenv("SLACK_BOT_TOKEN", GOOD_TOKEN)
    t = res.transport()
    assert t is not None and t.base_url.endswith("/api/") and t.kind == "bot"
    assert GOOD_TOKEN not in res.describe() and GOOD_TOKEN not in json.dumps(res.model_dump())
    assert t.send(alert().to_dict(), None).ok


def test_dispatcher_sensor_delivers_through_the_resource(slack, tree, instance, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    AlertBook(tree.data).record(alert(), T0)
    resources = {k: v for k, v in tree.resources().items() if k in ("slack", "store")}
    with dg.build_sensor_context(instance=instance, resources=resources) as ctx:
        result = alert_dispatcher(ctx)
    assert "1 sent" in result.skip_message and len(slack.delivered()) == 1


def test_guard_alerts_after_repeated_failures_and_resolves(tree):
    calls = {"fail": True}

    @guarded("demo_sensor")
    def sensor_fn(context, store):
        if calls["fail"]:
            raise RuntimeError("disk on fire")
        return "ok"

    store = tree.resources()["store"]
    for _ in range(FAILURES_BEFORE_ALERT + 1):
        with pytest.raises(RuntimeError):
            sensor_fn(None, store=store)
    calls["fail"] = False
    assert sensor_fn(None, store=store) == "ok"
    kinds = [(a["kind"], a["status"]) for a in read_alerts(tree.data)]
    assert kinds == [("sensor_failure", "firing"), ("sensor_failure", "resolved")]
    assert "disk on fire" in read_alerts(tree.data)[0]["text"]


def test_briefing_lists_each_athlete_with_flags(tree):
    out = tree.outputs("ann")
    out.mkdir(parents=True)
    (out / "agent_forecast.json").write_text(
        json.dumps(
            {
                "for_date": "2026-11-22",
                "recommendation": "train_easy",
                "predicted_rmssd_ms": 48.0,
                "interval_ms": [40.0, 56.0],
                "normal_range_ms": [50.0, 60.0],
                "cold_start": False,
            }
        )
    )
    AthleteStore(tree.data, "ann").write_readings(
        [{"date": "2026-11-15", "metric": "rmssd", "value_ms": 50}]
    )
    (out / "flags.json").write_text(
        json.dumps({"flags": [{"name": "hrv_low", "label": "HRV below normal", "active": True}]})
    )
    now = dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.UTC)
    board = "http://127.0.0.1:3000/assets/agent/squad_board"
    ((text, blocks),) = build_briefing(
        tree.data, ["ann", "bob"], now, FreshnessSettings(), board_url=board
    )
    body = blocks[1]["text"]["text"]
    assert body.startswith(f"*2 of 2 athletes flagged* · <{board}|squad board>")
    assert "flags: HRV below normal, stale source" in body
    assert "Morning briefing 2026-11-22" in blocks[0]["text"]["text"] and "2 athletes" in text
    assert "*ann* 2026-11-22: *train_easy* · 48 ms (40-56) · below normal 50-60" in body
    assert "stale source (151 h)" in body
    assert "*bob*: no forecast yet · flags: no wearable data" in body


def test_briefing_splits_a_large_squad():
    messages = build_briefing(
        __import__("pathlib").Path("/nonexistent"),
        [f"a{i:04d}" for i in range(1000)],
        dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
        FreshnessSettings(),
    )
    assert all(len(blocks) <= 50 for _, blocks in messages)
    lines = sum(b["text"]["text"].count("\n") + 1 for _, bl in messages for b in bl[1:])
    assert lines == 1000 + 1  # one per athlete, after the count of flagged athletes


# --------------------------------------------------------------------------- the catalogue
def test_every_kind_has_a_label_and_the_catalogue_wording_is_right():
    assert set(catalogue.KINDS) == {
        "run_failure",
        "check_failure",
        "stale_source",
        "rejected_file",
        "stuck_file",
        "sensor_failure",
        "source_api_error",
        "athlete_flag",
    }
    journal = catalogue.journal_rejected("ann/x.md", "ann", ["date: bad"], "abc" * 10)
    export = catalogue.export_rejected("ann/hrv.csv", "ann", ["no readings"], "def" * 10)
    assert "moved to inbox/rejected/" in journal.text and journal.title.startswith(
        "Rejected journal"
    )
    # an export is never moved: the alert must not say it was
    assert "stays in place" in export.text and "inbox/rejected" not in export.text
    assert export.title == "Rejected wearable export sources/ann/hrv.csv"
    assert journal.fingerprint != export.fingerprint
    fired = catalogue.check_failed("ann", "gold/x", "c", "error", "bad", "run1")
    passed = catalogue.check_passed("ann", "gold/x", "c", "good")
    assert fired.fingerprint == passed.fingerprint == "check_failure:ann:gold/x:c"
    assert passed.status == "resolved" and passed.severity == "info"
    stale = catalogue.source_stale("ann", True, "fail", "old")
    assert stale.fingerprint == catalogue.source_fresh("ann", "new").fingerprint
    with pytest.raises(ValueError, match="unknown alert kind"):
        Alert("nope", "info", "firing", "t", "x", "f", None, "now")


def test_alerts_jsonl_says_slack_only_when_slack_is_configured(tmp_path):
    AlertBook(tmp_path / "a", AlertPolicy(slack_configured=True)).record(alert(), T0)
    AlertBook(tmp_path / "b", AlertPolicy(slack_configured=False)).record(alert(), T0)
    assert read_alerts(tmp_path / "a")[0]["delivery"] == "slack"
    assert read_alerts(tmp_path / "b")[0]["delivery"] == "log"


def test_a_hostile_file_name_never_becomes_a_mention_or_a_link():
    """The notification text and the context block are escaped like the body: a file named
    `<!channel> <@U1> <mailto:x@y|here>.md` pings nobody (issue 15)."""
    name = "ann/<!channel> <@U1> <mailto:x@y|here> & co.md"
    alert = catalogue.journal_rejected(name, "ann", ["date: bad"], "abc" * 10)
    text, blocks = build_message(alert.to_dict(), "2 more <!everyone>", "http://127.0.0.1:3000")

    def mrkdwn(node):  # what Slack parses (a plain_text header shows text as is)
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                yield node["text"]
            for value in node.values():
                yield from mrkdwn(value)
        elif isinstance(node, list):
            for value in node:
                yield from mrkdwn(value)

    shown = text + "".join(mrkdwn(blocks))
    for raw in ("<!channel>", "<@U1>", "<mailto:", "<!everyone>"):
        assert raw not in shown
    assert "&lt;!channel&gt;" in text and "&amp; co.md" in text
    context = next(b for b in blocks if b["type"] == "context")["elements"][0]["text"]
    assert "&lt;@U1&gt;" in context


def rejected(i):
    from hrv.alerting.catalogue import journal_rejected

    return journal_rejected(f"bad-{i:02d}.md", None, ["no closing '---'"], f"{i:064x}")


@pytest.mark.parametrize("make", [bot, hook])
def test_a_flood_of_rejected_files_is_one_message(slack, tmp_path, make):
    """60 files rejected at once: one Slack message naming the first few and the count of
    the rest, not 60 notifications; every alert stays in alerts.jsonl."""
    book = AlertBook(tmp_path)
    for i in range(60):
        book.record(rejected(i), T0)
    book.record(alert(fp="other"), T0)
    t, status = make(slack), tmp_path / "s.json"
    r = deliver(Outbox(tmp_path), t, now=100.0, status_path=status)
    assert r.sent == 1 and r.deferred == 60, "rejections wait for the flood to end"
    r = deliver(Outbox(tmp_path), t, now=100.0 + REJECTIONS_QUIET_SECONDS, status_path=status)
    assert r.grouped == 60 and r.queued == 0
    (other, group) = slack.delivered()
    assert group["text"].startswith("[FIRING]") and "60 files rejected" in group["text"]
    body = json.dumps(group["blocks"])
    assert "bad-00.md" in body and "bad-04.md" in body and "bad-05.md" not in body
    assert "55 more suppressed" in body
    assert "Check c failed" in other["text"]
    assert len(read_alerts(tmp_path)) == 61


def test_a_flood_over_several_ticks_is_still_one_message(slack, tmp_path):
    """The inbox sensor rejects a flood over several ticks (4 files, then 16): the
    dispatcher waits until no rejection arrived for REJECTIONS_QUIET_SECONDS, so Slack gets
    one message; a lone rejection later is its own message, sent once things are quiet."""
    book, t, status = AlertBook(tmp_path), bot(slack), tmp_path / "s.json"
    for i in range(4):
        book.record(rejected(i), T0)
    assert deliver(Outbox(tmp_path), t, now=10.0, status_path=status).deferred == 4
    for i in range(4, 20):
        book.record(rejected(i), T0)
    assert deliver(Outbox(tmp_path), t, now=14.0, status_path=status).deferred == 20
    assert deliver(Outbox(tmp_path), t, now=17.0, status_path=status).deferred == 20
    r = deliver(Outbox(tmp_path), t, now=14.0 + REJECTIONS_QUIET_SECONDS, status_path=status)
    assert r.grouped == 20 and r.sent == 1 and r.queued == 0
    book.record(rejected(99), T0)
    assert deliver(Outbox(tmp_path), t, now=30.0, status_path=status).sent == 0
    r = deliver(Outbox(tmp_path), t, now=30.0 + REJECTIONS_QUIET_SECONDS, status_path=status)
    assert r.sent == 1 and r.grouped == 0
    texts = [m["text"] for m in slack.delivered()]
    assert len(texts) == 2 and "20 files rejected" in texts[0] and "bad-99.md" in texts[1]


def test_a_flood_that_never_stops_is_sent_after_the_maximum_wait(slack, tmp_path):
    book, t, status = AlertBook(tmp_path), bot(slack), tmp_path / "s.json"
    now = 0.0
    for i in range(30):  # one more every 3 s: never quiet
        book.record(rejected(i), T0)
        r = deliver(Outbox(tmp_path), t, now=now, status_path=status)
        if r.sent:
            break
        now += 3.0
    assert REJECTIONS_MAX_WAIT_SECONDS <= now < REJECTIONS_MAX_WAIT_SECONDS + 3.0
    assert r.grouped == i + 1 > GROUP_REJECTIONS_FROM


def test_not_in_channel_is_rechecked_and_the_queue_resumes_once_fixed(slack, tmp_path):
    """The bot was not invited: one clear error, no hammering; once someone invites it, the
    queue resumes on its own within RECHECK_PERMANENT_SECONDS, with no restart and no
    change of configuration."""
    from hrv.alerting.delivery import RECHECK_PERMANENT_SECONDS

    book = AlertBook(tmp_path)
    book.record(alert(fp="x"), T0)
    book.record(alert(fp="y"), T0)
    status = tmp_path / "slack_status.json"
    t = bot(slack)
    slack.mode = "not_in_channel"
    r = deliver(Outbox(tmp_path), t, now=1000.0, status_path=status)
    assert r.config_error == "not_in_channel" and r.queued == 2
    n = slack.attempts()
    r = deliver(Outbox(tmp_path), t, now=1000.0 + RECHECK_PERMANENT_SECONDS / 2, status_path=status)
    assert slack.attempts() == n and r.config_error  # quiet meanwhile
    slack.mode = "ok"  # the bot is invited
    r = deliver(Outbox(tmp_path), t, now=1001.0 + RECHECK_PERMANENT_SECONDS, status_path=status)
    assert r.sent == 2 and r.queued == 0 and not r.config_error
    assert json.loads(status.read_text()) == {}


def test_a_slack_that_never_answers_costs_one_timeout_per_tick(slack, tmp_path):
    book = AlertBook(tmp_path)
    for i in range(5):
        book.record(alert(fp=f"fp{i}"), T0)
    t = bot(slack, timeout=1.0)
    slack.mode = "hang"
    t0 = time.monotonic()
    r = deliver(Outbox(tmp_path), t, now=100.0, status_path=tmp_path / "s.json")
    took = time.monotonic() - t0
    slack.mode = "ok"
    assert r.sent == 0 and r.queued == 5 and r.errors
    assert slack.attempts() == 1 and took < 5, took  # not 5 timeouts in a row


def test_a_malformed_webhook_url_is_never_written_to_disk(slack, tmp_path):
    secret = "T0000/B0000/XXXXsecretXXXX"
    book = AlertBook(tmp_path)
    book.record(alert(fp="x"), T0)
    status = tmp_path / "slack_status.json"
    for url in (
        f"hooks.slack.com/services/{secret}",
        f"https://hooks.slack.invalid/services/{secret}",
    ):
        r = deliver(Outbox(tmp_path), hook(slack, url=url), now=100.0, status_path=status)
        assert r.sent == 0 and (r.config_error or r.errors)
        on_disk = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
        assert secret not in on_disk and "XXXXsecret" not in on_disk
