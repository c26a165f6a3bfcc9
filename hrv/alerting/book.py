"""Alert semantics, like Alertmanager: what is said, and when (pure: no Dagster, no Slack).

Producers (sensors, runs, steps) build an alert with ``hrv.alerting.catalogue`` and call
``AlertBook.record``. Per fingerprint the book keeps a state in ``data/alerts_state.json``
and decides:

- firing, not firing before      -> notify
- firing again within the window -> suppressed and counted
- firing again after the window  -> notify, with "N more suppressed"
- firing again, more severe       -> notify at once (an escalation is news)
- resolved while firing          -> notify ("resolved"); resolved otherwise -> nothing
- an alert with ``cooldown_hours`` (athlete flags) repeats while firing at most once per
  cooldown, and firing again within it after it resolved is kept quiet (recorded,
  suppressed), and so is the resolution that ends it (a flapping athlete flag is one
  message, not one a day)
Every recorded alert is appended to ``data/alerts.jsonl`` with what became of it
(``delivery``: ``slack``, ``log`` when Slack is not configured, or ``suppressed``); those
to notify are put in the outbox (``hrv.alerting.delivery``), drained by the dispatcher.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hrv.alerting.catalogue import Alert
from hrv.alerting.delivery import Outbox
from hrv.storage.files import write_json_atomic

ALERTS_FILE = "alerts.jsonl"
STATE_FILE = "alerts_state.json"
LOCK_FILE = ".alerts.lock"
RESOLVED_RETENTION = dt.timedelta(days=14)
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
COOLDOWN_NOTE = "within its cooldown after it resolved"


@dataclass(frozen=True)
class AlertPolicy:
    """How the book treats repeats, and where notifications go."""

    repeat_window: dt.timedelta = dt.timedelta(minutes=60)
    slack_configured: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> AlertPolicy:
        return cls(dt.timedelta(minutes=settings.alert_repeat_minutes), settings.slack_configured)


@dataclass
class Decision:
    recorded: bool
    notify: bool
    suppressed: int = 0
    note: str | None = None


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _parse(ts: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(ts) if ts else None


class AlertBook:
    def __init__(self, data_dir: Path, policy: AlertPolicy | None = None):
        self.data_dir = Path(data_dir)
        self.policy = policy or AlertPolicy()

    @property
    def state_path(self) -> Path:
        return self.data_dir / STATE_FILE

    def state(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self.state_path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def firing(self, prefix: str = "") -> list[str]:
        return sorted(
            fp
            for fp, s in self.state().items()
            if s.get("status") == "firing" and fp.startswith(prefix)
        )

    def record(self, alert: Alert, now: dt.datetime | None = None) -> Decision:
        now = now or dt.datetime.now(dt.UTC)
        with _locked(self.data_dir):
            state = self.state()
            entry = state.get(alert.fingerprint)
            decision = self._decide(alert, entry, now)
            if not decision.recorded:
                return decision
            if alert.status == "firing":
                if entry is None or entry.get("status") != "firing":
                    entry = {
                        "status": "firing",
                        "since": now.isoformat(),
                        "suppressed": 0,
                        "occurrences": 0,
                        "quiet": decision.note == COOLDOWN_NOTE,
                    }
                entry["occurrences"] = entry.get("occurrences", 0) + 1
                entry["last_at"] = now.isoformat()
                if decision.notify:
                    entry["last_sent"] = now.isoformat()
                    entry["suppressed"] = 0
                else:
                    entry["suppressed"] = entry.get("suppressed", 0) + 1
            else:
                entry = {
                    "status": "resolved",
                    "since": now.isoformat(),
                    "suppressed": 0,
                    "last_at": now.isoformat(),
                    "last_sent": now.isoformat(),
                }
            entry.update(
                kind=alert.kind, athlete=alert.athlete, title=alert.title, severity=alert.severity
            )
            state[alert.fingerprint] = entry
            self._prune(state, now)
            write_json_atomic(self.state_path, state)
            delivery = (
                ("slack" if self.policy.slack_configured else "log")
                if decision.notify
                else "suppressed"
            )
            line = alert.to_dict() | {"delivery": delivery}
            if decision.note:
                line["note"] = decision.note
            _append_line(self.data_dir / ALERTS_FILE, line)
            if decision.notify:
                Outbox(self.data_dir).put(alert, decision.note, now)
            return decision

    def _decide(self, alert: Alert, entry: dict[str, Any] | None, now: dt.datetime) -> Decision:
        firing = entry is not None and entry.get("status") == "firing"
        if alert.status == "resolved":
            if not firing:
                return Decision(recorded=False, notify=False)
            if entry and entry.get("quiet"):  # its firing was never announced either
                return Decision(True, False, note=COOLDOWN_NOTE)
            n = int(entry.get("suppressed", 0)) if entry else 0
            note = f"{n} more suppressed while firing" if n else None
            return Decision(True, True, n, note)
        if not firing:
            resolved_at = _parse(entry.get("since")) if entry else None
            cooldown = dt.timedelta(hours=alert.cooldown_hours)
            if resolved_at is not None and cooldown and now - resolved_at < cooldown:
                return Decision(True, False, note=COOLDOWN_NOTE)
            return Decision(True, True)
        assert entry is not None
        if entry.get("quiet"):  # came back within its cooldown: stays quiet while firing
            return Decision(True, False, int(entry.get("suppressed", 0)) + 1)
        assert entry is not None
        last_sent = _parse(entry.get("last_sent"))
        n = int(entry.get("suppressed", 0))
        escalated = SEVERITY_RANK.get(alert.severity, 1) > SEVERITY_RANK.get(
            str(entry.get("severity")), 1
        )
        # an alert with a cooldown (athlete flags) repeats at most once per cooldown
        window = max(self.policy.repeat_window, dt.timedelta(hours=alert.cooldown_hours))
        if last_sent is not None and now - last_sent < window and not escalated:
            return Decision(True, False, n + 1)
        note = f"{n} more suppressed since {entry.get('last_sent', '')[:16]}" if n else None
        return Decision(True, True, n, note)

    @staticmethod
    def _prune(state: dict[str, dict[str, Any]], now: dt.datetime) -> None:
        for fp in [fp for fp, s in state.items() if s.get("status") == "resolved"]:
            since = _parse(state[fp].get("since"))
            if since is not None and now - since > RESOLVED_RETENTION:
                del state[fp]


def _append_line(path: Path, obj: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def record_alert(data_dir: Path, alert: Alert, policy: AlertPolicy | None = None) -> bool:
    """Record ``alert`` with the book's semantics; True if it will be notified."""
    return AlertBook(Path(data_dir), policy).record(alert).notify


def read_alerts(data_dir: Path) -> list[dict[str, Any]]:
    """Every line of ``data/alerts.jsonl``, oldest first."""
    path = Path(data_dir) / ALERTS_FILE
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
