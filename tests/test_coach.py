"""The coach's side, pure: athletes.yaml, each athlete flag firing and resolving, the
alert book's cooldown, the squad board's rows and files, flags to the coach's channel."""

import datetime as dt
import json

import numpy as np
import pytest

from hrv.alerting import catalogue
from hrv.alerting.book import AlertBook, AlertPolicy, read_alerts
from hrv.analytics.features import build_daily_features, journal_frame, readings_frame
from hrv.coach.board import build_board, markdown_table
from hrv.coach.board_files import write_board
from hrv.coach.flags import HRV_LOW, ILLNESS, REST, VARIATION, evaluate_flags
from hrv.coach.roster import EMPTY, AthleteConfig, RosterError, parse_roster
from hrv.intake.freshness import FreshnessSettings
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.files import write_json_atomic
from resources.slack import SlackTransport
from tests.slack_server import GOOD_TOKEN, FakeSlack

START = dt.date(2026, 9, 1)
T0 = dt.datetime(2026, 11, 27, 7, 0, tzinfo=dt.UTC)


def steady(n=40, seed=0):
    return list(60 * np.exp(np.random.default_rng(seed).normal(0, 0.05, n)))


def frame(values, ill_days=()):
    days = [START + dt.timedelta(days=i) for i in range(len(values))]
    readings = [
        {
            "date": d.isoformat(),
            "metric": "rmssd",
            "value_ms": float(v),
            "resting_hr_bpm": None,
            "source_format": "t",
        }
        for d, v in zip(days, values, strict=True)
    ]
    journal = [
        {"date": d.isoformat(), "illness": i in ill_days, "training": []}
        for i, d in enumerate(days)
    ]
    return build_daily_features(journal_frame(journal), readings_frame(readings))


def state(flags, name):
    return next(f for f in flags if f.name == name)


# --------------------------------------------------------------------------- athletes.yaml
def test_the_roster_merges_defaults_and_each_athlete_field_by_field():
    roster = parse_roster(
        "defaults:\n  normal_range_width: 0.6\n  flags: {low_hrv_days: 3}\n"
        "athletes:\n  alice: {display_name: Alice Martin, team: Sprinters, flags: {cooldown_hours: 2}}\n"
        "  bob:\n"
    )
    alice = roster.get("alice")
    assert alice.label("alice") == "Alice Martin" and alice.team == "Sprinters"
    assert alice.normal_range_width == 0.6 and alice.flags.low_hrv_days == 3
    assert alice.flags.cooldown_hours == 2
    assert roster.get("bob") == roster.get("nobody") == roster.defaults
    assert roster.get("nobody").label("nobody") == "nobody"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "athletes:\n  alice: {normal_range_width: wide}\n",
            "athletes.alice.normal_range_width = 'wide': Input should be a valid number",
        ),
        ("athletes:\n  Alice: {}\n", "athlete id 'Alice' must match"),
        ("athletes:\n  alice: {colour: red}\n", "athletes.alice.colour = 'red': Extra inputs"),
        (
            "defaults:\n  flags: {low_hrv_days: 0}\n",
            "defaults.flags.low_hrv_days = 0: Input should be greater than or equal to 1",
        ),
        ("athletes: [alice\n", "not valid YAML (line 2"),
        ("- alice\n", "expected a mapping"),
    ],
)
def test_a_bad_roster_is_refused_naming_the_athlete_field_value_and_reason(text, expected):
    with pytest.raises(RosterError) as err:
        parse_roster(text, "athletes.yaml")
    assert expected in str(err.value) and str(err.value).startswith("athletes.yaml")


def test_only_settings_that_change_outputs_change_an_athletes_pipeline_digest():
    a = parse_roster("athletes:\n  alice: {display_name: A}\n")
    b = parse_roster("athletes:\n  alice: {display_name: B}\n")
    c = parse_roster("athletes:\n  alice: {normal_range_width: 0.8}\n")
    assert a.pipeline_digests() == b.pipeline_digests() and a.digest != b.digest
    assert a.pipeline_digests()["alice"] != c.pipeline_digests()["alice"]


# --------------------------------------------------------------------------- flags
def test_hrv_low_fires_after_two_days_below_and_resolves_on_recovery():
    config = AthleteConfig()
    one_day = evaluate_flags(frame([*steady(), 38, 38]), None, config)
    assert not state(one_day, HRV_LOW).active and "1 day running" in state(one_day, HRV_LOW).text
    low = state(evaluate_flags(frame(steady() + [38] * 3), None, config), HRV_LOW)
    assert low.active and "below it 2 days running" in low.text
    back = state(evaluate_flags(frame(steady() + [38] * 4 + [62] * 6), None, config), HRV_LOW)
    assert back.evaluated and not back.active
    lenient = AthleteConfig.model_validate({"flags": {"low_hrv_days": 3}})
    assert not state(evaluate_flags(frame(steady() + [38] * 3), None, lenient), HRV_LOW).active


