"""CSV exports as people get them: a BOM, ``,`` or ``;`` or tabs, spaces after commas,
blank lines, CRLF, a decimal comma when the separator is ``;`` (European Excel)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from hrv.intake.exports.model import Reject


@dataclass(frozen=True)
class Table:
    header: list[str]  # stripped, case kept
    rows: list[tuple[int, dict[str, str]]]  # (line number, column -> stripped value)
    delimiter: str

    def has(self, *columns: str) -> bool:
        lower = {h.lower() for h in self.header}
        return all(c.lower() in lower for c in columns)

    def column(self, *candidates: str) -> str | None:
        """The header's own spelling of the first candidate column it has."""
        by_lower = {h.lower(): h for h in self.header}
        for c in candidates:
            if c.lower() in by_lower:
                return by_lower[c.lower()]
        return None


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), UTF-16 with its BOM, else line by line: a line that
    is not UTF-8 is read as Windows-1252, which is what a European Excel saves ("CSV
    (semicolon)"), so a file with mixed encodings loses no row."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:  # a UTF-16 export (Excel's "Unicode text") with its BOM
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise Reject(f"not valid UTF-16 text: bad bytes at offset {exc.start}") from exc
    if b"\x00" in data:
        raise Reject("not text: NUL bytes (a binary file, or UTF-16 without its BOM)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    return "".join(_line(line) for line in data.removeprefix(b"\xef\xbb\xbf").splitlines(True))


def _line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(text: str) -> Table:
    """The first non-blank line is the header; blank lines anywhere are ignored."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise Reject("file is empty")
    delimiter = _delimiter(lines[first])
    try:
        parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise Reject(f"not valid CSV: {exc}") from exc
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for line_no, row in enumerate(parsed, start=1):
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lstrip("#").strip() for cell in row]
            continue
        rows.append(
            (line_no, {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)})
        )
    if header is None:
        raise Reject("file has no header row (only empty cells)")
    return Table(header, rows, delimiter)
