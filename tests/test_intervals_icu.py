"""Intervals.icu: pulls, date ranges, rate limits, refused keys, outages, malformed answers,
partial days and write-back, against a server on 127.0.0.1 that speaks the API's wire
format (tests/intervals_server.py). Nothing of ours is faked."""

import datetime as dt
import itertools
import json

import pytest

from hrv.alerting.catalogue import Alert
from hrv.intake.exports import parse_source_file
from hrv.intake.intervals_icu import CHUNK_DAYS, WellnessClient, retry_after_seconds
from hrv.intake.wellness_mirror import COMMENT_MARK, comment_with, wellness_path
from hrv.planning.intervals_tick import (
    AUTH_RETRY_SECONDS,
    SERVER_ALERT_AFTER,
    PullLimits,
    load_state,
    plan_intervals_tick,
)
from tests.intervals_server import GOOD_KEY, FakeIntervals

TODAY = dt.date(2026, 11, 27)
NOW = 1_800_000_000.0


@pytest.fixture
def api():
    fake = FakeIntervals().start()
    yield fake
    fake.stop()


class Squad:
    """The sensor's tick, run the way the sensor runs it, with a clock the test moves."""

    def __init__(self, api, tmp_path, key=GOOD_KEY, **limits):
        self.api, self.root = api, tmp_path
        self.key = key
        self.state = load_state(None)
        self.now = NOW
        self.limits = PullLimits(**{"poll_seconds": 600.0, **limits})
        self.alerts: list[Alert] = []

    def tick(self, targets, advance=0.0):
        self.now += advance
        client = WellnessClient(self.api.url, self.key, timeout=3)
        result = plan_intervals_tick(
            client,
            targets,
            state=self.state,
            now=self.now,
            today=TODAY,
            limits=self.limits,
            sources_dir=self.root / "sources",
            forecast_path=lambda a: self.root / "outputs" / a / "agent_forecast.json",
        )
        client.close()
        # the state goes through the cursor (JSON) between ticks, as in the sensor
        self.state = json.loads(json.dumps(result.state))
        self.alerts += result.alerts
        return result

    def file(self, athlete):
        return wellness_path(self.root / "sources", athlete)


def history(api, athlete, days, end=TODAY, start_value=60.0):
    for k in range(days):
        day = end - dt.timedelta(days=days - 1 - k)
        api.add(athlete, day, hrv=start_value + (k % 7), restingHR=48, sleepSecs=27000, soreness=2)