def test_no_hrv_flag_before_the_normal_range_is_the_athletes_own():
    early = evaluate_flags(frame(steady(20) + [30] * 6), None, AthleteConfig())
    for name in (HRV_LOW, VARIATION):
        assert not state(early, name).evaluated and "baseline building" in state(early, name).text


def test_variation_rising_fires_on_erratic_nights_and_not_on_steady_ones():
    rng = np.random.default_rng(4)
    erratic = steady() + list(60 * np.exp(rng.normal(0, 0.3, 7)))
    flag = state(evaluate_flags(frame(erratic), None, AthleteConfig()), VARIATION)
    assert flag.active and "vs usual" in flag.text
    calm = state(evaluate_flags(frame(steady(47)), None, AthleteConfig()), VARIATION)
    assert calm.evaluated and not calm.active


def test_illness_and_rest_need_no_history_and_resolve_when_gone():
    values = steady(10)
    ill = evaluate_flags(
        frame(values, ill_days={9}),
        {"recommendation": "rest", "for_date": "2026-09-11", "reasons": ["illness reported"]},
        AthleteConfig(),
    )
    assert state(ill, ILLNESS).active and "2026-09-10" in state(ill, ILLNESS).text
    assert state(ill, REST).active and "illness reported" in state(ill, REST).text
    well = evaluate_flags(
        frame([*values, 60, 61], ill_days={9}), {"recommendation": "train_hard"}, AthleteConfig()
    )
    assert not state(well, ILLNESS).active and not state(well, REST).active


# --------------------------------------------------------------------------- the book
def flag_alert(status, cooldown=24.0):
    if status == "firing":
        return catalogue.athlete_flagged(
            "ann", HRV_LOW, "HRV below normal", "7-day mean low", "Ann", cooldown
        )
    return catalogue.athlete_flag_cleared("ann", HRV_LOW, "HRV below normal", "back", "Ann")


def test_a_flag_that_returns_within_its_cooldown_stays_quiet(tmp_path):
    book = AlertBook(tmp_path, AlertPolicy(slack_configured=True))
    hour = dt.timedelta(hours=1)
    assert book.record(flag_alert("firing"), T0).notify
    assert not book.record(flag_alert("firing"), T0 + hour).notify  # a repeat
    assert book.record(flag_alert("resolved"), T0 + 2 * hour).notify
    assert not book.record(flag_alert("firing"), T0 + 5 * hour).notify  # back within 24 h
    assert not book.record(flag_alert("resolved"), T0 + 6 * hour).notify  # never announced
    assert book.record(flag_alert("firing"), T0 + 40 * hour).notify  # after the cooldown
    sent = [a["status"] for a in read_alerts(tmp_path) if a["delivery"] == "slack"]
    assert sent == ["firing", "resolved", "firing"]
    assert all(a["fingerprint"] == "athlete_flag:ann:hrv_low" for a in read_alerts(tmp_path))


# --------------------------------------------------------------------------- the board
def athlete(data_dir, name, values, forecast=None, flags=()):
    store = AthleteStore(data_dir, name)
    store.features_path.parent.mkdir(parents=True, exist_ok=True)
    frame(values).to_csv(store.features_path, index=False, date_format="%Y-%m-%d")
    start = START
    rows = "".join(
        f"{start + dt.timedelta(days=i)},rmssd,{v:.1f},,t\n" for i, v in enumerate(values)
    )
    store.readings_path.write_text("date,metric,value_ms,resting_hr_bpm,source_format\n" + rows)
    out = data_dir / "outputs" / name
    if forecast is not None:
        write_json_atomic(out / "agent_forecast.json", forecast)
    write_json_atomic(
        out / "flags.json",
        {"flags": [{"name": f, "active": True} for f in flags]},
    )


def test_the_board_lists_every_athlete_worst_first_with_their_flags(tmp_path):
    fc = {
        "recommendation": "train_hard",
        "predicted_ms": 60.0,
        "interval_ms": [52.0, 69.0],
        "for_date": "2026-10-28",
        "baseline_building": False,
        "generated_at": "x",
    }
    athlete(tmp_path, "fine", steady(57), fc)
    low_values = steady(50) + [40.0] * 7  # its 7-day mean far below its normal range
    athlete(tmp_path, "low", low_values, fc | {"recommendation": "train_easy"}, flags=[HRV_LOW])
    athlete(tmp_path, "wobbly", steady(57), fc, flags=[VARIATION])
    state_ = {
        "check_failure:fine:gold/x:c": {
            "status": "firing",
            "athlete": "fine",
            "kind": "check_failure",
            "severity": "error",
        }
    }
    now = dt.datetime(2026, 10, 27, 12, tzinfo=dt.UTC)
    roster = parse_roster("athletes:\n  low: {display_name: Lou, team: Squad A}\n")
    rows = build_board(
        tmp_path, ["wobbly", "fine", "low", "ghost"], roster, now, FreshnessSettings(), state_
    )
    assert [(r.athlete, r.status) for r in rows] == [
        ("low", "alert"),
        ("fine", "alert"),
        ("wobbly", "watch"),
        ("ghost", "no_data"),
    ]
    low = rows[0]
    assert low.name == "Lou" and low.team == "Squad A" and low.flags == ["HRV below normal"]
    assert "check c failing" in rows[1].flags
    assert low.last_reading_date == "2026-10-27" and low.normal_range_ms and low.series
    paths = write_board(tmp_path / "outputs", rows, now, None)
    doc = json.loads(paths["json"].read_text())
    assert [r["athlete"] for r in doc["rows"]] == ["low", "fine", "wobbly", "ghost"]
    assert set(doc["rows"][0]) >= {
        "athlete",
        "status",
        "flags",
        "last_reading_date",
        "last_reading_ms",
        "normal_range_ms",
        "recommendation",
        "predicted_ms",
        "interval_ms",
    }
    assert paths["csv"].read_text().splitlines()[1].startswith("low,Lou,Squad A,alert,")
    page = paths["html"].read_text()
    assert page.count("<svg") == 3 and "Lou" in page and "<script" not in page
    assert page.index("Lou") < page.index("wobbly")
    assert "[Lou](" in markdown_table(rows)


