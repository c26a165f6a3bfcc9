"""Journal parsing: every format, every error path, errors name file, field, value, reason."""

import datetime as dt
import json
import os

import pytest

from hrv.intake.journal import (
    FILE_FIELD,
    MAX_JOURNAL_BYTES,
    is_ignored_name,
    parse_journal_bytes,
    parse_journal_file,
)


def parse(name, text, **kw):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_journal_bytes(name, data, **kw)


def only_error(result):
    assert not result.ok, "expected the file to be rejected"
    assert result.entries == []
    return result.errors[0]


# ----------------------------------------------------------------------------- markdown
def test_markdown_front_matter_and_body_becomes_notes():
    r = parse(
        "2026-11-21.md",
        "---\nsleep_hours: 7.5\nsleep_quality: 4\nalcohol_units: 2\nlate_meal: yes\n"
        "training:\n  - {type: run, minutes: 45, rpe: 6}\n  - {type: gym, minutes: 30, rpe: 7}\n"
        "hrv_guess_ms: 58\n---\nLegs heavy.\n\nSecond paragraph.\n",
    )
    assert r.ok, r.errors
    (e,) = r.entries
    assert e.date == dt.date(2026, 11, 21)
    assert e.athlete == "me"
    assert e.sleep_hours == 7.5 and e.sleep_quality == 4 and e.late_meal is True
    assert e.notes == "Legs heavy.\n\nSecond paragraph."
    assert e.load_au == 45 * 6 + 30 * 7


def test_markdown_date_in_front_matter_wins_for_non_date_names():
    r = parse("evening.md", "---\ndate: 2026-11-20\nmood: 3\n---\n")
    assert r.ok and r.entries[0].date == dt.date(2026, 11, 20)


def test_markdown_without_front_matter_uses_date_file_name():
    r = parse("2026-11-19.md", "Just notes today.\n")
    assert r.ok and r.entries[0].notes == "Just notes today."


def test_markdown_without_front_matter_or_date_name_is_rejected():
    err = only_error(parse("notes.md", "Just notes.\n"))
    assert err.field == FILE_FIELD and "front matter" in err.message


def test_markdown_unclosed_front_matter():
    err = only_error(parse("2026-11-19.md", "---\nmood: 3\n"))
    assert "no closing" in err.message


def test_markdown_front_matter_notes_and_body_are_joined():
    r = parse("2026-11-19.md", "---\nnotes: from yaml\n---\nfrom body\n")
    assert r.entries[0].notes == "from yaml\n\nfrom body"


def test_file_name_date_conflicting_with_field_is_rejected():
    err = only_error(parse("2026-11-21.md", "---\ndate: 2026-11-20\n---\n"))
    assert err.field == "date" and "2026-11-21.md" in err.message
    assert err.to_dict()["value"] == "2026-11-20"


def test_front_matter_must_be_a_mapping():
    err = only_error(parse("2026-11-21.md", "---\n- a\n- b\n---\n"))
    assert "mapping" in err.message


# ----------------------------------------------------------------------------- json / yaml
def test_json_object_and_list():
    one = parse("a.json", json.dumps({"date": "2026-01-02", "stress": 2}))
    assert one.ok and one.entries[0].stress == 2
    many = parse("a.json", json.dumps([{"date": "2026-01-02"}, {"date": "2026-01-03"}]))
    assert many.ok and [e.date.day for e in many.entries] == [2, 3]


def test_json_syntax_error_names_line_and_column():
    err = only_error(parse("a.json", '{"date": "2026-01-02",\n "stress": }'))
    assert err.field == FILE_FIELD and "line 2" in err.message and "column" in err.message


@pytest.mark.parametrize("payload", ["42", '"text"', "[]", "[1, 2]"])
def test_json_must_hold_objects(payload):
    assert not parse("a.json", payload).ok


def test_json_nan_is_rejected_as_not_finite():
    err = only_error(parse("a.json", '{"date": "2026-01-02", "hrv_guess_ms": NaN}'))
    assert err.field == "hrv_guess_ms" and "finite" in err.message


