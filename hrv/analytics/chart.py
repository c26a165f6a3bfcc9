"""The intelligence summary chart: rMSSD, 7-day mean, normal band, forecasts vs actuals."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from hrv.analytics.features import METRIC_LABELS, metric_of
from hrv.storage.files import write_bytes_atomic
from hrv.storage.registry import SELECTED

CHART_DAYS = 120


def render_chart(
    frame: pd.DataFrame, registry_rows: list[dict[str, str]], athlete: str, path: Path
) -> None:
    """Render the last ``CHART_DAYS`` days to a PNG, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recent = frame.tail(CHART_DAYS)
    label = METRIC_LABELS[metric_of(frame)]
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=100)
    try:
        if len(recent):
            ax.fill_between(
                recent["date"],
                recent["normal_lo_ms"],
                recent["normal_hi_ms"],
                color="#cfe8cf",
                label="normal range (60 d, ±0.5 SD)",
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
            start = recent["date"].iloc[0]
            sel = [r for r in registry_rows if r.get("role") == SELECTED]
            latest: dict[str, dict[str, str]] = {}
            for r in sel:
                latest[r["for_date"]] = r
            pts = [
                (
                    pd.Timestamp(d),
                    float(r["predicted_rmssd_ms"]),
                    float(r["lower_ms"]),
                    float(r["upper_ms"]),
                )
                for d, r in sorted(latest.items())
                if r.get("predicted_rmssd_ms") and pd.Timestamp(d) >= start
            ]
            if pts:
                dates, mid, lo, hi = zip(*pts, strict=True)
                err = [
                    [m - low for m, low in zip(mid, lo, strict=True)],
                    [h - m for m, h in zip(mid, hi, strict=True)],
                ]
                ax.errorbar(
                    dates,
                    mid,
                    yerr=err,
                    fmt="s",
                    ms=4,
                    color="#d62728",
                    capsize=2,
                    label="forecast (80% interval)",
                )
        ax.set_title(f"{athlete}: morning {label}")
        ax.set_ylabel(f"{label} (ms)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    write_bytes_atomic(path, buf.getvalue())
