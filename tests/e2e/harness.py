"""Start the real Dagster processes for end-to-end tests, and wait on what they do."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IN_PROGRESS = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
}


def embedded_home(path: Path) -> Path:
    """A DAGSTER_HOME with the same instance config that `make run` uses, its SQLite
    storage created here, before any Dagster process starts: two processes creating a
    fresh SQLite schema at once can leave two alembic heads and an unloadable instance."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "deploy" / "dagster.local.yaml", path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(path)) as instance:
        instance.get_runs(limit=1)
        instance.get_dynamic_partitions("athletes")
        instance.all_instigator_state()
        instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["bronze", "journal_entries"])), limit=1
        )
    return path


class DagsterProcess:
    """One long-running Dagster command (daemon, webserver, code server) in its own group."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.args = args
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self._orphans: list[int] = []

    def start(self) -> DagsterProcess:
        fh = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        fh.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def kill_leader(self) -> None:
        """SIGKILL the daemon process alone; what it started (code server, run workers)
        is left to notice on its own, as after a real crash of the daemon."""
        if self.proc is not None and self.proc.poll() is None:
            self._orphans.append(self.proc.pid)
            self.proc.kill()
            self.proc.wait(timeout=30)

    def kill(self) -> None:
        """SIGKILL the whole process group, like a power cut for this process tree."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 30) -> None:
        for pgid in self._orphans:  # process groups of killed leaders
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        self._orphans.clear()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return "(no log)"


def daemon(home: Path, env: dict[str, str], log: Path) -> DagsterProcess:
    full_env = {**os.environ, **env, "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return DagsterProcess(
        [str(BIN / "dagster-daemon"), "run", "-f", str(ROOT / "definitions.py")], full_env, log
    )


def wait_for(
    predicate: Callable[[], Any],
    timeout: float,
    what: str,
    on_timeout: Callable[[], str] = lambda: "",
    interval: float = 0.25,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}\n{on_timeout()}"
            )
        time.sleep(interval)


def runs(
    instance: dg.DagsterInstance, since: float = 0.0, board: bool = False
) -> list[dg.DagsterRun]:
    """Runs created since ``since``; the squad board's own refreshes only with ``board``."""
    out = []
    for record in instance.get_run_records():
        run = record.dagster_run
        if record.create_timestamp.timestamp() >= since and (
            board or run.job_name != "squad_board"
        ):
            out.append(run)
    return out


def quiet(instance: dg.DagsterInstance) -> bool:
    return not any(r.status in IN_PROGRESS for r in runs(instance, board=True))


def materializations(instance: dg.DagsterInstance, run_ids: list[str]) -> set[tuple[str, str]]:
    out = set()
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            event = entry.dagster_event
            if event is None:
                continue
            mat = event.step_materialization_data.materialization
            out.add((mat.asset_key.to_user_string(), mat.partition))
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(home: Path, env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **env, "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def code_server(home: Path, env: dict[str, str], port: int, log: Path) -> DagsterProcess:
    return DagsterProcess(
        [
            str(BIN / "dagster"),
            "code-server",
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-f",
            str(ROOT / "definitions.py"),
            "--location-name",
            "hrv_sentinel",
        ],
        stack_env(home, env),
        log,
    )


def workspace_daemon(home: Path, env: dict[str, str], workspace: Path, log: Path) -> DagsterProcess:
    return DagsterProcess(
        [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], stack_env(home, env), log
    )


def webserver(
    home: Path, env: dict[str, str], workspace: Path, port: int, log: Path
) -> DagsterProcess:
    return DagsterProcess(
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)],
        stack_env(home, env),
        log,
    )


def graphql(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    import json
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.loads(resp.read())
    if body.get("errors"):
        raise AssertionError(f"GraphQL errors: {body['errors']}")
    return body["data"]
