"""Chaos: 500 mixed files while the daemon (with its code server and run workers) is
SIGKILLed and restarted three times. Then exact accounting: every file processed or
rejected exactly once, every valid athlete-day stored once with the last version
winning, no duplicate registry rows."""

import datetime as dt
import itertools
import json
import random
import threading
import time

import dagster as dg
import pytest
import yaml

from hrv.storage.athlete_store import AthleteStore
from hrv.storage.registry import read_registry
from tests.conftest import Tree
from tests.e2e.harness import IN_PROGRESS, daemon, embedded_home, runs, wait_for

pytestmark = pytest.mark.e2e
ATHLETES = [f"ath{i}" for i in range(10)]
TODAY = dt.date.today()


def entry_text(kind: str, day: dt.date, fields: dict) -> tuple[str, str]:
    """(file suffix, content) of one journal entry in one of the formats."""
    body = {"date": day.isoformat(), **fields}
    if kind == "md":
        rest = {k: v for k, v in body.items() if k != "notes"}
        return ".md", "---\n" + yaml.safe_dump(rest) + "---\n" + str(fields.get("notes", "")) + "\n"
    if kind == "json":
        return ".json", json.dumps(body)
    return ".yaml", yaml.safe_dump(body)


def plan_files(rng: random.Random) -> list[dict]:
    files = []
    for a in ATHLETES:
        for k in range(30):
            day = TODAY - dt.timedelta(days=29 - k)
            fields = {
                "sleep_hours": round(rng.uniform(5, 9), 1),
                "stress": rng.randint(1, 5),
                "notes": f"{a} day {k}",
            }
            files.append(
                {
                    "kind": "valid",
                    "athlete": a,
                    "day": day,
                    "fields": fields,
                    "fmt": rng.choice(["md", "json", "yaml"]),
                }
            )
    valid = list(files)
    for i in range(60):
        v = rng.choice(valid)
        files.append({**v, "kind": "duplicate", "copy": i})
    for i, v in enumerate(rng.sample(valid, 60)):
        files.append(
            {
                **v,
                "kind": "correction",
                "fields": {**v["fields"], "mood": 5, "notes": f"corrected {i}"},
            }
        )
    for i in range(60):
        a = rng.choice(ATHLETES)
        bad = rng.choice([{"slep_hours": 7}, {"stress": 9}, {"sleep_hours": "lots"}])
        files.append(
            {"kind": "invalid", "athlete": a, "day": TODAY, "fields": bad, "fmt": "json", "copy": i}
        )
    for a in ATHLETES:  # 20 slow writers: two new days per athlete, written over ~3 s each
        for k in (1, 2):
            files.append(
                {
                    "kind": "valid",
                    "athlete": a,
                    # new days before the history (after tomorrow is refused as a typo)
                    "day": TODAY - dt.timedelta(days=30 + k),
                    "fields": {"sleep_hours": 7.0, "notes": f"{a} slow {k} " + "x" * 200},
                    "fmt": rng.choice(["md", "json", "yaml"]),
                    "slow": True,
                }
            )
    return files


