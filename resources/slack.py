"""Slack, the outside world: a resource that sends one alert and says how it went."""

import hashlib
from typing import Any

import dagster as dg
from pydantic import Field

from hrv.alerting.catalogue import KINDS
from hrv.alerting.delivery import SendOutcome
from hrv.alerting.slack_format import build_message
from resources.settings import SettingsResource

# Answers after which retrying cannot help until someone fixes the configuration.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "missing_scope",
        "no_permission",
        "invalid_token",
        "no_service",
        "no_team",
        "team_disabled",
        "no_active_hooks",
        "action_prohibited",
        "restricted_action",
        "ekm_access_denied",
    }
)


def _env(name: str) -> str | None:
    value = dg.EnvVar(name).get_value()
    return value.strip() if value and value.strip() else None


class SlackTransport:
    """One configured way of posting: a bot token + channel, or an incoming webhook."""

    def __init__(
        self,
        *,
        token: str | None,
        channel: str | None,
        webhook_url: str | None,
        base_url: str | None,
        webserver_url: str,
        timeout: float = 10.0,
        coach_channel: str | None = None,
    ):
        self.token = token
        self.channel = channel
        self.coach_channel = coach_channel
        self.webhook_url = webhook_url
        self.base_url = base_url
        self.webserver_url = webserver_url
        self.timeout = timeout
        secret = f"{token}|{channel}|{coach_channel}|{webhook_url}|{base_url}"
        # identifies the configuration without revealing it (status file, logs)
        self.fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:12]

    @property
    def kind(self) -> str:
        return "bot" if self.token else "webhook"

    def send(self, alert: dict[str, Any], note: str | None) -> SendOutcome:
        """One alert; athlete flags to the coach's channel when one is set."""
        text, blocks = build_message(alert, note, self.webserver_url)
        about = KINDS[alert["kind"]].about if alert.get("kind") in KINDS else "pipeline"
        coach = about == "athlete" and self.coach_channel
        return self.post(text, blocks, channel=self.coach_channel if coach else None)

    def post(
        self, text: str, blocks: list[dict[str, Any]], channel: str | None = None
    ) -> SendOutcome:
        """Post to ``channel`` (default: SLACK_CHANNEL; a webhook has its own channel)."""
        try:
            if self.token:
                return self._post_bot(text, blocks, channel or self.channel)
            if not (self.webhook_url or "").startswith(("https://", "http://")):
                return SendOutcome(
                    False,
                    permanent=True,
                    error="SLACK_WEBHOOK_URL is not a URL (expected "
                    "https://hooks.slack.com/services/…)",
                )
            return self._post_webhook(text, blocks)
        except Exception as exc:  # network errors, timeouts, malformed answers
            return SendOutcome(False, error=self.redact(f"{type(exc).__name__}: {exc}")[:200])

    def redact(self, text: str) -> str:
        """Errors are logged and kept in the outbox: never with a secret in them."""
        for secret in (self.webhook_url, self.token):
            if secret:
                text = text.replace(secret, "<secret>")
        if self.webhook_url and "/services/" in self.webhook_url:
            text = text.replace(self.webhook_url.split("/services/", 1)[1], "<secret>")
        return text

    def _post_bot(
        self, text: str, blocks: list[dict[str, Any]], channel: str | None
    ) -> SendOutcome:
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError

        kwargs: dict[str, Any] = {"token": self.token, "timeout": int(self.timeout)}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        client = WebClient(**kwargs)
        try:
            client.chat_postMessage(channel=channel or "", text=text, blocks=blocks)
        except SlackApiError as exc:
            response = exc.response
            status = getattr(response, "status_code", None)
            error = ""
            try:
                error = str(response.get("error") or "")
            except Exception:  # a non-JSON body (e.g. a proxy's 502 page)
                error = ""
            if status == 429 or error == "ratelimited":
                return SendOutcome(
                    False, retry_after=_retry_after(response.headers), error="rate limited (429)"
                )
            if error in PERMANENT_ERRORS:
                return SendOutcome(False, permanent=True, error=error)
            return SendOutcome(False, error=f"HTTP {status}: {error or 'error'}")
        return SendOutcome(True)

    def _post_webhook(self, text: str, blocks: list[dict[str, Any]]) -> SendOutcome:
        from slack_sdk.webhook import WebhookClient

        response = WebhookClient(self.webhook_url or "", timeout=int(self.timeout)).send(
            text=text, blocks=blocks
        )
        if response.status_code == 200:
            return SendOutcome(True)
        body = (response.body or "").strip()
        if response.status_code == 429:
            return SendOutcome(
                False, retry_after=_retry_after(response.headers), error="rate limited (429)"
            )
        if response.status_code in (400, 403, 404, 410) and (
            body in PERMANENT_ERRORS or response.status_code in (403, 404, 410)
        ):
            return SendOutcome(False, permanent=True, error=body or f"HTTP {response.status_code}")
        return SendOutcome(False, error=f"HTTP {response.status_code}: {body[:100]}")


def _retry_after(headers: Any) -> float:
    try:
        for key, value in dict(headers or {}).items():
            if key.lower() == "retry-after":
                return max(1.0, float(value if not isinstance(value, list) else value[0]))
    except (TypeError, ValueError):
        pass
    return 30.0


class SlackResource(dg.ConfigurableResource):
    """Where alerts go. The token and the webhook URL stay in the environment: the fields
    name the variables, read with `dg.EnvVar` when a message is sent, so the UI never shows
    them and Slack stays optional: with neither set, alerts go to the log and
    `data/alerts.jsonl` only. The channel, the API address and the UI address for links come
    from the settings (SLACK_CHANNEL, SLACK_API_BASE_URL, DAGSTER_WEBSERVER_URL)."""

    settings: SettingsResource
    bot_token_env: str = Field(
        default="SLACK_BOT_TOKEN", description="Variable holding the bot token (xoxb-...)."
    )
    webhook_url_env: str = Field(
        default="SLACK_WEBHOOK_URL", description="Variable holding an incoming-webhook URL."
    )

    def webserver_url(self) -> str:
        return self.settings.get().webserver_url

    def transport(self) -> SlackTransport | None:
        """The configured transport, or None when Slack is not configured."""
        token, webhook = _env(self.bot_token_env), _env(self.webhook_url_env)
        if not token and not webhook:
            return None
        settings = self.settings.get()
        base = settings.slack_api_base_url
        if base and not base.endswith("/"):
            base += "/"  # slack_sdk joins method names onto it
        return SlackTransport(
            token=token,
            channel=settings.slack_channel if token else None,
            coach_channel=settings.slack_coach_channel if token else None,
            webhook_url=None if token else webhook,
            base_url=base,
            webserver_url=self.webserver_url(),
        )

    def describe(self) -> str:
        t = self.transport()
        if t is None:
            return "Slack not configured (alerts go to the log and data/alerts.jsonl)"
        return f"Slack via {t.kind} (configuration {t.fingerprint})"
