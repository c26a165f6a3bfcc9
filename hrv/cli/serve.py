"""``make run``: the Dagster UI and daemon (``dagster dev``) and the inbox watcher, as one.

Both run in process groups of their own, so that stopping is this program's job and it
does it the same way however it is asked: Ctrl-C in a terminal, ``kill -TERM`` of ``make``
(which passes SIGTERM on to this program) or of this program, SIGINT to the whole process
group, or a hang-up. ``dagster dev`` gets SIGINT (its own clean shutdown of the webserver,
the daemon and the code server), the watcher SIGTERM; whatever is still running after
``STOP_SECONDS`` is killed, process group and all, so nothing is left holding the port.
If either child exits on its own, the other is stopped too and its exit status returned.

Example: ``HRV_WEB_PORT=3001 make run`` serves the UI on http://127.0.0.1:3001.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from hrv.settings import SettingsError, load_settings

STOP_SECONDS = 20.0
BIN = Path(sys.executable).parent


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _stop(children: Sequence[tuple[subprocess.Popen, int]]) -> None:
    for proc, sig in children:
        if proc.poll() is None:
            _signal_group(proc, sig)
    deadline = time.monotonic() + STOP_SECONDS
    for proc, _ in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.1, deadline - time.monotonic()))
    # whatever is left, the leaders' children included (daemon, webserver, code server)
    for proc, _ in children:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()


def main() -> int:
    try:
        port = load_settings().web_port  # HRV_WEB_PORT; links in alerts follow it
    except SettingsError as exc:
        print(f"hrv-sentinel: {exc}", file=sys.stderr)
        return 2
    requested: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        requested.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    watcher = subprocess.Popen([sys.executable, "-m", "hrv.cli.watcher"], start_new_session=True)
    dagster = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
        start_new_session=True,
    )
    children = [(dagster, signal.SIGINT), (watcher, signal.SIGTERM)]
    print(f"hrv-sentinel: UI on http://127.0.0.1:{port} (Ctrl-C stops everything)", flush=True)
    try:
        while not requested and all(p.poll() is None for p, _ in children):
            time.sleep(0.2)
    finally:
        if requested:
            print(
                f"hrv-sentinel: {signal.Signals(requested[0]).name}: stopping the UI, "
                "the daemon and the watcher",
                flush=True,
            )
        _stop(children)
    if requested:
        return 128 + requested[0] if requested[0] != signal.SIGINT else 130
    return next((p.returncode for p, _ in children if p.returncode), 0)


if __name__ == "__main__":
    sys.exit(main())