def test_first_pull_fetches_the_history_in_date_windows_and_stores_an_export(api, tmp_path):
    history(api, "i1", 200)
    squad = Squad(api, tmp_path, history_days=365)
    result = squad.tick({"ann": "i1"})
    assert result.pulled == ["ann"] and result.changed == ["ann"]
    gets = api.calls("GET", "/wellness")
    # 365 days + tomorrow in windows of CHUNK_DAYS, newest first, each inclusive, no gap
    windows = [(r.query["oldest"], r.query["newest"]) for r in gets]
    assert len(windows) == -(-366 // CHUNK_DAYS)
    assert windows[0][1] == (TODAY + dt.timedelta(days=1)).isoformat()
    assert windows[-1][0] == (TODAY - dt.timedelta(days=364)).isoformat()
    for (old, _), (_, new) in itertools.pairwise(windows):
        assert dt.date.fromisoformat(old) - dt.date.fromisoformat(new) == dt.timedelta(days=1)
    for r in gets:  # Basic auth, user API_KEY: the server refuses anything else
        assert r.status == 200
    parsed = parse_source_file(squad.file("ann"), folder_athlete="ann")
    assert parsed.vendor == "Intervals.icu" and len(parsed.readings) == 200
    assert {r.metric for r in parsed.readings} == {"rmssd"}
    assert parsed.readings[-1].date == TODAY and parsed.readings[-1].resting_hr_bpm == 48
    stored = json.loads(squad.file("ann").read_text())
    assert "updated" not in stored[0] and "comments" not in stored[0]  # only what is read


def test_later_pulls_are_incremental_and_rewrite_the_export_only_when_it_changed(api, tmp_path):
    history(api, "i1", 30)
    squad = Squad(api, tmp_path, overlap_days=3)
    squad.tick({"ann": "i1"})
    mtime = squad.file("ann").stat().st_mtime_ns
    before = len(api.calls("GET"))
    assert squad.tick({"ann": "i1"}, advance=60).pulled == []  # not due yet
    assert len(api.calls("GET")) == before
    result = squad.tick({"ann": "i1"}, advance=600)
    assert result.pulled == ["ann"] and result.changed == []
    last = api.calls("GET", "/wellness")[-1]
    assert last.query["oldest"] == (TODAY - dt.timedelta(days=3)).isoformat()
    assert squad.file("ann").stat().st_mtime_ns == mtime
    # a late edit of a day inside the overlap, and a subjective score typed later
    api.add("i1", TODAY - dt.timedelta(days=2), hrv=41.5)
    api.add("i1", TODAY, mood=1)
    result = squad.tick({"ann": "i1"}, advance=600)
    assert result.changed == ["ann"]
    parsed = parse_source_file(squad.file("ann"), folder_athlete="ann")
    values = {r.date: r.value_ms for r in parsed.readings}
    assert values[TODAY - dt.timedelta(days=2)] == 41.5


def test_a_watch_that_synced_days_late_is_still_pulled(api, tmp_path):
    history(api, "i1", 20, end=TODAY - dt.timedelta(days=6))
    squad = Squad(api, tmp_path, overlap_days=2)
    squad.tick({"ann": "i1"})
    # the watch was offline for 6 days, then synced them all at once
    for k in range(6):
        api.add("i1", TODAY - dt.timedelta(days=5 - k), hrv=50.0 + k)
    squad.tick({"ann": "i1"}, advance=600)
    dates = {r.date for r in parse_source_file(squad.file("ann"), folder_athlete="ann").readings}
    assert all(TODAY - dt.timedelta(days=k) in dates for k in range(6))


def test_partial_days_sdnn_apart_and_deleted_days(api, tmp_path):
    api.add("i1", TODAY - dt.timedelta(days=3), hrv=55.0, restingHR=50)
    api.add("i1", TODAY - dt.timedelta(days=2), hrvSDNN=80.0, restingHR=52)  # Polar/Apple
    api.add("i1", TODAY - dt.timedelta(days=1), weight=70.2, soreness=3)  # no HRV that day
    api.add("i1", TODAY, hrv=57.0, hrvSDNN=90.0)
    squad = Squad(api, tmp_path)
    squad.tick({"ann": "i1"})
    parsed = parse_source_file(squad.file("ann"), folder_athlete="ann")
    got = sorted((r.date.isoformat(), r.metric, r.value_ms) for r in parsed.readings)
    assert got == [
        ((TODAY - dt.timedelta(days=3)).isoformat(), "rmssd", 55.0),
        ((TODAY - dt.timedelta(days=2)).isoformat(), "sdnn", 80.0),
        (TODAY.isoformat(), "rmssd", 57.0),
        (TODAY.isoformat(), "sdnn", 90.0),
    ]
    assert parsed.verdict == "partial"
    assert [s.reason for s in parsed.skipped] == ["no HRV measured that night"]
    # the athlete deletes a wrong day upstream: it leaves the export at the next pull
    with api.lock:
        del api.athletes["i1"][TODAY.isoformat()]
    squad.tick({"ann": "i1"}, advance=600)
    dates = {r.date for r in parse_source_file(squad.file("ann"), folder_athlete="ann").readings}
    assert TODAY not in dates


def test_429_waits_for_retry_after_without_an_alert(api, tmp_path):
    history(api, "i1", 10)
    squad = Squad(api, tmp_path)
    api.mode, api.retry_after = "ratelimit", "120"
    result = squad.tick({"ann": "i1"})
    assert result.pulled == [] and result.alerts == []
    assert squad.state["service"]["not_before"] == NOW + 120
    n = len(api.requests)
    api.mode = "ok"
    squad.tick({"ann": "i1"}, advance=60)  # still inside Retry-After: not a single request
    assert len(api.requests) == n
    assert squad.tick({"ann": "i1"}, advance=61).pulled == ["ann"]
    # no Retry-After header: a doubling backoff
    api.mode, api.retry_after = "ratelimit", None
    squad.tick({"ann": "i1"}, advance=600)
    first = squad.state["service"]["not_before"] - squad.now
    squad.tick({"ann": "i1"}, advance=first)
    second = squad.state["service"]["not_before"] - squad.now
    assert second == 2 * first
    assert squad.alerts == []


def test_retry_after_as_an_http_date():
    assert retry_after_seconds("Fri, 27 Nov 2026 12:00:30 GMT", now=1795780800.0) == 30.0
    assert retry_after_seconds("soon") is None


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_a_refused_key_is_one_alert_retried_slowly_then_resolved(api, tmp_path, key):
    """No key at all: 401. A wrong key: the service answers 403 "Access denied", like an
    athlete who does not share; athlete/0 tells them apart."""
    history(api, "i1", 10)
    history(api, "i2", 10)
    squad = Squad(api, tmp_path, key=key or "")
    squad.tick({"ann": "i1", "bob": "i2"})
    firing = [a for a in squad.alerts if a.status == "firing"]
    assert len(firing) == 1 and firing[0].kind == "source_api_error"
    assert firing[0].athlete is None and "API key is refused" in firing[0].title
    assert "INTERVALS_ICU_API_KEY" in firing[0].text and "wrong-key" not in firing[0].text
    assert squad.state["service"]["not_before"] == NOW + AUTH_RETRY_SECONDS
    n = len(api.requests)
    squad.tick({"ann": "i1", "bob": "i2"}, advance=600)
    assert len(api.requests) == n  # retried slowly, not every tick
    squad.tick({"ann": "i1", "bob": "i2"}, advance=AUTH_RETRY_SECONDS)
    assert len([a for a in squad.alerts if a.status == "firing"]) == 1  # reported once
    squad.key = GOOD_KEY
    result = squad.tick({"ann": "i1", "bob": "i2"}, advance=AUTH_RETRY_SECONDS)
    assert sorted(result.pulled) == ["ann", "bob"]
    assert [a.status for a in squad.alerts] == ["firing", "resolved"]
    assert squad.alerts[0].fingerprint == squad.alerts[1].fingerprint


def test_an_athlete_who_does_not_share_or_a_wrong_id_is_their_own_alert(api, tmp_path):
    history(api, "i1", 10)
    history(api, "i2", 10)
    api.not_shared.add("i2")
    squad = Squad(api, tmp_path)
    result = squad.tick({"ann": "i1", "bob": "i2", "cat": "i999"})
    assert result.pulled == ["ann"]
    by = {a.athlete: a for a in result.alerts}
    assert set(by) == {"bob", "cat"}
    assert "does not share" in by["bob"].title and "i2" in by["bob"].title
    assert "no athlete i999" in by["cat"].title
    # what the sensor's tick says in the UI
    assert "failing: bob (forbidden), cat (not_found)" in result.summary()
    assert "next pull in 10 min" in squad.tick({"ann": "i1", "bob": "i2", "cat": "i999"}).summary()
    # retried hourly, reported once
    squad.tick({"ann": "i1", "bob": "i2", "cat": "i999"}, advance=3601)
    assert len(squad.alerts) == 2
    api.not_shared.clear()
    squad.tick({"ann": "i1", "bob": "i2", "cat": "i999"}, advance=3601)
    assert [(a.athlete, a.status) for a in squad.alerts[2:]] == [("bob", "resolved")]


def test_an_outage_backs_off_and_alerts_once_it_lasts(api, tmp_path):
    history(api, "i1", 10)
    squad = Squad(api, tmp_path)
    api.mode = "error500"
    waits = []
    for _ in range(SERVER_ALERT_AFTER + 1):
        squad.tick({"ann": "i1"}, advance=waits[-1] if waits else 0)
        waits.append(squad.state["service"]["not_before"] - squad.now)
    assert waits == [30.0, 60.0, 120.0, 240.0]
    firing = [a for a in squad.alerts if a.status == "firing"]
    assert len(firing) == 1 and "not answering" in firing[0].title
    assert "HTTP 500" in firing[0].text
    api.mode = "ok"
    assert squad.tick({"ann": "i1"}, advance=waits[-1]).pulled == ["ann"]
    assert squad.alerts[-1].status == "resolved"
    assert "not_before" not in squad.state["service"]


def test_an_unreachable_service_is_an_outage_too(tmp_path):
    fake = FakeIntervals().start()
    url = fake.url
    fake.stop()  # nothing listens there any more
    squad = Squad(fake, tmp_path)
    client = WellnessClient(url, GOOD_KEY, timeout=2)
    result = plan_intervals_tick(
        client,
        {"ann": "i1"},
        state=squad.state,
        now=NOW,
        today=TODAY,
        limits=squad.limits,
        sources_dir=tmp_path,
        forecast_path=lambda a: tmp_path / a,
    )
    assert result.pulled == [] and "cannot reach" in " ".join(result.notes)
    assert result.state["service"]["failures"] == 1


def test_an_answer_that_is_not_json_is_an_alert_for_that_athlete(api, tmp_path):
    history(api, "i1", 10)
    squad = Squad(api, tmp_path)
    api.mode = "malformed"
    result = squad.tick({"ann": "i1"})
    assert result.pulled == [] and len(result.alerts) == 1
    assert "unreadable" in result.alerts[0].title and "Maintenance" in result.alerts[0].text
    assert not squad.file("ann").exists()
    api.mode = "ok"
    squad.tick({"ann": "i1"}, advance=600)
    assert squad.alerts[-1].status == "resolved" and squad.file("ann").exists()


def test_a_tick_pulls_a_bounded_number_of_athletes_longest_waiting_first(api, tmp_path):
    targets = {f"a{k}": f"i{k}" for k in range(7)}
    for icu in targets.values():
        history(api, icu, 3)
    squad = Squad(api, tmp_path, max_pulls=3)
    first = squad.tick(targets).pulled
    second = squad.tick(targets, advance=1).pulled
    third = squad.tick(targets, advance=1).pulled
    assert len(first) == len(second) == 3 and len(third) == 1
    assert set(first) | set(second) | set(third) == set(targets)
    assert "4 athlete(s) due" in " ".join(squad.tick(targets, advance=600).notes)


def forecast(tmp_path, athlete, day, rec="train_easy", advice="Keep it easy today."):
    path = tmp_path / "outputs" / athlete / "agent_forecast.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"athlete": athlete, "for_date": day, "recommendation": rec, "advice": advice})
    )


