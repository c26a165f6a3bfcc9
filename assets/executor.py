"""Squad runs: many athletes' updates in one run, recorded per athlete as an asset run would.

The step graph (``hrv/steps``) is executed two ways, and this module is the second:

- one athlete: an asset run of ``athlete_assets`` for the athlete's partition; Dagster
  runs each step as an asset and turns its ``AssetCheckResult``s into evaluations;
- a squad: one op walks the same ``Step`` list for each athlete in turn, calls the same
  step functions through the same ``run_step``, and records what the asset run records
  for that athlete: a materialization of each asset's partition with the same metadata,
  then each check's evaluation with the same name, verdict, severity and metadata,
  naming the athlete's partition and targeting the materialization it checked, so the UI
  counts every athlete's check status (``assets/check_target.py``).

The rules are the asset run's: a failed step stops that athlete's downstream steps; a
failed blocking ERROR check stops the steps after its asset (its materialization is
recorded first); a step is retried with the same delays as the assets' ``RetryPolicy``
unless it raised a ``dg.Failure`` that forbids retries (a data problem). One athlete's
failure never touches another's: the op goes on and reports the failures at the end.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from assets.check_target import latest_materialization
from assets.common import asset_key, check_evaluation, run_step, step_context, ui_metadata
from assets.runs import AthleteRun
from hrv.settings import Settings
from hrv.steps import GRAPH
from hrv.steps.graph import (
    RETRY_DELAYS_SECONDS,
    CheckDef,
    CheckResult,
    Step,
    StepKey,
    StepOutput,
)
from resources.folders import DataStoreResource

Event = dg.AssetMaterialization | dg.AssetCheckEvaluation


@dataclass
class MemberOutcome:
    """What happened to one athlete of a squad."""

    athlete: str
    materialized: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (asset or check, error)
    skipped: list[str] = field(default_factory=list)  # downstream of a failure
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return not self.failures

    @property
    def status(self) -> str:
        return "ok" if self.success else "failed at " + ", ".join(w for w, _ in self.failures)


def _retryable(exc: Exception) -> bool:
    """What the assets' RetryPolicy retries: anything but a Failure that forbids it."""
    return not (isinstance(exc, dg.Failure) and not exc.allow_retries)


def _describe(exc: BaseException) -> str:
    """The error, root cause first (as the run failure alerts of asset runs say it), then
    its notes (how often it was retried)."""
    text = (
        exc.description or type(exc).__name__
        if isinstance(exc, dg.Failure)
        else f"{type(exc).__name__}: {exc}"
    )
    return "\n".join([text, *(f"({note})" for note in getattr(exc, "__notes__", []))])


def with_retries(
    what: str,
    work: Callable[[], Any],
    log: Any,
    delays: Sequence[float] = RETRY_DELAYS_SECONDS,
) -> Any:
    """``work()``, retried after each of ``delays`` as FS_RETRY retries an asset step."""
    for attempt, delay in enumerate((*delays, None), start=1):
        try:
            return work()
        except Exception as exc:
            if delay is None and attempt > 1:
                exc.add_note(
                    f"retried {attempt - 1} times, after {', '.join(f'{d:g}' for d in delays)} s"
                )
            if delay is None or not _retryable(exc):
                raise
            log.warning(f"{what}: {_describe(exc)}; retry {attempt} in {delay:g} s")
            time.sleep(delay)
    raise AssertionError("unreachable")


def _blocked(step: Step, results: Sequence[CheckResult]) -> list[str]:
    """The blocking checks among ``results`` that failed with ERROR severity."""
    out = []
    for result in results:
        check = step.check(result.name)
        severity = result.severity or check.severity
        if check.blocking and not result.passed and severity == "ERROR":
            out.append(f"{result.name}: {result.verdict}")
    return out


