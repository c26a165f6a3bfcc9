"""Every alert hrv-sentinel can raise: kinds, severities, fingerprints and wording.

This is the one place that says what an alert is called, how it is identified and what
it says. Producers (sensors, runs, steps) call the constructors below and hand the result
to ``hrv.alerting.book.record_alert``; nothing else builds an ``Alert``.

A fingerprint identifies "the same problem": ``<kind>:<athlete or ->:<subject>``. A
firing alert and the resolved alert that ends it share a fingerprint.
"""

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


# --------------------------------------------------------------------------- runs
def run_failed(athlete: str | None, asset: str, lines: list[str], run_id: str) -> Alert:
    """A run failed at ``asset`` (or, with no asset known, at its job)."""
    return _alert(
        "run_failure",
        asset,
        athlete=athlete,
        severity="error",
        title=f"Run failed{_for(athlete)} at {asset}",
        text="\n".join(lines),
        link=f"/runs/{run_id}",
    )


def run_recovered(athlete: str | None, asset: str, run_id: str) -> Alert:
    return _alert(
        "run_failure",
        asset,
        athlete=athlete,
        status="resolved",
        title=f"{asset} materializes again{_for(athlete)}",
        text=f"Run {run_id[:8]} materialized it.",
        link=f"/runs/{run_id}",
    )


# --------------------------------------------------------------------------- checks
def check_failed(
    athlete: str | None, asset: str, check: str, severity: Severity, verdict: str, run_id: str
) -> Alert:
    level = "ERROR" if severity == "error" else "WARN"
    return _alert(
        "check_failure",
        f"{asset}:{check}",
        athlete=athlete,
        severity=severity,
        title=f"Check {check} failed ({level}){_for(athlete)}",
        text=verdict,
        link=f"/runs/{run_id}",
    )


def check_passed(athlete: str | None, asset: str, check: str, verdict: str) -> Alert:
    link = f"/assets/{asset}?view=checks" + (f"&partition={athlete}" if athlete else "")
    return _alert(
        "check_failure",
        f"{asset}:{check}",
        athlete=athlete,
        status="resolved",
        title=f"Check {check} passes again{_for(athlete)}",
        text=verdict,
        link=link,
    )


# --------------------------------------------------------------------------- sources
def source_stale(athlete: str, failing: bool, state: str, verdict: str) -> Alert:
    return _alert(
        "stale_source",
        "wearable",
        athlete=athlete,
        severity="error" if failing else "warning",
        title=f"{athlete}: wearable source is stale ({state})",
        text=f"{verdict}. Check the wearable sync for this athlete.",
        link="/assets/bronze/wearable_readings?view=checks" + f"&partition={athlete}",
    )


def source_fresh(athlete: str, verdict: str) -> Alert:
    return _alert(
        "stale_source",
        "wearable",
        athlete=athlete,
        status="resolved",
        title=f"{athlete}: wearable data is fresh again",
        text=verdict,
    )


def api_failing(
    athlete: str | None, service: str, problem: str, text: str, severity: Severity = "warning"
) -> Alert:
    """A wearable hub's API (Intervals.icu) refuses or fails: for one athlete, or for
    everyone (``athlete`` None: the key, the service)."""
    return _alert(
        "source_api_error",
        service,
        athlete=athlete,
        severity=severity,
        title=f"{service}{_for(athlete)}: {problem}",
        text=text,
    )


def api_recovered(athlete: str | None, service: str, title: str) -> Alert:
    return _alert(
        "source_api_error",
        service,
        athlete=athlete,
        status="resolved",
        title=title + _for(athlete),
        text="Pulls go on from where they stopped; nothing was lost.",
    )


# --------------------------------------------------------------------------- files
def _listed(errors: list[str]) -> str:
    shown = "\n".join(f"- {e}" for e in errors[:5])
    return shown + (f"\n(and {len(errors) - 5} more)" if len(errors) > 5 else "")


def journal_rejected(rel: str, athlete: str | None, errors: list[str], sha: str | None) -> Alert:
    """A journal file moved to inbox/rejected/ with its <name>.error.json."""
    name = rel.rsplit("/", 1)[-1]
    return _alert(
        "rejected_file",
        f"inbox/{rel}:{(sha or '')[:12]}",
        athlete=athlete,
        title=f"Rejected journal file {rel}",
        text=f"inbox/{rel} was moved to inbox/rejected/ with {name}.error.json:\n"
        + _listed(errors),
    )


