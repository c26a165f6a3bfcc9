"""Journal files -> validated entries, or an error report that names file, field, value, reason.

Formats: Markdown with YAML front matter (the body becomes ``notes``), JSON (an object or
a list of objects), YAML (a mapping or a list of mappings) and CSV (one row per day).
``parse_journal_file`` is the public entry point used by the inbox sensor and the
journal asset.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hrv.storage.files import sha256_bytes

ATHLETE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Folder names inside inbox/ that are bookkeeping, never athletes.
RESERVED_ATHLETES = frozenset({"processed", "rejected"})
MAX_JOURNAL_BYTES = 1 << 20
MAX_NOTES_CHARS = 10_000
JOURNAL_SUFFIXES = frozenset({".md", ".markdown", ".json", ".yaml", ".yml", ".csv"})
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", "~")
FILE_FIELD = "(file)"
FLAT_TRAINING_FIELDS = ("training_type", "training_minutes", "training_rpe")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class TrainingSession(BaseModel):
    """One training session: load = minutes x RPE (session-RPE method)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    type: str = Field(default="training", min_length=1, max_length=64)
    minutes: float = Field(ge=0, le=600)
    rpe: float = Field(ge=0, le=10)


EARLIEST_DATE = dt.date(2000, 1, 1)  # the default of HRV_EARLIEST_DATE
LATEST_AHEAD_DAYS = 1  # tomorrow at most (an entry written ahead, a time zone ahead of UTC)


def earliest_date() -> dt.date:
    """HRV_EARLIEST_DATE (the settings), or the default when they cannot be read."""
    from hrv.settings import SettingsError, load_settings

    try:
        return load_settings().earliest_date
    except SettingsError:
        return EARLIEST_DATE


def implausible_date(day: dt.date, today: dt.date | None = None) -> str | None:
    """Why ``day`` cannot be a real journal day or night (a typo in the year: 2062, 0001),
    or None. Tomorrow at most (UTC; an entry written ahead, a time zone ahead of UTC), and
    not before HRV_EARLIEST_DATE."""
    today = today or dt.datetime.now(dt.UTC).date()
    if day > today + dt.timedelta(days=LATEST_AHEAD_DAYS):
        return f"{day.isoformat()} is after tomorrow (today is {today.isoformat()}): a typo?"
    floor = earliest_date()
    if day < floor:
        return f"{day.isoformat()} is before {floor.isoformat()} (HRV_EARLIEST_DATE): a typo?"
    return None


