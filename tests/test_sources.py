"""Wearable exports read row by row: every format by content, one reading per wake day, naps
and daytime samples never the night, SDNN never mixed with rMSSD."""

import datetime as dt
import io
import json
import os
import zipfile

import pytest

from hrv.intake.exports import RMSSD, SDNN, parse_source_bytes, parse_source_file


def parse(name, text, **kw):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_source_bytes(name, data, **kw)


def by_date(result):
    return {(r.athlete, r.date.isoformat()): r for r in result.readings}


def dates(result):
    return [r.date.isoformat() for r in result.readings]


# --------------------------------------------------------------------------- generic CSV
def test_generic_csv_with_athlete_and_resting_hr():
    r = parse(
        "hrv.csv",
        "date,athlete,rmssd_ms,resting_hr_bpm\n2026-01-01,ann,55.5,48\n2026-01-01,bob,40,\n"
        "2026-01-02,ann,,50\n",
    )
    assert r.verdict == "partial" and r.format == "generic_csv"
    got = by_date(r)
    assert got[("ann", "2026-01-01")].value_ms == 55.5
    assert got[("ann", "2026-01-01")].resting_hr_bpm == 48
    assert got[("bob", "2026-01-01")].resting_hr_bpm is None
    assert ("ann", "2026-01-02") not in got  # blank rMSSD: skipped, counted
    assert dict(r.skip_counts) == {"no HRV measured that night": 1}
    assert {x.metric for x in r.readings} == {RMSSD}


def test_generic_csv_uses_folder_athlete_and_reads_sdnn():
    r = parse("x.csv", "date,sdnn_ms\n2026-01-01,50\n", folder_athlete="cat")
    assert r.athletes == ["cat"] and r.readings[0].metric == SDNN


def test_a_long_history_is_read_row_by_row_and_bad_rows_are_skipped_with_reasons():
    rows = [f"2025-{m:02d}-{d:02d},{40 + d}" for m in range(1, 13) for d in range(1, 29)]
    rows[10] = "2025-01-11,0"  # a zero
    rows[20] = "2025-01-20,44"  # the day before again
    rows[30] = "not a day,50"
    rows[40] = "2025-02-13,fast"
    rows[50] = "2025-02-23,-3"
    r = parse("history.csv", "date,rmssd_ms\n" + "\n".join(rows) + "\n")
    assert r.verdict == "partial" and len(r.readings) == len(rows) - 5
    assert dict(r.skip_counts) == {
        "no HRV measured that night": 1,
        "the same day again (the first one is kept)": 1,
        "not a date": 1,
        "not a number": 1,
        "HRV must be positive": 1,
    }
    assert r.rows_read == len(rows)
    dup = next(s for s in r.skipped if s.reason.startswith("the same day"))
    assert dup.row == 22 and dup.detail == "row 21"  # names the row it repeats


def test_european_excel_csv_with_semicolons_and_decimal_commas_and_a_bom():
    text = "\ufeffdate;rmssd_ms;resting_hr_bpm\r\n21.11.2026;58,4;49\r\n2026-11-22;61,0;48\r\n"
    r = parse("hrv.csv", text)
    assert r.verdict == "ok"
    assert [(x.date.isoformat(), x.value_ms, x.resting_hr_bpm) for x in r.readings] == [
        ("2026-11-21", 58.4, 49.0),
        ("2026-11-22", 61.0, 48.0),
    ]


def test_windows_1252_and_mixed_encodings_lose_no_row():
    """A European Excel saves "CSV (semicolon)" in Windows-1252; a file appended to by two
    tools may mix it with UTF-8. Every row is read."""
    cp1252 = "date;rmssd_ms;Notiz\n2026-01-01;50,5;müde\n2026-01-02;51;ok\n".encode("cp1252")
    r = parse("hrv.csv", cp1252)
    assert r.verdict == "ok" and dates(r) == ["2026-01-01", "2026-01-02"]
    mixed = "date,rmssd_ms,note\n2026-01-01,50,café\n".encode() + "2026-01-02,52,café\n".encode(
        "cp1252"
    )
    assert dates(parse("hrv.csv", mixed)) == ["2026-01-01", "2026-01-02"]
    utf16 = "date\trmssd_ms\n2026-01-01\t50\n".encode("utf-16")  # Excel's "Unicode text"
    assert dates(parse("hrv.csv", utf16)) == ["2026-01-01"]


