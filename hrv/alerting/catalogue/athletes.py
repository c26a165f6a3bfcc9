"""Alerts about an athlete, for the coach."""

from __future__ import annotations

from hrv.alerting.catalogue.kinds import Alert, _alert

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
