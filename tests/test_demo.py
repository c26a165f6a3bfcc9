"""The demo data is valid in every format and realistic enough for models to beat persistence."""

import datetime as dt

from hrv.cli.demo import evaluate, main
from hrv.demo import write_demo
from hrv.intake.exports import parse_source_file
from hrv.intake.inbox import parse_candidate, scan_inbox
from hrv.intake.source_folder import source_files_for


def test_selected_model_beats_persistence_for_every_demo_athlete(tmp_path):
    sim = write_demo(tmp_path / "inbox", tmp_path / "sources", days=180, end=dt.date(2026, 11, 20))
    results = evaluate(sim)
    assert set(results) == {"alice", "bob", "carol", "me"}
    for athlete, r in results.items():
        assert r[r["selected"]] < r["persistence"], (athlete, r)


def test_demo_files_all_parse_in_every_format(tmp_path):
    write_demo(tmp_path / "inbox", tmp_path / "sources", days=40, end=dt.date(2026, 11, 20))
    candidates = scan_inbox(tmp_path / "inbox")
    suffixes = {c.path.suffix for c in candidates}
    assert suffixes == {".md", ".csv", ".json", ".yaml"}
    for c in candidates:
        result = parse_candidate(c, "me")
        assert result.ok, (c.rel, result.errors)
    formats = {}
    for athlete in ("alice", "bob", "carol", "me"):
        for path, folder in source_files_for(tmp_path / "sources", athlete):
            r = parse_source_file(path, folder_athlete=folder, default_athlete="me")
            assert r.ok, (path, r.errors)
            formats[path.name] = r.format
    assert formats == {
        "hrv.csv": "generic_csv",
        "physiological_cycles.csv": "whoop_cycles",
        "hrv_summary.json": "garmin_hrv",
        "oura_sleep.json": "oura_sleep_v2",
        "export.xml": "apple_health",
    }


def test_demo_cli_prints_selected_and_persistence_mae(tmp_path, capsys):
    assert (
        main(["--inbox", str(tmp_path / "i"), "--sources", str(tmp_path / "s"), "--days", "60"])
        == 0
    )
    out = capsys.readouterr().out
    assert "persist." in out and "selected" in out
    assert len([line for line in out.splitlines() if line.startswith(("alice", "bob"))]) >= 4
