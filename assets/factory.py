"""Turns each step of the graph (``hrv/steps``) into a partitioned Dagster asset.

The asset's key, group (its layer), dependencies, checks (severity, blocking), retry
policy and description all come from the ``Step``; its body runs the step for the run's
athlete partition and reports the step's metadata and check results.
"""

import datetime as dt

import dagster as dg
from pydantic import Field

from assets.common import (
    ATHLETES,
    FS_RETRY,
    asset_key,
    check_result,
    check_spec,
    run_step,
    step_context,
    ui_metadata,
)
from hrv.settings import Settings
from hrv.steps.graph import CheckDef, Step
from resources.folders import DataStoreResource
from resources.settings import SettingsResource


class IngestConfig(dg.Config):
    files: list[str] | None = Field(
        default=None,
        description=(
            "Inbox-relative paths of the files to ingest (the inbox sensor fills this in). "
            "Leave empty to scan the inbox for this athlete's pending files."
        ),
    )


def build_asset(step: Step, settings: Settings) -> dg.AssetsDefinition:
    freshness = (
        dg.FreshnessPolicy.time_window(
            fail_window=dt.timedelta(hours=settings.freshness_fail_hours),
            warn_window=dt.timedelta(hours=settings.freshness_warn_hours),
        )
        if step.watches_freshness
        else None
    )

    def materialize(
        context: dg.AssetExecutionContext,
        settings: SettingsResource,
        store: DataStoreResource,
        files: list[str] | None,
    ) -> dg.MaterializeResult:
        athlete = context.partition_key
        ctx = step_context(athlete, settings.get(), store, context.log, files)
        out = run_step(step, ctx)
        return dg.MaterializeResult(
            metadata=ui_metadata(out.metadata),
            check_results=[check_result(step, c, athlete) for c in out.checks],
        )

    decorate = dg.asset(
        key=asset_key(step),
        group_name=step.layer,
        description=step.description,
        partitions_def=ATHLETES,
        deps=[dg.AssetKey(list(d)) for d in step.deps],
        retry_policy=FS_RETRY,
        kinds=set(step.kinds) or None,
        check_specs=[check_spec(step, c) for c in step.checks if c.evaluate is None],
        freshness_policy=freshness,
    )
    if step.takes_files:

        def with_files(
            context: dg.AssetExecutionContext,
            config: IngestConfig,
            settings: SettingsResource,
            store: DataStoreResource,
        ) -> dg.MaterializeResult:
            return materialize(context, settings, store, config.files)

        return decorate(with_files)

    def without_files(
        context: dg.AssetExecutionContext, settings: SettingsResource, store: DataStoreResource
    ) -> dg.MaterializeResult:
        return materialize(context, settings, store, None)

    return decorate(without_files)


def build_checks(step: Step) -> list[dg.AssetChecksDefinition]:
    """The step's checks that are evaluated on their own (``CheckDef.evaluate``): each is
    its own Dagster check, run right after the step in the same run, or alone (the
    freshness sensor runs ``source_freshness`` when an athlete's state changes)."""
    return [_standalone_check(step, check) for check in step.checks if check.evaluate]


def _standalone_check(step: Step, check: CheckDef) -> dg.AssetChecksDefinition:
    evaluate = check.evaluate
    assert evaluate is not None

    @dg.asset_check(
        asset=asset_key(step),
        name=check.name,
        description=check.description,
        blocking=check.blocking,
        partitions_def=ATHLETES,
        retry_policy=FS_RETRY,
    )
    def standalone(
        context: dg.AssetCheckExecutionContext,
        settings: SettingsResource,
        store: DataStoreResource,
    ) -> dg.AssetCheckResult:
        athlete = context.partition_key
        ctx = step_context(athlete, settings.get(), store, context.log)
        return check_result(step, evaluate(ctx), athlete)

    return standalone
