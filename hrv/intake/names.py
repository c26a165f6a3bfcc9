"""File names the folders can hold but the rest of the system cannot say."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path


def utf8_name(path: Path) -> Path:
    """A file or folder whose name is not valid UTF-8 (``café.md`` saved by a Latin-1
    tool) is renamed in place to its bytes percent-escaped (``caf%E9.md``), so it can be
    read, reported and archived like any other file instead of stopping the inbox for
    everyone. Returns the path to use."""
    name = path.name
    try:
        name.encode("utf-8")
        return path
    except UnicodeEncodeError:
        pass
    safe = urllib.parse.quote(os.fsencode(name), safe=" !#$&'()+,;=@[]^_`{}~-.")
    target = path.with_name(safe)
    n = 1
    while target.exists() or target.is_symlink():
        target = path.with_name(f"{n}-{safe}")
        n += 1
    os.rename(path, target)
    return target
