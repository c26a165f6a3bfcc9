"""The per-athlete step graph, declared once as plain data (no Dagster here).

Each step is one asset of the athlete's graph: its key (layer/name), what it depends on,
the checks it evaluates (name, severity, blocking), the description a coach reads in the
UI, and the function that does the work. ``assets/`` turns every ``Step`` into a
partitioned Dagster asset with its check specs; the sensors select "a step and everything
downstream" from the same graph; squad runs run the same asset job per athlete. Adding an
asset is one module in ``hrv/steps/`` that declares a ``Step``, plus one line in
``hrv/steps/__init__.py``.

A step function takes a ``StepContext`` (the athlete, the folders, the files to ingest)
and returns a ``StepOutput``: metadata for the UI and one ``CheckResult`` per declared
check. Data problems (a missing upstream layer, impossible input) raise ``DataProblem``,
which is not retried; ``OSError`` (a busy disk) is, with the same backoff everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from hrv.alerting.catalogue import Alert
from hrv.coach.roster import AthleteConfig, roster_or_defaults
from hrv.intake.freshness import FreshnessSettings

Severity = Literal["ERROR", "WARN"]

# Transient filesystem errors are retried with exponential backoff: 0.5 s, 1 s, 2 s.
RETRY_DELAYS_SECONDS = (0.5, 1.0, 2.0)


class DataProblem(Exception):
    """A step cannot do its work with the data it has; retrying will not help."""


class Outcome(Protocol):
    passed: bool
    verdict: str
    metadata: dict[str, Any]


class Markdown(str):
    """Metadata text to render as Markdown in the UI."""


@dataclass(frozen=True)
class CheckDef:
    """A check a step evaluates every time it runs, for the athlete it runs for."""

    name: str
    description: str
    severity: Severity = "WARN"
    blocking: bool = False  # a failed ERROR result stops the athlete's downstream steps
    # A check that can be evaluated on its own, without re-running its step (e.g. on a
    # clock): its own Dagster check, run after the step in the same run, or alone.
    evaluate: Callable[[StepContext], CheckResult] | None = None

    def result(self, outcome: Outcome, severity: Severity | None = None) -> CheckResult:
        """This check's result from a rule's outcome (``hrv.analytics.quality``)."""
        return CheckResult(self.name, outcome.passed, outcome.verdict, outcome.metadata, severity)


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    verdict: str  # one line a person can act on
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None  # None: the CheckDef's severity


class Log(Protocol):
    def info(self, msg: str) -> Any: ...
    def warning(self, msg: str) -> Any: ...
    def error(self, msg: str) -> Any: ...


@dataclass
class StepContext:
    """What a step needs: the athlete, the folders, the files to ingest, where to log and
    where to raise alerts."""

    athlete: str
    data_dir: Path
    inbox_dir: Path
    sources_dir: Path
    default_athlete: str
    log: Log
    raise_alert: Callable[[Alert], Any]
    files: list[str] | None = None  # the journal step's inbox-relative files (None: scan)
    freshness: FreshnessSettings = field(default_factory=FreshnessSettings)
    athletes_file: Path | None = None  # HRV_ATHLETES_FILE (hrv.coach.roster)
    settle_seconds: float = 2.0  # HRV_INBOX_SETTLE_SECONDS: younger files are being written

    @property
    def athlete_config(self) -> AthleteConfig:
        """This athlete's settings from athletes.yaml (the defaults when the file is
        missing or refused: the squad board says why)."""
        if self.athletes_file is None:
            return AthleteConfig()
        return roster_or_defaults(self.athletes_file)[0].get(self.athlete)


@dataclass
class StepOutput:
    metadata: dict[str, Any]
    checks: list[CheckResult] = field(default_factory=list)


StepKey = tuple[str, str]  # (layer, name), e.g. ("bronze", "journal_entries")


@dataclass(frozen=True)
class Step:
    key: StepKey
    run: Callable[[StepContext], StepOutput]
    description: str
    deps: tuple[StepKey, ...] = ()
    checks: tuple[CheckDef, ...] = ()
    kinds: frozenset[str] = frozenset()
    takes_files: bool = False  # the run names the files to ingest (the inbox sensor does)
    watches_freshness: bool = False  # judged by how recent its newest data is

    @property
    def layer(self) -> str:
        return self.key[0]

    @property
    def path(self) -> str:
        return "/".join(self.key)

    def check(self, name: str) -> CheckDef:
        return next(c for c in self.checks if c.name == name)


class StepGraph:
    """The steps in dependency order, with the questions the sensors and runs ask."""

    def __init__(self, steps: Iterable[Step]):
        self.steps: dict[StepKey, Step] = {}
        for step in steps:
            if step.key in self.steps:
                raise ValueError(f"step {step.path} is declared twice")
            self.steps[step.key] = step
        for step in self.steps.values():
            for dep in step.deps:
                if dep not in self.steps:
                    raise ValueError(f"{step.path} depends on {'/'.join(dep)}, not a step")
        self.order: list[StepKey] = self._topological()

    def _topological(self) -> list[StepKey]:
        done: list[StepKey] = []
        visiting: set[StepKey] = set()

        def visit(key: StepKey) -> None:
            if key in done:
                return
            if key in visiting:
                raise ValueError(f"the step graph has a cycle through {'/'.join(key)}")
            visiting.add(key)
            for dep in self.steps[key].deps:
                visit(dep)
            visiting.discard(key)
            done.append(key)

        for key in self.steps:  # declaration order breaks ties
            visit(key)
        return done

    def __iter__(self):
        return (self.steps[k] for k in self.order)

    def __getitem__(self, key: StepKey) -> Step:
        return self.steps[key]

    def downstream(self, roots: Sequence[StepKey]) -> list[StepKey]:
        """``roots`` and everything that depends on them, in dependency order."""
        chosen = set(roots)
        for key in self.order:
            if any(dep in chosen for dep in self.steps[key].deps):
                chosen.add(key)
        return [k for k in self.order if k in chosen]

    def check_defs(self) -> list[tuple[Step, CheckDef]]:
        return [(step, check) for step in self for check in step.checks]