def test_ambiguous_dates_are_skipped_not_guessed():
    r = parse("hrv.csv", "date,rmssd_ms\n01/02/2026,50\n2026-01-03,51\n")
    assert dates(r) == ["2026-01-03"] and dict(r.skip_counts) == {"not a date": 1}


def test_a_date_column_that_proves_its_order_is_read():
    """25-06-20 can only be day first (a real owner's Oura CSV); a month of 06/01..06/30
    written month first proves it by running a day apart; a column with a first and a
    second number above 12 proves nothing and stays refused."""
    day_first = "date,rmssd\n25-06-20,56\n26-06-20,54\n01-07-20,50\n"
    assert dates(parse("hrv.csv", day_first)) == ["2020-06-25", "2020-06-26", "2020-07-01"]
    rows = "".join(f"06/{d:02d}/2021,{50 + d}\n" for d in range(1, 11))
    assert dates(parse("hrv.csv", "date,rmssd_ms\n" + rows))[:2] == ["2021-06-01", "2021-06-02"]
    both = "date,rmssd_ms\n25/06/2020,50\n06/26/2020,51\n"
    assert dict(parse("hrv.csv", both).skip_counts) == {"not a date": 2}


def test_unknown_columns_are_ignored_and_said():
    r = parse("x.csv", "date,rmssd_ms,resting_hr_bmp\n2026-01-01,50,40\n")
    assert r.verdict == "ok" and r.readings[0].resting_hr_bpm is None and not r.skipped
    assert r.ignored_columns == ["resting_hr_bmp (did you mean 'resting_hr_bpm'?)"]
    aliased = parse("x.csv", "date,rmssd,rhr\n2026-01-01,50,40\n")  # common spreadsheet names
    assert aliased.verdict == "ok" and aliased.readings[0].resting_hr_bpm == 40


# --------------------------------------------------------------------------- WHOOP
WHOOP = (
    "Cycle start time,Cycle end time,Cycle timezone,Recovery score %,Resting heart rate (bpm),"
    "Heart rate variability (ms),Sleep onset,Wake onset,Asleep duration (min)\n"
)


def test_whoop_uses_the_wake_day_and_skips_unscored_cycles():
    r = parse(
        "physiological_cycles.csv",
        WHOOP + "2026-01-01 23:10:00,2026-01-02 22:50:00,UTC+01:00,70,50,62,"
        "2026-01-01 23:10:00,2026-01-02 06:40:00,420\n" + "2026-01-02 22:50:00,,UTC+01:00,,,,,,\n",
        folder_athlete="whoopy",
    )
    assert r.verdict == "partial" and r.format == "whoop_cycles" and r.vendor == "WHOOP"
    (reading,) = r.readings
    assert reading.date == dt.date(2026, 1, 2) and reading.value_ms == 62
    assert reading.resting_hr_bpm == 50 and reading.athlete == "whoopy"


def test_whoop_two_sleeps_waking_the_same_day_keep_the_night_not_the_nap():
    """The real case: newest first, an evening nap (14:28-15:37, 31 min) listed before the
    night it follows; both 'wake' on 2026-01-02."""
    r = parse(
        "physiological_cycles.csv",
        WHOOP
        + "2026-01-02 14:28:00,,UTC+01:00,12,60,30,2026-01-02 14:28:00,2026-01-02 15:37:00,31\n"
        + "2026-01-01 23:00:00,2026-01-02 14:28:00,UTC+01:00,80,48,70,"
        "2026-01-01 23:00:00,2026-01-02 07:00:00,430\n"
        + "2026-01-02 18:00:00,,UTC+01:00,20,55,40,2026-01-02 18:00:00,2026-01-02 21:10:00,150\n",
    )
    assert [(x.date.isoformat(), x.value_ms) for x in r.readings] == [("2026-01-02", 70)]
    assert r.skip_counts["a nap or daytime sleep, not the night"] == 1
    assert r.skip_counts["a shorter sleep on the same wake day (the longest one is the night)"] == 1


