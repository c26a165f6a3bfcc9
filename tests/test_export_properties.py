"""Properties of reading any export (hypothesis): every row is read into a night or skipped
with a reason, no night is stored twice, and dates never shift by a day across time zones
and daylight-saving changes."""

import datetime as dt
import zoneinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hrv.intake.exports import merge_readings, parse_source_bytes

pytestmark = pytest.mark.slow

PROPS = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
START = dt.datetime(2025, 1, 1)
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]

# --------------------------------------------------------------------------- WHOOP cycles
WHOOP_HEADER = (
    "Cycle start time,Cycle end time,Cycle timezone,Recovery score %,Resting heart rate (bpm),"
    "Heart rate variability (ms),Sleep onset,Wake onset,Asleep duration (min)\n"
)
sleeps = st.tuples(
    st.integers(0, 60 * 24 * 60),  # onset, minutes after START (60 days)
    st.integers(10, 13 * 60),  # minutes in bed
    st.one_of(st.just(""), st.integers(1, 250).map(str), st.sampled_from(["0", "x", "-5"])),
    st.sampled_from(["UTC+01:00", "UTC-05:00", "UTC+10:00", "UTC+05:30"]),
)


def whoop_csv(rows):
    lines = []
    for onset_min, bed, hrv, tz in rows:
        onset = START + dt.timedelta(minutes=onset_min)
        wake = onset + dt.timedelta(minutes=bed)
        asleep = int(bed * 0.9)
        lines.append(
            f"{onset:%Y-%m-%d %H:%M:%S},,{tz},50,50,{hrv},"
            f"{onset:%Y-%m-%d %H:%M:%S},{wake:%Y-%m-%d %H:%M:%S},{asleep}"
        )
    return WHOOP_HEADER + "\n".join(lines) + "\n"


@PROPS
@given(st.lists(sleeps, max_size=40))
def test_whoop_every_row_is_a_night_or_a_reason_and_each_wake_day_once(rows):
    result = parse_source_bytes("physiological_cycles.csv", whoop_csv(rows).encode())
    if not rows:
        assert result.verdict == "rejected"
        return
    assert result.rows_read == len(rows) == len(result.readings) + result.n_skipped
    days = [(r.date, r.metric) for r in result.readings]
    assert len(days) == len(set(days))
    wake_days = {(START + dt.timedelta(minutes=onset + bed)).date() for onset, bed, _, _ in rows}
    for reading in result.readings:  # the wake day, as the export's local clock says
        assert reading.date in wake_days


# --------------------------------------------------------------------------- generic CSV
cells = st.one_of(
    st.integers(-5, 400).map(str),
    st.floats(1, 300).map(lambda v: f"{v:.1f}".replace(".", ",")),
    st.sampled_from(["", "NA", "abc", "1e999"]),
)
dates = st.one_of(
    st.dates(dt.date(2024, 1, 1), dt.date(2024, 3, 1)).map(str),
    st.sampled_from(["03/04/2024", "2024-02-30", "", "yesterday"]),
)


@PROPS
@given(st.lists(st.tuples(dates, cells), max_size=60))
def test_generic_csv_every_row_is_a_night_or_a_reason(rows):
    text = "date;rmssd_ms\n" + "".join(f"{d};{v}\n" for d, v in rows)
    result = parse_source_bytes("hrv.csv", text.encode())
    n_rows = sum(1 for d, v in rows if d.strip() or v.strip())  # blank lines are not rows
    assert result.rows_read == n_rows == len(result.readings) + result.n_skipped
    days = [(r.athlete, r.date, r.metric) for r in result.readings]
    assert len(days) == len(set(days))
    assert result.verdict in ("ok", "partial", "rejected")
    assert (result.verdict == "rejected") == (not result.readings)


