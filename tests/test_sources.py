"""Wearable exports: five formats detected by content; SDNN never mixed with rMSSD."""

import datetime as dt
import json
import os

import pytest

from hrv.intake.wearables import RMSSD, SDNN, parse_source_bytes, parse_source_file


def parse(name, text, **kw):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_source_bytes(name, data, **kw)


def by_date(result):
    return {(r.athlete, r.date.isoformat()): r for r in result.readings}


def test_generic_csv_with_athlete_and_resting_hr():
    r = parse(
        "hrv.csv",
        "date,athlete,rmssd_ms,resting_hr_bpm\n2026-01-01,ann,55.5,48\n2026-01-01,bob,40,\n"
        "2026-01-02,ann,,50\n",
    )
    assert r.ok and r.format == "generic_csv"
    got = by_date(r)
    assert got[("ann", "2026-01-01")].value_ms == 55.5
    assert got[("ann", "2026-01-01")].resting_hr_bpm == 48
    assert got[("bob", "2026-01-01")].resting_hr_bpm is None
    assert ("ann", "2026-01-02") not in got  # blank rMSSD: no reading that day
    assert {x.metric for x in r.readings} == {RMSSD}


def test_generic_csv_uses_folder_athlete():
    r = parse("x.csv", "date,rmssd_ms\n2026-01-01,50\n", folder_athlete="cat")
    assert r.athletes == ["cat"]


@pytest.mark.parametrize(
    ("text", "field", "needle"),
    [
        (
            "date,rmssd_ms,resting_hr\n2026-01-01,50,40\n",
            "resting_hr",
            "did you mean 'resting_hr_bpm'",
        ),
        ("date,rmssd_ms\n2026-01-01,fast\n", "rmssd_ms", "could not convert"),
        ("date,rmssd_ms\n2026-01-01,-3\n", "rmssd_ms", "positive"),
        ("date,rmssd_ms\n01/02/2026,50\n", "date", "ISO date"),
        ("date,rmssd_ms\n2026-01-01,50\n2026-01-01,51\n", "date", "duplicate"),
        ("date,athlete,rmssd_ms\n2026-01-01,Bad Id,50\n", "athlete", "athlete id"),
    ],
)
def test_generic_csv_errors(text, field, needle):
    r = parse("x.csv", text)
    assert not r.ok and r.readings == []
    assert r.errors[0].field == field and needle in r.errors[0].message


WHOOP_HEADER = (
    "Cycle start time,Cycle end time,Cycle timezone,Recovery score %,Resting heart rate (bpm),"
    "Heart rate variability (ms),Skin temp (celsius),Day Strain,Sleep onset,Wake onset\n"
)


def test_whoop_uses_wake_onset_day():
    r = parse(
        "physiological_cycles.csv",
        WHOOP_HEADER + "2026-01-01 23:10:00,2026-01-02 22:50:00,UTC+01:00,70,50,62,33.1,12.1,"
        "2026-01-01 23:10:00,2026-01-02 06:40:00\n"
        + "2026-01-02 22:50:00,,UTC+01:00,,,,,,,\n",  # an unscored cycle: no reading
        folder_athlete="whoopy",
    )
    assert r.ok and r.format == "whoop_cycles"
    (reading,) = r.readings
    assert reading.date == dt.date(2026, 1, 2) and reading.value_ms == 62
    assert reading.resting_hr_bpm == 50 and reading.athlete == "whoopy"


def test_whoop_without_wake_onset_maps_an_evening_start_to_the_next_morning():
    header = "Cycle start time,Heart rate variability (ms),Resting heart rate (bpm)\n"
    r = parse("c.csv", header + "2026-01-01 23:10:00,62,50\n2026-01-03 00:40:00,58,51\n")
    assert [x.date.isoformat() for x in r.readings] == ["2026-01-02", "2026-01-03"]


def test_whoop_bad_hrv_value():
    r = parse("c.csv", WHOOP_HEADER + "2026-01-01 23:10:00,,,70,50,high,,,,\n")
    assert not r.ok and r.errors[0].field == "Heart rate variability (ms)" and r.errors[0].row == 2


