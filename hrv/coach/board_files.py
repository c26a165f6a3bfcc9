"""The squad board's files: ``squad_board.json``, ``.csv`` and one self-contained HTML page
(a card per athlete, worst first, each with a small inline SVG chart; no script, no
network: it opens from a phone's files app)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from pathlib import Path

from hrv.coach.board import (
    BOARD_CSV,
    BOARD_HTML,
    BOARD_JSON,
    CHART_DAYS,
    COLUMNS,
    STATUS_ORDER,
    BoardRow,
)
from hrv.storage.files import write_json_atomic, write_text_atomic

COLOURS = {"alert": "#c62828", "watch": "#ef6c00", "no_data": "#757575", "ok": "#2e7d32"}
REC_LABELS = {
    "train_hard": "Train hard",
    "train_moderate": "Train moderate",
    "train_easy": "Keep it easy",
    "rest": "Rest",
}


def _chart(row: BoardRow, width: int = 300, height: int = 110) -> str:
    """A small inline SVG: the normal range (band), nightly readings (dots), the 7-day
    mean (line) and tomorrow's forecast with its interval; dates on the x-axis."""
    days = row.series
    if not days:
        return '<p class="nochart">no readings yet</p>'
    pad_l, pad_r, pad_t, pad_b = 30, 8, 6, 18
    values = [v for d in days for v in (d["ms"], d["mean7"], d["lo"], d["hi"]) if v]
    if row.predicted_ms and row.interval_ms:
        values += [row.predicted_ms, *[v for v in row.interval_ms if v]]
    if not values:
        return '<p class="nochart">no valid readings yet</p>'
    y0, y1 = min(values) * 0.95, max(values) * 1.05
    n = len(days) + 1  # + tomorrow
    start = dt.date.fromisoformat(days[0]["date"])

    def x(i: int) -> float:
        return pad_l + (width - pad_l - pad_r) * i / max(n - 1, 1)

    def y(v: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1 - (v - y0) / (y1 - y0 or 1))

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{html.escape(row.name)}: last {len(days)} days and tomorrow">'
    ]
    band = [(i, d) for i, d in enumerate(days) if d["lo"] and d["hi"]]
    if band:
        top = " ".join(f"{x(i):.1f},{y(d['hi']):.1f}" for i, d in band)
        bottom = " ".join(f"{x(i):.1f},{y(d['lo']):.1f}" for i, d in reversed(band))
        parts.append(f'<polygon points="{top} {bottom}" fill="#c8e6c9" opacity="0.7"/>')
    line = " ".join(f"{x(i):.1f},{y(d['mean7']):.1f}" for i, d in enumerate(days) if d["mean7"])
    if line:
        parts.append(f'<polyline points="{line}" fill="none" stroke="#1565c0" stroke-width="1.6"/>')
    for i, d in enumerate(days):
        if d["ms"]:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(d["ms"]):.1f}" r="1.8" fill="#424242"/>')
    if row.predicted_ms and row.interval_ms and None not in row.interval_ms:
        fx = x(n - 1)
        lo, hi = row.interval_ms
        colour = COLOURS["alert"] if row.recommendation == "rest" else "#6a1b9a"
        parts.append(
            f'<line x1="{fx:.1f}" x2="{fx:.1f}" y1="{y(hi):.1f}" y2="{y(lo):.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<circle cx="{fx:.1f}" cy="{y(row.predicted_ms):.1f}" r="3.2" fill="{colour}"/>'
        )
    axis_y = height - pad_b
    parts.append(
        f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{axis_y}" y2="{axis_y}" stroke="#9e9e9e"/>'
    )
    end = start + dt.timedelta(days=n - 1)
    for i, label in ((0, start), (n - 1, end)):
        anchor = "start" if i == 0 else "end"
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 4}" font-size="9" text-anchor="{anchor}" '
            f'fill="#616161">{label:%d %b}</text>'
        )
    for v in (y0 / 0.95, y1 / 1.05):
        parts.append(
            f'<text x="{pad_l - 3}" y="{y(v) + 3:.1f}" font-size="9" text-anchor="end" '
            f'fill="#616161">{v:.0f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:12px;
  background:#fafafa;color:#212121}
h1{font-size:1.3rem;margin:0 0 4px} .sub{color:#616161;margin:0 0 12px;font-size:.9rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
.card{background:#fff;border-radius:8px;padding:10px 12px;border-left:6px solid #9e9e9e;
  box-shadow:0 1px 2px #0002}
.card.alert{border-color:#c62828} .card.watch{border-color:#ef6c00}
.card.ok{border-color:#2e7d32} .card.no_data{border-color:#757575}
header{display:flex;justify-content:space-between;align-items:center}
h2{font-size:1.05rem;margin:0}
.pill{font-size:.75rem;padding:2px 8px;border-radius:10px;background:#eee;
  text-transform:uppercase}
.alert .pill{background:#c62828;color:#fff} .watch .pill{background:#ef6c00;color:#fff}
.team{margin:0;color:#757575;font-size:.8rem} .rec{font-weight:600;margin:6px 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:4px 0;font-size:.85rem}
dt{color:#616161} dd{margin:0} .flags{margin:4px 0 6px;padding-left:18px;font-size:.85rem}
.problem{background:#ffebee;padding:8px;border-radius:6px}
.nochart{color:#9e9e9e;font-size:.8rem} .legend{font-size:.8rem;color:#616161;margin:8px 0 0}
"""


def render_html(
    rows: list[BoardRow], now: dt.datetime, counts: dict[str, int], roster_problem: str | None
) -> str:
    cards = []
    for r in rows:
        fc = (
            f"{r.predicted_ms:.0f} ms ({r.interval_ms[0]:.0f}-{r.interval_ms[1]:.0f})"
            if r.predicted_ms is not None and r.interval_ms and None not in r.interval_ms
            else "no forecast"
        )
        normal = (
            f"{r.normal_range_ms[0]:.0f}-{r.normal_range_ms[1]:.0f} ms"
            if r.normal_range_ms
            else "building"
        )
        trend = f"{r.trend_7d_pct:+.0f}%" if r.trend_7d_pct is not None else "-"
        flags = "".join(f"<li>{html.escape(f)}</li>" for f in r.flags) or "<li>none</li>"
        rec = REC_LABELS.get(r.recommendation or "", r.recommendation or "-")
        pill = r.status.replace("_", " ")
        last = f"{r.last_reading_ms:.0f} ms ({r.last_reading_date})" if r.last_reading_ms else "-"
        cv = f"{r.cv_7d_pct:.1f}%" if r.cv_7d_pct is not None else "-"
        cards.append(
            f"""<section class="card {r.status}">
<header><h2>{html.escape(r.name)}</h2><span class="pill">{pill}</span></header>
<p class="team">{html.escape(r.team or "")}</p>
<p class="rec">{html.escape(rec)}{f" on {r.for_date}" if r.for_date else ""}</p>
<dl>
<dt>last reading</dt><dd>{last}</dd>
<dt>normal range</dt><dd>{normal}</dd>
<dt>7-day trend</dt><dd>{trend}</dd>
<dt>variation (CV)</dt><dd>{cv}</dd>
<dt>forecast</dt><dd>{fc}</dd>
</dl>
<ul class="flags">{flags}</ul>
{_chart(r)}
</section>"""
        )
    banner = (
        '<p class="problem">athletes.yaml refused, defaults in use: '
        f"{html.escape(roster_problem)}</p>"
        if roster_problem
        else ""
    )
    summary = " · ".join(f"{counts.get(s, 0)} {s.replace('_', ' ')}" for s in STATUS_ORDER)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Squad board {now:%Y-%m-%d}</title>
<style>{CSS}</style></head><body>
<h1>Squad board</h1>
<p class="sub">{now:%Y-%m-%d %H:%M} UTC · {len(rows)} athletes · {summary}</p>
{banner}
<div class="grid">
{"".join(cards)}
</div>
<p class="legend">Charts: the last {CHART_DAYS} days. Green band: normal range; dots: nightly
readings; blue line: 7-day mean; the last point: tomorrow's forecast with its 80% interval
(red when it says rest).</p>
</body></html>
"""


def write_board(
    outputs: Path, rows: list[BoardRow], now: dt.datetime, roster_problem: str | None
) -> dict[str, Path]:
    """``squad_board.json``, ``.csv`` and ``.html`` in ``outputs`` (atomically)."""
    outputs.mkdir(parents=True, exist_ok=True)
    counts = {s: sum(r.status == s for r in rows) for s in STATUS_ORDER}
    doc = {
        "generated_at": now.isoformat(),
        "athletes": len(rows),
        "counts": counts,
        "roster_problem": roster_problem,
        "rows": [r.to_dict() for r in rows],
    }
    paths = {"json": outputs / BOARD_JSON, "csv": outputs / BOARD_CSV, "html": outputs / BOARD_HTML}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*COLUMNS, "advice"])
    writer.writeheader()
    for r in rows:
        d = r.to_dict()
        d["flags"] = "; ".join(r.flags)
        for key in ("normal_range_ms", "interval_ms"):
            d[key] = "-".join(f"{v:g}" for v in d[key]) if d[key] else ""
        writer.writerow(d)
    write_text_atomic(paths["csv"], buf.getvalue())
    write_text_atomic(paths["html"], render_html(rows, now, counts, roster_problem))
    # the JSON last: whoever sees a new squad_board.json finds the .csv and .html of it
    write_json_atomic(paths["json"], doc)
    return paths
