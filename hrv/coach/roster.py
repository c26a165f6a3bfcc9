"""``athletes.yaml`` (``HRV_ATHLETES_FILE``): per-athlete settings a coach writes.

Optional. Every key is optional too; ``defaults`` applies to every athlete and each
athlete's own entry overrides it field by field::

    defaults:
      normal_range_width: 0.5        # the normal range is the 60-day mean +/- this many SD
      flags:
        low_hrv_days: 2              # 7-day HRV below the normal range this many days
        variation_ratio: 1.5         # 7-day CV above this times the athlete's usual
        min_valid_days: 30           # no flag before the normal range rests on this many nights
        cooldown_hours: 24           # a flag that resolved stays quiet this long if it returns
    athletes:
      alice:
        display_name: Alice Martin
        team: Sprinters
        normal_range_width: 0.75
      bob:
        flags: {low_hrv_days: 3}
        intervals_icu_id: i67890     # pulled from Intervals.icu (sensors/intervals_icu.py)

A file that cannot be used is refused as a whole with one line per problem naming the
athlete, the field, the value and what is expected (``RosterError``); the pipeline then
keeps the defaults and says so (the board shows it), so a typo never stops forecasts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hrv.settings import ATHLETE_PATTERN

NORMAL_RANGE_WIDTH = 0.5


class RosterError(ValueError):
    """athletes.yaml cannot be used: every problem, one per line."""


class FlagThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    low_hrv_days: int = Field(default=2, ge=1, le=30)
    variation_ratio: float = Field(default=1.5, gt=1.0, le=5.0)
    min_valid_days: int = Field(default=30, ge=7, le=60)
    cooldown_hours: float = Field(default=24.0, ge=0, le=24 * 14)


class AthleteConfig(BaseModel):
    """One athlete's settings (all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    display_name: str | None = Field(default=None, max_length=80)
    team: str | None = Field(default=None, max_length=80)
    normal_range_width: float = Field(default=NORMAL_RANGE_WIDTH, gt=0.0, le=3.0)
    flags: FlagThresholds = FlagThresholds()
    intervals_icu_id: str | None = Field(default=None, max_length=40)

    def label(self, athlete: str) -> str:
        return self.display_name or athlete


class _Partial(BaseModel):
    """An entry as written: only the fields it sets (merged over the defaults)."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = None
    team: str | None = None
    normal_range_width: float | None = None
    flags: dict[str, Any] | None = None
    intervals_icu_id: str | int | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: _Partial = _Partial()
    athletes: dict[str, _Partial | None] = Field(default_factory=dict)

    @field_validator("athletes")
    @classmethod
    def _ids(cls, value: dict[str, Any]) -> dict[str, Any]:
        import re

        bad = [a for a in value if not re.match(ATHLETE_PATTERN, str(a))]
        if bad:
            raise ValueError(
                f"athlete id {bad[0]!r} must match {ATHLETE_PATTERN} (lowercase letters, digits, "
                "'-' and '_'; the folder name under sources/)"
            )
        return value


class Roster:
    """The parsed file: each athlete's merged settings."""

    def __init__(self, defaults: AthleteConfig, athletes: dict[str, AthleteConfig], digest: str):
        self.defaults = defaults
        self.athletes = athletes
        self.digest = digest  # of the file's bytes ("" without a file)

    def get(self, athlete: str) -> AthleteConfig:
        return self.athletes.get(athlete, self.defaults)

    def pipeline_digests(self) -> dict[str, str]:
        """Per listed athlete (and ``*`` for everyone else), a digest of the settings that
        change their outputs (normal-range width, flag thresholds): whose to re-run."""

        def digest(c: AthleteConfig) -> str:
            data = c.model_dump_json(include={"normal_range_width", "flags"})
            return hashlib.sha256(data.encode()).hexdigest()[:12]

        return {a: digest(c) for a, c in self.athletes.items()} | {"*": digest(self.defaults)}


EMPTY = Roster(AthleteConfig(), {}, "")


def _merge(base: AthleteConfig, entry: _Partial | None, where: str) -> AthleteConfig:
    if entry is None:
        return base
    data = base.model_dump()
    for key, value in entry.model_dump(exclude_unset=True).items():
        if key == "flags":
            data["flags"] = {**data["flags"], **(value or {})}
        elif key == "intervals_icu_id" and value is not None:
            data[key] = str(value)
        else:
            data[key] = value
    try:
        return AthleteConfig.model_validate(data)
    except ValidationError as exc:
        raise RosterError(_explain(exc, where)) from None


def _explain(exc: ValidationError, where: str) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in error.get("loc", ()))
        field = f"{where}.{loc}" if where and loc else (where or loc)
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        value = error.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        lines.append(f"{field}{shown}: {message}")
    return "\n".join(lines)


def parse_roster(text: str, name: str = "athletes.yaml") -> Roster:
    """The roster in ``text`` or a ``RosterError`` naming every problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise RosterError(
            f"{name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RosterError(f"{name}: expected a mapping with 'defaults' and 'athletes'")
    try:
        parsed = _File.model_validate(raw)
    except ValidationError as exc:
        raise RosterError(f"{name}: " + _explain(exc, "").replace("\n", f"\n{name}: ")) from None
    problems: list[str] = []
    try:
        defaults = _merge(AthleteConfig(), parsed.defaults, "defaults")
    except RosterError as exc:
        problems.append(str(exc))
        defaults = AthleteConfig()
    athletes: dict[str, AthleteConfig] = {}
    for athlete, entry in parsed.athletes.items():
        try:
            athletes[athlete] = _merge(defaults, entry, f"athletes.{athlete}")
        except RosterError as exc:
            problems.append(str(exc))
    if problems:
        raise RosterError("\n".join(f"{name}: {line}" for p in problems for line in p.splitlines()))
    return Roster(defaults, athletes, hashlib.sha256(text.encode()).hexdigest()[:16])


def load_roster(path: Path) -> Roster:
    """The roster in ``path`` (no file: every athlete on the defaults)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return EMPTY
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text") from None
    return parse_roster(text, str(path))


def roster_or_defaults(path: Path) -> tuple[Roster, str | None]:
    """The roster, or the defaults and why the file was refused (never raises)."""
    try:
        return load_roster(path), None
    except RosterError as exc:
        return EMPTY, str(exc)
