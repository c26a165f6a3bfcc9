"""The squad's morning briefing: one line per athlete (pure)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hrv.intake.freshness import FRESH, NONE, FreshnessSettings, evaluate, newest_reading_date
from hrv.storage.athlete_store import AthleteStore

ICONS = {
    "train_hard": ":large_green_circle:",
    "train_moderate": ":large_yellow_circle:",
    "train_easy": ":large_orange_circle:",
    "rest": ":red_circle:",
}
MAX_SECTION_CHARS = 2800
MAX_BLOCKS = 45


def athlete_line(
    data_dir: Path, athlete: str, now: dt.datetime, settings: FreshnessSettings
) -> str:
    out = Path(data_dir) / "outputs" / athlete
    try:
        fc: dict[str, Any] = json.loads((out / "agent_forecast.json").read_text())
    except (FileNotFoundError, ValueError):
        fc = {}
    flags = []
    fresh = evaluate(newest_reading_date(AthleteStore(data_dir, athlete).readings()), now, settings)
    if fresh.state not in (FRESH, NONE):
        flags.append(f"stale source ({fresh.age_hours:.0f} h)")
    if fresh.state == NONE:
        flags.append("no wearable data")
    if fc.get("cold_start"):
        flags.append("cold start")
    try:
        flag_doc = json.loads((out / "flags.json").read_text())
    except (FileNotFoundError, ValueError):
        flag_doc = {}
    flags = [
        f["label"] for f in flag_doc.get("flags", []) if f.get("active") and "label" in f
    ] + flags
    if not fc:
        return f"*{athlete}*: no forecast yet" + (f" · flags: {', '.join(flags)}" if flags else "")
    rec = fc.get("recommendation", "?")
    pred = fc.get("predicted_ms", fc.get("predicted_rmssd_ms"))
    interval = fc.get("interval_ms") or [None, None]
    normal = fc.get("normal_range_ms")
    status = ""
    if pred is not None and normal:
        status = "below" if pred < normal[0] else "above" if pred > normal[1] else "within"
        status = f" · {status} normal {normal[0]:.0f}-{normal[1]:.0f}"
    value = (
        f"{pred:.0f} ms ({interval[0]:.0f}-{interval[1]:.0f})"
        if pred is not None
        else "no HRV forecast"
    )
    line = f"{ICONS.get(rec, '')} *{athlete}* {fc.get('for_date', '')}: *{rec}* · {value}{status}"
    return line + (f" · flags: {', '.join(flags)}" if flags else "")


def build_briefing(
    data_dir: Path,
    athletes: list[str],
    now: dt.datetime,
    settings: FreshnessSettings,
    board_url: str | None = None,
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Slack messages (fallback text, blocks); long squads are split across messages. The
    first line counts the flagged athletes and links to the squad board."""
    lines = [athlete_line(data_dir, a, now, settings) for a in sorted(athletes)]
    title = f"Morning briefing {now.astimezone(settings.tz).date().isoformat()}"
    if not lines:
        lines = ["No athletes yet."]
    else:
        flagged = sum(" · flags: " in line for line in lines)
        board = f" · <{board_url}|squad board>" if board_url else ""
        lines.insert(0, f"*{flagged} of {len(athletes)} athletes flagged*{board}")
    sections: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + len(line) + 1 > MAX_SECTION_CHARS:
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    sections.append(current)
    messages = []
    for start in range(0, len(sections), MAX_BLOCKS):
        chunk = sections[start : start + MAX_BLOCKS]
        part = f" ({start // MAX_BLOCKS + 1})" if len(sections) > MAX_BLOCKS else ""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title + part}}
        ]
        blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in chunk]
        messages.append((f"{title}{part}: {len(athletes)} athletes", blocks))
    return messages