def test_write_back_keeps_what_a_person_typed(api, tmp_path):
    history(api, "i1", 10)
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    api.add("i1", tomorrow, comments="Felt flat on the bike.\nCoach: swap Thursday's intervals")
    forecast(tmp_path, "ann", tomorrow)
    squad = Squad(api, tmp_path, write_back=True)
    assert squad.tick({"ann": "i1"}).pushed == ["ann"]
    comments = api.athletes["i1"][tomorrow]["comments"]
    assert comments == (
        "Felt flat on the bike.\nCoach: swap Thursday's intervals\n"
        f"{COMMENT_MARK} train easy: Keep it easy today."
    )
    assert api.athletes["i1"][tomorrow].get("hrv") is None  # only comments were sent
    puts = api.calls("PUT")
    assert len(puts) == 1 and set(puts[0].body) == {"id", "comments"}
    # nothing new: no request at all
    assert squad.tick({"ann": "i1"}, advance=600).pushed == []
    assert len(api.calls("PUT")) == 1
    # a new recommendation replaces our line, and the athlete's edit in between is kept
    api.add("i1", tomorrow, comments=api.athletes["i1"][tomorrow]["comments"] + "\nslept badly")
    forecast(tmp_path, "ann", tomorrow, rec="rest", advice="Rest today.")
    squad.tick({"ann": "i1"}, advance=1)
    assert api.athletes["i1"][tomorrow]["comments"] == (
        "Felt flat on the bike.\nCoach: swap Thursday's intervals\nslept badly\n"
        f"{COMMENT_MARK} rest: Rest today."
    )


