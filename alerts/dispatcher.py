"""Delivers queued alerts to Slack, with retries; nothing is lost while Slack is down."""

import time

import dagster as dg

from alerts.guard import guarded
from hrv.alerting.delivery import Outbox, deliver
from resources import DataStoreResource, SlackResource

SLACK_STATUS_FILE = "slack_status.json"


@dg.sensor(
    name="alert_dispatcher",
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
@guarded("alert_dispatcher")
def alert_dispatcher(
    context: dg.SensorEvaluationContext, slack: SlackResource, store: DataStoreResource
) -> dg.SkipReason:
    """Sends the alerts waiting in `data/alerts_outbox/` to Slack, oldest first.

    A message leaves the outbox only when Slack accepted it. HTTP 429 pauses sending for
    `Retry-After` seconds; server and network errors back off per message (1 s ... 10 min);
    an invalid token or channel is reported once (`data/slack_status.json`) and the
    messages wait until the configuration changes. Without Slack configuration, alerts
    are written to this sensor's log and `data/alerts.jsonl` only.
    """
    report = deliver(
        Outbox(store.path),
        slack.transport(),
        now=time.time(),
        status_path=store.path / SLACK_STATUS_FILE,
        log=context.log,
    )
    return dg.SkipReason(report.summary())
