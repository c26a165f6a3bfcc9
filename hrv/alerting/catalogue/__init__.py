"""Every alert hrv-sentinel can raise: kinds, severities, fingerprints and wording.

This package is the one place that says what an alert is called, how it is identified
and what it says (kinds in ``kinds``; wording in ``pipeline``, ``sources``, ``athletes``).
Producers (sensors, runs, steps) call the constructors below and hand the result to
``hrv.alerting.book.record_alert``; nothing else builds an ``Alert``.

A fingerprint identifies "the same problem": ``<kind>:<athlete or ->:<subject>``. A
firing alert and the resolved alert that ends it share a fingerprint.
"""

from hrv.alerting.catalogue.athletes import BOARD_LINK, athlete_flag_cleared, athlete_flagged
from hrv.alerting.catalogue.kinds import (
    KINDS,
    SEVERITIES,
    STATUSES,
    Alert,
    Kind,
    Severity,
    Status,
    fingerprint,
)
from hrv.alerting.catalogue.pipeline import (
    check_failed,
    check_passed,
    export_rejected,
    journal_rejected,
    journal_stuck,
    readings_stuck,
    rejections_grouped,
    run_failed,
    run_recovered,
    sensor_failing,
    sensor_recovered,
    settings_accepted,
    settings_rejected,
)
from hrv.alerting.catalogue.sources import (
    hub_athlete_failing,
    hub_down,
    hub_key_refused,
    hub_recovered,
    hub_write_back_failing,
    source_fresh,
    source_stale,
)

__all__ = [
    "BOARD_LINK",
    "KINDS",
    "SEVERITIES",
    "STATUSES",
    "Alert",
    "Kind",
    "Severity",
    "Status",
    "athlete_flag_cleared",
    "athlete_flagged",
    "check_failed",
    "check_passed",
    "export_rejected",
    "fingerprint",
    "hub_athlete_failing",
    "hub_down",
    "hub_key_refused",
    "hub_recovered",
    "hub_write_back_failing",
    "journal_rejected",
    "journal_stuck",
    "readings_stuck",
    "rejections_grouped",
    "run_failed",
    "run_recovered",
    "sensor_failing",
    "sensor_recovered",
    "settings_accepted",
    "settings_rejected",
    "source_fresh",
    "source_stale",
]