def test_write_back_is_opt_in_and_a_read_only_share_is_one_alert(api, tmp_path):
    history(api, "i1", 10)
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    forecast(tmp_path, "ann", tomorrow)
    Squad(api, tmp_path).tick({"ann": "i1"})
    assert api.calls("PUT") == []
    api.read_only.add("i1")
    squad = Squad(api, tmp_path, write_back=True)
    result = squad.tick({"ann": "i1"})
    assert result.pulled == ["ann"] and result.pushed == []
    assert [a.title for a in result.alerts] == [
        "Intervals.icu write-back for ann: the recommendation cannot be written to i1's wellness"
    ]
    squad.tick({"ann": "i1"}, advance=600)
    assert len(api.calls("PUT")) == 1  # retried hourly, not every tick
    api.read_only.clear()
    squad.tick({"ann": "i1"}, advance=3600)
    assert squad.alerts[-1].status == "resolved" and len(api.calls("PUT")) == 2


def test_comment_with_replaces_only_our_line():
    assert comment_with(None, f"{COMMENT_MARK} rest") == f"{COMMENT_MARK} rest"
    assert comment_with("", f"{COMMENT_MARK} rest") == f"{COMMENT_MARK} rest"
    ours = f"{COMMENT_MARK} train hard: Go."
    assert comment_with(f"legs ok\n{COMMENT_MARK} rest\n\n", ours) == f"legs ok\n{ours}"
    assert comment_with("  indented\n", ours) == f"  indented\n{ours}"