def test_yaml_mapping_and_list():
    r = parse("a.yaml", "date: 2026-02-01\nillness: true\ntravel: no\n")
    assert r.ok and r.entries[0].illness is True and r.entries[0].travel is False
    r = parse("a.yml", "- date: 2026-02-01\n- date: 2026-02-02\n  mood: 5\n")
    assert r.ok and r.entries[1].mood == 5


def test_yaml_aliases_are_refused_billion_laughs():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
    err = only_error(parse("bomb.yaml", bomb))
    assert "aliases" in err.message


def test_yaml_duplicate_keys_are_refused():
    err = only_error(parse("a.yaml", "date: 2026-02-01\nmood: 3\nmood: 4\n"))
    assert "duplicate key" in err.message


def test_yaml_syntax_error():
    err = only_error(parse("a.yaml", "date: [2026-02-01\n"))
    assert "not valid YAML" in err.message


def test_yaml_datetime_is_not_a_date():
    err = only_error(parse("a.yaml", "date: 2026-02-01 07:30:00\n"))
    assert err.field == "date" and "time" in err.message


def test_empty_yaml_document():
    assert "empty" in only_error(parse("a.yaml", "# nothing\n")).message


# ----------------------------------------------------------------------------- csv
CSV_HEADER = "date,sleep_hours,stress,training_type,training_minutes,training_rpe,illness\n"


def test_csv_history_with_flat_training_fields_and_blank_cells():
    r = parse(
        "history.csv",
        CSV_HEADER
        + "2026-01-01,7.5,2,run,40,6,no\n"
        + "2026-01-02,,3,,,,\n"
        + ",,,,,,\n"  # an empty row is skipped
        + "2026-01-03,6,4,bike,90,8,yes\n",
    )
    assert r.ok, r.errors
    assert [e.date.day for e in r.entries] == [1, 2, 3]
    assert r.entries[0].training[0].type == "run" and r.entries[0].load_au == 240
    assert r.entries[1].sleep_hours is None and r.entries[1].training == []
    assert r.entries[2].illness is True


def test_csv_duplicate_dates_are_rejected_naming_both_rows():
    r = parse("h.csv", "date,mood\n2026-01-01,3\n2026-01-02,3\n2026-01-01,4\n")
    err = only_error(r)
    assert err.field == "date" and err.row == 4 and "row 2" in err.message


def test_csv_collects_every_bad_cell_with_row_numbers():
    r = parse("h.csv", "date,sleep_hours,illness\n2026-01-01,25,maybe\n2026-13-01,7,no\n")
    fields = {(e.row, e.field) for e in r.errors}
    assert fields == {(2, "sleep_hours"), (2, "illness"), (3, "date")}
    by_field = {e.field: e for e in r.errors}
    assert by_field["sleep_hours"].value == "25"
    assert "less than or equal to 24" in by_field["sleep_hours"].message


def test_csv_training_needs_minutes_and_rpe():
    err = only_error(parse("h.csv", "date,training_type,training_minutes\n2026-01-01,run,30\n"))
    assert err.field == "training_rpe" and "required" in err.message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        ("date,mood\n", "no data rows"),
        ("date,mood\n2026-01-01,3,extra\n", "cells"),
        ("date,date\n2026-01-01,2026-01-01\n", "repeats"),
    ],
)
def test_csv_structural_errors(text, needle):
    assert needle in only_error(parse("h.csv", text)).message


# ----------------------------------------------------------------------------- fields
def test_unknown_field_gets_a_did_you_mean():
    err = only_error(parse("2026-01-01.md", "---\nsleep_qualty: 4\n---\n"))
    assert err.field == "sleep_qualty" and err.value == 4
    assert "did you mean 'sleep_quality'" in err.message


