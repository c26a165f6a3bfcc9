"""Intervals.icu, live: the real daemon pulls wellness from a server on 127.0.0.1 that speaks
the API's wire format, the athlete's forecast follows hands-off, and the recommendation
goes back into the athlete's wellness comments without touching what they typed.

The nights are real: the last 45 of a Garmin user's published nightly HRV
(tests/fixtures/exports, ``garmin/pedrodbsa__hrv.csv``), the value Garmin syncs to
Intervals.icu as ``hrv``, moved to end yesterday."""

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from assets import run_athletes
from hrv.alerting.book import read_alerts
from hrv.intake.exports import parse_source_file
from hrv.intake.wellness_mirror import COMMENT_MARK, WELLNESS_FILE
from tests.e2e.conftest import live_daemon
from tests.e2e.harness import quiet, runs, wait_for
from tests.intervals_server import GOOD_KEY, FakeIntervals

pytestmark = pytest.mark.e2e
FIXTURE = Path(__file__).parents[1] / "fixtures" / "exports" / "garmin" / "pedrodbsa__hrv.csv"
TODAY = dt.date.today()


def real_nights(n: int) -> list[tuple[float, float | None]]:
    parsed = parse_source_file(FIXTURE, folder_athlete="pedro")
    nights = sorted(parsed.readings, key=lambda r: r.date)[-n:]
    return [(r.value_ms, r.resting_hr_bpm) for r in nights]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    api = FakeIntervals().start()
    nights = real_nights(46)
    for k, (value, rhr) in enumerate(nights[:-1]):  # up to yesterday; today comes later
        day = TODAY - dt.timedelta(days=len(nights) - 1 - k)
        api.add("i4242", day, hrv=value, restingHR=rhr, sleepSecs=26000, soreness=2)
    api.add("i777", TODAY, hrv=50.0)  # an athlete who does not share with the coach
    api.not_shared.add("i777")
    with live_daemon(
        tmp_path_factory,
        "intervals_live",
        HRV_SOURCES_SETTLE_SECONDS="1",
        INTERVALS_ICU_API_KEY=GOOD_KEY,
        INTERVALS_ICU_BASE_URL=api.url,
        INTERVALS_ICU_POLL_MINUTES="0.05",  # every 3 s, so the test sees a pull soon
        INTERVALS_ICU_WRITE_BACK="1",
    ) as (tree, instance, proc):
        (tree.root / "athletes.yaml").write_text(
            "athletes:\n"
            "  pedro: {display_name: Pedro, intervals_icu_id: i4242}\n"
            "  nina: {intervals_icu_id: i777}\n"
        )
        yield api, nights[-1], tree, instance, proc
    api.stop()


def forecast(tree, athlete):
    path = tree.outputs(athlete) / "agent_forecast.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def test_wellness_upstream_updates_the_forecast_hands_off(live):
    api, today_night, tree, instance, proc = live
    first = wait_for(
        lambda: (f := forecast(tree, "pedro")) and f["for_date"] == TODAY.isoformat() and f,
        180,
        "pedro's first forecast from Intervals.icu",
        proc.tail,
    )
    stored = parse_source_file(tree.sources / "pedro" / WELLNESS_FILE, folder_athlete="pedro")
    assert stored.vendor == "Intervals.icu" and len(stored.readings) == 45
    wait_for(lambda: quiet(instance), 120, "runs to finish", proc.tail)

    # the first recommendation went into today's wellness comments
    first_line = f"{COMMENT_MARK} {first['recommendation'].replace('_', ' ')}: {first['advice']}"
    wait_for(
        lambda: api.athletes["i4242"].get(TODAY.isoformat(), {}).get("comments") == first_line,
        60,
        "the first recommendation in today's comments",
        proc.tail,
    )
    # the athlete writes tomorrow's plan in Intervals.icu before tomorrow's forecast exists
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    api.add("i4242", tomorrow, comments="Long day at work.\nPlan: 60 min easy")
    # this morning's night syncs to Intervals.icu: nobody touches hrv-sentinel
    since = time.time()
    api.add("i4242", TODAY, hrv=today_night[0], restingHR=today_night[1])
    after = wait_for(
        lambda: (
            (f := forecast(tree, "pedro"))
            and f["for_date"] == (TODAY + dt.timedelta(days=1)).isoformat()
            and f
        ),
        180,
        "the forecast after this morning's wellness",
        proc.tail,
    )
    assert after["generated_at"] != first["generated_at"]
    wait_for(lambda: quiet(instance), 120, "runs to finish", proc.tail)
    new_runs = runs(instance, since)
    assert new_runs and all(run_athletes(r) == ["pedro"] for r in new_runs)

    expected = (
        "Long day at work.\nPlan: 60 min easy\n"
        + f"{COMMENT_MARK} {after['recommendation'].replace('_', ' ')}: {after['advice']}"
    )

    def written_back():
        record = api.athletes["i4242"].get(tomorrow, {})
        return record.get("comments") == expected

    # under the athlete's words, which are kept as typed
    wait_for(written_back, 60, "the recommendation in tomorrow's wellness comments", proc.tail)
    assert api.athletes["i4242"][tomorrow].get("hrv") is None  # only the comments were sent

    # the athlete who does not share: one alert naming them, no crash loop, no run
    alerts = [a for a in read_alerts(tree.data) if a["kind"] == "source_api_error"]
    assert [(a["athlete"], a["status"]) for a in alerts] == [("nina", "firing")]
    assert "i777" in alerts[0]["title"]
    assert not (tree.sources / "nina").exists()
    status = json.loads((tree.data / "intervals_icu_status.json").read_text())
    assert status["athletes"]["nina"]["error"] == "forbidden"
    assert status["athletes"]["pedro"]["newest_hrv_day"] == TODAY.isoformat()
    # pulled every 3 s, yet an unchanged answer rewrites nothing and starts no run
    export = tree.sources / "pedro" / WELLNESS_FILE
    mtime, quiet_since = export.stat().st_mtime_ns, time.time()

    def pulls():
        return [r for r in api.calls("GET") if r.path.endswith("/athlete/i4242/wellness")]

    n = len(pulls())
    wait_for(lambda: len(pulls()) >= n + 3, 60, "three more pulls", proc.tail)
    assert export.stat().st_mtime_ns == mtime
    assert runs(instance, quiet_since) == []