def test_sleep_from_wellness_fills_the_journal_only_where_the_athlete_wrote_none(api, tmp_path):
    """sleepSecs is last night's sleep, the journal's sleep_hours for the same day; the
    1-4 subjective scores are not mapped (README, "What is pulled")."""
    from hrv.analytics.features import build_daily_features, journal_frame, readings_frame

    api.add("i1", TODAY - dt.timedelta(days=1), hrv=50.0, sleepSecs=6 * 3600, soreness=4)
    api.add("i1", TODAY, hrv=52.0, sleepSecs=8 * 3600 + 1800, mood=1)
    squad = Squad(api, tmp_path)
    squad.tick({"ann": "i1"})
    parsed = parse_source_file(squad.file("ann"), folder_athlete="ann")
    rows = [r.to_row() for r in parsed.readings]
    assert [r["sleep_hours"] for r in rows] == [6.0, 8.5]
    typed = journal_frame([{"date": TODAY.isoformat(), "sleep_hours": 7.0, "soreness": 2}])
    frame = build_daily_features(typed, readings_frame(rows)).set_index("date")
    assert frame.loc[str(TODAY - dt.timedelta(days=1)), "sleep_hours"] == 6.0  # from the watch
    assert frame.loc[str(TODAY), "sleep_hours"] == 7.0  # the athlete's own, kept
    assert frame.loc[str(TODAY), "soreness"] == 2  # never taken from Intervals.icu's scale
    assert frame["mood"].isna().all()


