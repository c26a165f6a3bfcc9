"""The intelligence summary chart: rMSSD, 7-day mean, normal band, forecasts vs actuals."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from hrv.analytics.features import METRIC_LABELS, metric_of
from hrv.storage.files import write_bytes_atomic
from hrv.storage.registry import SELECTED

CHART_DAYS = 120


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    recent = frame.tail(CHART_DAYS)
    label = METRIC_LABELS[metric_of(frame)]
    fig, ax = plt.subplots(figsize=(10, 4.4), dpi=100)
    try:
        if len(recent):
            start = recent["date"].iloc[0]
            ax.fill_between(
                recent["date"],
                recent["normal_lo_ms"],
                recent["normal_hi_ms"],
                color="#cfe8cf",
                label="normal range (60 days)",
                step="mid",
            )
            valid = recent[recent["rmssd_valid"]]
            ax.plot(valid["date"], valid["rmssd_ms"], "o", ms=3, color="#555", label=label)
            ax.plot(
                recent["date"],
                recent["baseline_7d_ms"],
                "-",
                lw=2,
                color="#1f77b4",
                label="7-day mean",
            )
            rebuilt = _points(reconstructed_rows or [], start, "predicted_ms")
            if rebuilt:
                d, mid, lo, hi = zip(*rebuilt, strict=True)
                ax.fill_between(d, lo, hi, color="#f4c7c3", alpha=0.3, lw=0)
                ax.plot(d, mid, "--", lw=1.2, color="#c0392b", label="forecast, reconstructed")
            latest: dict[str, dict[str, str]] = {}
            for r in registry_rows:
                if r.get("role") == SELECTED:
                    latest[r["for_date"]] = r
            live = _points(list(latest.values()), start, "predicted_rmssd_ms")
            if live:
                d, mid, lo, hi = zip(*live, strict=True)
                err = [
                    [m - low for m, low in zip(mid, lo, strict=True)],
                    [h - m for m, h in zip(mid, hi, strict=True)],
                ]
                ax.errorbar(
                    d,
                    mid,
                    yerr=err,
                    fmt="s",
                    ms=4,
                    color="#d62728",
                    elinewidth=1,
                    capsize=0,
                    label="forecast (80% interval)",
                )
            if forecast and forecast.get("predicted_ms") is not None and forecast.get("for_date"):
                day = pd.Timestamp(forecast["for_date"])
                rec = str(forecast.get("recommendation") or "").replace("_", " ")
                ax.annotate(
                    f"{day:%d %b}: {forecast['predicted_ms']:.0f} ms, {rec}",
                    xy=(day, forecast["predicted_ms"]),
                    xytext=(0.99, 0.96),
                    textcoords="axes fraction",
                    ha="right",
                    va="top",
                    fontsize=9,
                    fontweight="bold",
                    bbox={"boxstyle": "round", "fc": "white", "ec": "#999"},
                    arrowprops={"arrowstyle": "->", "color": "#555"},
                )
            if forecast and forecast.get("baseline_building"):
                ax.text(
                    0.99,
                    0.02,
                    "baseline building: the normal range is not yet the athlete's own",
                    transform=ax.transAxes,
                    ha="right",
                    va="bottom",
                    fontsize=8,
                    color="#777",
                )
        ax.set_title(f"{athlete}: morning {label}")
        ax.set_ylabel(f"{label} (ms)")
        ax.set_xlabel("morning (date)")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=8, ncol=3, framealpha=0.9)
        ax.tick_params(axis="x", labelrotation=30)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
        # fixed margins: a layout engine would draw the figure once more (~40% of the time)
        fig.subplots_adjust(left=0.07, right=0.99, top=0.93, bottom=0.2)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", pil_kwargs={"compress_level": 3})
    finally:
        plt.close(fig)
    write_bytes_atomic(path, buf.getvalue())
