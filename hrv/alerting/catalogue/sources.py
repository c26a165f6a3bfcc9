"""Alerts about wearable sources: stale data, and hubs whose API fails (Intervals.icu)."""

from __future__ import annotations

from hrv.alerting.catalogue.kinds import Alert, _alert, _for


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


def hub_key_refused(service: str, detail: str, retry_minutes: float) -> Alert:
    """The hub refuses the API key: nothing is pulled for anyone until it is fixed."""
    return _alert(
        "source_api_error",
        service,
        athlete=None,
        severity="error",
        title=f"{service}: the API key is refused",
        text=f"{detail}. Nothing is pulled until INTERVALS_ICU_API_KEY is fixed "
        f"({service}, Settings, Developer Settings); retried every {retry_minutes:.0f} min.",
    )


def hub_down(service: str, detail: str, attempts: int, wait_seconds: float) -> Alert:
    return _alert(
        "source_api_error",
        service,
        athlete=None,
        title=f"{service}: the service is not answering",
        text=f"{detail} ({attempts} attempts in a row). Retried with a backoff (now "
        f"{wait_seconds:.0f} s); the inbox and sources/ still work.",
    )


HUB_ATHLETE_PROBLEMS = {
    "forbidden": "athlete {id} does not share their data with this API key",
    "not_found": "has no athlete {id} (intervals_icu_id in the athletes file)",
    "malformed": "answered something unreadable for athlete {id}",
}


def hub_athlete_failing(athlete: str, service: str, hub_id: str, kind: str, detail: str) -> Alert:
    """One athlete cannot be pulled (not shared, a wrong id, an unreadable answer)."""
    problem = HUB_ATHLETE_PROBLEMS.get(kind, "fails for athlete {id}").format(id=hub_id)
    retried = "at the next pull" if kind == "malformed" else "every hour"
    return _alert(
        "source_api_error",
        service,
        athlete=athlete,
        title=f"{service} for {athlete}: {problem}",
        text=f"{detail}. The athlete's other sources still work; retried {retried}.",
    )


def hub_write_back_failing(athlete: str, service: str, hub_id: str, detail: str) -> Alert:
    return _alert(
        "source_api_error",
        f"{service} write-back",
        athlete=athlete,
        title=f"{service} write-back for {athlete}: the recommendation cannot be written to "
        f"{hub_id}'s wellness",
        text=f"{detail}. The athlete must share with write access ({service}, Settings, "
        "Sharing); pulls go on; retried every hour.",
    )


def hub_recovered(athlete: str | None, subject: str) -> Alert:
    return _alert(
        "source_api_error",
        subject,
        athlete=athlete,
        status="resolved",
        title=f"{subject} works again{_for(athlete)}",
        text="Pulls go on from where they stopped; nothing was lost.",
    )