def test_oura_takes_long_sleep_and_ignores_naps():
    doc = {
        "data": [
            {
                "day": "2026-01-02",
                "type": "long_sleep",
                "average_hrv": 45,
                "lowest_heart_rate": 48,
                "total_sleep_duration": 20000,
            },
            {"day": "2026-01-02", "type": "late_nap", "average_hrv": 20, "lowest_heart_rate": 60},
            {
                "day": "2026-01-02",
                "type": "long_sleep",
                "average_hrv": 47,
                "lowest_heart_rate": 47,
                "total_sleep_duration": 26000,
            },
            {"day": "2026-01-03", "type": "long_sleep", "average_hrv": None},
        ],
        "next_token": None,
    }
    r = parse("sleep.json", json.dumps(doc))
    assert r.ok and r.format == "oura_sleep"
    (reading,) = r.readings
    assert reading.value_ms == 47 and reading.resting_hr_bpm == 47  # the longest long sleep


@pytest.mark.parametrize(
    "doc",
    [
        [{"hrvSummary": {"calendarDate": "2026-01-02", "lastNightAvg": 51, "weeklyAvg": 50}}],
        {"hrvSummary": {"calendarDate": "2026-01-02", "lastNightAvg": 51}},
        {"hrvSummaries": [{"calendarDate": "2026-01-02", "lastNightAvg": 51}]},
        [
            {"calendarDate": "2026-01-02", "lastNightAvg": 51},
            {"calendarDate": "2026-01-03", "lastNightAvg": None},
        ],
    ],
)
def test_garmin_shapes(doc):
    r = parse("hrv.json", json.dumps(doc))
    assert r.ok and r.format == "garmin_hrv"
    assert [(x.date.isoformat(), x.value_ms) for x in r.readings] == [("2026-01-02", 51)]


APPLE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (Record*)>
<!ATTLIST Record type CDATA #REQUIRED>
]>
<HealthData locale="en_US">
 <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" unit="ms" startDate="2026-01-02 07:01:00 +0100" value="40"/>
 <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" unit="ms" startDate="2026-01-02 12:01:00 +0100" value="50"/>
 <Record type="HKQuantityTypeIdentifierRestingHeartRate" unit="count/min" startDate="2026-01-02 09:00:00 +0100" value="52"/>
 <Record type="HKQuantityTypeIdentifierStepCount" unit="count" startDate="2026-01-02 09:00:00 +0100" value="5000"/>
</HealthData>
"""


def test_apple_health_is_sdnn_never_rmssd(tmp_path):
    path = tmp_path / "export.xml"
    path.write_text(APPLE)
    r = parse_source_file(path, folder_athlete="ann")
    assert r.ok and r.format == "apple_health"
    (reading,) = r.readings
    assert reading.metric == SDNN and reading.value_ms == 45 and reading.resting_hr_bpm == 52


def test_apple_entity_expansion_is_refused():
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
        "<HealthData>&lol2;</HealthData>\n"
    )
    r = parse("export.xml", bomb)
    assert not r.ok and "safety" in r.errors[0].message


def test_apple_without_hrv_records():
    r = parse("export.xml", '<?xml version="1.0"?><HealthData></HealthData>')
    assert not r.ok and "no HKQuantityTypeIdentifierHeartRateVariabilitySDNN" in r.errors[0].message


def test_detection_is_by_content_not_name():
    doc = {"data": [{"day": "2026-01-02", "type": "long_sleep", "average_hrv": 45}]}
    assert parse("weird-name.csv", json.dumps(doc)).format == "oura_sleep"
    assert parse("data.json", "date,rmssd_ms\n2026-01-01,50\n").format == "generic_csv"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("a,b\n1,2\n", "unrecognised export"),
        ('{"foo": 1}', "neither an Oura"),
        ("{broken", "not valid JSON"),
        ("<HealthData><Record", "not well-formed XML"),
        ("date,rmssd_ms\n", "no HRV readings"),
    ],
)
def test_unusable_exports(text, needle):
    r = parse("x.csv", text)
    assert not r.ok and needle in r.errors[0].message


def test_source_file_refuses_symlinks(tmp_path):
    real = tmp_path / "r.csv"
    real.write_text("date,rmssd_ms\n2026-01-01,50\n")
    link = tmp_path / "l.csv"
    os.symlink(real, link)
    assert "symlink" in parse_source_file(link).errors[0].message
    ok = parse_source_file(real)
    assert ok.ok and ok.sha256 is not None