def test_whoop_a_long_daytime_sleep_is_that_days_main_sleep():
    r = parse(
        "c.csv",
        WHOOP
        + "2026-01-12 04:29:56,,UTC+01:00,23,60,23,2026-01-12 04:29:56,2026-01-12 19:15:53,702\n",
    )
    assert dates(r) == ["2026-01-12"]  # a shift worker's sleep, not a nap


def test_whoop_without_wake_onset_maps_an_evening_start_to_the_next_morning():
    header = "Cycle start time,Heart rate variability (ms),Resting heart rate (bpm)\n"
    r = parse("c.csv", header + "2026-01-01 23:10:00,62,50\n2026-01-03 00:40:00,58,51\n")
    assert dates(r) == ["2026-01-02", "2026-01-03"]


def test_whoop_siblings_are_not_hrv_data():
    sleeps = (
        "Cycle start time,Cycle end time,Cycle timezone,Sleep onset,Wake onset,Asleep duration "
        "(min),Nap\n2026-01-01 23:00:00,,UTC,2026-01-01 23:00:00,2026-01-02 07:00:00,420,false\n"
    )
    journal = "Cycle start time,Cycle end time,Cycle timezone,Question text,Answered yes,Notes\n"
    for text in (sleeps, journal + "2026-01-01 23:00:00,,UTC,Have any caffeine? ,true,\n"):
        r = parse("x.csv", text)
        assert r.verdict == "not_hrv" and r.errors == [] and "no HRV" in (r.not_hrv or "")


def test_whoop_api_recoveries_dated_in_the_squads_time_zone_one_per_cycle():
    doc = {
        "records": [
            {
                "cycle_id": 2,
                "created_at": "2026-01-02T21:30:00.000Z",
                "updated_at": "2026-01-02T21:31:00.000Z",
                "score_state": "SCORED",
                "score": {"hrv_rmssd_milli": 60.5, "resting_heart_rate": 50},
            },
            {
                "cycle_id": 2,
                "created_at": "2026-01-02T21:30:00.000Z",
                "updated_at": "2026-01-02T21:40:00.000Z",
                "score_state": "SCORED",
                "score": {"hrv_rmssd_milli": 61.5, "resting_heart_rate": 50},
            },
            {
                "cycle_id": 1,
                "created_at": "2026-01-01T21:30:00.000Z",
                "score_state": "PENDING_SCORE",
                "score": {"hrv_rmssd_milli": None},
            },
        ],
        "next_token": "abc",
    }
    import zoneinfo

    sydney = parse("recovery.json", json.dumps(doc), tz=zoneinfo.ZoneInfo("Australia/Sydney"))
    assert sydney.format == "whoop_recovery"
    # 21:30 UTC is 08:30 the next morning in Sydney: that is the wake day
    assert [(x.date.isoformat(), x.value_ms) for x in sydney.readings] == [("2026-01-03", 61.5)]
    assert sydney.skip_counts == {
        "a second recovery for the same cycle": 1,
        "recovery not scored": 1,
    }
    utc = parse("recovery.json", json.dumps(doc))
    assert dates(utc) == ["2026-01-02"]


# --------------------------------------------------------------------------- Oura
def test_oura_v2_the_night_not_naps_across_pages():
    page1 = {
        "data": [
            {
                "day": "2026-01-02",
                "type": "long_sleep",
                "average_hrv": 45,
                "lowest_heart_rate": 48,
                "total_sleep_duration": 20000,
                "bedtime_start": "2026-01-01T23:00:00+01:00",
                "bedtime_end": "2026-01-02T06:50:00+01:00",
            },
            {"day": "2026-01-02", "type": "late_nap", "average_hrv": 20},
        ],
        "next_token": "p2",
    }
    page2 = {
        "data": [
            {
                "day": "2026-01-02",
                "type": "long_sleep",
                "average_hrv": 47,
                "lowest_heart_rate": 47,
                "total_sleep_duration": 26000,
            },
            {
                "day": "2026-01-03",
                "type": "sleep",
                "average_hrv": 30,
                "total_sleep_duration": 2400,
            },  # 40 minutes: a short sleep
            {"day": "2026-01-04", "type": "long_sleep", "average_hrv": None},
        ],
        "next_token": None,
    }
    r = parse("sleep.json", json.dumps([page1, page2]))
    assert r.format == "oura_sleep_v2" and r.vendor == "Oura"
    (reading,) = r.readings
    assert reading.value_ms == 47 and reading.resting_hr_bpm == 47  # the longest night
    assert r.n_skipped == 4


