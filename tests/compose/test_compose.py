"""The server deployment on a real Docker engine (`make test-compose`, after `make test` in CI).

A copy of the project is built with `docker compose build` and brought up with
`docker compose up`: PostgreSQL, the code server, the webserver and the daemon, as a user
would run them. A squad's journals and exports are dropped into the mounted folders and
everything is read back the way a user would: forecasts on the host, the webserver's
GraphQL (runs, every check per athlete, run logs), the runs in PostgreSQL, the modes and
owner of the files the containers wrote. Then the daemon's process is SIGKILLed in the
middle of a burst, the stack goes `down` and `up`, the database password is changed the
way the README says, and the DockerRunLauncher override runs a squad in containers of
their own. Everything is torn down at the end (`down -v`).

`deploy/engine.sh` (called by `make test-compose`) starts the engine, installs the compose
client and provides the base images (pulled, or local stand-ins where Docker Hub is out of
reach).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hrv.demo import SQUAD, AthleteProfile, write_demo
from tests.e2e.harness import ROOT, free_port, graphql, wait_for

pytestmark = pytest.mark.compose

PROJECT = "hrv-sentinel"  # the compose file's name
UID = GID = 1000  # the containers' user (HRV_UID/HRV_GID), not the host's root
SERVICES = ("postgres", "user_code", "webserver", "daemon")
ACTIVE = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}

RUNS = "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"
RUN_TIMES = """{ runsOrError { ... on Runs { results {
  runId jobName status startTime endTime tags { key value } } } } }"""
CHECKS = """{ assetNodes { assetKey { path }
  assetChecksOrError { ... on AssetChecks { checks { name
    partitionStatuses { ... on AssetCheckDefaultPartitionStatuses {
      succeededPartitions failedPartitions inProgressPartitions skippedPartitions
      executionFailedPartitions } } } } } } }"""
LOG_EVENTS = """query($r: ID!) { logsForRun(runId: $r) { ... on EventConnection {
  events { __typename ... on LogsCapturedEvent { fileKey stepKeys } } } } }"""
CAPTURED = "query($k: [String!]!) { capturedLogs(logKey: $k) { stdout stderr } }"


@dataclass
class Stack:
    root: Path
    port: int
    override: bool = False

    # ---------------------------------------------------------------- docker compose
    def files(self) -> list[str]:
        names = ["docker-compose.yml"]
        if self.override:
            names.append("docker-compose.docker-runs.yml")
        return [arg for name in names for arg in ("-f", name)]

    def compose(self, *args: str, check: bool = True, timeout: float = 900) -> str:
        env = {**os.environ, "DOCKER_GID": _docker_gid()}
        proc = subprocess.run(
            ["docker", "compose", *self.files(), *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode:
            raise AssertionError(
                f"docker compose {' '.join(args)} exited {proc.returncode}:\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n{self.logs()}"
            )
        return proc.stdout + proc.stderr

    def up(self) -> None:
        self.compose("up", "-d", "--wait", "--wait-timeout", "240")

    def logs(self, tail: int = 40) -> str:
        proc = subprocess.run(
            ["docker", "compose", *self.files(), "logs", "--no-color", "--tail", str(tail)],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return proc.stdout[-6000:]

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).strip()

    def inspect(self, service: str, template: str) -> str:
        return _docker("inspect", "-f", template, self.container(service)).strip()

    def psql(self, sql: str) -> str:
        return self.compose(
            "exec", "-T", "postgres", "psql", "-U", "dagster", "-d", "dagster", "-tAc", sql
        ).strip()

    def set_env(self, **values: str) -> None:
        path = self.root / ".env"
        lines = [
            line for line in path.read_text().splitlines() if line.partition("=")[0] not in values
        ]
        path.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in values.items())]) + "\n")

    # ---------------------------------------------------------------- what users see
    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return graphql(self.port, query, variables)

    def runs(self) -> list[dict]:
        return self.gql(RUNS)["runsOrError"]["results"]

    def settled(self) -> bool:
        inbox = self.root / "inbox"
        pending = [
            p
            for p in inbox.rglob("*")
            if p.is_file()
            and not p.name.startswith(".")
            and p.relative_to(inbox).parts[0] not in ("processed", "rejected")
        ]
        return not pending and not any(r["status"] in ACTIVE for r in self.runs())

    def forecast(self, athlete: str) -> Path:
        return self.root / "data" / "outputs" / athlete / "agent_forecast.json"

    def drop(self, staging: Path) -> None:
        """Move a staged inbox/ and sources/ into the stack's, owned by the stack's user."""
        _chown(staging)
        for kind in ("inbox", "sources"):
            for item in sorted((staging / kind).rglob("*")):
                if item.is_file():
                    dest = self.root / kind / item.relative_to(staging / kind)
                    if not dest.parent.exists():
                        dest.parent.mkdir(parents=True)
                        _chown(dest.parent)
                    item.rename(dest)

    def wait_for_forecasts(self, athletes, timeout: float = 420) -> None:
        wait_for(
            lambda: all(self.forecast(a).exists() for a in athletes) and self.settled(),
            timeout,
            f"forecasts for {', '.join(athletes)}",
            self.logs,
        )


def assert_every_failure_was_retried(runs: list[dict]) -> None:
    """Every run succeeded, or was cut short by a stop (`down`, a killed process) and its
    retry succeeded (run_retries): nothing is left undone."""

    def tag(run: dict, key: str) -> str | None:
        return next((t["value"] for t in run["tags"] if t["key"] == key), None)

    retried_ok = {tag(r, "dagster/parent_run_id") for r in runs if r["status"] == "SUCCESS"}
    left = [
        (r["runId"], {t["key"]: t["value"] for t in r["tags"]})
        for r in runs
        if r["status"] != "SUCCESS" and r["runId"] not in retried_ok
    ]
    assert not left, left


def _docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True, timeout=120
    ).stdout


def _docker_gid() -> str:
    sock = Path("/var/run/docker.sock")
    return str(sock.stat().st_gid) if sock.exists() else "0"


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        for p in [path, *path.rglob("*")]:
            os.chown(p, UID, GID)


def _project_files(dest: Path) -> None:
    """The project as a clone would have it: tracked files and new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        src = ROOT / name.decode()
        if src.is_file():
            (dest / src.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / src.relative_to(ROOT))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    existing = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}")
    if existing.strip():
        pytest.fail(
            f"a compose project named {PROJECT!r} already has containers on this engine; "
            "the test will not touch it (docker compose -p hrv-sentinel down, if it is yours)"
        )
    # not under pytest's 0700 temp folder: another host user must be able to reach data/
    root = Path(tempfile.mkdtemp(prefix="hrv-compose-"))
    root.chmod(0o755)
    _project_files(root)
    # this machine reaches PyPI through a TLS-inspecting proxy: give the build its CA
    for ca in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy(ca, root / "deploy" / "ca-certificates" / ca.name)
    for folder in ("inbox", "sources", "data"):
        (root / folder).mkdir(exist_ok=True)
        _chown(root / folder)
    env = (root / ".env.example").read_text()
    (root / ".env").write_text(env)
    s = Stack(root, free_port())
    s.set_env(
        DAGSTER_PG_PASSWORD=secrets.token_urlsafe(12),
        HRV_UID=str(UID),
        HRV_GID=str(GID),
        HRV_WEB_PORT=str(s.port),
        HRV_INBOX_SETTLE_SECONDS="1",
        HRV_SOURCES_SETTLE_SECONDS="1",
        HRV_BOARD_QUIET_SECONDS="5",
    )
    try:
        s.compose("build", timeout=1500)
        s.up()
        yield s
    finally:
        for override in (True, False):
            s.override = override
            s.compose("down", "-v", "--remove-orphans", "--timeout", "20", check=False)
        runs = _docker("ps", "-aq", "--filter", "ancestor=hrv-sentinel:latest").split()
        if runs:
            _docker("rm", "-f", *runs)
        shutil.rmtree(root, ignore_errors=True)


