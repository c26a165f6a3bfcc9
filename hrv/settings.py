"""Every setting of hrv-sentinel, in one typed object read from the environment once.

A process (the code server, a run worker, the watcher, the demo) calls ``load_settings()``
and gets the same validated ``Settings`` every time. A bad value stops the process with
an error that names the variable, its value and what is expected, e.g.
``HRV_INBOX_SETTLE_SECONDS='two': Input should be a valid number``.

Secrets (the Slack token and webhook) are read here only to know whether they are set;
their values are never shown (``SecretStr``). Slack itself reads them through Dagster's
``EnvVar`` when it sends a message.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ATHLETE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class SettingsError(ValueError):
    """One or more environment variables hold a value that cannot be used."""


def _env(name: str, *aliases: str) -> Any:
    from pydantic import AliasChoices

    return AliasChoices(name, *aliases) if aliases else name


class Settings(BaseSettings):
    """The settings, by environment variable. Field order is the README table's order."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, populate_by_name=True
    )

    inbox_dir: Path = Field(
        default=Path("inbox"),
        validation_alias=_env("HRV_INBOX_DIR"),
        description="journal drop folder",
    )
    sources_dir: Path = Field(
        default=Path("sources"),
        validation_alias=_env("HRV_SOURCES_DIR"),
        description="wearable exports",
    )
    data_dir: Path = Field(
        default=Path("data"),
        validation_alias=_env("HRV_DATA_DIR"),
        description="outputs, stores, alerts.jsonl",
    )
    default_athlete: str = Field(
        default="me",
        pattern=ATHLETE_PATTERN,
        validation_alias=_env("HRV_DEFAULT_ATHLETE"),
        description="athlete when a file names none",
    )
    inbox_settle_seconds: float = Field(
        default=2.0,
        ge=0,
        validation_alias=_env("HRV_INBOX_SETTLE_SECONDS"),
        description="a journal file is read once unmodified this long",
    )
    inbox_max_attempts: int = Field(
        default=3,
        ge=1,
        validation_alias=_env("HRV_INBOX_MAX_ATTEMPTS"),
        description="runs tried for a pending journal file before it is reported stuck",
    )
    inbox_poll_seconds: float = Field(
        default=4.0,
        ge=0,
        validation_alias=_env("HRV_INBOX_POLL_SECONDS"),
        description="an idle inbox tick keeps watching for a new file this long (0: off)",
    )
    sources_settle_seconds: float = Field(
        default=2.0,
        ge=0,
        validation_alias=_env("HRV_SOURCES_SETTLE_SECONDS"),
        description="an export is read once unmodified this long",
    )
    sources_max_attempts: int = Field(
        default=3,
        ge=1,
        validation_alias=_env("HRV_SOURCES_MAX_ATTEMPTS"),
        description="runs tried for an athlete's changed readings before they are reported stuck",
    )
    squad_min_athletes: int = Field(
        default=1,
        ge=0,
        validation_alias=_env("HRV_SQUAD_MIN_ATHLETES", "HRV_BATCH_MIN_ATHLETES"),
        description="from this many athletes in one sensor tick on, they are updated by "
        "squad runs (1: always; fewer athletes get an asset run each; 0: never)",
    )
    squad_size: int = Field(
        default=250,
        ge=1,
        validation_alias=_env("HRV_SQUAD_SIZE", "HRV_BATCH_SIZE"),
        description="most athletes in one squad run",
    )
    squad_runs: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        ge=1,
        validation_alias=_env("HRV_SQUAD_RUNS"),
        description="a tick's athletes are spread over this many squad runs, to run at once "
        "(default: this machine's cores; with a Docker or Kubernetes run launcher, the runs "
        "the cluster runs at once)",
    )
    freshness_warn_hours: float = Field(
        default=36.0,
        gt=0,
        validation_alias=_env("HRV_FRESHNESS_WARN_HOURS"),
        description="a source is stale (warn) when the newest reading is older (fractions allowed)",
    )
    freshness_fail_hours: float = Field(
        default=60.0,
        gt=0,
        validation_alias=_env("HRV_FRESHNESS_FAIL_HOURS"),
        description="a source is stale (fail) when the newest reading is older",
    )
    freshness_interval_seconds: float = Field(
        default=60.0,
        ge=1,
        validation_alias=_env("HRV_FRESHNESS_INTERVAL_SECONDS"),
        description="how often freshness is evaluated",
    )
    timezone: str = Field(
        default="UTC",
        validation_alias=_env("HRV_TIMEZONE"),
        description="the squad's clock: end of a reading's day, the 07:00 briefing",
    )
    alert_repeat_minutes: float = Field(
        default=60.0,
        ge=0,
        validation_alias=_env("HRV_ALERT_REPEAT_MINUTES"),
        description="repeats of a firing alert within this window are suppressed and counted",
    )
    webserver_url: str = Field(
        default="http://127.0.0.1:3000",
        validation_alias=_env("DAGSTER_WEBSERVER_URL"),
        description="the Dagster UI's address, for links in alerts",
    )
    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=_env("SLACK_BOT_TOKEN"),
        description="Slack bot token (xoxb-...), with SLACK_CHANNEL; secret",
    )
    slack_channel: str | None = Field(
        default=None, validation_alias=_env("SLACK_CHANNEL"), description="channel id or #name"
    )
    slack_coach_channel: str | None = Field(
        default=None,
        validation_alias=_env("SLACK_COACH_CHANNEL"),
        description="channel for athlete flags (with a bot token); default SLACK_CHANNEL",
    )
    slack_webhook_url: SecretStr | None = Field(
        default=None,
        validation_alias=_env("SLACK_WEBHOOK_URL"),
        description="Slack incoming-webhook URL, instead of a bot token; secret",
    )
    slack_api_base_url: str | None = Field(
        default=None,
        validation_alias=_env("SLACK_API_BASE_URL"),
        description="Slack Web API address (self-hosted gateways, tests)",
    )

    intervals_icu_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=_env("INTERVALS_ICU_API_KEY"),
        description="Intervals.icu API key (Settings, Developer Settings); secret",
    )
    intervals_icu_base_url: str = Field(
        default="https://intervals.icu",
        validation_alias=_env("INTERVALS_ICU_BASE_URL"),
        description="Intervals.icu API address (tests, proxies)",
    )
    intervals_icu_write_back: bool = Field(
        default=False,
        validation_alias=_env("INTERVALS_ICU_WRITE_BACK"),
        description="1: write the day's recommendation into the athlete's wellness comments",
    )
    intervals_icu_poll_minutes: float = Field(
        default=15.0,
        gt=0,
        validation_alias=_env("INTERVALS_ICU_POLL_MINUTES"),
        description="each athlete's wellness is pulled this often (fractions allowed)",
    )
    intervals_icu_history_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        validation_alias=_env("INTERVALS_ICU_HISTORY_DAYS"),
        description="days of wellness the first pull of an athlete fetches",
    )
    intervals_icu_overlap_days: int = Field(
        default=3,
        ge=0,
        le=60,
        validation_alias=_env("INTERVALS_ICU_OVERLAP_DAYS"),
        description="days already stored that every pull fetches again (late edits, late syncs)",
    )

    board_quiet_seconds: float = Field(
        default=20.0,
        ge=0,
        validation_alias=_env("HRV_BOARD_QUIET_SECONDS"),
        description="the squad board refreshes once nothing changed for this long",
    )
    athletes_file: Path = Field(
        default=Path("athletes.yaml"),
        validation_alias=_env("HRV_ATHLETES_FILE"),
        description="optional per-athlete settings: display name, team, normal-range width, "
        "flag thresholds, Intervals.icu athlete id",
    )

    web_port: int = Field(
        default=3000,
        ge=1,
        le=65535,
        validation_alias=_env("HRV_WEB_PORT"),
        description="the UI's port on 127.0.0.1 (make run, docker compose)",
    )
    earliest_date: dt.date = Field(
        default=dt.date(2000, 1, 1),
        validation_alias=_env("HRV_EARLIEST_DATE"),
        description="journal days and readings before this date are refused (a typo in "
        "the year); days after tomorrow always are",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as 'Europe/Berlin'"
            ) from None
        return value

    @field_validator("webserver_url", "slack_api_base_url", "intervals_icu_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _url_follows_the_port(self) -> Settings:
        if "webserver_url" not in self.model_fields_set:
            # a frozen model: set once, here, before anyone reads it
            object.__setattr__(self, "webserver_url", f"http://127.0.0.1:{self.web_port}")
        return self

    @model_validator(mode="after")
    def _fail_after_warn(self) -> Settings:
        if self.freshness_fail_hours < self.freshness_warn_hours:
            raise ValueError(
                f"HRV_FRESHNESS_FAIL_HOURS ({self.freshness_fail_hours:g}) must be at least "
                f"HRV_FRESHNESS_WARN_HOURS ({self.freshness_warn_hours:g})"
            )
        return self

    # ------------------------------------------------------------------ derived values
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None or self.slack_webhook_url is not None

    def resolved(self, path: Path) -> Path:
        return path.expanduser().resolve()

    # ------------------------------------------------------------------ by variable name
    @classmethod
    def variables(cls) -> dict[str, str]:
        """Environment variable -> field name, for every setting."""
        out = {}
        for name, info in cls.model_fields.items():
            alias = info.validation_alias
            first = alias if isinstance(alias, str) else alias.choices[0]  # type: ignore[union-attr]
            out[str(first)] = name
        return out

    def public(self) -> dict[str, str]:
        """Every setting as its variable shows it; secrets only as 'set' / 'not set'."""
        out = {}
        for variable, name in self.variables().items():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[variable] = "set (secret)"
            elif value is None:
                out[variable] = "not set"
            else:
                out[variable] = str(value)
        return out

    @classmethod
    def from_variables(cls, values: dict[str, Any]) -> Settings:
        """Settings from variable -> value pairs only (no environment), validated.

        Accepts what ``public()`` gives: a secret shown as 'set (secret)' stays set (its
        value is a placeholder; Slack reads the real one from the environment)."""
        try:
            return cls.model_validate(
                {k: v for k, v in values.items() if v not in (None, "", "not set")}
            )
        except ValidationError as exc:
            raise SettingsError(explain(exc, values)) from None


def explain(exc: ValidationError, values: dict[str, Any] | None = None) -> str:
    """One line per bad variable: its name, its value and what is expected."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = error.get("loc") or ()
        variable = str(loc[0]) if loc else ""
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if variable:
            shown = error.get("input")
            lines.append(f"{variable}={shown!r}: {message}")
        else:
            lines.append(message)
    return "invalid settings: " + "; ".join(lines)


@functools.cache
def load_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(explain(exc)) from None
