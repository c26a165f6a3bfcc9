"""Alerts about the pipeline: runs, checks, files, settings, sensors."""

from __future__ import annotations

from typing import Any

from hrv.alerting.catalogue.kinds import Alert, Severity, _alert, _for


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