class JournalEntry(BaseModel):
    """One evening journal: the day it describes plus optional self-reports."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    # a withdrawal: the day is taken out (a typo'd date, a day that was not this athlete's);
    # first, so that the date's validator knows (a withdrawn day may be any date)
    withdrawn: bool = False
    date: dt.date
    athlete: str = Field(pattern=ATHLETE_RE.pattern)
    sleep_hours: float | None = Field(default=None, ge=0, le=24)
    sleep_quality: int | None = Field(default=None, ge=1, le=5)
    stress: int | None = Field(default=None, ge=1, le=5)
    mood: int | None = Field(default=None, ge=1, le=5)
    soreness: int | None = Field(default=None, ge=1, le=5)
    alcohol_units: float | None = Field(default=None, ge=0, le=30)
    caffeine_mg: float | None = Field(default=None, ge=0, le=2000)
    late_meal: bool | None = None
    illness: bool | None = None
    travel: bool | None = None
    training: list[TrainingSession] = Field(default_factory=list, max_length=20)
    hrv_guess_ms: float | None = Field(default=None, ge=5, le=300)
    notes: str | None = Field(default=None, max_length=MAX_NOTES_CHARS)
    reason: str | None = Field(default=None, min_length=3, max_length=500)

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date_only(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            raise ValueError("expected a date (YYYY-MM-DD), got a date with a time")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str) and ISO_DATE_RE.match(value.strip()):
            return value.strip()
        raise ValueError("expected an ISO date like 2026-11-21")

    @field_validator("date")
    @classmethod
    def _plausible_date(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        if info.data.get("withdrawn"):
            return value  # withdrawing a typo'd day must be possible
        problem = implausible_date(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _withdrawal_is_only_a_withdrawal(self) -> JournalEntry:
        if not self.withdrawn:
            if self.reason is not None:
                raise ValueError("'reason' goes with 'withdrawn: true' only")
            return self
        reported = [
            name
            for name in type(self).model_fields
            if name not in ("withdrawn", "date", "athlete", "reason", "notes")
            and getattr(self, name) not in (None, [])
        ]
        if reported:
            raise ValueError(
                "a withdrawal carries only date, athlete, reason (and notes), not "
                + ", ".join(reported)
            )
        if not self.reason:
            raise ValueError("withdrawn: true needs a reason (kept in the audit trail)")
        return self

    def stored(self) -> dict[str, Any]:
        """The entry as stored and hashed; a normal entry has no withdrawal fields (so
        entries stored before they existed keep their hashes)."""
        out = self.model_dump(mode="json")
        if not self.withdrawn:
            out.pop("withdrawn")
            out.pop("reason")
        return out

    @field_validator("athlete")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_ATHLETES:
            raise ValueError(f"'{value}' is a reserved inbox folder name, not an athlete id")
        return value

    @property
    def load_au(self) -> float:
        """Training load of the day in arbitrary units: sum of minutes x RPE."""
        return float(sum(s.minutes * s.rpe for s in self.training))

    def content_sha(self) -> str:
        """Hash of the entry's content: identical content means nothing changed."""
        canonical = json.dumps(self.stored(), sort_keys=True, separators=(",", ":"))
        return sha256_bytes(canonical.encode("utf-8"))


KNOWN_FIELDS = tuple(JournalEntry.model_fields) + FLAT_TRAINING_FIELDS
TRAINING_FIELDS = tuple(TrainingSession.model_fields)


@dataclass(frozen=True)
class FieldError:
    """One reason a file was rejected."""

    field: str
    value: Any
    message: str
    row: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field": self.field,
            "value": json_safe(self.value),
            "message": self.message,
        }
        if self.row is not None:
            out["row"] = self.row
        return out

    def __str__(self) -> str:
        where = f"row {self.row}: " if self.row is not None else ""
        return f"{where}{self.field} = {json_safe(self.value)!r}: {self.message}"


@dataclass
class JournalParseResult:
    """Accepted entries of one file, or the errors that reject it (never both)."""

    file: str
    entries: list[JournalEntry] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def athletes(self) -> list[str]:
        return sorted({e.athlete for e in self.entries})

    def error_report(self, rejected_at: dt.datetime) -> dict[str, Any]:
        return {
            "file": self.file,
            "errors": [e.to_dict() for e in self.errors],
            "rejected_at": rejected_at.isoformat(),
        }


def json_safe(value: Any, limit: int = 200) -> Any:
    """Make an offending value printable in an error report, truncated if huge."""
    if value is None or isinstance(value, bool | int | float):
        if isinstance(value, float) and value != value:  # NaN
            return "NaN"
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return str(value)
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"... ({len(value)} chars)"
    if isinstance(value, bytes):
        return json_safe(value.decode("utf-8", "replace"), limit)
    text = json.dumps(value, default=str, ensure_ascii=False)
    return value if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def suggest(name: str, choices: tuple[str, ...]) -> str | None:
    """The closest known name for a misspelled one, if any is close enough."""
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(
        name.lower().replace(" ", "_"), list(lowered), n=1, cutoff=0.6
    )
    return lowered[match[0]] if match else None


def is_ignored_name(name: str) -> bool:
    """Hidden files, partial downloads and editors' working files are never read as
    journals: Emacs's lock (``.#x.md``, a symlink) and autosave (``#x.md#``) files, vim's
    swap files (``.x.md.swp``), backups (``x.md~``)."""
    return (
        name.startswith(".")
        or name.endswith(PARTIAL_SUFFIXES)
        or (name.startswith("#") and name.endswith("#"))
    )