def test_oura_multi_endpoint_dump_reads_its_sleep_and_daily_scores_are_not_hrv():
    """People's scripts save several endpoints in one file (shape of a real dump:
    kola-ootro/oura-ring-data-collector oura_data.json, daily summaries only)."""
    sleep = {"data": [{"day": "2024-07-19", "type": "long_sleep", "average_hrv": 44}]}
    readiness = {"data": [{"day": "2024-07-19", "score": 80, "contributors": {}}]}
    both = parse("oura_data.json", json.dumps({"sleep": sleep, "daily_readiness": readiness}))
    assert both.verdict == "ok" and dates(both) == ["2024-07-19"]
    daily = {
        "daily_activity": {"data": [{"day": "2024-07-18", "score": 70, "steps": 9000}]},
        "daily_readiness": readiness,
        "daily_sleep": {"data": [{"day": "2024-07-19", "score": 77, "contributors": {}}]},
    }
    only = parse("oura_data.json", json.dumps(daily))
    assert only.verdict == "not_hrv" and only.vendor == "Oura" and not only.errors
    assert "daily_sleep" in (only.not_hrv or "") and "no HRV" in (only.not_hrv or "")
    assert parse("r.json", json.dumps(readiness)).verdict == "not_hrv"


def test_oura_account_export_dates_by_wake_day_and_reads_zero_as_not_measured():
    doc = {
        "sleep": [
            {
                "summary_date": "2023-01-01",
                "is_longest": 1,
                "rmssd": 44,
                "hr_lowest": 50,
                "total": 28440,
                "bedtime_start": "2023-01-01T23:25:30-08:00",
                "bedtime_end": "2023-01-02T09:00:30-08:00",
            },
            {
                "summary_date": "2023-01-02",
                "is_longest": 1,
                "rmssd": 0,
                "total": 20000,
                "bedtime_start": "2023-01-02T23:00:00-08:00",
                "bedtime_end": "2023-01-03T07:00:00-08:00",
            },
            {"summary_date": "2023-01-02", "is_longest": 0, "rmssd": 30, "total": 1800},
        ]
    }
    r = parse("oura_export.json", json.dumps(doc))
    assert r.format == "oura_account_export"
    assert [(x.date.isoformat(), x.value_ms) for x in r.readings] == [("2023-01-02", 44)]
    assert r.skip_counts["no HRV measured that night"] == 1


# --------------------------------------------------------------------------- Garmin, Fitbit, Polar
@pytest.mark.parametrize(
    "doc",
    [
        [{"hrvSummary": {"calendarDate": "2026-01-02", "lastNightAvg": 51, "weeklyAvg": 50}}],
        {"hrvSummary": {"calendarDate": "2026-01-02", "lastNightAvg": 51}},
        {"hrvSummaries": [{"calendarDate": "2026-01-02", "lastNightAvg": 51}]},
        {
            "2026-01-02": {"hrvSummary": {"calendarDate": "2026-01-02", "lastNightAvg": 51}},
            "2026-01-03": {"hrvSummary": {"calendarDate": "2026-01-03", "lastNightAvg": None}},
        },
    ],
)
def test_garmin_shapes(doc):
    r = parse("hrv.json", json.dumps(doc))
    assert r.format == "garmin_hrv" and r.vendor == "Garmin"
    assert [(x.date.isoformat(), x.value_ms) for x in r.readings] == [("2026-01-02", 51)]