# A wellness record as the API's developer published it (forum.intervals.icu, "API access
# to Intervals.icu", post 34): subjective scores, weight and resting HR, no HRV that day.
PUBLISHED = (
    '{"id":"2020-12-01","updated":"2021-01-01T15:14:22.925+0000","weight":72.6,"restingHR":44,'
    '"hrv":null,"menstrualPhase":null,"menstrualPhasePredicted":null,"kcalConsumed":null,'
    '"sleepSecs":null,"sleepQuality":null,"soreness":1,"fatigue":2,"stress":3,"mood":4,'
    '"motivation":3,"spO2":null,"systolic":null,"diastolic":null}'
)


def test_the_published_record_shape_is_read_as_a_day_without_hrv():
    from hrv.intake.exports import parse_source_bytes

    day = json.loads(PUBLISHED)
    with_hrv = {**day, "id": "2020-12-02", "hrv": 61.2, "hrvSDNN": None}
    result = parse_source_bytes(
        "wellness.json", json.dumps([day, with_hrv]).encode(), folder_athlete="ann"
    )
    assert result.vendor == "Intervals.icu" and result.verdict == "partial"
    assert [(r.date.isoformat(), r.metric, r.value_ms) for r in result.readings] == [
        ("2020-12-02", "rmssd", 61.2)
    ]
    assert result.readings[0].resting_hr_bpm == 44.0
    assert [s.reason for s in result.skipped] == ["no HRV measured that night"]
    # the day alone: recognised, nothing usable, said why
    alone = parse_source_bytes("day.json", PUBLISHED.encode(), folder_athlete="ann")
    assert alone.vendor == "Intervals.icu" and alone.verdict == "rejected"
    assert "no usable HRV readings" in str(alone.errors[0])


def test_a_fixed_key_or_a_corrected_id_is_tried_at_once(api, tmp_path):
    history(api, "i1", 5)
    squad = Squad(api, tmp_path, key="typo-key")
    squad.tick({"ann": "i999"})
    assert squad.state["service"]["error"] == "auth"
    squad.key = GOOD_KEY  # the operator fixes INTERVALS_ICU_API_KEY and restarts
    result = squad.tick({"ann": "i999"}, advance=5)
    assert result.alerts[0].status == "resolved"  # the key works: no hour's wait
    assert result.alerts[1].title.endswith(
        "has no athlete i999 (intervals_icu_id in the athletes file)"
    )
    result = squad.tick({"ann": "i1"}, advance=5)  # the coach corrects the id
    assert result.pulled == ["ann"] and [a.status for a in result.alerts] == ["resolved"]
    assert "typo-key" not in json.dumps(squad.state)  # the key is never kept, only a digest


def test_the_wellness_csv_download_is_read_like_the_api():
    """Intervals.icu's own CSV download (columns as its export writes them): it has mood
    and stress columns, and must not be mistaken for a journal."""
    from hrv.intake.exports import parse_source_bytes

    text = (
        "date,weight,restingHR,hrv,hrvSDNN,readiness,sleepSecs,soreness,fatigue,stress,mood,"
        "motivation,locked,ctl,atl\n"
        "2025-10-10,72.1,47,58.2,,71,27000,2,2,1,2,2,false,51.3,48.0\n"
        "2025-10-11,72.0,49,,,65,,,,,,,false,51.5,50.2\n"
        "2025-10-12,71.8,46,61.0,88.5,80,28800,1,,,,,false,51.9,47.1\n"
    )
    result = parse_source_bytes("wellness.csv", text.encode(), folder_athlete="ann")
    assert (result.vendor, result.format) == ("Intervals.icu", "intervals_icu_wellness_csv")
    got = [(r.date.isoformat(), r.metric, r.value_ms, r.sleep_hours) for r in result.readings]
    assert got == [
        ("2025-10-10", "rmssd", 58.2, 7.5),
        ("2025-10-12", "rmssd", 61.0, 8.0),
        ("2025-10-12", "sdnn", 88.5, 8.0),
    ]
    assert [(s.row, s.reason) for s in result.skipped] == [(3, "no HRV measured that night")]
