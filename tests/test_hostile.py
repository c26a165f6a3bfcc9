"""Hostile input: each is rejected with a reason, and nothing is read past the size cap."""

import json
import os
import time
import tracemalloc

import pytest

from hrv.intake.exports import parse_source_bytes, parse_source_file
from hrv.intake.inbox import parse_candidate, scan_inbox
from hrv.intake.journal import parse_journal_bytes, parse_journal_file
from hrv.intake.source_folder import scan_sources

GIB = 1 << 30


def sparse(path, size=GIB):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def measured(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = fn()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, peak, time.perf_counter() - t0


@pytest.mark.parametrize("name", ["2026-11-21.md", "a.json", "a.yaml", "h.csv"])
def test_gigabyte_sparse_journal_is_rejected_unread(tmp_path, name):
    path = sparse(tmp_path / name)
    result, peak, seconds = measured(lambda: parse_journal_file(path))
    assert not result.ok and "over the 1048576 byte journal limit" in result.errors[0].message
    assert peak < 2 << 20 and seconds < 1.0  # never read: < 2 MiB allocated, well under 1 s


@pytest.mark.parametrize("name", ["hrv.csv", "sleep.json"])
def test_gigabyte_sparse_export_is_rejected_unread(tmp_path, name):
    path = sparse(tmp_path / name)
    result, peak, seconds = measured(lambda: parse_source_file(path))
    assert not result.ok and "limit" in result.errors[0].message
    assert peak < 2 << 20 and seconds < 1.0


def test_gigabyte_xml_of_zeros_is_not_mistaken_for_an_export(tmp_path):
    path = sparse(tmp_path / "export.xml")
    result, peak, seconds = measured(lambda: parse_source_file(path))
    assert not result.ok and peak < 2 << 20 and seconds < 1.0


def test_inbox_scan_rejects_the_big_file_without_opening_it(tmp_path):
    sparse(tmp_path / "inbox" / "ann" / "2026-11-21.md")
    (c,) = scan_inbox(tmp_path / "inbox")
    result, peak, _ = measured(lambda: parse_candidate(c, "me"))
    assert "journal limit" in result.errors[0].message and peak < 2 << 20


def test_symlinks_are_refused_everywhere(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("date,rmssd_ms\n2026-01-01,50\n")
    (tmp_path / "inbox" / "ann").mkdir(parents=True)
    os.symlink("/etc/passwd", tmp_path / "inbox" / "ann" / "2026-11-21.md")
    (tmp_path / "sources" / "ann").mkdir(parents=True)
    os.symlink(secret, tmp_path / "sources" / "ann" / "hrv.csv")
    (c,) = scan_inbox(tmp_path / "inbox")
    assert "symlink" in parse_candidate(c, "me").errors[0].message
    (f,) = scan_sources(tmp_path / "sources")
    assert f.problem and "symlink" in f.problem
    assert "symlink" in parse_source_file(f.path).errors[0].message


@pytest.mark.parametrize(
    "athlete",
    [
        "../../etc",
        "..",
        "a/b",
        "/root",
        "ann\x00x",
        "ANN",
        "processed",
        "rejected",
        "a" * 65,
        "ann smith",
    ],
)
def test_path_traversal_and_bogus_athlete_ids_are_rejected(athlete):
    r = parse_journal_bytes(
        "a.json", json.dumps({"date": "2026-01-01", "athlete": athlete}).encode()
    )
    assert not r.ok and r.errors[0].field == "athlete"
    s = parse_source_bytes("x.csv", f"date,athlete,rmssd_ms\n2026-01-01,{athlete},50\n".encode())
    assert not s.ok


def test_bogus_folders_are_rejected_not_trusted(tmp_path):
    for folder in ("Bad Name", "x" * 70, "..foo"):
        d = tmp_path / "inbox" / folder
        d.mkdir(parents=True)
        (d / "2026-11-21.md").write_text("---\nmood: 3\n---\n")
    found = scan_inbox(tmp_path / "inbox")
    assert len(found) == 2  # "..foo" is a hidden folder: ignored like hidden files
    for c in found:
        assert c.problem and "not an athlete id" in c.problem
    sdir = tmp_path / "sources" / "Bad Name"
    sdir.mkdir(parents=True)
    (sdir / "hrv.csv").write_text("date,rmssd_ms\n2026-01-01,50\n")
    (f,) = scan_sources(tmp_path / "sources")
    assert f.problem and f.folder_athlete is None


def test_yaml_bombs_and_deep_nesting(tmp_path):
    laughs = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    r, peak, seconds = measured(lambda: parse_journal_bytes("bomb.yaml", laughs.encode()))
    assert "aliases" in r.errors[0].message and peak < 8 << 20 and seconds < 1.0
    deep_yaml = "[" * 50_000 + "]" * 50_000
    r = parse_journal_bytes("deep.yaml", deep_yaml.encode())
    assert not r.ok
    deep_json = "[" * 100_000 + "]" * 100_000
    assert (
        "nested too deeply"
        in parse_journal_bytes("deep.json", deep_json.encode()).errors[0].message
    )
    assert not parse_source_bytes("deep.json", deep_json.encode()).ok


def test_invalid_utf8_and_nul_bytes():
    assert "UTF-8" in parse_journal_bytes("a.md", b"---\nmood: \xff\n---\n").errors[0].message
    assert "NUL" in parse_journal_bytes("a.json", b'{"date":"2026-01-01"}\x00').errors[0].message
    # an export is read row by row: a non-UTF-8 byte is read as Windows-1252, the row judged
    bad = parse_source_bytes("x.csv", b"date,rmssd_ms\n\xff,1\n").errors[0].message
    assert "row 2: date = '\xff': not a date" in bad.replace("ÿ", "\xff")
    assert "NUL" in parse_source_bytes("x.csv", b"date,rmssd_ms\x00\x00\x00\n").errors[0].message


def test_xml_external_entities_are_refused(tmp_path):
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<HealthData><Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" '
        'startDate="2026-01-01 07:00:00 +0000" value="&x;"/></HealthData>'
    )
    r = parse_source_bytes("export.xml", xxe.encode())
    assert not r.ok and "root:" not in json.dumps([e.to_dict() for e in r.errors])


def test_editor_working_files_are_ignored_not_rejected(tmp_path):
    """Emacs's lock file is a symlink (.#x.md -> user@host.pid) and its autosave #x.md#:
    neither is a journal, neither is rejected with an alert."""
    (tmp_path / "2026-11-20.md").write_text("---\nmood: 3\n---\n")
    os.symlink("me@host.1234:1700000000", tmp_path / ".#2026-11-20.md")
    (tmp_path / "#2026-11-20.md#").write_text("---\nmood: 4\n")
    (tmp_path / "2026-11-20.md~").write_text("---\nmood: 2\n---\n")
    by_name = {c.path.name: c for c in scan_inbox(tmp_path)}
    assert by_name["2026-11-20.md"].problem is None and by_name["2026-11-20.md"].ignored is None
    for name in (".#2026-11-20.md", "#2026-11-20.md#", "2026-11-20.md~"):
        assert by_name[name].problem is None and by_name[name].ignored, name
    assert by_name["#2026-11-20.md#"].ignored == "an editor's autosave file"


def test_a_named_pipe_in_sources_is_reported_never_opened(tmp_path):
    (tmp_path / "bob").mkdir()
    os.mkfifo(tmp_path / "bob" / "hrv.csv")
    os.mkfifo(tmp_path / "pipe.json")
    from hrv.intake.source_folder import NOT_REGULAR, source_files_for

    found = {f.rel: f for f in scan_sources(tmp_path)}
    assert found["bob/hrv.csv"].problem == NOT_REGULAR
    assert found["pipe.json"].problem == NOT_REGULAR
    assert source_files_for(tmp_path, "bob") == []  # a run never opens it (it would block)


def test_a_non_utf8_name_in_sources_is_renamed_and_read(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.csv"
    with open(raw, "wb") as fh:
        fh.write(b"date,rmssd\n2026-11-20,55\n")
    (found,) = scan_sources(tmp_path)
    assert found.rel == "caf%E9.csv" and found.problem is None
    json.dumps(found.rel).encode("utf-8")  # reportable
    assert (tmp_path / "caf%E9.csv").read_bytes().startswith(b"date,rmssd")


def test_a_json_journal_with_a_key_twice_is_refused_naming_it():
    result = parse_journal_bytes(
        "2026-11-20.json", b'{"date": "2026-11-20", "sleep_hours": 7, "sleep_hours": 9}'
    )
    assert not result.ok
    (error,) = result.errors
    assert error.field == "sleep_hours" and "duplicate key 'sleep_hours'" in error.message
    assert "7" in error.message and "9" in error.message


@pytest.mark.parametrize("ahead", [600.0, 74 * 365 * 86400.0])
def test_a_file_dated_in_the_future_settles_from_when_it_was_first_seen(tmp_path, ahead):
    """A clock 10 minutes ahead, or a file restored with a 2100 mtime: read once unchanged
    for the settle time after it was first seen, not never."""
    from hrv.planning.inbox_tick import InboxLimits, ParseCache, load_state, plan_tick

    path = tmp_path / "ann" / "2026-11-20.md"
    path.parent.mkdir()
    path.write_text("---\nmood: 3\n---\n")
    now = time.time()
    os.utime(path, (now + ahead, now + ahead))

    def tick(at, state):
        return plan_tick(
            scan_inbox(tmp_path),
            now=at,
            state=state,
            active_athletes=set(),
            parse=lambda c: parse_candidate(c, "me"),
            restat=lambda c: (c.path.stat().st_size, c.path.stat().st_mtime_ns),
            cache=ParseCache(),
            limits=InboxLimits(settle_seconds=2.0),
        )

    first = tick(now, load_state(None))
    assert first.pending["ann/2026-11-20.md"]["reason"].startswith("settling")
    assert not first.runs
    later = tick(now + 2.5, json.loads(json.dumps(first.state)))  # through the cursor
    assert [r.athlete for r in later.runs] == ["ann"]
