"""The morning briefing: one Slack message for the squad, every day at 07:00."""

import datetime as dt

import dagster as dg

from assets import ATHLETES_PARTITIONS
from hrv.alerting.briefing import build_briefing
from hrv.intake.freshness import FreshnessSettings
from resources import DataStoreResource, SettingsResource, SlackResource


@dg.op
def send_morning_briefing(
    context: dg.OpExecutionContext,
    slack: SlackResource,
    store: DataStoreResource,
    settings: SettingsResource,
) -> None:
    """Posts each athlete's forecast, recommendation, normal-range status and flags (the
    athlete flags, stale source, cold start) as one message, with a count of flagged athletes
    and a link to the squad board, to `SLACK_COACH_CHANNEL` when set. Quiet when Slack is
    not configured."""
    athletes = list(context.instance.get_dynamic_partitions(ATHLETES_PARTITIONS))
    messages = build_briefing(
        store.path,
        athletes,
        dt.datetime.now(dt.UTC),
        FreshnessSettings.from_settings(settings.get()),
        board_url=f"{settings.get().webserver_url}/assets/agent/squad_board",
    )
    transport = slack.transport()
    if transport is None:
        context.log.info(f"Slack not configured: briefing of {len(athletes)} athletes not sent")
        for _, blocks in messages:
            for block in blocks[1:]:
                context.log.info(block["text"]["text"])
        return
    for text, blocks in messages:
        outcome = transport.post(text, blocks, channel=transport.coach_channel)
        if not outcome.ok:
            raise dg.Failure(
                description=f"Slack refused the briefing: {outcome.error}",
                allow_retries=not outcome.permanent,
            )
    context.log.info(f"briefing of {len(athletes)} athletes sent in {len(messages)} message(s)")


@dg.job(
    name="morning_briefing",
    description="Posts the squad's morning briefing to Slack.",
    op_retry_policy=dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL),
)
def morning_briefing() -> None:
    send_morning_briefing()


def briefing_schedule(tz: str) -> dg.ScheduleDefinition:
    """07:00 every day in HRV_TIMEZONE (default UTC).

    A schedule's timezone is fixed when the code location loads (the settings are read
    then); change HRV_TIMEZONE and reload the code location.
    """
    return dg.ScheduleDefinition(
        name="morning_briefing_schedule",
        job=morning_briefing,
        cron_schedule="0 7 * * *",
        execution_timezone=tz,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"The squad's morning briefing at 07:00 {tz}.",
    )
