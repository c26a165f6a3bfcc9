"""Alert -> Slack message: Block Kit blocks plus a plain-text fallback (pure)."""

from __future__ import annotations

from typing import Any

from hrv.alerting.catalogue import KINDS

ICONS = {
    ("firing", "error"): ":red_circle:",
    ("firing", "warning"): ":large_orange_circle:",
    ("firing", "info"): ":large_blue_circle:",
}
MAX_DETAIL_LINES = 8
MAX_DETAIL_CHARS = 1500


def _first_lines(text: str) -> str:
    lines = text.strip().splitlines()
    shown = "\n".join(lines[:MAX_DETAIL_LINES])
    if len(lines) > MAX_DETAIL_LINES:
        shown += f"\n... ({len(lines) - MAX_DETAIL_LINES} more lines)"
    if len(shown) > MAX_DETAIL_CHARS:
        shown = shown[:MAX_DETAIL_CHARS] + " ..."
    return shown


def _escape(text: str) -> str:
    """Slack's escaping for any text from outside (file names, errors): ``<!channel>``,
    ``<@U123>`` or ``<mailto:...|here>`` in a file name must not become a mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fallback_text(alert: dict[str, Any], note: str | None = None) -> str:
    """The top-level text: the phone's notification, so escaped like the blocks."""
    status = "RESOLVED" if alert.get("status") == "resolved" else "FIRING"
    who = f" [{alert['athlete']}]" if alert.get("athlete") else ""
    first = (alert.get("text") or "").strip().splitlines()[:1]
    text = f"[{status}]{who} {alert.get('title')}" + (f": {first[0]}" if first else "")
    return _escape(text + (f" ({note})" if note else ""))


def build_message(
    alert: dict[str, Any], note: str | None, webserver_url: str
) -> tuple[str, list[dict[str, Any]]]:
    """Return (fallback text, Block Kit blocks) for one alert."""
    resolved = alert.get("status") == "resolved"
    icon = (
        ":white_check_mark:"
        if resolved
        else ICONS.get(("firing", alert.get("severity", "warning")), ":large_orange_circle:")
    )
    kind = KINDS.get(alert.get("kind", ""))
    label = kind.label if kind else str(alert.get("kind", "alert"))
    header = f"{icon} {'Resolved: ' if resolved else ''}{alert.get('title', label)}"
    fields = [{"type": "mrkdwn", "text": f"*Kind*\n{label}"}]
    if alert.get("athlete"):
        fields.append({"type": "mrkdwn", "text": f"*Athlete*\n{_escape(alert['athlete'])}"})
    if alert.get("subject"):
        fields.append({"type": "mrkdwn", "text": f"*Asset / check*\n`{_escape(alert['subject'])}`"})
    fields.append({"type": "mrkdwn", "text": f"*Severity*\n{alert.get('severity')}"})
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:150], "emoji": True}},
        {"type": "section", "fields": fields},
    ]
    if alert.get("text"):
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"```{_escape(_first_lines(alert['text']))}```"},
            }
        )
    context = [
        _escape(str(alert.get("at", ""))),
        f"fingerprint `{_escape(str(alert.get('fingerprint')))}`",
    ]
    if note:
        context.insert(0, f"*{_escape(note)}*")
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
    )
    if alert.get("link"):
        url = webserver_url.rstrip("/") + alert["link"]
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in Dagster"},
                        "url": url,
                        "action_id": "open_dagster",
                    }
                ],
            }
        )
    return fallback_text(alert, note), blocks
