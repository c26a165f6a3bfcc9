"""The append-only predictions registry (``predictions_registry.csv``) and its ledger.

Every forecast the system makes is appended once and never rewritten. A ledger beside
the store records, after each append, the registry's length in bytes and the SHA-256 of
its content; ``verify_registry`` re-hashes every recorded prefix, so an edit to any past
row (or a truncation) is detected.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrv.storage.files import sha256_bytes, write_text_atomic

REGISTRY_FIELDS = (
    "made_at",
    "athlete",
    "for_date",
    "model",
    "predicted_rmssd_ms",
    "lower_ms",
    "upper_ms",
    "user_guess_ms",
    "role",
    "metric",  # rmssd, or sdnn for an athlete whose only source is SDNN (blank: rmssd)
)
SELECTED = "selected"
BASELINE = "baseline"


@dataclass
class RegistryIntegrity:
    passed: bool
    n_rows: int
    n_appends: int
    problems: list[str] = field(default_factory=list)


def read_registry(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "" if not math.isfinite(value) else f"{float(value):.2f}"
    return str(value)


def _same_forecast(a: dict[str, str], b: dict[str, Any]) -> bool:
    return all(
        a.get(k, "") == _fmt(b.get(k))
        for k in ("predicted_rmssd_ms", "lower_ms", "upper_ms", "user_guess_ms")
    ) and (a.get("metric") or "rmssd") == (b.get("metric") or "rmssd")


def append_forecasts(
    registry_path: Path, ledger_path: Path, rows: list[dict[str, Any]], made_at: dt.datetime
) -> int:
    """Append forecasts that differ from the last registered one for (for_date, model, role).

    Re-running with unchanged inputs appends nothing. Returns the number of rows appended.
    """
    existing = read_registry(registry_path)
    latest: dict[tuple[str, str, str], dict[str, str]] = {}
    for row in existing:
        latest[(row["for_date"], row["model"], row.get("role", ""))] = row
    fresh = []
    for row in rows:
        key = (str(row["for_date"]), str(row["model"]), str(row.get("role", "")))
        prev = latest.get(key)
        if prev is not None and _same_forecast(prev, row):
            continue
        fresh.append(row)
    if not fresh:
        return 0
    old = registry_path.read_bytes() if registry_path.exists() else b""
    # an older registry keeps its own columns: appending never rewrites its header
    header = old.split(b"\n", 1)[0].decode("utf-8").strip().split(",") if old else []
    fields = header or list(REGISTRY_FIELDS)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    if not old:
        writer.writeheader()
    for row in fresh:
        writer.writerow({k: _fmt(row.get(k)) for k in fields} | {"made_at": made_at.isoformat()})
    new = old + buf.getvalue().encode("utf-8")
    write_text_atomic(registry_path, new.decode("utf-8"))
    ledger_line = json.dumps(
        {
            "at": made_at.isoformat(),
            "n_bytes": len(new),
            "sha256": sha256_bytes(new),
            "appended": len(fresh),
        }
    )
    prior = ledger_path.read_text(encoding="utf-8") if ledger_path.exists() else ""
    write_text_atomic(ledger_path, prior + ledger_line + "\n")
    return len(fresh)


def verify_registry(registry_path: Path, ledger_path: Path) -> RegistryIntegrity:
    """Check that every past append is still a byte-identical prefix of the registry."""
    data = registry_path.read_bytes() if registry_path.exists() else b""
    entries = []
    if ledger_path.exists():
        entries = [json.loads(x) for x in ledger_path.read_text().splitlines() if x.strip()]
    problems: list[str] = []
    for i, entry in enumerate(entries, start=1):
        n = int(entry["n_bytes"])
        if len(data) < n:
            problems.append(
                f"append #{i} ({entry['at']}) left {n} bytes but the registry has {len(data)}: "
                "rows were removed"
            )
            break
        if sha256_bytes(data[:n]) != entry["sha256"]:
            problems.append(
                f"content up to append #{i} ({entry['at']}) changed after it was written: "
                "a past forecast was edited"
            )
            break
    if entries and not problems and len(data) != int(entries[-1]["n_bytes"]):
        problems.append(
            f"registry has {len(data) - int(entries[-1]['n_bytes'])} bytes that no append wrote"
        )
    if not entries and data:
        problems.append("registry exists but its ledger is missing")
    rows = read_registry(registry_path) if data else []
    stamps = [r["made_at"] for r in rows]
    if stamps != sorted(stamps):
        problems.append("made_at is not in append order")
    return RegistryIntegrity(not problems, len(rows), len(entries), problems)