def test_a_stale_source_and_a_building_baseline_put_an_athlete_on_watch(tmp_path):
    athlete(
        tmp_path,
        "old",
        steady(20),
        {
            "recommendation": "train_hard",
            "predicted_ms": 60.0,
            "interval_ms": [50, 70],
            "baseline_building": True,
        },
    )
    late = dt.datetime(2026, 9, 25, 12, tzinfo=dt.UTC)  # 5 days after the last reading
    (row,) = build_board(tmp_path, ["old"], EMPTY, late, FreshnessSettings(), {})
    assert row.status == "watch" and "baseline building" in row.flags
    assert any(f.startswith("stale source") for f in row.flags)


# --------------------------------------------------------------------------- Slack
def test_athlete_flags_go_to_the_coachs_channel_and_the_rest_to_the_alerts_channel():
    server = FakeSlack().start()
    try:
        transport = SlackTransport(
            token=GOOD_TOKEN,
            channel="#hrv-alerts",
            webhook_url=None,
            base_url=server.api_base_url,
            webserver_url="http://127.0.0.1:3000",
            coach_channel="#coach",
        )
        assert transport.send(flag_alert("firing").to_dict(), None).ok
        other = catalogue.sensor_failing("inbox_sensor", 3, "boom")
        assert transport.send(other.to_dict(), None).ok
        channels = [m["channel"] for m in server.delivered()]
        assert channels == ["#coach", "#hrv-alerts"]
        assert "Ann: HRV below normal" in server.delivered()[0]["text"]
    finally:
        server.stop()


# --------------------------------------------------------------------------- the sensor
def test_the_board_sensor_applies_athletes_yaml_and_refuses_a_bad_one(tree, instance):
    """A changed width re-runs that athlete from its features; a name only refreshes the
    board; a file that cannot be used is one alert, and fixing it resolves it."""
    import dagster as dg

    from assets import ATHLETES_PARTITIONS
    from sensors.board import squad_board_sensor

    roster = tree.root / "athletes.yaml"
    roster.write_text("athletes:\n  ann: {display_name: Ann}\n")
    instance.add_dynamic_partitions(ATHLETES_PARTITIONS, ["ann", "bob"])
    res = tree.resources(board_quiet_seconds=0)

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=res) as ctx:
            return squad_board_sensor(ctx)

    def jobs(result):
        return [(r.job_name, r.tags.get("athlete")) for r in result.run_requests]

    first = tick(None)  # the first tick builds the board, re-runs nobody
    assert jobs(first) == [("squad_board", None)]
    roster.write_text("athletes:\n  ann: {display_name: Ann B.}\n")
    second = tick(first.cursor)
    assert jobs(second) == [("squad_board", None)]
    roster.write_text("athletes:\n  ann: {display_name: Ann B., normal_range_width: 0.8}\n")
    third = tick(second.cursor)
    assert jobs(third) == [("squad_update", "ann")]  # the board waits for ann's run
    assert third.run_requests[0].tags["hrv/trigger"] == "settings"
    roster.write_text("athletes:\n  ann: {normal_range_width: wide}\n")
    fourth = tick(third.cursor)
    assert not [j for j in jobs(fourth) if j[0] != "squad_board"]
    refused = [a for a in read_alerts(tree.data) if a["kind"] == "rejected_file"]
    assert len(refused) == 1 and refused[0]["title"].startswith("Refused athletes.yaml")
    assert "athletes.ann.normal_range_width = 'wide'" in refused[0]["text"]
    roster.write_text("athletes:\n  ann: {normal_range_width: 0.8}\n")
    tick(fourth.cursor)
    statuses = [a["status"] for a in read_alerts(tree.data) if a["kind"] == "rejected_file"]
    assert statuses == ["firing", "resolved"]
