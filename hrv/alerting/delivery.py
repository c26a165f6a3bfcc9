"""Delivering alerts: the outbox (one file per message) and the Slack sender loop.

A message leaves the outbox only once Slack accepted it, so an outage, a restart or a
crash loses nothing. ``deliver`` is what the ``alert_dispatcher`` sensor calls each tick;
the transport (Slack via slack-sdk) is passed in, so this module knows no Slack or Dagster.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hrv.alerting.catalogue import Alert
from hrv.storage.files import write_json_atomic

OUTBOX_DIR = "alerts_outbox"


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
    grouped: int = 0
    config_error: str | None = None
    paused_until: float | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.sent} sent", f"{self.queued} queued"]
        if self.grouped:
            parts.append(f"{self.grouped} rejected files in one message")
        if self.dropped:
            parts.append(f"{self.dropped} logged only (Slack not configured)")
        if self.config_error:
            parts.append(f"Slack configuration error: {self.config_error}")
        if self.paused_until:
            parts.append("rate limited by Slack")
        return ", ".join(parts)


def backoff_seconds(attempts: int) -> float:
    return float(min(600, 2 ** max(0, attempts - 1)))


# A configuration Slack refused (a bot not in the channel, a revoked token) is tried again
# this often, so the queue resumes by itself once someone fixes it in Slack.
RECHECK_PERMANENT_SECONDS = 600.0
# From this many files rejected waiting at once, one message lists them.
GROUP_REJECTIONS_FROM = 6
# Rejections are held until none has arrived for this long (a flood lands over several
# sensor ticks), but never longer than REJECTIONS_MAX_WAIT_SECONDS (Alertmanager's
# group_wait, with a cap).
REJECTIONS_QUIET_SECONDS = 5.0
REJECTIONS_MAX_WAIT_SECONDS = 60.0
# One dispatcher tick spends at most this long talking to Slack.
TICK_BUDGET_SECONDS = 20.0


def _due_rejections(messages: list[OutboxMessage], now: float) -> list[OutboxMessage]:
    return [
        m
        for m in messages
        if m.next_attempt_at <= now
        and m.alert.get("kind") == "rejected_file"
        and m.alert.get("status") == "firing"
    ]


_REJECTION_KEYS = ("rejections_seen", "rejections_changed_at", "rejections_first_at")


def _rejection_memory(status: dict[str, Any]) -> dict[str, Any]:
    return {k: status[k] for k in _REJECTION_KEYS if k in status}


def _hold_rejections(rejected: list[OutboxMessage], status: dict[str, Any], now: float) -> bool:
    """Whether rejections still seem to be arriving; updates ``status`` (the dispatcher's
    memory between ticks) with what this tick saw."""
    if not rejected:
        for key in _REJECTION_KEYS:
            status.pop(key, None)
        return False
    if status.get("rejections_seen") != len(rejected):
        status["rejections_seen"] = len(rejected)
        status["rejections_changed_at"] = now
        status.setdefault("rejections_first_at", now)
    quiet = now - float(status["rejections_changed_at"]) >= REJECTIONS_QUIET_SECONDS
    waited = now - float(status["rejections_first_at"]) >= REJECTIONS_MAX_WAIT_SECONDS
    if quiet or waited:  # they go out this tick: the next rejection starts a new wait
        for key in _REJECTION_KEYS:
            status.pop(key, None)
        return False
    return True


def deliver(
    outbox: Outbox,
    transport: Transport | None,
    *,
    now: float,
    status_path: Path,
    max_messages: int = 20,
    log: Any = None,
    clock: Any = None,
) -> DeliveryReport:
    """Send due messages in order. Never raises for Slack's answers or a network error.

    - not configured: each message goes to the log only, then leaves the outbox;
    - 429: every message waits ``Retry-After`` seconds (Slack's pacing is per workspace);
    - 5xx or a network error: that message backs off 1, 2, 4, ... 600 s;
    - invalid token, unknown channel: one clear error, recorded in the status file; the
      messages stay queued until the configuration changes, or until a retry every
      ``RECHECK_PERMANENT_SECONDS`` finds it fixed on Slack's side (the bot invited);
    - rejected files wait until none arrived for ``REJECTIONS_QUIET_SECONDS`` (at most
      ``REJECTIONS_MAX_WAIT_SECONDS``); many at once go in one message ("N more
      suppressed");
    - a Slack that does not answer costs one timeout per tick, not one per message, and a
      tick stops after ``TICK_BUDGET_SECONDS``.
    """
    import time as _time

    clock = clock or _time.monotonic
    started = clock()
    report = DeliveryReport()
    messages = outbox.pending()
    status = _read_json(status_path)
    if (
        transport is not None
        and status.get("config_error")
        and status.get("config_fingerprint") == transport.fingerprint
        and now - float(status.get("since", 0)) < RECHECK_PERMANENT_SECONDS
    ):
        report.config_error = status["config_error"]
        report.queued = len(messages)
        return report
    if transport is not None and status.get("paused_until", 0) > now:
        report.paused_until = status["paused_until"]
        report.queued = len(messages)
        return report
    handled = 0
    rejected = _due_rejections(messages, now) if transport is not None else []
    before = dict(status)
    held = _hold_rejections(rejected, status, now)
    if transport is not None and status != before:
        _write_status(status_path, status)
    if held:
        report.deferred += len(rejected)
        messages = [m for m in messages if m not in rejected]
    grouped = rejected if not held and len(rejected) >= GROUP_REJECTIONS_FROM else []
    if grouped:
        from hrv.alerting.catalogue import rejections_grouped

        handled += 1
        outcome = transport.send(  # type: ignore[union-attr]
            rejections_grouped([m.alert for m in grouped]).to_dict(), None
        )
        if outcome.ok:
            for m in grouped:
                m.path.unlink(missing_ok=True)
            report.sent += 1
            report.grouped = len(grouped)
            messages = [m for m in messages if m not in grouped]
        # otherwise the loop below meets the same answer on the first of them
    for msg in messages:
        if handled >= max_messages or clock() - started > TICK_BUDGET_SECONDS:
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
                    **_rejection_memory(status),
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
            _write_status(
                status_path, {**_rejection_memory(status), "paused_until": report.paused_until}
            )
            break
        msg.next_attempt_at = now + backoff_seconds(msg.attempts)
        msg.save()
        report.errors.append(outcome.error or "error")
        break  # Slack is down or not answering: the others wait for the next tick
    if transport is not None and report.sent and status != _rejection_memory(status):
        _write_status(status_path, _rejection_memory(status))
    report.queued = len(outbox.pending())
    return report


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _write_status(path: Path, body: dict[str, Any]) -> None:
    write_json_atomic(path, body)