def test_chaos_500_files_three_daemon_kills_exact_accounting(tmp_path):
    rng = random.Random(20261121)
    tree = Tree(tmp_path)
    for p in (tree.inbox, tree.sources, tree.data):
        p.mkdir()
    for a in ATHLETES:
        (tree.sources / a).mkdir()
        rows = "".join(f"{TODAY - dt.timedelta(days=d)},{50 + (d * 7) % 11}\n" for d in range(40))
        (tree.sources / a / "hrv.csv").write_text("date,rmssd_ms\n" + rows)
    home = embedded_home(tmp_path / "home")
    env = {
        **tree.env(),
        "HRV_INBOX_SETTLE_SECONDS": "1",
        "HRV_SOURCES_SETTLE_SECONDS": "1",
        "HRV_INBOX_MAX_ATTEMPTS": "10",
    }
    proc = daemon(home, env, tmp_path / "daemon.log").start()
    instance = dg.DagsterInstance.from_config(str(home))

    files = plan_files(rng)
    order = [f for f in files if f["kind"] != "correction"]
    rng.shuffle(order)
    order += [f for f in files if f["kind"] == "correction"]  # corrections come later
    written: list[tuple[str, dict]] = []
    threads = []

    def write(path, text, slow):
        if not slow:
            path.write_text(text)
            return
        with path.open("w") as fh:
            for i in range(0, len(text), 25):
                fh.write(text[i : i + 25])
                fh.flush()
                time.sleep(0.15)

    try:
        kills_at = {120, 260, 420}
        for n, f in enumerate(order):
            suffix, text = entry_text(f["fmt"], f["day"], f["fields"])
            tag = f"-{f['kind']}{f.get('copy', '')}" if f["kind"] != "valid" else ""
            if f["kind"] == "correction":
                tag = f"-fix{n}"
            name = f"{f['day']}{tag}{suffix}"
            path = tree.inbox / f["athlete"] / name
            path.parent.mkdir(exist_ok=True)
            if f.get("slow"):
                t = threading.Thread(target=write, args=(path, text, True))
                t.start()
                threads.append(t)
            else:
                write(path, text, False)
            written.append((f"{f['athlete']}/{name}", f))
            if n in kills_at:
                proc.kill_leader()  # SIGKILL the daemon mid-burst
                time.sleep(0.5)
                proc.start()
            time.sleep(0.05)
        for t in threads:
            t.join()

        def done():
            pending = [
                p
                for p in tree.inbox.rglob("*")
                if p.is_file()
                and p.relative_to(tree.inbox).parts[0] not in ("processed", "rejected")
            ]
            active = [r for r in runs(instance) if r.status in IN_PROGRESS]
            return not pending and not active

        wait_for(done, 420, "every file to be handled", proc.tail, interval=1.0)
    finally:
        proc.stop()

    processed = {
        p.relative_to(tree.inbox / "processed").as_posix()
        for p in (tree.inbox / "processed").rglob("*")
        if p.is_file()
    }
    rejected = {
        p.relative_to(tree.inbox / "rejected").as_posix()
        for p in (tree.inbox / "rejected").rglob("*")
        if p.is_file() and not p.name.endswith(".error.json")
    }
    assert len(written) == 500
    assert not any(".dup" in r for r in processed | rejected), "a file was archived twice"
    for rel, f in written:
        if f["kind"] == "invalid":
            assert rel in rejected and rel not in processed, rel
            report = tree.inbox / "rejected" / f"{rel}.error.json"
            assert json.loads(report.read_text())["errors"], rel
        else:
            assert rel in processed and rel not in rejected, rel
    assert len(processed) + len(rejected) == 500

    corrected = {
        (f["athlete"], f["day"].isoformat()): f["fields"]
        for _, f in written
        if f["kind"] == "correction"
    }
    for a in ATHLETES:
        store = AthleteStore(tree.data, a)
        versions = store.journal_versions()
        by_day: dict[str, list] = {}
        for v in versions:
            by_day.setdefault(v["date"], []).append(v)
        assert len(by_day) == 32, a  # every valid athlete-day stored
        for day, vs in by_day.items():
            expected = 2 if (a, day) in corrected else 1
            assert len(vs) == expected, (a, day, [v["entry"]["notes"] for v in vs])
            if (a, day) in corrected:
                assert vs[-1]["entry"]["notes"] == corrected[(a, day)]["notes"]
            slow_days = {(TODAY - dt.timedelta(days=30 + k)).isoformat() for k in (1, 2)}
            if day in slow_days:  # slow writers were read whole, never half-written
                assert vs[0]["entry"]["notes"].endswith("x" * 200)
        rows = read_registry(tree.outputs(a) / "predictions_registry.csv")
        keys = [(r["made_at"], r["for_date"], r["model"], r["role"]) for r in rows]
        assert len(keys) == len(set(keys)), a
        for prev, row in itertools.pairwise(rows):  # never the same forecast twice in a row
            same = {k: row[k] for k in row if k != "made_at"} == {
                k: prev[k] for k in prev if k != "made_at"
            }
            assert not same, (a, row)
        assert (tree.outputs(a) / "agent_forecast.json").exists()
    instance.dispose()