def test_unknown_field_case_insensitive_suggestion():
    err = only_error(parse("a.json", '{"date": "2026-01-01", "Alcohol_Units": 2}'))
    assert "did you mean 'alcohol_units'" in err.message


def test_unknown_field_without_close_match():
    err = only_error(parse("a.json", '{"date": "2026-01-01", "zzz": 1}'))
    assert err.message == "unknown field"


def test_unknown_training_field_suggestion():
    r = parse("a.json", '{"date": "2026-01-01", "training": [{"minutess": 30, "rpe": 5}]}')
    messages = [e for e in r.errors if e.field == "training[0].minutess"]
    assert messages and "did you mean 'minutes'" in messages[0].message


@pytest.mark.parametrize(
    ("field", "bad", "good"),
    [
        ("sleep_hours", 24.5, 24),
        ("sleep_hours", -1, 0),
        ("sleep_quality", 6, 5),
        ("sleep_quality", 0, 1),
        ("stress", 3.5, 3),
        ("mood", 9, 1),
        ("soreness", 0, 5),
        ("alcohol_units", 31, 30),
        ("caffeine_mg", 2001, 2000),
        ("hrv_guess_ms", 4, 5),
        ("hrv_guess_ms", 301, 300),
        ("late_meal", "sometimes", True),
    ],
)
def test_ranges(field, bad, good):
    base = {"date": "2026-01-01"}
    err = only_error(parse("a.json", json.dumps(base | {field: bad})))
    assert err.field == field and err.value == bad
    assert parse("a.json", json.dumps(base | {field: good})).ok


@pytest.mark.parametrize(("key", "bad"), [("minutes", 601), ("rpe", 11), ("rpe", -1)])
def test_training_ranges(key, bad):
    session = {"type": "run", "minutes": 30, "rpe": 5} | {key: bad}
    err = only_error(parse("a.json", json.dumps({"date": "2026-01-01", "training": [session]})))
    assert err.field == f"training[0].{key}"


def test_notes_limit():
    err = only_error(parse("2026-01-01.md", "---\nmood: 3\n---\n" + "x" * 10_001))
    assert err.field == "notes" and "10000" in err.message
    shown = err.to_dict()["value"]
    assert len(shown) < 300 and shown.endswith("(10001 chars)")  # truncated in the report


@pytest.mark.parametrize("value", ["20261121", 20261121, "21/11/2026", "2026-11-21T07:00"])
def test_bad_dates(value):
    err = only_error(parse("a.json", json.dumps({"date": value})))
    assert err.field == "date"


def test_missing_date():
    err = only_error(parse("a.json", '{"mood": 3}'))
    assert err.field == "date" and err.message == "required field is missing"


# ----------------------------------------------------------------------------- athletes
def test_athlete_from_field_folder_and_default():
    assert parse("a.json", '{"date": "2026-01-01", "athlete": "bob"}').athletes == ["bob"]
    assert parse("a.json", '{"date": "2026-01-01"}', folder_athlete="ann").athletes == ["ann"]
    assert parse("a.json", '{"date": "2026-01-01"}', default_athlete="zed").athletes == ["zed"]


def test_athlete_conflicting_with_folder_is_rejected():
    err = only_error(
        parse("a.json", '{"date": "2026-01-01", "athlete": "bob"}', folder_athlete="ann")
    )
    assert err.field == "athlete" and "ann" in err.message


@pytest.mark.parametrize("bad", ["Bob", "-bob", "a" * 65, "bob smith", "../etc", "processed"])
def test_invalid_athlete_ids(bad):
    err = only_error(parse("a.json", json.dumps({"date": "2026-01-01", "athlete": bad})))
    assert err.field == "athlete"


def test_multi_athlete_csv():
    r = parse("squad.csv", "date,athlete,mood\n2026-01-01,ann,3\n2026-01-01,bob,4\n")
    assert r.ok and r.athletes == ["ann", "bob"]


# ----------------------------------------------------------------------------- files
def test_unsupported_suffix():
    err = only_error(parse("journal.txt", "date: 2026-01-01"))
    assert "unsupported file type '.txt'" in err.message


