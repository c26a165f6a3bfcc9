"""Apple Health ``export.xml``: SDNN, not rMSSD, stored as its own metric.

The watch records SDNN samples around the clock; the morning reading is the night's:
- a sample belongs to the morning the night ended, in the sample's own UTC offset: one at
  23:40 belongs to the next morning, one at 06:10 to that morning;
- only samples taken in the night window (20:00 to 10:00 local) count; daytime samples are
  skipped and counted;
- only the watch's own samples (source or device an Apple Watch): values other apps write
  into the same type (an Oura or WHOOP sync) are skipped and counted, never averaged in;
- a night's value is the mean of its samples; resting heart rate records (one a day) are
  read too.
The file is streamed (``iterparse``, elements cleared as they go): memory stays flat
whatever the export's size. Entity tricks are refused (defusedxml).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import IO, Any

from defusedxml import ElementTree as SafeET

from hrv.intake.exports.model import (
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_POSITIVE,
    SDNN,
    Collector,
    NotHrv,
    Reject,
    number,
    parse_moment,
)

VENDOR = "Apple Health"
HRV = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
RHR = "HKQuantityTypeIdentifierRestingHeartRate"
NIGHT = (20, 10)  # a sample from 20:00 belongs to the next morning; until 10:00 to that day
DAYTIME = "a daytime sample, not the night's"
OTHER_APP = "written by another app, not the watch"


_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def is_cda(head: bytes) -> bool:
    """The document's root element is a ClinicalDocument (``export_cda.xml``)."""
    for m in _ROOT.finditer(head):  # the first element that is not <?xml or <!DOCTYPE
        return m.group(1).split(b":")[-1] == b"ClinicalDocument"
    return False


def _from_watch(elem: Any) -> bool:
    text = f"{elem.get('sourceName', '')} {elem.get('device', '')}"
    return "Watch" in text


def _night_of(moment: dt.datetime) -> dt.date | None:
    if moment.hour >= NIGHT[0]:
        return moment.date() + dt.timedelta(days=1)
    if moment.hour < NIGHT[1]:
        return moment.date()
    return None


def parse(source: IO[bytes], col: Collector) -> None:
    col.result.vendor, col.result.format = VENDOR, "apple_health"
    hrv: dict[dt.date, list[float]] = defaultdict(list)
    rhr: dict[dt.date, list[float]] = defaultdict(list)
    root = None
    n = 0
    seen_root = False
    try:
        for event, elem in SafeET.iterparse(source, events=("start", "end")):
            if event == "start":
                if not seen_root:
                    seen_root = True
                    root = elem
                    if "ClinicalDocument" in elem.tag:
                        col.result.format = "apple_health_cda"
                        raise NotHrv("Apple Health export_cda.xml: clinical document, no HRV")
                continue
            if elem.tag == "Record":
                n += 1
                kind = elem.get("type")
                if kind == HRV:
                    _sample(elem, n, col, hrv)
                elif kind == RHR:
                    _resting(elem, n, col, rhr)
            if elem is not root:
                elem.clear()
                if root is not None and n % 2000 == 0:
                    root.clear()  # drop the cleared elements the root still holds
    except SafeET.ParseError as exc:
        raise Reject(f"not well-formed XML: {exc}") from exc
    except (NotHrv, Reject):
        raise
    except Exception as exc:  # defusedxml raises its own errors for entity tricks
        if type(exc).__module__.startswith("defusedxml"):
            raise Reject(f"XML refused for safety: {exc}") from exc
        raise
    if not hrv and not col.result.skip_counts:
        raise Reject(f"no {HRV} records: not an Apple Health HRV export")
    for day in sorted(hrv):
        mean_rhr = sum(rhr[day]) / len(rhr[day]) if rhr.get(day) else None
        col.add(day, sum(hrv[day]) / len(hrv[day]), mean_rhr, metric=SDNN)


def _sample(elem: Any, n: int, col: Collector, hrv: dict[dt.date, list[float]]) -> None:
    col.result.rows_read += 1
    raw = elem.get("value")
    if not _from_watch(elem):
        col.skip(n, "sourceName", elem.get("sourceName"), OTHER_APP)
        return
    try:
        value = number(raw)
    except ValueError:
        col.skip(n, "value", raw, NOT_A_NUMBER)
        return
    if value is None or value <= 0:
        col.skip(n, "value", raw, NOT_POSITIVE)
        return
    try:
        moment = parse_moment(elem.get("startDate", ""))
    except ValueError:
        col.skip(n, "startDate", elem.get("startDate"), NOT_A_DATE)
        return
    day = _night_of(moment)
    if day is None:
        col.skip(n, "startDate", elem.get("startDate"), DAYTIME)
        return
    hrv[day].append(value)


def _resting(elem: Any, n: int, col: Collector, rhr: dict[dt.date, list[float]]) -> None:
    try:
        value = number(elem.get("value"))
        moment = parse_moment(elem.get("startDate", ""))
    except ValueError:
        return  # resting heart rate is optional: a bad one is left out, not the night
    if value is not None and value > 0 and _from_watch(elem):
        rhr[moment.date()].append(value)
