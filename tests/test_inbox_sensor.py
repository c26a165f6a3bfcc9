"""Inbox sensor: the tick planner (pure) and the sensor itself via build_sensor_context."""

import datetime as dt
import json
import os
import time

import dagster as dg
import pytest

from assets import AthleteRun
from hrv.alerting.book import read_alerts
from hrv.intake.inbox import candidate_for, parse_candidate, scan_inbox
from hrv.intake.journal import parse_journal_bytes
from hrv.planning.inbox_tick import InboxLimits, ParseCache, load_state, plan_tick
from sensors.inbox import PARSE_CACHE, inbox_sensor
from tests.conftest import updates

OLD = time.time() - 3600


def drop(path, text, age=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if age:
        os.utime(path, (OLD, OLD))
    return path


def md(day, **fields):
    body = "".join(f"{k}: {v}\n" for k, v in fields.items())
    return f"---\ndate: {day}\n{body}---\n"


def plan(inbox, *, state=None, active=(), limits=None, cache=None, now=None, parse=None):
    from hrv.intake.inbox import parse_candidate

    return plan_tick(
        scan_inbox(inbox),
        now=now or time.time(),
        state=state or load_state(None),
        active_athletes=set(active),
        parse=parse or (lambda c: parse_candidate(c, "me")),
        restat=lambda c: (c.path.lstat().st_size, c.path.lstat().st_mtime_ns),
        cache=cache or ParseCache(),
        limits=limits or InboxLimits(settle_seconds=2),
    )


def test_one_run_per_athlete_for_many_files(tmp_path):
    for d in range(1, 6):
        drop(tmp_path / "ann" / f"2026-01-0{d}.md", md(f"2026-01-0{d}"))
    drop(tmp_path / "2026-01-01.md", md("2026-01-01", athlete="bob"))
    drop(tmp_path / "2026-01-02.md", md("2026-01-02"))  # default athlete
    p = plan(tmp_path)
    assert {r.athlete: len(r.files) for r in p.runs} == {"ann": 5, "bob": 1, "me": 1}
    assert all(r.attempt == 1 for r in p.runs)
    assert p.athletes_seen == {"ann", "bob", "me"}


def test_unsettled_hidden_and_partial_files_wait_with_a_reason(tmp_path):
    drop(tmp_path / "2026-01-01.md", md("2026-01-01"), age=False)
    drop(tmp_path / "2026-01-02.md.part", "x")
    drop(tmp_path / ".2026-01-03.md", "x")
    p = plan(tmp_path)
    assert p.runs == [] and p.rejects == []
    assert p.pending["2026-01-01.md"]["reason"].startswith("settling")
    assert "partial download" in p.pending["2026-01-02.md.part"]["reason"]
    assert ".2026-01-03.md" not in p.pending  # dotfiles (.gitkeep) are not journals at all
    assert "settling" in p.summary()


def test_changed_while_read_is_not_accepted(tmp_path):
    f = drop(tmp_path / "2026-01-01.md", md("2026-01-01"))

    def parse_and_append(c):
        result = parse_journal_bytes(c.path.name, c.path.read_bytes())
        with f.open("a") as fh:
            fh.write("more\n")
        return result

    p = plan(tmp_path, parse=parse_and_append)
    assert p.runs == [] and "changed while read" in p.pending["2026-01-01.md"]["reason"]


def test_invalid_and_unreadable_files_are_rejected(tmp_path):
    drop(tmp_path / "ann" / "2026-01-01.md", md("2026-01-01", mood=9))
    drop(tmp_path / "Bad Folder" / "2026-01-01.md", md("2026-01-01"))
    drop(tmp_path / "ann" / "deep" / "x.md", md("2026-01-01"))
    os.symlink("/etc/passwd", tmp_path / "link.md")
    p = plan(tmp_path)
    rejected = {c.rel: r.errors[0].message for c, r in p.rejects}
    assert set(rejected) == {
        "ann/2026-01-01.md",
        "Bad Folder/2026-01-01.md",
        "ann/deep/x.md",
        "link.md",
    }
    assert "symlink" in rejected["link.md"] and "nested" in rejected["ann/deep/x.md"]
    assert p.runs == []


def test_active_athlete_waits_for_its_run(tmp_path):
    drop(tmp_path / "ann" / "2026-01-01.md", md("2026-01-01"))
    drop(tmp_path / "bob" / "2026-01-01.md", md("2026-01-01"))
    p = plan(tmp_path, active={"ann"})
    assert [r.athlete for r in p.runs] == ["bob"]
    assert p.pending["ann/2026-01-01.md"]["reason"] == "waiting for the run in progress"
    assert not any(k.startswith("ann|") for k in p.state["attempts"])


def test_failed_runs_are_retried_then_reported_stuck_once(tmp_path):
    drop(tmp_path / "ann" / "2026-01-01.md", md("2026-01-01"))
    limits = InboxLimits(settle_seconds=2, max_attempts=3)
    state = load_state(None)
    keys = []
    for attempt in (1, 2, 3):
        p = plan(tmp_path, state=state, limits=limits)
        (run,) = p.runs
        assert run.attempt == attempt
        keys.append(run.run_key)
        state = p.state
    assert len(set(keys)) == 3  # run_key differs per attempt: Dagster will launch each
    p = plan(tmp_path, state=state, limits=limits)
    assert p.runs == [] and p.newly_stuck == [("ann/2026-01-01.md", "ann", 3)]
    assert p.pending["ann/2026-01-01.md"]["reason"] == "stuck"
    p2 = plan(tmp_path, state=p.state, limits=limits)
    assert p2.runs == [] and p2.newly_stuck == []  # reported once

    # saving the file again resets its attempts
    os.utime(tmp_path / "ann" / "2026-01-01.md", (OLD + 5, OLD + 5))
    p3 = plan(tmp_path, state=p2.state, limits=limits)
    assert [r.attempt for r in p3.runs] == [1]


def test_cursor_forgets_files_that_left_the_inbox(tmp_path):
    f = drop(tmp_path / "ann" / "2026-01-01.md", md("2026-01-01"))
    p = plan(tmp_path)
    assert p.state["attempts"]
    f.unlink()
    assert plan(tmp_path, state=p.state).state["attempts"] == {}


def test_multi_athlete_file_is_routed_to_each_athlete(tmp_path):
    drop(tmp_path / "squad.csv", "date,athlete,mood\n2026-01-01,ann,3\n2026-01-01,bob,4\n")
    p = plan(tmp_path)
    assert {r.athlete: r.files for r in p.runs} == {"ann": ["squad.csv"], "bob": ["squad.csv"]}


def test_work_per_tick_is_bounded(tmp_path):
    for i in range(30):
        drop(tmp_path / f"a{i:02d}" / "2026-01-01.md", md("2026-01-01"))
    for d in range(1, 10):
        drop(tmp_path / "zed" / f"2026-02-0{d}.md", md(f"2026-02-0{d}"))
    limits = InboxLimits(settle_seconds=2, max_runs_per_tick=10, max_files_per_run=4)
    p = plan(tmp_path, limits=limits)
    assert len(p.runs) == 10
    assert "waiting for a run slot (tick limit)" in p.summary()
    p2 = plan(
        tmp_path, limits=InboxLimits(settle_seconds=2, max_files_per_run=4, max_runs_per_tick=99)
    )
    zed = next(r for r in p2.runs if r.athlete == "zed")
    assert len(zed.files) == 4
    assert sum(1 for s in p2.pending.values() if "batch limit" in s["reason"]) == 5


def test_validation_budget_defers_and_the_cache_avoids_reparsing(tmp_path):
    for d in range(1, 8):
        drop(tmp_path / "ann" / f"2026-01-0{d}.md", md(f"2026-01-0{d}"))
    calls = []
    ticks = iter([0.0, 0.0] + [100.0] * 100)  # deadline, first file in budget, then spent

    def counting(c):
        from hrv.intake.inbox import parse_candidate

        calls.append(c.rel)
        return parse_candidate(c, "me")

    cache = ParseCache()
    p = plan_tick(
        scan_inbox(tmp_path),
        now=time.time(),
        state=load_state(None),
        active_athletes=set(),
        parse=counting,
        restat=lambda c: c.signature,
        cache=cache,
        limits=InboxLimits(parse_budget_seconds=50),
        clock=lambda: next(ticks),
    )
    assert len(calls) == 1 and len(p.runs[0].files) == 1
    assert sum(1 for s in p.pending.values() if "queued for validation" in s["reason"]) == 6
    calls.clear()
    p = plan(tmp_path, cache=cache, parse=counting)
    assert len(calls) == 6  # the first file came from the cache


# --------------------------------------------------------------------------- the sensor
@pytest.fixture
def sensor_env(tree, instance):
    PARSE_CACHE._data.clear()
    return tree, instance


JOURNAL_AND_DOWNSTREAM = set(AthleteRun("x", "inbox", "k").selection() or [])
READINGS_KEY = dg.AssetKey(["bronze", "wearable_readings"])


def evaluate(tree, instance, cursor=None, **settings):
    resources = {
        k: v for k, v in tree.resources(**settings).items() if k in ("inbox", "store", "settings")
    }
    return tick(instance, resources, cursor)


def tick(instance, resources, cursor=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as ctx:
        return inbox_sensor(ctx)


def test_sensor_requests_partitioned_runs_of_the_journal_and_downstream(sensor_env):
    tree, instance = sensor_env
    drop(tree.inbox / "ann" / "2026-01-01.md", md("2026-01-01"))
    drop(tree.inbox / "ann" / "2026-01-02.json", '{"date": "2026-01-02"}')
    drop(tree.inbox / "2026-01-01.md", md("2026-01-01", athlete="bob"))
    result = evaluate(tree, instance)
    by_athlete = updates(result.run_requests)
    assert set(by_athlete) == {"ann", "bob"}
    ann = by_athlete["ann"]
    assert ann.selection == {*JOURNAL_AND_DOWNSTREAM, READINGS_KEY}  # no readings yet
    assert sorted(ann.files) == ["ann/2026-01-01.md", "ann/2026-01-02.json"]
    assert ann.trigger == "inbox"
    # two athletes on two cores: a squad run each, tagged with its athlete
    assert [r.tags["athlete"] for r in result.run_requests] == ["ann", "bob"]
    (add,) = result.dynamic_partitions_requests
    assert sorted(add.partition_keys) == ["ann", "bob"]
    assert json.loads(result.cursor)["attempts"]

    # once an athlete has readings, a journal drop does not rebuild them
    (tree.data / "store" / "ann").mkdir(parents=True)
    (tree.data / "store" / "ann" / "readings.csv").write_text("date,metric\n")
    result = evaluate(tree, instance, cursor=result.cursor)
    ann = next(r for r in result.run_requests if r.partition_key == "ann")
    assert set(ann.asset_selection) == JOURNAL_AND_DOWNSTREAM
    assert ann.tags["hrv/attempt"] == "2"


def test_sensor_rejects_bad_files_with_report_and_alert_and_never_raises(sensor_env):
    tree, instance = sensor_env
    drop(tree.inbox / "ann" / "2026-01-01.md", md("2026-01-01", sleep_qualty=3))
    with (tree.inbox / "huge.md").open("wb") as fh:
        fh.truncate(5 << 20)
    os.utime(tree.inbox / "huge.md", (OLD, OLD))
    result = evaluate(tree, instance)
    assert result.run_requests == []
    assert "2 rejected" in result.skip_reason.skip_message
    report = json.loads((tree.inbox / "rejected" / "ann" / "2026-01-01.md.error.json").read_text())
    assert report["errors"][0]["field"] == "sleep_qualty"
    assert "did you mean 'sleep_quality'" in report["errors"][0]["message"]
    assert (tree.inbox / "rejected" / "huge.md").exists()
    alerts = read_alerts(tree.data)
    assert {a["kind"] for a in alerts} == {"rejected_file"}
    assert {a["athlete"] for a in alerts} == {"ann", None}
    assert all(a["status"] == "firing" for a in alerts)


def test_sensor_waits_while_the_athlete_has_a_run_in_progress(sensor_env):
    tree, instance = sensor_env
    drop(tree.inbox / "ann" / "2026-01-01.md", md("2026-01-01"))
    # a run of ann's in progress
    instance.add_run(
        dg.DagsterRun(
            job_name="__ASSET_JOB", status=dg.DagsterRunStatus.STARTED, tags={"athlete": "ann"}
        )
    )
    result = evaluate(tree, instance)
    assert result.run_requests == []
    assert "waiting for the run in progress" in result.skip_reason.skip_message
    status = json.loads((tree.data / "inbox_status.json").read_text())
    assert status["pending"] == [
        {"file": "ann/2026-01-01.md", "athlete": "ann", "reason": "waiting for the run in progress"}
    ]


def test_candidate_for_rebuilds_what_scan_saw(tmp_path):
    drop(tmp_path / "ann" / "x.md", md("2026-01-01"))
    (c,) = scan_inbox(tmp_path)
    again = candidate_for(tmp_path, "ann/x.md")
    assert (again.folder_athlete, again.signature, again.problem) == (
        c.folder_athlete,
        c.signature,
        c.problem,
    )


def test_identical_content_is_archived_without_a_run(sensor_env):
    tree, instance = sensor_env
    import datetime as dt

    from hrv.intake.journal import JournalEntry
    from hrv.storage.athlete_store import AthleteStore, IncomingEntry

    entry = JournalEntry.model_validate({"date": "2026-01-01", "athlete": "ann", "mood": 3})
    AthleteStore(tree.data, "ann").ingest_journal(
        [IncomingEntry(entry, "ann/2026-01-01.md", None)], dt.datetime.now(dt.UTC)
    )
    drop(tree.inbox / "ann" / "copy.md", md("2026-01-02", mood=3))
    drop(tree.inbox / "ann" / "same.md", md("2026-01-01", mood=3))
    drop(tree.inbox / "ann" / "changed.md", md("2026-01-03", mood=4))
    result = evaluate(tree, instance)
    (run,) = updates(result.run_requests).values()
    assert sorted(run.files) == ["ann/changed.md", "ann/copy.md"]
    assert (tree.inbox / "processed" / "ann" / "same.md").exists()
    assert not (tree.inbox / "ann" / "same.md").exists()


def test_the_newest_file_of_a_tick_wins_a_day_two_files_offer(sensor_env):
    """A correction (9 h) and its revert (7 h, newer, equal to what is stored) in one tick:
    the revert is not archived as a duplicate of the store; both go to the run, newest
    last, so the day ends as the revert says."""
    import datetime as dt
    import os

    from hrv.intake.journal import JournalEntry
    from hrv.storage.athlete_store import AthleteStore, IncomingEntry

    tree, instance = sensor_env
    store = AthleteStore(tree.data, "ann")
    entry = JournalEntry.model_validate({"date": "2026-01-01", "athlete": "ann", "sleep_hours": 7})
    store.ingest_journal([IncomingEntry(entry, "seed", None)], dt.datetime.now(dt.UTC))
    correction = tree.inbox / "ann" / "fix.md"
    revert = tree.inbox / "ann" / "undo.md"
    drop(correction, md("2026-01-01", sleep_hours=9))
    drop(revert, md("2026-01-01", sleep_hours=7))
    now = dt.datetime.now().timestamp()
    os.utime(correction, (now - 60, now - 60))
    os.utime(revert, (now - 30, now - 30))
    (run,) = updates(evaluate(tree, instance).run_requests).values()
    assert sorted(run.files) == ["ann/fix.md", "ann/undo.md"]
    assert revert.exists()  # not archived as a "duplicate"


def test_settle_wait_is_the_time_until_the_youngest_file_settles(tmp_path):
    from hrv.planning.inbox_tick import settle_wait

    now = time.time()
    drop(tmp_path / "ann" / "old.md", md("2026-01-01"))
    assert settle_wait(scan_inbox(tmp_path), now, 2.0) == 0.0
    young = drop(tmp_path / "ann" / "new.md", md("2026-01-02"), age=False)
    os.utime(young, (now - 0.5, now - 0.5))
    assert settle_wait(scan_inbox(tmp_path), now, 2.0) == pytest.approx(1.55, abs=0.01)
    drop(tmp_path / "x.md.part", "partial", age=False)  # partial downloads never wait
    assert settle_wait(scan_inbox(tmp_path), now, 2.0) == pytest.approx(1.55, abs=0.01)


def test_a_just_dropped_file_is_taken_in_the_same_tick(sensor_env):
    tree, instance = sensor_env
    drop(tree.inbox / "ann" / "2026-01-01.md", md("2026-01-01"), age=False)
    t0 = time.monotonic()
    result = evaluate(tree, instance, inbox_settle_seconds=0.5)
    assert list(updates(result.run_requests)) == ["ann"]
    assert time.monotonic() - t0 < 2.0


def test_many_athletes_in_one_tick_share_balanced_squad_runs(sensor_env):
    tree, instance = sensor_env
    athletes = [f"a{i}" for i in range(6)]
    for a in athletes:
        drop(tree.inbox / a / "2026-01-01.md", md("2026-01-01"))
        drop(tree.inbox / a / "2026-01-02.md", md("2026-01-02"))
    result = evaluate(tree, instance, squad_size=4)
    assert [r.job_name for r in result.run_requests] == ["squad_update", "squad_update"]
    configs = [r.run_config["ops"]["update_squad"]["config"] for r in result.run_requests]
    assert [[m["athlete"] for m in c["athletes"]] for c in configs] == [athletes[:3], athletes[3:]]
    for config, request in zip(configs, result.run_requests, strict=True):
        for member in config["athletes"]:
            a = member["athlete"]
            assert member["trigger"] == "inbox"
            assert member["files"] == [f"{a}/2026-01-01.md", f"{a}/2026-01-02.md"]
            # no readings stored yet for these athletes: their runs build them too
            assert member["include_readings"] is True
            assert member["tags"]["hrv/files"] == "2"
        assert request.tags["hrv/squad"] == "3"
        assert request.tags["hrv/athletes"] == ", ".join(m["athlete"] for m in config["athletes"])
        assert "athlete" not in request.tags and request.partition_key is None
    assert len({r.run_key for r in result.run_requests}) == 2

    # new athletes are registered as partitions in the same tick
    (added,) = result.dynamic_partitions_requests
    assert sorted(added.partition_keys) == athletes


def test_a_squad_in_progress_holds_its_athletes_and_few_athletes_get_asset_runs_if_set(
    sensor_env,
):
    tree, instance = sensor_env
    squad = [{"athlete": a, "trigger": "inbox", "run_key": a} for a in ("a0", "a1")]
    instance.add_run(
        dg.DagsterRun(
            job_name="squad_update",
            status=dg.DagsterRunStatus.STARTED,
            run_config={"ops": {"update_squad": {"config": {"athletes": squad}}}},
        )
    )
    for a in ("a0", "a1", "a2", "a3"):
        drop(tree.inbox / a / "2026-01-01.md", md("2026-01-01"))
    result = evaluate(tree, instance, squad_min_athletes=4)
    # a0 and a1 wait for the squad; two athletes left, below a squad threshold of 4
    assert sorted(updates(result.run_requests)) == ["a2", "a3"]
    assert {r.job_name for r in result.run_requests} == {"athlete_assets"}
    status = json.loads((tree.data / "inbox_status.json").read_text())
    waiting = {p["athlete"] for p in status["pending"] if "in progress" in p["reason"]}
    assert waiting == {"a0", "a1"}


def test_squad_runs_can_be_turned_off(sensor_env):
    tree, instance = sensor_env
    for i in range(5):
        drop(tree.inbox / f"a{i}" / "2026-01-01.md", md("2026-01-01"))
    result = evaluate(tree, instance, squad_min_athletes=0)
    assert len(result.run_requests) == 5
    assert {r.job_name for r in result.run_requests} == {"athlete_assets"}


def test_an_idle_tick_keeps_watching_and_takes_a_file_dropped_meanwhile(sensor_env):
    import threading

    tree, instance = sensor_env
    resources = tree.resources(inbox_settle_seconds=0.3, inbox_poll_seconds=3)
    drop_at = {}

    def drop_later():
        time.sleep(0.8)
        drop_at["t"] = time.monotonic()
        drop(tree.inbox / "ann" / "2026-01-01.md", md("2026-01-01"), age=False)

    threading.Thread(target=drop_later).start()
    t0 = time.monotonic()
    result = tick(instance, resources)
    returned = time.monotonic()
    assert list(updates(result.run_requests)) == ["ann"]
    # taken in this tick, right after settling: not at the end of the watch window
    assert returned - drop_at["t"] < 0.3 + 0.2 + 1.0
    assert returned - t0 < 3
    # the run archived the file; with nothing dropped, a tick watches the whole window
    (tree.inbox / "ann" / "2026-01-01.md").unlink()
    t1 = time.monotonic()
    idle = tick(instance, resources, result.cursor)
    assert idle.run_requests == [] and time.monotonic() - t1 >= 3
    assert "inbox empty" in idle.skip_reason.skip_message


def test_inbox_fingerprint_sees_drops_not_archives(tmp_path):
    from hrv.intake.inbox import inbox_fingerprint

    (tmp_path / "ann").mkdir()
    (tmp_path / "processed" / "ann").mkdir(parents=True)
    before = inbox_fingerprint(tmp_path)
    time.sleep(0.01)
    (tmp_path / "processed" / "ann" / "old.md").write_text("x")
    assert inbox_fingerprint(tmp_path) == before
    (tmp_path / "ann" / "new.md").write_text("x")
    assert inbox_fingerprint(tmp_path) != before


def test_the_watch_outlasts_a_change_that_leaves_nothing_to_do(sensor_env):
    import threading

    tree, instance = sensor_env
    resources = tree.resources(inbox_settle_seconds=0.3, inbox_poll_seconds=4)
    # ann's file waits for her run in progress: nothing to do, the tick watches
    ann = drop(tree.inbox / "ann" / "2026-01-01.md", md("2026-01-01"))
    instance.add_run(
        dg.DagsterRun(
            job_name="athlete_assets", status=dg.DagsterRunStatus.STARTED, tags={"athlete": "ann"}
        )
    )

    def meanwhile():
        time.sleep(0.6)
        ann.unlink()  # her run archives it: a change, still nothing to do
        time.sleep(0.6)
        drop(tree.inbox / "bob" / "2026-01-01.md", md("2026-01-01"), age=False)

    threading.Thread(target=meanwhile).start()
    t0 = time.monotonic()
    result = tick(instance, resources)
    assert list(updates(result.run_requests)) == ["bob"]
    assert time.monotonic() - t0 < 3


def test_an_invalid_file_of_an_athlete_with_a_run_in_progress_waits_for_that_run(tmp_path):
    """The run may be archiving this very file: rejecting it now would race the run."""
    drop(tmp_path / "bob" / "2026-09-24.json", '{"date": "2026-02-30"}')
    p = plan(tmp_path, active={"bob"})
    assert p.rejects == []
    assert p.pending["bob/2026-09-24.json"]["reason"] == "waiting for the run in progress"
    assert [c.rel for c, _ in plan(tmp_path).rejects] == ["bob/2026-09-24.json"]


def test_rejecting_a_file_that_vanished_meanwhile_leaves_no_empty_folder(sensor_env):
    tree, instance = sensor_env
    bad = drop(tree.inbox / "bob" / "2026-09-24.json", '{"date": "2026-02-30"}')
    (candidate,) = scan_inbox(tree.inbox)
    bad.unlink()  # a run archived it between the scan and the rejection
    resources = tree.resources()
    from hrv.intake.inbox import parse_candidate

    with pytest.raises(FileNotFoundError):
        resources["inbox"].reject(candidate, parse_candidate(candidate, "me"), dt.datetime.now())
    assert not (tree.inbox / "rejected").exists()
    # and the sensor itself, meeting it, says so and goes on
    drop(tree.inbox / "bob" / "2026-09-25.json", '{"date": "2026-02-30"}')
    result = evaluate(tree, instance)
    assert (tree.inbox / "rejected" / "bob" / "2026-09-25.json").exists()
    assert result.run_requests == []


def test_dotfiles_are_neither_pending_nor_reported(sensor_env):
    tree, instance = sensor_env
    drop(tree.inbox / ".gitkeep", "")
    drop(tree.inbox / "ann" / ".swp", "x")
    result = evaluate(tree, instance)
    assert "inbox empty" in result.skip_reason.skip_message
    assert json.loads((tree.data / "inbox_status.json").read_text())["pending"] == []


def test_attempts_are_kept_while_the_athlete_has_a_run_in_progress(tmp_path):
    drop(tmp_path / "ann" / "2026-01-01.md", md("2026-01-01"))
    first = plan(tmp_path)
    assert [r.attempt for r in first.runs] == [1]
    waiting = plan(tmp_path, state=first.state, active={"ann"})
    assert waiting.runs == [] and waiting.state["attempts"] == first.state["attempts"]
    again = plan(tmp_path, state=waiting.state)  # the run failed: this is the second try
    assert [r.attempt for r in again.runs] == [2]


def test_a_file_name_that_is_not_utf8_no_longer_stops_the_inbox(sensor_env):
    """`café.md` saved by a Latin-1 tool (bytes caf\\xe9.md) used to fail every tick with
    "surrogates not allowed", holding up every athlete; it is renamed to caf%E9.md and read
    with the others (issue 15)."""
    tree, instance = sensor_env
    drop(tree.inbox / "ann" / "2026-01-01.md", md("2026-01-01"))
    latin = os.fsencode(str(tree.inbox / "ann")) + b"/caf\xe9.md"
    with open(latin, "wb") as fh:
        fh.write(md("2026-01-02").encode())
    os.utime(latin, (OLD, OLD))
    drop(tree.inbox / "2026-01-03.md", md("2026-01-03", athlete="bob"))
    result = tick(instance, tree.resources())
    files = sorted(f for u in updates(result.run_requests).values() for f in u.files)
    assert files == ["2026-01-03.md", "ann/2026-01-01.md", "ann/caf%E9.md"]
    assert sorted(os.listdir(tree.inbox / "ann")) == ["2026-01-01.md", "caf%E9.md"]


def test_a_rejected_file_is_never_moved_before_its_alert_is_recorded(sensor_env):
    """data/ unwritable when a bad file arrives (here: alerts.jsonl is a folder, which
    stops root too): the file stays in the inbox, unmoved; once data/ is writable again the
    alert is recorded and then the file moves."""
    from hrv.alerting.book import ALERTS_FILE, read_alerts

    tree, instance = sensor_env
    (tree.data / ALERTS_FILE).mkdir(parents=True)
    bad = tree.inbox / "ann" / "bad.md"
    drop(bad, "---\nmood: 9\n---\n")
    evaluate(tree, instance)
    assert bad.exists() and not (tree.inbox / "rejected").exists()
    (tree.data / ALERTS_FILE).rmdir()
    evaluate(tree, instance)
    assert not bad.exists() and (tree.inbox / "rejected" / "ann" / "bad.md").exists()
    (alert,) = read_alerts(tree.data)
    assert alert["kind"] == "rejected_file" and "ann/bad.md" in alert["title"]


def test_names_at_the_length_limit_are_archived_with_their_reports(tree):
    """A 255-byte name twice (the second needs a .dup1 name), and a 240-byte name whose
    report name would pass 255 bytes: each ends in rejected/ with its .error.json."""
    from hrv.intake.inbox import reject

    long_a = "a" * 252 + ".md"  # 255 bytes
    long_b = "b" * 237 + ".md"  # 240 bytes: + ".error.json" = 251, + temp suffix > 255
    for name in (long_a, long_b):
        drop(tree.inbox / name, "---\nmood: 9\n---\n")
    for c in scan_inbox(tree.inbox):
        moved = reject(tree.inbox, c, parse_candidate(c, "me"), dt.datetime.now(dt.UTC))
        assert moved.with_name(moved.name + ".error.json").exists()
    drop(tree.inbox / long_a, "---\nmood: 8\n---\n")  # the same name again
    (c,) = scan_inbox(tree.inbox)
    moved = reject(tree.inbox, c, parse_candidate(c, "me"), dt.datetime.now(dt.UTC))
    assert ".dup1" in moved.name and len(moved.name.encode()) <= 255 - len(".error.json")
    assert moved.with_name(moved.name + ".error.json").exists()
    assert len(list((tree.inbox / "rejected").iterdir())) == 6
