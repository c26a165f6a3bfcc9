"""Crash-safe file helpers: every output is written whole or not at all."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def fsync_dir(path: Path) -> None:
    """Make a rename or create inside ``path`` durable (POSIX)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once, at import: changing it is not thread-safe


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file, fsync and rename.

    Readers see either the old file or the new one, never a half-written file. The file
    gets the mode a plain ``open()`` would give it (0644 under the usual umask 022), not
    the temp file's 0600: the user, a coach's other tools or the host of a container can
    read the outputs.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # a short temp name: ".<255-byte name>.XXXXXXXX.tmp" would be too long to create
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"


def write_json_atomic(path: Path, obj: Any) -> None:
    write_text_atomic(path, to_json(obj))


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, limit: int | None = None) -> str:
    """Hash a file (or its first ``limit`` bytes) without loading it whole."""
    h = hashlib.sha256()
    remaining = limit
    with path.open("rb") as fh:
        while True:
            size = 1 << 20 if remaining is None else min(1 << 20, remaining)
            if size == 0:
                break
            chunk = fh.read(size)
            if not chunk:
                break
            h.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return h.hexdigest()


NAME_MAX = 255  # bytes in one file name (ext4, xfs, btrfs, APFS)


def fit_name(stem: str, suffix: str, max_bytes: int = NAME_MAX) -> str:
    """``stem + suffix``, the stem cut (on a character boundary) so the name fits."""
    room = max_bytes - len(suffix.encode("utf-8", "surrogateescape"))
    raw = stem.encode("utf-8", "surrogateescape")
    if len(raw) <= room:
        return stem + suffix
    return raw[: max(room, 1)].decode("utf-8", "ignore") + suffix


def move_unique(src: Path, dest_dir: Path, max_name_bytes: int = NAME_MAX) -> Path:
    """Move ``src`` into ``dest_dir`` without overwriting: ``a.md``, ``a.dup1.md``, ...
    Names that would be too long (a 255-byte name and its ``.dup1``) are cut to fit
    ``max_name_bytes``.

    If ``src`` vanished meanwhile (another process moved it), FileNotFoundError is raised
    and no empty folder is left behind.
    """
    created = [p for p in (dest_dir, *dest_dir.parents) if not p.exists()]
    dest_dir.mkdir(parents=True, exist_ok=True)
    candidate = dest_dir / fit_name(src.stem, src.suffix, max_name_bytes)
    n = 0
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = dest_dir / fit_name(src.stem, f".dup{n}{src.suffix}", max_name_bytes)
    try:
        os.replace(src, candidate)
    except FileNotFoundError:
        for folder in created:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty
        raise
    fsync_dir(dest_dir)
    fsync_dir(src.parent)
    return candidate


class ParsedFiles:
    """Files parsed once per version in this process: the parse of ``path`` is kept by
    the file's identity and version (device, inode, size, modification time), so a file
    several steps read is parsed once, and a rewritten file (a new inode, as every atomic
    write makes) is parsed again. At most ``maxsize`` files are kept."""

    def __init__(self, parse: Any, maxsize: int = 64):
        self._parse = parse
        self._maxsize = maxsize
        self._kept: dict[Path, tuple[tuple[int, int, int, int], Any]] = {}

    def get(self, path: Path) -> Any:
        st = os.stat(path)
        version = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        kept = self._kept.get(path)
        if kept is not None and kept[0] == version:
            return kept[1]
        value = self._parse(path)
        if len(self._kept) >= self._maxsize:
            self._kept.pop(next(iter(self._kept)))
        self._kept[path] = (version, value)
        return value
