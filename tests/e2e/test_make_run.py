"""`make run` stops cleanly without a terminal: every process it started ends, the port
is free, whichever way it is asked (the issue: SIGINT then SIGTERM to make left processes
running and the UI dead for over a minute)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, free_port, wait_for

pytestmark = pytest.mark.e2e


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return out


def descendants(pid: int) -> set[int]:
    tree, out, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_make_run(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "HRV_INBOX_DIR": str(tmp_path / "inbox"),
        "HRV_SOURCES_DIR": str(tmp_path / "sources"),
        "HRV_DATA_DIR": str(tmp_path / "data"),
        "HRV_ATHLETES_FILE": str(tmp_path / "athletes.yaml"),
        "HRV_WEB_PORT": str(port),
    }
    log = (tmp_path / "make-run.log").open("w")
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # no terminal, a process group of its own
    )
    wait_for(
        lambda: listening(port) or make.poll() is not None,
        180,
        "the UI of make run",
        lambda: (tmp_path / "make-run.log").read_text()[-3000:],
    )
    assert make.poll() is None, (tmp_path / "make-run.log").read_text()[-3000:]
    # the watcher, dagster dev, its webserver, daemon and code server
    wait_for(lambda: len(descendants(make.pid)) >= 5, 60, "every process of make run")
    return make, port


def assert_all_stopped(tmp_path: Path, make: subprocess.Popen, port: int, started: set[int]):
    try:
        make.wait(45)
    except subprocess.TimeoutExpired:
        pytest.fail("make run still running 45 s after being asked to stop")
    wait_for(
        lambda: not [p for p in started if alive(p)] and not listening(port),
        15,
        "every process of make run gone and the port free",
        lambda: (
            f"left: {[p for p in started if alive(p)]}\n"
            + (tmp_path / "make-run.log").read_text()[-3000:]
        ),
    )


def test_sigint_then_sigterm_to_make_stops_everything(tmp_path):
    make, port = start_make_run(tmp_path)
    started = descendants(make.pid)
    make.send_signal(signal.SIGINT)  # make alone: it waits for its child ...
    time.sleep(2)
    make.send_signal(signal.SIGTERM)  # ... and passes SIGTERM on to it
    t0 = time.monotonic()
    assert_all_stopped(tmp_path, make, port, started)
    assert time.monotonic() - t0 < 40
    assert (
        "SIGTERM: stopping the UI, the daemon and the watcher"
        in (tmp_path / "make-run.log").read_text()
    )


def test_sigint_to_the_process_group_stops_everything(tmp_path):
    """What Ctrl-C does in a terminal, sent by a script instead."""
    make, port = start_make_run(tmp_path)
    started = descendants(make.pid)
    os.killpg(make.pid, signal.SIGINT)
    assert_all_stopped(tmp_path, make, port, started)
    assert "SIGINT: stopping" in (tmp_path / "make-run.log").read_text()