def export_rejected(rel: str, athlete: str | None, errors: list[str], sha: str | None) -> Alert:
    """A wearable export with nothing usable in it: it stays where the sync tool put it."""
    return _alert(
        "rejected_file",
        f"sources/{rel}:{(sha or '')[:12]}",
        athlete=athlete,
        title=f"Rejected wearable export sources/{rel}",
        text=f"sources/{rel} gave no readings and stays in place (it belongs to your sync "
        "tool); it is listed in data/sources_status.json:\n" + _listed(errors),
    )


def rejections_grouped(alerts: list[dict[str, Any]], shown: int = 5) -> Alert:
    """Many files rejected at once (a folder of bad exports, a misconfigured tool): one
    message naming the first few, instead of one message per file."""
    alerts = sorted(alerts, key=lambda a: (str(a.get("at", "")), str(a.get("title", ""))))
    names = [str(a.get("title", "")).removeprefix("Rejected ") for a in alerts]
    more = len(names) - shown
    return _alert(
        "rejected_file",
        f"group:{alerts[0].get('at', '')}:{len(alerts)}",
        athlete=None,
        title=f"{len(alerts)} files rejected",
        text="\n".join(
            [
                *(f"- {n}" for n in names[:shown]),
                *([f"… and {more} more suppressed"] if more > 0 else []),
                "Reasons: inbox/rejected/<name>.error.json (journals), "
                "data/sources_status.json (exports); every alert: data/alerts.jsonl.",
            ]
        ),
    )


def journal_stuck(rel: str, athlete: str, attempts: int) -> Alert:
    return _alert(
        "stuck_file",
        f"inbox/{rel}",
        athlete=athlete,
        severity="error",
        title=f"Journal file {rel} is stuck",
        text=f"inbox/{rel} for athlete '{athlete}' is still pending after {attempts} runs: every "
        "run for it failed or left it. It stays in the inbox; fix the cause and save the file "
        "again (a new modification time resets the attempts).",
    )


def readings_stuck(athlete: str, files: list[str], attempts: int) -> Alert:
    return _alert(
        "stuck_file",
        "sources",
        athlete=athlete,
        severity="error",
        title=f"Readings for {athlete} could not be stored",
        text=f"{attempts} runs failed to store the readings of {', '.join(files)} for this "
        "athlete. The exports stay in place; see the failed runs.",
    )


def settings_rejected(name: str, problems: list[str], digest: str) -> Alert:
    """athletes.yaml cannot be used: the defaults stay in use until it is fixed."""
    return _alert(
        "rejected_file",
        f"settings/{name}",
        athlete=None,
        title=f"Refused {name}: every athlete keeps the defaults",
        text=f"{name} was not applied (version {digest[:8]}):\n" + _listed(problems),
        link="/assets/agent/squad_board",
    )


def settings_accepted(name: str, subject: str) -> Alert:
    return _alert(
        "rejected_file",
        subject,
        athlete=None,
        status="resolved",
        title=f"{name} applied again",
        text=f"{name} is valid now and in use.",
    )


# --------------------------------------------------------------------------- sensors
def sensor_failing(sensor: str, ticks: int, error: str) -> Alert:
    return _alert(
        "sensor_failure",
        sensor,
        athlete=None,
        severity="error",
        title=f"Sensor {sensor} keeps failing",
        text=f"{ticks} ticks in a row failed. Last error:\n{error}",
        link=f"/overview/automation?search={sensor}",
    )


def sensor_recovered(sensor: str, failures: int) -> Alert:
    return _alert(
        "sensor_failure",
        sensor,
        athlete=None,
        status="resolved",
        title=f"Sensor {sensor} works again",
        text=f"A tick succeeded after {failures} failures.",
    )


# --------------------------------------------------------------------------- athletes
BOARD_LINK = "/assets/agent/squad_board"


def athlete_flagged(
    athlete: str, flag: str, label: str, text: str, display: str, cooldown_hours: float
) -> Alert:
    """An athlete flag (``hrv.coach.flags``) started: to the coach's channel when set."""
    return _alert(
        "athlete_flag",
        flag,
        athlete=athlete,
        title=f"{display}: {label}",
        text=f"{text}. See the squad board.",
        link=BOARD_LINK,
        cooldown_hours=cooldown_hours,
    )


def athlete_flag_cleared(athlete: str, flag: str, label: str, text: str, display: str) -> Alert:
    return _alert(
        "athlete_flag",
        flag,
        athlete=athlete,
        status="resolved",
        title=f"{display}: {label} no more",
        text=text,
        link=BOARD_LINK,
    )