def date_from_filename(name: str) -> str | None:
    stem = Path(name).stem
    return stem if ISO_DATE_RE.match(stem) else None


# libyaml's C parser when PyYAML was built with it (the wheels are): ~5x faster.
_BaseSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeySafeLoader(_BaseSafeLoader):  # type: ignore[misc,valid-type]
    """Safe YAML loader that also rejects duplicate mapping keys."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeySafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


MAX_YAML_DEPTH = 64


def load_yaml_safely(text: str) -> Any:
    """``yaml.safe_load`` that refuses aliases (billion-laughs bombs), duplicate keys and
    deep nesting.

    The event stream is checked first (it is produced iteratively); only then is the
    document composed, which recurses: a deeply nested document would overflow the C
    stack of libyaml's composer and crash the whole process.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_BaseSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise ValueError("YAML aliases (*name) are not allowed in journals")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ValueError(f"YAML is nested more than {MAX_YAML_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return yaml.load(text, Loader=_UniqueKeySafeLoader)


class _FileError(Exception):
    def __init__(self, message: str, value: Any = None, field: str = FILE_FIELD):
        super().__init__(message)
        self.error = FieldError(field=field, value=value, message=message)


def _split_front_matter(text: str) -> tuple[str | None, str]:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    raise _FileError("front matter starts with '---' but has no closing '---' line")


