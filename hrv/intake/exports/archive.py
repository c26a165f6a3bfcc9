"""Zip archives as the apps deliver them (Apple ``export.zip``, WHOOP and Oura zips, Google
Takeout): every member is read in place, by content, and nothing is ever extracted.

Bounded: at most ``MAX_MEMBERS`` files, ``MAX_TOTAL_BYTES`` uncompressed in all, and no
member inflating more than ``MAX_RATIO`` times (a zip bomb is refused, not unpacked).
Members with absolute paths or ``..`` are skipped (never extracted anyway), as are
folders, hidden files and macOS resource forks (``__MACOSX/``).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import IO

from hrv.intake.exports.model import Collector, Reject, SourceParseResult

MAX_MEMBERS = 5000
MAX_TOTAL_BYTES = 8 << 30
MAX_RATIO = 200  # compression ratios above this are zip bombs, not exports
MEMBER_SUFFIXES = (".csv", ".json", ".xml", ".txt")


def is_zip(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")


def parse_zip(
    fh: IO[bytes],
    size: int,
    col: Collector,
    parse_member: Callable[[str, IO[bytes], int], SourceParseResult],
) -> None:
    result = col.result
    result.format = "zip"
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise Reject(f"archive has {len(infos)} members, over {MAX_MEMBERS}")
            total = sum(i.file_size for i in infos)
            if total > MAX_TOTAL_BYTES:
                raise Reject(f"archive unpacks to {total} bytes, over {MAX_TOTAL_BYTES}", total)
            for info in infos:
                name = info.filename
                parts = PurePosixPath(name).parts
                if info.is_dir() or not parts:
                    continue
                if name.startswith("/") or ".." in parts or "\\" in name:
                    result.skip(None, "member", name, "unsafe path in the archive, not read")
                    continue
                if parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
                    continue
                if not name.lower().endswith(MEMBER_SUFFIXES):
                    continue
                if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                    result.skip(None, "member", name, f"inflates over {MAX_RATIO}x: refused")
                    continue
                with zf.open(info) as member_fh:
                    member = parse_member(name, member_fh, info.file_size)
                _absorb(result, member)
    except zipfile.BadZipFile as exc:
        raise Reject(f"not a readable zip archive: {exc}") from exc
    if not result.members:
        raise Reject("the archive holds no export files (csv, json or xml)")
    if not result.readings and all(m.not_hrv for m in result.members):
        result.not_hrv = "; ".join(sorted({m.not_hrv or "" for m in result.members}))
    vendors = {m.vendor for m in result.members if m.vendor and m.readings}
    result.vendor = ", ".join(sorted(vendors)) or None


def _absorb(parent: SourceParseResult, member: SourceParseResult) -> None:
    parent.members.append(member)
    parent.readings.extend(member.readings)
    parent.rows_read += member.rows_read
    for reason, n in member.skip_counts.items():
        parent.skip_counts[reason] += n
    for skip in member.skipped:
        if len(parent.skipped) < 50:
            parent.skipped.append(skip)
    if member.verdict == "rejected" and member.errors and not member.not_hrv:
        first = member.errors[0]
        parent.skip(None, member.file, first.value, f"member not usable: {first.message}")
