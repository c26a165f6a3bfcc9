"""The intelligence summary chart: rMSSD, 7-day mean, normal band, forecasts vs actuals.

Drawn with Pillow (``hrv/analytics/canvas.py``): ~25 ms an athlete where matplotlib took
~90 ms (and ~0.3 s to import in every run worker), which matters when a squad of 1,000
athletes redraws its charts every morning.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd

from hrv.analytics.canvas import (
    BOTTOM,
    LEFT,
    RIGHT,
    TEXT,
    TOP,
    Canvas,
    Point,
    S,
    date_ticks,
    font,
    nice_ticks,
    runs,
    vertical_label,
)
from hrv.analytics.features import METRIC_LABELS, metric_of
from hrv.storage.files import write_bytes_atomic
from hrv.storage.registry import SELECTED

CHART_DAYS = 120
MARGIN = 0.05  # of the data range, each side (as matplotlib's autoscale)

BAND = (207, 232, 207)  # normal range
READING = (85, 85, 85)
MEAN = (31, 119, 180)
REBUILT = (192, 57, 43)
REBUILT_BAND = (244, 199, 195, 77)  # 30% over what is below
FORECAST = (214, 39, 40)
GRID = (235, 235, 235)
MUTED = (119, 119, 119)


def _points(
    rows: list[dict[str, str]], start: pd.Timestamp, value: str
) -> list[tuple[pd.Timestamp, float, float, float]]:
    out = []
    for r in rows:
        try:
            day = pd.Timestamp(r["for_date"])
            mid, lo, hi = float(r[value]), float(r["lower_ms"]), float(r["upper_ms"])
        except (KeyError, TypeError, ValueError):
            continue
        if day >= start:
            out.append((day, mid, lo, hi))
    return sorted(out)


def _days(values: Any) -> list[float]:
    return [pd.Timestamp(v).toordinal() for v in values]


def render_chart(
    frame: pd.DataFrame,
    registry_rows: list[dict[str, str]],
    athlete: str,
    path: Path,
    reconstructed_rows: list[dict[str, str]] | None = None,
    forecast: dict[str, Any] | None = None,
) -> None:
    """Render the last ``CHART_DAYS`` days to a PNG, written atomically: the readings, the
    7-day mean and normal range; the reconstructed forecasts (day one: each past evening
    re-made out of sample) as a dashed line in a light 80% band; the live forecasts as
    points with their interval; tomorrow's forecast with its recommendation."""
    recent = frame.tail(CHART_DAYS)
    label = METRIC_LABELS[metric_of(frame)]
    days = _days(recent["date"])
    lo_band = recent["normal_lo_ms"].to_numpy(dtype=float).tolist()
    hi_band = recent["normal_hi_ms"].to_numpy(dtype=float).tolist()
    mean = recent["baseline_7d_ms"].to_numpy(dtype=float).tolist()
    valid = recent[recent["rmssd_valid"].astype(bool)]
    readings = list(zip(_days(valid["date"]), valid["rmssd_ms"].astype(float), strict=True))
    start = recent["date"].iloc[0] if len(recent) else pd.Timestamp.max
    rebuilt = _points(reconstructed_rows or [], start, "predicted_ms")
    latest: dict[str, dict[str, str]] = {}
    for r in registry_rows:
        if r.get("role") == SELECTED:
            latest[r["for_date"]] = r
    live = _points(list(latest.values()), start, "predicted_rmssd_ms")
    ahead = None
    if forecast and forecast.get("predicted_ms") is not None and forecast.get("for_date"):
        ahead = (pd.Timestamp(forecast["for_date"]), float(forecast["predicted_ms"]))

    xs = (
        days
        + [p[0].toordinal() for p in rebuilt + live]
        + ([ahead[0].toordinal()] if ahead else [])
    )
    ys = [
        v
        for v in [*lo_band, *hi_band, *mean, *(y for _, y in readings)]
        + [v for p in rebuilt + live for v in p[1:]]
        + ([ahead[1]] if ahead else [])
        if math.isfinite(v)
    ]
    today = float(dt.date.today().toordinal())
    x0, x1 = (min(xs), max(xs)) if xs else (today - 7, today)  # no data yet: an empty week
    y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
    x0, x1 = (x0 - 1, x1 + 1) if x0 == x1 else (x0, x1)
    y0, y1 = (y0 - 1, y1 + 1) if y0 == y1 else (y0, y1)
    pad_x, pad_y = (x1 - x0) * MARGIN, (y1 - y0) * MARGIN
    c = Canvas(x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y)

    y_ticks = [t for t in nice_ticks(c.y0, c.y1) if c.y0 <= t <= c.y1]
    x_ticks = date_ticks(
        dt.date.fromordinal(math.ceil(c.x0)), dt.date.fromordinal(math.floor(c.x1))
    )
    for t in y_ticks:
        c.line([(c.x0, t), (c.x1, t)], GRID, 1)
    for d in x_ticks:
        c.line([(d.toordinal(), c.y0), (d.toordinal(), c.y1)], GRID, 1)

    # fills first, then lines and marks (matplotlib's order: fills beneath lines)
    width = [h - lo for lo, h in zip(lo_band, hi_band, strict=True)]
    index = {x: i for i, x in enumerate(days)}
    for stretch in runs(list(zip(days, width, strict=True))):  # the normal range, in steps
        first, last = stretch[0][0], stretch[-1][0]
        top, bottom = [], []
        for x, _ in stretch:
            i = index[x]
            left = max(x - 0.5, first)
            right = min(x + 0.5, last)
            top += [(left, hi_band[i]), (right, hi_band[i])]
            bottom += [(left, lo_band[i]), (right, lo_band[i])]
        c.polygon(top + bottom[::-1], BAND)
    rx = [p[0].toordinal() for p in rebuilt]
    if rebuilt:
        c.polygon(
            list(zip(rx, [p[2] for p in rebuilt], strict=True))
            + list(zip(rx, [p[3] for p in rebuilt], strict=True))[::-1],
            REBUILT_BAND,
        )
    for x, y in readings:
        c.dot(x, y, 2.1, READING)
    for stretch in runs(list(zip(days, mean, strict=True))):
        c.line(stretch, MEAN, 2.8)
    if rebuilt:
        c.dashed(list(zip(rx, [p[1] for p in rebuilt], strict=True)), REBUILT, 1.7)
    for day, mid, lo, hi in live:
        c.line([(day.toordinal(), lo), (day.toordinal(), hi)], FORECAST, 1.4)
        c.dot(day.toordinal(), mid, 2.8, FORECAST, square=True)

    # axes: the frame, ticks and their labels, titles
    c.draw.rectangle((LEFT * S, TOP * S, RIGHT * S, BOTTOM * S), outline=TEXT, width=S)
    for t in y_ticks:
        _, py = c.px(c.x0, t)
        c.draw.line([(LEFT * S - 7 * S, py), (LEFT * S, py)], fill=TEXT, width=S)
        c.text((LEFT - 10, py / S), f"{t:g}", 13.9, "rm")
    for d in x_ticks:
        px, _ = c.px(d.toordinal(), c.y0)
        c.draw.line([(px, BOTTOM * S), (px, BOTTOM * S + 7 * S)], fill=TEXT, width=S)
        c.text((px / S, BOTTOM + 11), f"{d:%d %b}", 13.9, "mt")
    c.text(((LEFT + RIGHT) / 2, TOP - 8), f"{athlete}: morning {label}", 16.7, "ms")
    c.text(((LEFT + RIGHT) / 2, BOTTOM + 48), "morning (date)", 13.9, "ms")
    vertical_label(c, f"{label} (ms)", 13.9, (16, (TOP + BOTTOM) / 2))

    if ahead is not None:
        rec = str((forecast or {}).get("recommendation") or "").replace("_", " ")
        _callout(
            c, f"{ahead[0]:%d %b}: {ahead[1]:.0f} ms, {rec}", c.px(ahead[0].toordinal(), ahead[1])
        )
    if forecast and forecast.get("baseline_building"):
        c.text(
            (RIGHT - 8, BOTTOM - 6),
            "baseline building: the normal range is not yet the athlete's own",
            11.1,
            "rd",
            fill=MUTED,
        )
    _legend(c, readings=bool(readings), rebuilt=bool(rebuilt), live=bool(live), label=label)
    write_bytes_atomic(path, c.png())