def test_fitbit_takeout_daily_summary_and_web_api():
    r = parse(
        "Daily Heart Rate Variability Summary - 2023-01-(4).csv",
        "timestamp,rmssd,nremhr,entropy\n2023-01-05T00:00:00,36.9,65.4,3.0\n"
        "2023-01-06T00:00:00,0.0,72.0,0.0\n",
    )
    assert r.format == "fitbit_daily_hrv" and dates(r) == ["2023-01-05"]
    assert r.readings[0].resting_hr_bpm == 65.4 and r.skip_counts == {
        "no HRV measured that night": 1
    }
    api = {"hrv": [{"dateTime": "2021-10-25", "value": {"dailyRmssd": 34.9, "deepRmssd": 31.4}}]}
    assert [
        (x.date.isoformat(), x.value_ms) for x in parse("h.json", json.dumps(api)).readings
    ] == [("2021-10-25", 34.9)]
    details = (
        "timestamp,rmssd,coverage,low_frequency,high_frequency\n2023-01-19T03:55:00,60,1,9,9\n"
    )
    assert parse("d.csv", details).verdict == "not_hrv"


def test_polar_nightly_recharge():
    doc = {
        "recharges": [
            {"date": "2020-01-01", "heart_rate_variability_avg": 28},
            {"date": "2020-01-02", "heart_rate_variability_avg": 0},
        ]
    }
    r = parse("recharge.json", json.dumps(doc))
    assert r.vendor == "Polar" and dates(r) == ["2020-01-01"] and r.n_skipped == 1


def test_hrv_apps():
    h4t = (
        "date, HR, AVNN, SDNN, rMSSD, pNN50, HRV4T_Recovery_Points, sleep_quality\n"
        "2025-12-11 06:01:00 +0100, 52, 1100, 60, 71.5, 30, 7.5, 4\n"
        "2025-12-12 06:03:00 +0100, 54, 1080, 58, -, 28, 7.1, 3\n"
    )
    r = parse("hrv4training.csv", h4t)
    assert r.vendor == "HRV4Training" and [
        (x.date.isoformat(), x.value_ms) for x in r.readings
    ] == [("2025-12-11", 71.5)]
    elite = (
        "Member,Type,Position,Date Time Start,HRV,HR,Rmssd\n"
        "me,Morning Readiness,Lying,2026-01-02 06:30:00,62,50,48.2\n"
        "me,Open Reading,Seated,2026-01-02 18:30:00,55,60,40.0\n"
    )
    r = parse("elite.csv", elite)
    assert r.vendor == "Elite HRV" and dates(r) == ["2026-01-02"] and r.n_skipped == 1


# --------------------------------------------------------------------------- Apple Health
def record(kind, start, value, source="Ann's Apple Watch", device="name:Apple Watch"):
    return (
        f' <Record type="{kind}" sourceName="{source}" device="{device}" unit="ms" '
        f'startDate="{start}" value="{value}"/>\n'
    )


HRV, RHR = (
    "HKQuantityTypeIdentifierHeartRateVariabilitySDNN",
    "HKQuantityTypeIdentifierRestingHeartRate",
)


def apple(*records):
    return (
        '<?xml version="1.0"?>\n<HealthData locale="en_US">\n'
        + "".join(records)
        + "</HealthData>\n"
    )


def test_apple_the_night_in_its_own_offset_watch_only_daytime_skipped(tmp_path):
    path = tmp_path / "export.xml"
    path.write_text(
        apple(
            record(HRV, "2026-01-01 23:40:00 +0100", 40),  # late evening: the next morning
            record(HRV, "2026-01-02 06:10:00 +0100", 50),
            record(HRV, "2026-01-02 14:00:00 +0100", 90),  # daytime: not the night
            record(HRV, "2026-01-02 05:00:00 +0100", 20, source="Oura", device="Oura Ring"),
            record(RHR, "2026-01-02 00:00:00 +0100", 52),
        )
    )
    r = parse_source_file(path, folder_athlete="ann")
    assert r.format == "apple_health" and r.vendor == "Apple Health"
    (reading,) = r.readings
    assert reading.metric == SDNN and reading.date == dt.date(2026, 1, 2)
    assert reading.value_ms == 45 and reading.resting_hr_bpm == 52
    assert r.skip_counts == {
        "a daytime sample, not the night's": 1,
        "written by another app, not the watch": 1,
    }