def _records_markdown(text: str, name: str) -> list[tuple[int | None, dict[str, Any]]]:
    front, body = _split_front_matter(text)
    record: dict[str, Any] = {}
    if front is not None and front.strip():
        try:
            loaded = load_yaml_safely(front)
        except (yaml.YAMLError, ValueError) as exc:
            raise _FileError(f"front matter is not valid YAML: {_yaml_reason(exc)}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise _FileError("front matter must be a YAML mapping of field: value", loaded)
        record = dict(loaded or {})
    body = body.strip()
    if body:
        if isinstance(record.get("notes"), str) and record["notes"].strip():
            record["notes"] = record["notes"].strip() + "\n\n" + body
        else:
            record["notes"] = body
    if front is None and date_from_filename(name) is None:
        raise _FileError(
            "Markdown journal needs YAML front matter between '---' lines "
            "(at least 'date: YYYY-MM-DD'), or a file name like 2026-11-21.md"
        )
    return [(None, record)]


def _yaml_reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(line.strip() for line in text[:4])


def _records_from_loaded(loaded: Any, kind: str) -> list[tuple[int | None, dict[str, Any]]]:
    if isinstance(loaded, dict):
        return [(None, loaded)]
    if isinstance(loaded, list):
        if not loaded:
            raise _FileError(f"{kind} list is empty: no journal entries", loaded)
        out: list[tuple[int | None, dict[str, Any]]] = []
        for i, item in enumerate(loaded, start=1):
            if not isinstance(item, dict):
                raise _FileError(f"{kind} list item {i} is not an object of field: value", item)
            out.append((i, item))
        return out
    raise _FileError(f"{kind} journal must be an object (or a list of objects)", loaded)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            # JSON allows it and keeps the last one silently; a person typed both: ask
            raise _FileError(
                f"duplicate key {key!r} (values {out[key]!r} and {value!r}): keep one",
                value,
                field=key,
            )
        out[key] = value
    return out


def _records_json(text: str) -> list[tuple[int | None, dict[str, Any]]]:
    try:
        loaded = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise _FileError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise _FileError("JSON is nested too deeply") from exc
    return _records_from_loaded(loaded, "JSON")


def _records_yaml(text: str) -> list[tuple[int | None, dict[str, Any]]]:
    try:
        loaded = load_yaml_safely(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise _FileError(f"not valid YAML: {_yaml_reason(exc)}") from exc
    except RecursionError as exc:
        raise _FileError("YAML is nested too deeply") from exc
    if loaded is None:
        raise _FileError("YAML document is empty: no journal entries")
    return _records_from_loaded(loaded, "YAML")


def _records_csv(text: str) -> list[tuple[int | None, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise _FileError(f"not valid CSV: {exc}") from exc
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise _FileError("CSV has no header row (expected e.g. 'date,sleep_hours,...')")
    header = [h.strip() for h in rows[0]]
    dupes = sorted({h for h in header if header.count(h) > 1 and h})
    if dupes:
        raise _FileError("CSV header repeats a column", dupes, field=dupes[0])
    out: list[tuple[int | None, dict[str, Any]]] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise _FileError(
                f"row {line_no} has {len(row)} cells but the header has {len(header)}", row
            )
        record = {h: cell.strip() for h, cell in zip(header, row, strict=False) if cell.strip()}
        out.append((line_no, record))
    if not out:
        raise _FileError("CSV has a header but no data rows")
    return out


def _normalise(
    record: dict[str, Any],
    row: int | None,
    *,
    name: str,
    folder_athlete: str | None,
    default_athlete: str,
    single_record: bool,
) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for raw_key, value in record.items():
        key = str(raw_key).strip()
        if key not in KNOWN_FIELDS:
            hint = suggest(key, KNOWN_FIELDS)
            msg = "unknown field" + (f"; did you mean '{hint}'?" if hint else "")
            errors.append(FieldError(key, value, msg, row))
            continue
        clean[key] = value

    flat = {k: clean.pop(k) for k in FLAT_TRAINING_FIELDS if k in clean}
    if flat:
        if clean.get("training"):
            errors.append(
                FieldError(
                    "training",
                    clean["training"],
                    "use either 'training' sessions or training_type/minutes/rpe, not both",
                    row,
                )
            )
        elif "training_minutes" not in flat or "training_rpe" not in flat:
            missing = [k for k in ("training_minutes", "training_rpe") if k not in flat]
            errors.append(
                FieldError(missing[0], None, "required when any training_* field is given", row)
            )
        else:
            session = {
                "minutes": flat["training_minutes"],
                "rpe": flat["training_rpe"],
            }
            if "training_type" in flat:
                session["type"] = flat["training_type"]
            clean["training"] = [session]
    if isinstance(clean.get("training"), dict):
        clean["training"] = [clean["training"]]
    if isinstance(clean.get("training"), list):
        for i, session in enumerate(clean["training"]):
            if isinstance(session, dict):
                for key in session:
                    if key not in TRAINING_FIELDS:
                        hint = suggest(str(key), TRAINING_FIELDS)
                        msg = "unknown training field" + (
                            f"; did you mean '{hint}'?" if hint else ""
                        )
                        errors.append(FieldError(f"training[{i}].{key}", session[key], msg, row))

    file_date = date_from_filename(name) if single_record else None
    if "date" not in clean or clean["date"] in (None, ""):
        if file_date:
            clean["date"] = file_date
    elif file_date and str(clean["date"]).strip() != file_date:
        errors.append(
            FieldError(
                "date",
                clean["date"],
                f"the file is named {name} but says date {clean['date']}: rename the file "
                "or fix the date",
                row,
            )
        )

    athlete = clean.get("athlete")
    if athlete in (None, ""):
        clean["athlete"] = folder_athlete or default_athlete
    elif folder_athlete and str(athlete).strip() != folder_athlete:
        errors.append(
            FieldError(
                "athlete",
                athlete,
                f"the file is in the folder of athlete '{folder_athlete}' but names "
                f"athlete '{athlete}'",
                row,
            )
        )
    return clean, errors


def _pydantic_errors(exc: ValidationError, row: int | None) -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False):
        loc = err.get("loc", ())
        parts: list[str] = []
        for piece in loc:
            if isinstance(piece, int) and parts:
                parts[-1] = f"{parts[-1]}[{piece}]"
            else:
                parts.append(str(piece))
        name = ".".join(parts) or FILE_FIELD
        msg = err.get("msg", "invalid value")
        if err.get("type") == "missing":
            msg = "required field is missing"
        msg = msg.removeprefix("Value error, ")
        out.append(FieldError(name, err.get("input"), msg, row))
    return out


def parse_journal_bytes(
    name: str,
    data: bytes,
    *,
    folder_athlete: str | None = None,
    default_athlete: str = "me",
) -> JournalParseResult:
    """Turn the bytes of a journal file into validated entries, or a list of errors.

    ``name`` is the file name (its suffix selects the format; a name like
    ``2026-11-21.md`` supplies the date when the file has none). The athlete is the
    file's ``athlete`` field, else ``folder_athlete``, else ``default_athlete``.
    """
    result = JournalParseResult(file=name, sha256=sha256_bytes(data))
    suffix = Path(name).suffix.lower()
    try:
        if suffix not in JOURNAL_SUFFIXES:
            raise _FileError(
                f"unsupported file type '{suffix or '(none)'}': use one of "
                + ", ".join(sorted(JOURNAL_SUFFIXES)),
                name,
            )
        if len(data) > MAX_JOURNAL_BYTES:
            raise _FileError(
                f"file is larger than the {MAX_JOURNAL_BYTES} byte journal limit", len(data)
            )
        if not data.strip():
            raise _FileError("file is empty", len(data))
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _FileError(
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
                "cannot be decoded (save the file as UTF-8)",
                exc.start,
            ) from exc
        if "\x00" in text:
            raise _FileError("file contains NUL bytes: not a text journal", text.index("\x00"))
        if suffix in (".md", ".markdown"):
            records = _records_markdown(text, name)
        elif suffix == ".json":
            records = _records_json(text)
        elif suffix in (".yaml", ".yml"):
            records = _records_yaml(text)
        else:
            records = _records_csv(text)
    except _FileError as exc:
        result.errors.append(exc.error)
        return result

    single = len(records) == 1 and suffix != ".csv"
    seen_dates: dict[tuple[str, str], int | None] = {}
    for row, record in records:
        clean, errors = _normalise(
            record,
            row,
            name=name,
            folder_athlete=folder_athlete,
            default_athlete=default_athlete,
            single_record=single,
        )
        result.errors.extend(errors)
        try:
            entry = JournalEntry.model_validate(clean)
        except ValidationError as exc:
            result.errors.extend(_pydantic_errors(exc, row))
            continue
        key = (entry.athlete, entry.date.isoformat())
        if key in seen_dates:
            first = seen_dates[key]
            where = f"row {first}" if first is not None else "an earlier entry"
            result.errors.append(
                FieldError(
                    "date",
                    entry.date.isoformat(),
                    f"duplicate date for athlete '{entry.athlete}': already given in {where}",
                    row,
                )
            )
            continue
        seen_dates[key] = row
        result.entries.append(entry)
    if result.errors:
        result.entries = []
    return result


def parse_journal_file(
    path: Path,
    *,
    folder_athlete: str | None = None,
    default_athlete: str = "me",
    max_bytes: int = MAX_JOURNAL_BYTES,
) -> JournalParseResult:
    """Read and parse one journal file. Never reads more than ``max_bytes + 1`` bytes.

    Symlinks are refused (they can point anywhere), as are files over the size cap.
    """
    name = path.name
    try:
        if path.is_symlink():
            return JournalParseResult(
                file=name,
                errors=[
                    FieldError(FILE_FIELD, name, "symlinks are not read: drop the file itself")
                ],
            )
        size = path.stat().st_size
        if size > max_bytes:
            return JournalParseResult(
                file=name,
                errors=[
                    FieldError(
                        FILE_FIELD,
                        size,
                        f"file is {size} bytes, over the {max_bytes} byte journal limit",
                    )
                ],
            )
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return JournalParseResult(
            file=name, errors=[FieldError(FILE_FIELD, name, f"cannot read file: {exc.strerror}")]
        )
    return parse_journal_bytes(
        name, data, folder_athlete=folder_athlete, default_athlete=default_athlete
    )
