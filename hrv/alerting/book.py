"""Alert semantics, like Alertmanager: what is said, and when (pure: no Dagster, no Slack).

Producers (sensors, runs) call ``AlertBook.record``. Per fingerprint (kind, athlete,
asset or check) the book keeps a state in ``data/alerts_state.json`` and decides:

- firing, not firing before      -> delivered
- firing again within the window -> suppressed and counted
- firing again after the window  -> delivered, with "N more suppressed"
- firing again, more severe       -> delivered at once (an escalation is news)
- resolved while firing          -> delivered ("resolved"); resolved otherwise -> nothing
Every recorded alert is appended to ``data/alerts.jsonl``; delivered ones are also put in
the outbox (``data/alerts_outbox/``, one file per message), which the dispatcher drains
to Slack with retries. A message leaves the outbox only once Slack accepted it, so an
outage, a restart or a crash loses nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hrv.alerting.catalogue import ALERTS_FILE, Alert
from hrv.storage.files import write_json_atomic

STATE_FILE = "alerts_state.json"
OUTBOX_DIR = "alerts_outbox"
LOCK_FILE = ".alerts.lock"
DEFAULT_REPEAT_MINUTES = 60.0
RESOLVED_RETENTION = dt.timedelta(days=14)
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


def repeat_window() -> dt.timedelta:
    raw = os.environ.get("HRV_ALERT_REPEAT_MINUTES")
    try:
        minutes = float(raw) if raw else DEFAULT_REPEAT_MINUTES
    except ValueError:
        minutes = DEFAULT_REPEAT_MINUTES
    return dt.timedelta(minutes=max(0.0, minutes))


@dataclass
class Decision:
    recorded: bool
    delivered: bool
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
    def __init__(self, data_dir: Path, window: dt.timedelta | None = None):
        self.data_dir = Path(data_dir)
        self.window = window if window is not None else repeat_window()

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
                    }
                entry["occurrences"] = entry.get("occurrences", 0) + 1
                entry["last_at"] = now.isoformat()
                if decision.delivered:
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
            line = alert.to_dict() | {"delivered": decision.delivered}
            if decision.note:
                line["note"] = decision.note
            _append_line(self.data_dir / ALERTS_FILE, line)
            if decision.delivered:
                Outbox(self.data_dir).put(alert, decision.note, now)
            return decision

    def _decide(self, alert: Alert, entry: dict[str, Any] | None, now: dt.datetime) -> Decision:
        firing = entry is not None and entry.get("status") == "firing"
        if alert.status == "resolved":
            if not firing:
                return Decision(recorded=False, delivered=False)
            n = int(entry.get("suppressed", 0)) if entry else 0
            note = f"{n} more suppressed while firing" if n else None
            return Decision(True, True, n, note)
        if not firing:
            return Decision(True, True)
        assert entry is not None
        last_sent = _parse(entry.get("last_sent"))
        n = int(entry.get("suppressed", 0))
        escalated = SEVERITY_RANK.get(alert.severity, 1) > SEVERITY_RANK.get(
            str(entry.get("severity")), 1
        )
        if last_sent is not None and now - last_sent < self.window and not escalated:
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


# --------------------------------------------------------------------------- outbox
@dataclass
class OutboxMessage:
    path: Path
    alert: dict[str, Any]
    note: str | None
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None

    def save(self) -> None:
        write_json_atomic(
            self.path,
            {
                "alert": self.alert,
                "note": self.note,
                "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at,
                "last_error": self.last_error,
            },
        )


class Outbox:
    """Messages waiting for Slack, one JSON file each, in creation order."""

    def __init__(self, data_dir: Path):
        self.dir = Path(data_dir) / OUTBOX_DIR

    def put(self, alert: Alert, note: str | None, now: dt.datetime) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(alert.fingerprint.encode()).hexdigest()[:10]
        path = self.dir / f"{int(now.timestamp() * 1e9):020d}-{digest}-{os.getpid()}.json"
        OutboxMessage(path, alert.to_dict(), note).save()
        return path

    def pending(self) -> list[OutboxMessage]:
        if not self.dir.is_dir():
            return []
        out = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                raw = json.loads(path.read_text())
            except (FileNotFoundError, ValueError):
                continue
            out.append(
                OutboxMessage(
                    path,
                    raw["alert"],
                    raw.get("note"),
                    int(raw.get("attempts", 0)),
                    float(raw.get("next_attempt_at", 0.0)),
                    raw.get("last_error"),
                )
            )
        return out


# --------------------------------------------------------------------------- delivery
@dataclass
class SendOutcome:
    ok: bool
    retry_after: float | None = None  # seconds (HTTP 429)
    permanent: bool = False  # configuration problem: retrying will not help
    error: str | None = None


class Transport(Protocol):
    fingerprint: str

    def send(self, alert: dict[str, Any], note: str | None) -> SendOutcome: ...


@dataclass
class DeliveryReport:
    sent: int = 0
    dropped: int = 0
    deferred: int = 0
    queued: int = 0
    config_error: str | None = None
    paused_until: float | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.sent} sent", f"{self.queued} queued"]
        if self.dropped:
            parts.append(f"{self.dropped} logged only (Slack not configured)")
        if self.config_error:
            parts.append(f"Slack configuration error: {self.config_error}")
        if self.paused_until:
            parts.append("rate limited by Slack")
        return ", ".join(parts)


def backoff_seconds(attempts: int) -> float:
    return float(min(600, 2 ** max(0, attempts - 1)))


def deliver(
    outbox: Outbox,
    transport: Transport | None,
    *,
    now: float,
    status_path: Path,
    max_messages: int = 20,
    log: Any = None,
) -> DeliveryReport:
    """Send due messages in order. Never raises for Slack's answers or a network error.

    - not configured: each message goes to the log only, then leaves the outbox;
    - 429: every message waits ``Retry-After`` seconds (Slack's pacing is per workspace);
    - 5xx or a network error: that message backs off 1, 2, 4, ... 600 s;
    - invalid token, unknown channel: one clear error, recorded in the status file; the
      messages stay queued until the configuration changes.
    """
    report = DeliveryReport()
    messages = outbox.pending()
    status = _read_json(status_path)
    if (
        transport is not None
        and status.get("config_error")
        and status.get("config_fingerprint") == transport.fingerprint
    ):
        report.config_error = status["config_error"]
        report.queued = len(messages)
        return report
    if transport is not None and status.get("paused_until", 0) > now:
        report.paused_until = status["paused_until"]
        report.queued = len(messages)
        return report
    handled = 0
    for msg in messages:
        if handled >= max_messages:
            break
        if transport is None:
            if log is not None:
                log.info(f"alert (Slack not configured): {msg.alert.get('title')}")
            msg.path.unlink(missing_ok=True)
            report.dropped += 1
            continue
        if msg.next_attempt_at > now:
            report.deferred += 1
            continue
        handled += 1
        outcome = transport.send(msg.alert, msg.note)
        if outcome.ok:
            msg.path.unlink(missing_ok=True)
            report.sent += 1
            continue
        msg.attempts += 1
        msg.last_error = outcome.error
        if outcome.permanent:
            msg.save()
            report.config_error = outcome.error
            _write_status(
                status_path,
                {
                    "config_error": outcome.error,
                    "config_fingerprint": transport.fingerprint,
                    "since": now,
                },
            )
            if log is not None:
                log.error(
                    f"Slack rejected the configuration: {outcome.error}. Alerts stay "
                    "queued in data/alerts_outbox/ and are in data/alerts.jsonl; fix "
                    "SLACK_BOT_TOKEN / SLACK_CHANNEL / SLACK_WEBHOOK_URL."
                )
            break
        if outcome.retry_after is not None:
            msg.next_attempt_at = now + outcome.retry_after
            msg.save()
            report.paused_until = now + outcome.retry_after
            _write_status(status_path, {"paused_until": report.paused_until})
            break
        msg.next_attempt_at = now + backoff_seconds(msg.attempts)
        msg.save()
        report.errors.append(outcome.error or "error")
    if transport is not None and report.sent and status:
        _write_status(status_path, {})
    report.queued = len(outbox.pending())
    return report


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _write_status(path: Path, body: dict[str, Any]) -> None:
    write_json_atomic(path, body)
