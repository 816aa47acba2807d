"""Output files only their owner can read: exports, the demo's database and key are created 0600 (dirs 0700).

The mode is passed to ``open``/``mkdir``, so a stricter umask still wins; a file that already exists loses its
group / other bits. Directories that already exist (``--out /tmp``) are left alone: the files in them are private.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing directory is kept as it is."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        p.mkdir(mode=DIR_MODE, exist_ok=True)
    return path


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """``open(path, mode)`` for writing, the file created 0600 (or its group / other bits dropped if it exists)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, os.fstat(fd).st_mode & FILE_MODE)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to a 0600 file."""
    with open_private(path, "wb") as fh:
        fh.write(data)
    return path


def write_private_text(path: Path, text: str, *, encoding: str = "utf-8", newline: str | None = None) -> Path:
    """Write ``text`` to a 0600 file."""
    with open_private(path, "w", encoding=encoding, newline=newline) as fh:
        fh.write(text)
    return path


def touch_private(path: Path) -> Path:
    """Create ``path`` empty and 0600 if missing (e.g. a SQLite file before SQLite creates it 0644)."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    return path
