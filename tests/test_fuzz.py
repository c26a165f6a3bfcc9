"""Fuzzing the journal and source parsers: only the project's own validation errors come
out, never a crash, never a hang (hypothesis, thousands of cases, per-example deadline)."""

import datetime as dt
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hrv.intake.exports import SourceParseResult, parse_source_bytes
from hrv.intake.journal import KNOWN_FIELDS, FieldError, JournalParseResult, parse_journal_bytes

pytestmark = pytest.mark.slow  # ~9,000 hypothesis cases: in make test, not test-fast

FAST = settings(
    max_examples=1500,
    deadline=1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STRUCTURED = settings(
    max_examples=800,
    deadline=1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAMES = st.sampled_from(
    ["2026-11-21.md", "a.md", "a.json", "a.yaml", "a.yml", "h.csv", "x.txt", "2026-02-30.md"]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)).map(str),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.one_of(st.sampled_from(KNOWN_FIELDS), st.text(max_size=15))
records = st.dictionaries(field_names, values, max_size=8)


def assert_clean(result):
    assert isinstance(result, JournalParseResult | SourceParseResult)
    if isinstance(result, SourceParseResult):  # rejected exactly when it says why
        assert (result.verdict == "rejected") == bool(result.errors)
        assert result.ok == bool(result.readings) and (not result.ok or not result.errors)
    else:
        assert result.ok == (not result.errors)
    for err in result.errors:
        assert isinstance(err, FieldError)
        assert isinstance(err.field, str) and isinstance(err.message, str) and err.message
        json.dumps(err.to_dict())  # always reportable


@FAST
@given(NAMES, st.binary(max_size=3000))
def test_journal_random_bytes(name, data):
    assert_clean(parse_journal_bytes(name, data))


@FAST
@given(NAMES, st.text(max_size=3000))
def test_journal_random_text(name, text):
    assert_clean(parse_journal_bytes(name, text.encode("utf-8")))


def _render(kind, recs):
    if kind == "json":
        return json.dumps(recs if len(recs) != 1 else recs[0], default=str)
    if kind == "yaml":
        return yaml.safe_dump(recs, allow_unicode=True)
    if kind == "md":
        return "---\n" + yaml.safe_dump(recs[0] if recs else {}) + "---\nnotes body\n"
    keys = sorted({str(k) for r in recs for k in r})
    rows = [",".join(keys)] + [
        ",".join(str(r.get(k, "")).replace(",", ";").replace("\n", " ") for k in keys) for r in recs
    ]
    return "\n".join(rows) + "\n"


@STRUCTURED
@given(st.sampled_from(["json", "yaml", "md", "csv"]), st.lists(records, min_size=1, max_size=4))
def test_journal_structured_records(kind, recs):
    name = {"json": "a.json", "yaml": "a.yaml", "md": "2026-11-21.md", "csv": "h.csv"}[kind]
    result = parse_journal_bytes(name, _render(kind, recs).encode("utf-8"))
    assert_clean(result)
    for e in result.entries:  # whatever is accepted is in range
        assert e.sleep_hours is None or 0 <= e.sleep_hours <= 24
        assert e.hrv_guess_ms is None or 5 <= e.hrv_guess_ms <= 300


@FAST
@given(st.sampled_from(["x.csv", "x.json", "export.xml"]), st.binary(max_size=3000))
def test_sources_random_bytes(name, data):
    assert_clean(parse_source_bytes(name, data))


@STRUCTURED
@given(values)
def test_sources_random_json_documents(doc):
    assert_clean(parse_source_bytes("x.json", json.dumps(doc, default=str).encode()))


@STRUCTURED
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "day",
                    "average_hrv",
                    "type",
                    "lowest_heart_rate",
                    "total_sleep_duration",
                    "calendarDate",
                    "lastNightAvg",
                ]
            ),
            scalars,
            max_size=6,
        ),
        max_size=6,
    )
)
def test_sources_oura_and_garmin_shapes(items):
    for doc in ({"data": items}, items, {"hrvSummaries": items}):
        assert_clean(parse_source_bytes("x.json", json.dumps(doc, default=str).encode()))


@STRUCTURED
@given(
    st.lists(
        st.tuples(st.text(max_size=12), st.text(max_size=8), st.text(max_size=6)), max_size=10
    ),
    st.sampled_from(
        [
            "date,rmssd_ms,resting_hr_bpm",
            "Cycle start time,Heart rate variability (ms),Resting heart rate (bpm)",
            "Cycle start time,Heart rate variability (ms),Wake onset",
        ]
    ),
)
def test_sources_csv_cells(rows, header):
    body = header + "\n" + "\n".join(",".join(c.replace(",", "") for c in r) for r in rows)
    assert_clean(parse_source_bytes("x.csv", body.encode()))


@STRUCTURED
@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=10)), max_size=8))
def test_apple_xml_records(records):
    from xml.sax.saxutils import quoteattr

    body = "".join(
        f'<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" startDate={quoteattr(s)} '
        f"value={quoteattr(v)}/>"
        for s, v in records
    )
    doc = f'<?xml version="1.0"?><HealthData>{body}</HealthData>'
    assert_clean(parse_source_bytes("export.xml", doc.encode("utf-8", "surrogatepass")))