def test_invalid_utf8_names_the_offset():
    err = only_error(parse("2026-01-01.md", b"---\nmood: 3\n---\ncaf\xe9\n"))
    assert err.field == FILE_FIELD and err.value == 19 and "UTF-8" in err.message


def test_utf8_bom_is_accepted():
    assert parse("a.json", b'\xef\xbb\xbf{"date": "2026-01-01"}').ok


def test_nul_bytes_are_rejected():
    assert "NUL" in only_error(parse("a.json", b'{"date": "2026-01-01"}\x00')).message


def test_file_over_size_cap_is_never_read(tmp_path):
    big = tmp_path / "2026-01-01.md"
    with big.open("wb") as fh:
        fh.truncate(1 << 30)  # 1 GiB sparse file
    r = parse_journal_file(big)
    err = only_error(r)
    assert err.value == 1 << 30 and str(MAX_JOURNAL_BYTES) in err.message


def test_symlink_is_refused(tmp_path):
    target = tmp_path / "real.md"
    target.write_text("---\ndate: 2026-01-01\n---\n")
    link = tmp_path / "2026-01-01.md"
    os.symlink(target, link)
    assert "symlink" in only_error(parse_journal_file(link)).message


def test_error_report_shape():
    r = parse("h.csv", "date,sleep_hours\n2026-01-01,99\n")
    report = r.error_report(dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC))
    assert report["file"] == "h.csv"
    assert report["rejected_at"] == "2026-11-21T08:00:00+00:00"
    assert report["errors"] == [
        {"field": "sleep_hours", "value": "99", "message": report["errors"][0]["message"], "row": 2}
    ]
    json.dumps(report)  # serializable


def test_content_sha_is_stable_and_content_sensitive():
    a = parse("a.json", '{"date": "2026-01-01", "mood": 3}').entries[0]
    b = parse("b.yaml", "mood: 3\ndate: 2026-01-01\n").entries[0]
    c = parse("a.json", '{"date": "2026-01-01", "mood": 4}').entries[0]
    assert a.content_sha() == b.content_sha() != c.content_sha()


@pytest.mark.parametrize(
    ("name", "ignored"),
    [
        (".hidden.md", True),
        ("2026-01-01.md.part", True),
        ("x.tmp", True),
        ("x.crdownload", True),
        ("2026-01-01.md~", True),
        ("2026-01-01.md", False),
    ],
)
def test_ignored_names(name, ignored):
    assert is_ignored_name(name) is ignored


def _in(days: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("day", "why"),
    [
        ("2062-11-21", "after tomorrow"),
        (_in(2), "after tomorrow"),
        ("0001-11-21", "before 2000-01-01 (HRV_EARLIEST_DATE)"),
    ],
)
def test_a_journal_dated_years_off_is_rejected_naming_the_date(day, why):
    result = parse_journal_bytes("x.md", f"---\ndate: {day}\nsleep_hours: 7\n---\n".encode())
    assert not result.ok
    (err,) = result.errors
    assert err.field == "date" and why in err.message and day in err.message


def test_tomorrow_is_the_latest_day_and_the_floor_is_a_setting(monkeypatch):
    from hrv.settings import load_settings

    ok = parse_journal_bytes("x.md", f"---\ndate: {_in(1)}\nmood: 3\n---\n".encode())
    assert ok.ok
    monkeypatch.setenv("HRV_EARLIEST_DATE", "2025-06-01")
    load_settings.cache_clear()
    try:
        old = parse_journal_bytes("x.md", b"---\ndate: 2025-05-31\nmood: 3\n---\n")
        assert not old.ok and "before 2025-06-01" in old.errors[0].message
        assert parse_journal_bytes("x.md", b"---\ndate: 2025-06-01\nmood: 3\n---\n").ok
    finally:
        monkeypatch.delenv("HRV_EARLIEST_DATE")
        load_settings.cache_clear()