def _callout(c: Canvas, text: str, target: Point) -> None:
    """Tomorrow's forecast in a box at the top right, with an arrow to its point."""
    face = font(12.5)
    right, top = (RIGHT - 8) * S, (TOP + 10) * S
    x0, y0, x1, y1 = c.draw.textbbox((right, top), text, font=face, anchor="rt")
    pad = 5 * S
    box = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    start = ((box[0] + box[2]) / 2, box[3])
    c.draw.line([start, target], fill=READING, width=S)
    angle = math.atan2(target[1] - start[1], target[0] - start[0])
    head = 9 * S
    c.draw.polygon(
        [
            target,
            (target[0] - head * math.cos(angle - 0.35), target[1] - head * math.sin(angle - 0.35)),
            (target[0] - head * math.cos(angle + 0.35), target[1] - head * math.sin(angle + 0.35)),
        ],
        fill=READING,
    )
    c.draw.rounded_rectangle(box, radius=6 * S, fill="white", outline=(153, 153, 153), width=S)
    c.draw.text((right, top), text, font=face, anchor="rt", fill=TEXT)


def _legend(c: Canvas, readings: bool, rebuilt: bool, live: bool, label: str) -> None:
    """What each mark means, in three columns at the top left (as the UI's chart did)."""
    entries: list[tuple[str, str]] = [("band", "normal range (60 days)")]
    if readings:
        entries.append(("dot", label))
    entries.append(("line", "7-day mean"))
    if rebuilt:
        entries.append(("dashed", "forecast, reconstructed"))
    if live:
        entries.append(("square", "forecast (80% interval)"))
    face = font(11.1)
    rows = math.ceil(len(entries) / 3)
    col_w, row_h = 190, 16
    x0, y0 = LEFT + 6, TOP + 6
    w = col_w * min(3, len(entries)) + 8
    h = row_h * rows + 8
    c.draw.rounded_rectangle(
        (x0 * S, y0 * S, (x0 + w) * S, (y0 + h) * S),
        radius=3 * S,
        fill=(255, 255, 255, 230),
        outline=(204, 204, 204),
        width=S,
    )
    for k, (kind, text) in enumerate(entries):
        col, row = divmod(k, rows)
        hx, hy = (x0 + 8 + col * col_w) * S, (y0 + 4 + row * row_h + row_h / 2) * S
        if kind == "band":
            c.draw.rectangle((hx, hy - 4 * S, hx + 26 * S, hy + 4 * S), fill=BAND)
        elif kind == "dot":
            c.draw.ellipse((hx + 11 * S, hy - 2 * S, hx + 15 * S, hy + 2 * S), fill=READING)
        elif kind == "line":
            c.draw.line([(hx, hy), (hx + 26 * S, hy)], fill=MEAN, width=3 * S)
        elif kind == "dashed":
            for a in (0, 9, 18):
                c.draw.line([(hx + a * S, hy), (hx + (a + 6) * S, hy)], fill=REBUILT, width=2 * S)
        else:
            c.draw.line(
                [(hx + 13 * S, hy - 6 * S), (hx + 13 * S, hy + 6 * S)], fill=FORECAST, width=S
            )
            c.draw.rectangle((hx + 10 * S, hy - 3 * S, hx + 16 * S, hy + 3 * S), fill=FORECAST)
        c.draw.text((hx + 34 * S, hy), text, font=face, anchor="lm", fill=TEXT)
