"""Alert records: one JSON object per line in ``data/alerts.jsonl``.

Every alert lands there (and in the log) whether or not Slack is configured; the
semantics (deduplication, suppression, resolution, the outbox) are in ``hrv/alerting.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

KINDS = (
    "run_failure",
    "check_failure",
    "stale_source",
    "rejected_file",
    "stuck_file",
    "sensor_failure",
)
SEVERITIES = ("info", "warning", "error")
STATUSES = ("firing", "resolved")
ALERTS_FILE = "alerts.jsonl"


@dataclass(frozen=True)
class Alert:
    kind: str
    severity: str
    status: str
    title: str
    text: str
    fingerprint: str
    athlete: str | None
    at: str
    subject: str | None = None  # the asset, check or file concerned
    link: str | None = None  # path in the Dagster UI, e.g. /runs/<run_id>

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_alert(
    kind: str,
    *,
    title: str,
    text: str,
    fingerprint: str,
    athlete: str | None,
    severity: str = "warning",
    status: str = "firing",
    at: dt.datetime | None = None,
    subject: str | None = None,
    link: str | None = None,
) -> Alert:
    stamp = (at or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
    return Alert(kind, severity, status, title, text, fingerprint, athlete, stamp, subject, link)


def record_alert(data_dir: Path, alert: Alert) -> bool:
    """Record an alert with the alert manager's semantics; True if it will be delivered."""
    from hrv.alerting.book import AlertBook

    return AlertBook(Path(data_dir)).record(alert).delivered


def read_alerts(data_dir: Path) -> list[dict[str, Any]]:
    path = Path(data_dir) / ALERTS_FILE
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def rejected_file_alert(rel: str, athlete: str | None, errors: list[str], sha: str | None) -> Alert:
    shown = "\n".join(f"- {e}" for e in errors[:5])
    more = f"\n(and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return make_alert(
        "rejected_file",
        title=f"Rejected journal file {rel}",
        text=f"{rel} was moved to inbox/rejected/ with {rel.rsplit('/', 1)[-1]}.error.json:\n"
        + shown
        + more,
        fingerprint=f"rejected_file:{athlete or '-'}:{rel}:{(sha or '')[:12]}",
        athlete=athlete,
        subject=rel,
    )


def stuck_file_alert(rel: str, athlete: str, attempts: int, reason: str) -> Alert:
    return make_alert(
        "stuck_file",
        severity="error",
        title=f"Journal file {rel} is stuck",
        text=f"{rel} for athlete '{athlete}' is still pending after {attempts} runs: {reason}. "
        "It stays in the inbox; fix the cause and save the file again (a new modification "
        "time resets the attempts).",
        fingerprint=f"stuck_file:{athlete}:{rel}",
        athlete=athlete,
        subject=rel,
    )