# --------------------------------------------------------------------------- Apple Health
moments = st.datetimes(dt.datetime(2025, 3, 1), dt.datetime(2025, 11, 30))
offsets = st.sampled_from(["+0100", "+0200", "-0500", "-0400", "+1000", "+1100", "+0530"])


def apple_xml(samples):
    rows = "".join(
        f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" '
        f'sourceName="A\'s Apple Watch" device="Apple Watch" unit="ms" '
        f'startDate="{m:%Y-%m-%d %H:%M:%S} {off}" value="{v}"/>\n'
        for m, off, v in samples
    )
    return f'<?xml version="1.0"?>\n<HealthData>\n{rows}</HealthData>\n'


@PROPS
@given(st.lists(st.tuples(moments, offsets, st.integers(10, 150)), min_size=1, max_size=30))
def test_apple_a_night_sample_is_dated_by_the_morning_in_its_own_offset(samples):
    result = parse_source_bytes("export.xml", apple_xml(samples).encode())
    expected: dict[dt.date, list[int]] = {}
    for local, _, value in samples:  # the wall clock the watch wrote, whatever the offset
        if local.hour >= 20:
            expected.setdefault(local.date() + dt.timedelta(days=1), []).append(value)
        elif local.hour < 10:
            expected.setdefault(local.date(), []).append(value)
    got = {r.date: r.value_ms for r in result.readings}
    assert set(got) == set(expected)
    for day, values in expected.items():
        assert got[day] == pytest.approx(sum(values) / len(values), abs=1e-3)
    assert result.rows_read == len(samples)
    assert sum(len(v) for v in expected.values()) + result.n_skipped == len(samples)


# --------------------------------------------------------------------------- WHOOP API (UTC)
@PROPS
@given(
    st.lists(
        st.datetimes(dt.datetime(2025, 3, 20), dt.datetime(2025, 11, 10)),
        min_size=1,
        max_size=20,
        unique_by=lambda m: m.date(),
    ),
    st.sampled_from(ZONES),
)
def test_whoop_api_recoveries_fall_on_the_local_wake_day_across_dst(moments_utc, zone):
    """created_at is UTC; the day is the squad's local date of that instant, including the
    nights the clocks change (2025-03-30 and 2025-10-26 in Berlin, 2025-04-06 in Sydney)."""
    import json

    tz = zoneinfo.ZoneInfo(zone)
    records = [
        {
            "cycle_id": i,
            "created_at": m.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "score_state": "SCORED",
            "score": {"hrv_rmssd_milli": 40 + i, "resting_heart_rate": 50},
        }
        for i, m in enumerate(moments_utc)
    ]
    result = parse_source_bytes("recovery.json", json.dumps({"records": records}).encode(), tz=tz)
    local_days = [m.replace(tzinfo=dt.UTC).astimezone(tz).date() for m in moments_utc]
    kept = {r.date for r in result.readings}
    assert kept <= set(local_days)
    assert len(result.readings) == len(kept)  # one per wake day
    assert len(result.readings) + result.n_skipped == len(records)


# --------------------------------------------------------------------------- merging
@PROPS
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),  # mtime
            st.sampled_from(["a.csv", "b.csv", "c.csv"]),
            st.lists(st.tuples(st.integers(0, 20), st.integers(20, 90)), max_size=15),
        ),
        max_size=4,
    )
)
def test_merged_readings_hold_each_morning_once(files):
    items = []
    for mtime, name, rows in files:
        text = "date,rmssd_ms\n" + "".join(
            f"{dt.date(2025, 1, 1) + dt.timedelta(days=d)},{v}\n" for d, v in rows
        )
        items.append((mtime, name, parse_source_bytes(name, text.encode(), folder_athlete="ann")))
    merged = merge_readings(items, "ann")
    keys = [(r["date"], r["metric"]) for r in merged]
    assert len(keys) == len(set(keys))
    every = {(r.date.isoformat(), r.metric) for _, _, res in items for r in res.readings}
    assert set(keys) == every