class AthleteUpdate:
    """One athlete's part of a squad run: the steps its trigger selects, in graph order."""

    def __init__(
        self,
        context: dg.OpExecutionContext,
        member: AthleteRun,
        settings: Settings,
        store: DataStoreResource,
    ):
        self.context = context
        self.member = member
        self.ctx = step_context(member.athlete, settings, store, context.log, member.files)
        self.outcome = MemberOutcome(member.athlete)

    def events(self) -> Generator[Event, None, MemberOutcome]:
        """The athlete's steps first, then what they recorded: the forecast file is
        written before any event is stored (on SQLite ~0.2 s sooner), and a step's
        materialization is still stored before the evaluations that point at it."""
        started = time.perf_counter()
        try:
            if self.member.trigger == "clock":
                yield from self._standalone_checks_only()
            for step, out, results in self._run_steps():
                yield dg.AssetMaterialization(
                    asset_key=asset_key(step),
                    partition=self.ctx.athlete,
                    metadata=ui_metadata(out.metadata),
                )
                self.outcome.materialized.append(step.path)
                yield from self._evaluations(step, results)
        finally:
            self.outcome.seconds = round(time.perf_counter() - started, 3)
        return self.outcome

    def _run_steps(self) -> list[tuple[Step, StepOutput, list[CheckResult]]]:
        """Each selected step whose dependencies went well, with its check results; a
        failed step, or a failed blocking check, stops its descendants only."""
        done: list[tuple[Step, StepOutput, list[CheckResult]]] = []
        stopped: set[StepKey] = set()  # failed, blocked, or downstream of those
        for key in self.member.steps():
            step = GRAPH[key]
            if any(dep in stopped for dep in step.deps):
                stopped.add(key)
                self.outcome.skipped.append(step.path)
                continue
            try:
                out: StepOutput = with_retries(
                    f"{self.member.athlete}/{step.path}",
                    functools.partial(run_step, step, self.ctx),
                    self.context.log,
                )
            except Exception as exc:
                self._fail(step.path, exc)
                stopped.add(key)
                continue
            results = list(out.checks)
            alone = [self._evaluate_alone(step, c) for c in step.checks if c.evaluate]
            results += [r for r in alone if r is not None]
            done.append((step, out, results))
            blocked = _blocked(step, results)
            if blocked:
                self._fail(step.path, "blocking check failed: " + "; ".join(blocked))
            if blocked or None in alone:
                stopped.add(key)
        return done

    def _fail(self, where: str, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else _describe(exc)
        self.outcome.failures.append((where, text))
        detail = "" if isinstance(exc, str) else "\n" + "".join(traceback.format_exception(exc))
        self.context.log.error(f"{self.member.athlete}: {where} failed: {text}{detail}")

    def _evaluations(
        self, step: Step, results: Sequence[CheckResult]
    ) -> Generator[Event, None, None]:
        if not results:
            return
        target = latest_materialization(self.context.instance, asset_key(step), self.ctx.athlete)
        for result in results:
            if not result.passed:
                self.outcome.failed_checks.append(f"{step.path}:{result.name}")
            yield check_evaluation(step, result, self.ctx.athlete, target)

    def _evaluate_alone(self, step: Step, check: CheckDef) -> CheckResult | None:
        """A standalone check (``CheckDef.evaluate``), evaluated after its step; None when
        it could not be evaluated (recorded as the athlete's failure)."""
        evaluate = check.evaluate
        assert evaluate is not None
        try:
            result: CheckResult = with_retries(
                f"{self.member.athlete}/{step.path}:{check.name}",
                lambda: evaluate(self.ctx),
                self.context.log,
            )
        except Exception as exc:
            self._fail(f"{step.path}:{check.name}", exc)
            return None
        return result

    def _standalone_checks_only(self) -> Generator[Event, None, None]:
        """A clock run: only the checks that can be evaluated alone, against the asset's
        latest materialization (nothing is rematerialized)."""
        for step, check in GRAPH.check_defs():
            if check.evaluate is None:
                continue
            result = self._evaluate_alone(step, check)
            if result is None:
                return
            yield from self._evaluations(step, [result])