def test_apple_entity_expansion_is_refused():
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
        "<HealthData>&lol2;</HealthData>\n"
    )
    r = parse("export.xml", bomb)
    assert r.verdict == "rejected" and "safety" in r.errors[0].message


def test_apple_cda_is_not_hrv_and_a_file_without_hrv_is_rejected():
    cda = '<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"></ClinicalDocument>\n'
    assert parse("export_cda.xml", cda).verdict == "not_hrv"
    r = parse("export.xml", '<?xml version="1.0"?><HealthData></HealthData>')
    assert r.verdict == "rejected" and "no HKQuantityTypeIdentifierHeartRateVariabilitySDNN" in (
        r.errors[0].message
    )


# --------------------------------------------------------------------------- archives
def zipped(members: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


def test_a_zip_as_downloaded_is_read_member_by_member():
    data = zipped(
        {
            "apple_health_export/export.xml": apple(record(HRV, "2026-01-02 06:10:00 +0100", 50)),
            "apple_health_export/export_cda.xml": '<?xml version="1.0"?><ClinicalDocument/>',
            "__MACOSX/._export.xml": b"\x00\x01",
            "../escape.csv": "date,rmssd_ms\n2026-01-01,50\n",
            "readme.pdf": b"%PDF",
        }
    )
    r = parse("export.zip", data, folder_athlete="ann")
    assert r.verdict == "partial" and r.vendor == "Apple Health"
    assert [(x.date.isoformat(), x.metric) for x in r.readings] == [("2026-01-02", SDNN)]
    assert {m.file: m.verdict for m in r.members} == {
        "apple_health_export/export.xml": "ok",
        "apple_health_export/export_cda.xml": "not_hrv",
    }
    assert r.skip_counts == {"unsafe path in the archive, not read": 1}


def test_zip_bombs_and_broken_zips_are_refused_without_unpacking():
    bomb = zipped({"big.csv": "date,rmssd_ms\n" + "0" * 5_000_000})
    r = parse("bomb.zip", bomb)
    assert r.verdict == "rejected"
    assert r.skip_counts == {"inflates over 200x: refused": 1}
    broken = parse("b.zip", b"PK\x03\x04garbage")
    assert broken.verdict == "rejected" and "zip" in broken.errors[0].message


# --------------------------------------------------------------------------- detection
def test_detection_is_by_content_not_name():
    doc = {"data": [{"day": "2026-01-02", "type": "long_sleep", "average_hrv": 45}]}
    assert parse("weird-name.csv", json.dumps(doc)).format == "oura_sleep_v2"
    assert parse("data.json", "date,rmssd_ms\n2026-01-01,50\n").format == "generic_csv"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("a,b\n1,2\n", "unrecognised export"),
        ('{"foo": 1}', "unrecognised JSON"),
        ("{broken", "not valid JSON"),
        ("<HealthData><Record", "not well-formed XML"),
        ("date,rmssd_ms\n", "no usable HRV readings"),
        ("date,sleep_hours,mood\n2026-01-01,7,3\n", "looks like a journal"),
    ],
)
def test_unusable_exports(text, needle):
    r = parse("x.csv", text)
    assert r.verdict == "rejected" and needle in r.errors[0].message


def test_source_file_refuses_symlinks(tmp_path):
    real = tmp_path / "r.csv"
    real.write_text("date,rmssd_ms\n2026-01-01,50\n")
    link = tmp_path / "l.csv"
    os.symlink(real, link)
    assert "symlink" in parse_source_file(link).errors[0].message
    ok = parse_source_file(real)
    assert ok.ok and ok.sha256 is not None


def test_a_typo_in_the_year_is_skipped_not_stored():
    """2062 and 0001 are typos, not nights: skipped with the row and why (issue 15)."""
    r = parse("hrv.csv", "date,rmssd_ms\n2026-01-01,50\n2062-01-02,51\n0001-01-03,52\n")
    assert dates(r) == ["2026-01-01"]
    assert dict(r.skip_counts) == {"date out of range (a typo in the year?)": 2}
    (future, past) = r.skipped
    assert future.row == 3 and "2062-01-02 is after tomorrow" in future.detail
    assert past.row == 4 and "before 2000-01-01" in past.detail
