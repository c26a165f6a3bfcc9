"""What is said, to whom, when: Slack delivery, run and check alerts, the morning briefing."""

import dagster as dg

from alerts.briefing import briefing_schedule, morning_briefing
from alerts.dispatcher import alert_dispatcher
from alerts.runs import run_failure_alerts, run_success_alerts
from hrv.settings import load_settings

defs = dg.Definitions(
    sensors=[alert_dispatcher, run_failure_alerts, run_success_alerts],
    jobs=[morning_briefing],
    schedules=[briefing_schedule(load_settings().timezone)],
)

__all__ = ["defs"]
