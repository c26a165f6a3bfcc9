"""What an alert is: its kinds, its fields, its fingerprint (``hrv.alerting.catalogue``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["info", "warning", "error"]
Status = Literal["firing", "resolved"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")
STATUSES: tuple[Status, ...] = ("firing", "resolved")


@dataclass(frozen=True)
class Kind:
    """One kind of alert: its name in ``alerts.jsonl``, its label in Slack, what it is about."""

    name: str
    label: str
    about: Literal["pipeline", "athlete"]
    meaning: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("run_failure", "Run failed", "pipeline", "a run failed at an asset"),
        Kind("check_failure", "Asset check failed", "pipeline", "a check failed (ERROR or WARN)"),
        Kind("stale_source", "Stale wearable source", "pipeline", "an athlete's readings stopped"),
        Kind("rejected_file", "File rejected", "pipeline", "a journal or export was rejected"),
        Kind("stuck_file", "File stuck", "pipeline", "a file is still pending after its runs"),
        Kind("sensor_failure", "Sensor failing", "pipeline", "a sensor failed 3 ticks in a row"),
        Kind(
            "source_api_error",
            "Source API failing",
            "pipeline",
            "a wearable hub's API refuses or fails (bad key, athlete not shared, service down)",
        ),
        Kind("athlete_flag", "Athlete flag", "athlete", "an athlete needs the coach's attention"),
    )
}


@dataclass(frozen=True)
class Alert:
    kind: str
    severity: Severity
    status: Status
    title: str
    text: str
    fingerprint: str
    athlete: str | None
    at: str
    subject: str | None = None  # the asset, check or file concerned
    link: str | None = None  # path in the Dagster UI, e.g. /runs/<run_id>
    cooldown_hours: float = 0.0  # a repeat this soon after it resolved stays quiet

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(kind: str, athlete: str | None, subject: str) -> str:
    return f"{kind}:{athlete or '-'}:{subject}"


def _stamp(at: dt.datetime | None) -> str:
    return (at or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()


def _alert(
    kind: str,
    subject: str,
    *,
    athlete: str | None,
    title: str,
    text: str,
    severity: Severity = "warning",
    status: Status = "firing",
    link: str | None = None,
    at: dt.datetime | None = None,
    cooldown_hours: float = 0.0,
) -> Alert:
    return Alert(
        kind=kind,
        severity="info" if status == "resolved" else severity,
        status=status,
        title=title,
        text=text,
        fingerprint=fingerprint(kind, athlete, subject),
        athlete=athlete,
        at=_stamp(at),
        subject=subject,
        link=link,
        cooldown_hours=cooldown_hours,
    )


def _for(athlete: str | None) -> str:
    return f" for {athlete}" if athlete else ""