def _staged(tmp: Path, squad: tuple[AthleteProfile, ...], days: int, seed: int) -> Path:
    staging = tmp / f"staging-{seed}"
    end = dt.date.today() - dt.timedelta(days=1)
    write_demo(staging / "inbox", staging / "sources", days=days, end=end, seed=seed, squad=squad)
    return staging


def test_a_squad_dropped_in_becomes_forecasts_runs_checks_and_logs(stack, tmp_path):
    """Four athletes' journals and exports: forecasts on the host, every run succeeded (in
    GraphQL and in PostgreSQL alike), every check passed per athlete in the UI's own query,
    run logs readable through the webserver, files readable by anyone on the host."""
    stack.drop(_staged(tmp_path, SQUAD, days=45, seed=3))
    athletes = sorted(p.athlete for p in SQUAD)
    stack.wait_for_forecasts(athletes)

    runs = stack.runs()
    statuses = Counter(r["status"] for r in runs)
    assert set(statuses) == {"SUCCESS"}, statuses  # nothing was stopped here
    in_pg = dict(
        line.split("|")
        for line in stack.psql("select status, count(*) from runs group by 1").split()
    )
    assert in_pg == {"SUCCESS": str(statuses["SUCCESS"])}

    def problems() -> list:
        out = []
        for node in stack.gql(CHECKS)["assetNodes"]:
            if node["assetKey"]["path"][-1] == "squad_board":
                continue
            for check in node["assetChecksOrError"]["checks"]:
                st = check["partitionStatuses"] or {}
                shown = set(st.get("succeededPartitions", [])) | set(st.get("failedPartitions", []))
                may_fail = check["name"] == "model_mae_vs_persistence"
                if shown != set(athletes) or (st.get("failedPartitions") and not may_fail):
                    out.append((node["assetKey"]["path"], check["name"], st))
        return out

    wait_for(lambda: not problems(), 60, "every check per athlete", lambda: str(problems()))

    # run logs: written in the code server's container, read by the webserver's
    run = next(r for r in runs if any(t["key"] == "hrv/squad" for t in r["tags"]))
    events = stack.gql(LOG_EVENTS, {"r": run["runId"]})["logsForRun"]["events"]
    keys = [e["fileKey"] for e in events if e["__typename"] == "LogsCapturedEvent"]
    assert keys, events
    logs = stack.gql(CAPTURED, {"k": [run["runId"], "compute_logs", keys[0]]})["capturedLogs"]
    assert logs and "STEP_START" in (logs["stderr"] or "") + (logs["stdout"] or ""), logs

    # the outputs are the host user's to read: 0644 files, 0755 folders, owned by HRV_UID
    outputs = stack.root / "data" / "outputs"
    for path in [outputs, *outputs.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
        assert path.stat().st_uid == UID, path
    processed = list((stack.root / "inbox" / "processed").rglob("*.md"))
    assert processed and all(p.stat().st_uid == UID for p in processed)
    if os.geteuid() == 0:
        read = subprocess.run(
            ["runuser", "-u", "nobody", "--", "cat", str(stack.forecast("alice"))],
            capture_output=True,
            text=True,
        )
        assert read.returncode == 0 and json.loads(read.stdout)["athlete"] == "alice", read
    # no container runs as root
    for service in ("user_code", "webserver", "daemon"):
        assert stack.inspect(service, "{{.Config.User}}") == f"{UID}:{GID}"


def test_a_daemon_killed_mid_burst_comes_back_and_loses_nothing(stack, tmp_path):
    """SIGKILL the daemon's process right after 40 files land: Docker restarts it, every file
    ends processed exactly once, the athlete's forecast appears."""
    dana = AthleteProfile("dana", 58.0, "csv_plus_md", "generic_csv")
    staging = _staged(tmp_path, (dana,), days=40, seed=11)
    dropped = sorted(
        p.relative_to(staging / "inbox").as_posix()
        for p in (staging / "inbox").rglob("*")
        if p.is_file()
    )
    stack.drop(staging)
    time.sleep(2)
    restarts = int(stack.inspect("daemon", "{{.RestartCount}}"))
    os.kill(int(stack.inspect("daemon", "{{.State.Pid}}")), 9)
    wait_for(
        lambda: int(stack.inspect("daemon", "{{.RestartCount}}")) > restarts,
        60,
        "Docker restarting the daemon",
        stack.logs,
    )
    stack.wait_for_forecasts(["dana"])
    archive = stack.root / "inbox" / "processed"
    processed = sorted(
        p.relative_to(archive).as_posix() for p in (archive / "dana").rglob("*") if p.is_file()
    )
    assert processed == dropped  # each once: a second copy would be name.dup1.md
    assert not list((stack.root / "inbox" / "rejected").rglob("*"))


def test_down_and_up_keeps_every_run_and_goes_on(stack, tmp_path):
    """`docker compose down` then `up`: the runs, checks and files are still there, and a
    new journal is processed as before."""

    # between runs (the board refreshes a few seconds after the last athlete run): a run
    # cut short by `down` is a failed run, which is not what this test is about
    def idle_for(seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not stack.settled():
                return False
            time.sleep(1)
        return True

    wait_for(lambda: idle_for(10), 180, "ten seconds without a run", stack.logs)
    before = {r["runId"] for r in stack.runs()}
    forecast = stack.forecast("alice").read_text()
    stack.compose("down", "--timeout", "20")
    stack.up()
    assert before <= {r["runId"] for r in stack.runs()}
    assert stack.forecast("alice").read_text() == forecast
    today = dt.date.today()
    journal = tmp_path / "inbox" / "alice" / f"{today}.md"
    journal.parent.mkdir(parents=True)
    (tmp_path / "sources").mkdir()
    journal.write_text(f"---\ndate: {today}\nsleep_hours: 7.5\nalcohol_units: 0\n---\nafter up\n")
    stack.drop(tmp_path)
    wait_for(
        lambda: len({r["runId"] for r in stack.runs()} - before) >= 1 and stack.settled(),
        180,
        "a run for the journal dropped after up",
        stack.logs,
    )
    processed = (stack.root / "inbox" / "processed").rglob(journal.name)
    assert any("after up" in p.read_text() for p in processed)
    assert_every_failure_was_retried(stack.runs())


def test_a_changed_password_shows_unhealthy_until_the_database_has_it(stack):
    """Changing DAGSTER_PG_PASSWORD in .env after the first start: PostgreSQL reports
    unhealthy (its healthcheck logs in with the password) instead of the daemon looping
    silently; the README's fix (ALTER USER, then up) brings everything back."""
    new = secrets.token_urlsafe(12)
    stack.set_env(DAGSTER_PG_PASSWORD=new)
    stack.compose("up", "-d", "--wait", "--wait-timeout", "90", check=False)
    wait_for(
        lambda: stack.inspect("postgres", "{{.State.Health.Status}}") == "unhealthy",
        120,
        "postgres reported unhealthy",
        stack.logs,
    )
    stack.psql(f"ALTER USER dagster PASSWORD '{new}'")
    wait_for(
        lambda: stack.inspect("postgres", "{{.State.Health.Status}}") == "healthy",
        60,
        "postgres healthy with the new password",
        stack.logs,
    )
    stack.up()
    for service in SERVICES:
        assert stack.inspect(service, "{{.State.Health.Status}}") == "healthy", service
    assert stack.runs()


def test_every_run_in_a_container_of_its_own_with_the_override(stack, tmp_path):
    """docker-compose.docker-runs.yml: the daemon launches each run as a container of the
    image (DockerRunLauncher) with the same folders and database. Six athletes dropped at
    once with HRV_SQUAD_RUNS=2 become two squad runs, each in a container of its own and
    running at the same time; every check of every athlete shows in the UI; the run logs
    too."""
    stack.compose("down", "--timeout", "20")
    stack.override = True
    stack.set_env(HRV_SQUAD_RUNS="2")
    stack.up()
    before = {r["runId"] for r in stack.runs()}
    squad = tuple(
        AthleteProfile(name, base, journal, source)
        for name, base, journal, source in (
            ("eli", 44.0, "json_yaml", "whoop"),
            ("finn", 71.0, "md_named", "garmin"),
            ("gus", 58.0, "csv_plus_md", "generic_csv"),
            ("hana", 66.0, "json_yaml", "generic_csv"),
            ("ivo", 52.0, "md_named", "whoop"),
            ("jo", 80.0, "json_yaml", "garmin"),
        )
    )
    athletes = [p.athlete for p in squad]
    stack.drop(_staged(tmp_path, squad, days=40, seed=5))
    stack.wait_for_forecasts(athletes)
    new = [r for r in stack.runs() if r["runId"] not in before]
    assert_every_failure_was_retried(new)
    timed = {
        r["runId"]: r
        for r in stack.gql(RUN_TIMES)["runsOrError"]["results"]
        if r["runId"] not in before
    }
    squads = [r for r in timed.values() if r["jobName"] == "squad_update"]
    containers = _docker(
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        "ancestor=hrv-sentinel:latest",
        "--format",
        "{{.ID}} {{.Command}}",
    ).splitlines()
    # each squad run in a container of its own (the run id is in the container's command)
    holders = {r["runId"]: [c.split()[0] for c in containers if r["runId"] in c] for r in squads}
    assert all(len(ids) == 1 for ids in holders.values()), holders
    assert len({ids[0] for ids in holders.values()}) == len(squads)
    # the tick's six athletes were spread over two runs that ran at the same time
    pairs = [
        (a, b)
        for a in squads
        for b in squads
        if a["runId"] < b["runId"]
        and a["startTime"] < b["endTime"]
        and b["startTime"] < a["endTime"]
    ]
    assert pairs, [(r["runId"][:8], r["startTime"], r["endTime"]) for r in squads]
    # the Runs page names them: together, the squad runs' hrv/athletes tags are everyone
    named = {
        name
        for r in squads
        for t in r["tags"]
        if t["key"] == "hrv/athletes"
        for name in t["value"].split(", ")
    }
    assert named == set(athletes), named
    for (asset, check), shown in _check_partitions(stack).items():
        assert set(athletes) <= shown, (asset, check, shown)
    events = stack.gql(LOG_EVENTS, {"r": squads[0]["runId"]})["logsForRun"]["events"]
    keys = [e["fileKey"] for e in events if e["__typename"] == "LogsCapturedEvent"]
    logs = stack.gql(CAPTURED, {"k": [squads[0]["runId"], "compute_logs", keys[0]]})
    text = (logs["capturedLogs"]["stderr"] or "") + (logs["capturedLogs"]["stdout"] or "")
    assert "STEP_START" in text, logs


def _check_partitions(stack: Stack) -> dict[tuple[str, str], set[str]]:
    """Every athlete check's partitions the UI counts (passed or failed)."""
    out = {}
    for node in stack.gql(CHECKS)["assetNodes"]:
        key = "/".join(node["assetKey"]["path"])
        if key == "agent/squad_board":
            continue
        for check in node["assetChecksOrError"]["checks"]:
            st = check["partitionStatuses"] or {}
            out[(key, check["name"])] = set(st.get("succeededPartitions", [])) | set(
                st.get("failedPartitions", [])
            )
    return out
