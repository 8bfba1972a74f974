"""Reading a file named by the input without waiting or reading without end.

Only a regular file is read: a FIFO (which blocks until a writer comes), a device
(``/dev/zero`` never ends), a socket or a folder is refused at once, as ``kustomize`` refuses
them, and so is a file larger than the limit (a 5 GB sparse file costs nothing on disk).  The
file is opened with ``O_NONBLOCK`` and its type read from the open descriptor, so a file
swapped for a FIFO between a check and the open cannot block either.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

#: The default of ``limits.max-input-bytes`` (llmfleet.yaml): the most read from one file.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_CHUNK = 1 << 20


class Refused(OSError):
    """A file that is not read: its type or its size; ``str()`` says which, in plain words."""


def kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def check_stat(path: Path | str, limit: int = DEFAULT_MAX_BYTES) -> None:
    """Refused when ``path`` (its target, for a link) is not a regular file or is larger than
    ``limit``; nothing is opened.  A missing file or a link loop is left to whoever reads it."""
    try:
        info = os.stat(path)
    except OSError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"{path}: {kind_of(info.st_mode)}, not a regular file: not read")
    if info.st_size > limit:
        raise Refused(
            f"{path}: {info.st_size:,} bytes, larger than the limit of {limit:,} (limits.max-input-bytes)"
        )


#: At most this many entries are looked at under one folder (a walk must end).
MAX_WALK_ENTRIES = 25_000


def walk_files(folder: Path, limit: int = MAX_WALK_ENTRIES) -> Iterator[Path]:
    """Every entry under ``folder`` that is not a folder (links not followed into folders, so
    a link loop ends), at most ``limit`` of them (then Refused)."""
    seen = 0
    for parent, dirs, files in os.walk(folder, followlinks=False):
        seen += len(dirs) + len(files)
        if seen > limit:
            raise Refused(f"{folder}: more than {limit:,} entries: not walked")
        for name in files:
            yield Path(parent) / name


def _open(path: Path | str, limit: int) -> tuple[int, int]:
    """A descriptor open on the regular file ``path`` and its size; Refused otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{path}: {kind_of(info.st_mode)}, not a regular file: not read")
        if info.st_size > limit:
            raise Refused(
                f"{path}: {info.st_size:,} bytes, larger than the limit of {limit:,} (limits.max-input-bytes)"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def chunks(path: Path | str, limit: int = DEFAULT_MAX_BYTES) -> Iterator[bytes]:
    """The content of a regular file of at most ``limit`` bytes, in pieces (for a hash).
    Raises :class:`Refused` (type, size, or a file that grew past the limit while read) or
    another OSError."""
    fd, _ = _open(path, limit)
    total = 0
    try:
        while True:
            piece = os.read(fd, _CHUNK)
            if not piece:
                return
            total += len(piece)
            if total > limit:
                raise Refused(f"{path}: larger than the limit of {limit:,} bytes (limits.max-input-bytes)")
            yield piece
    finally:
        os.close(fd)


def read_bytes(path: Path | str, limit: int = DEFAULT_MAX_BYTES) -> bytes:
    """The content of a regular file of at most ``limit`` bytes (see :func:`chunks`)."""
    return b"".join(chunks(path, limit))


def read_text(path: Path | str, limit: int = DEFAULT_MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes; UnicodeDecodeError when
    it is not UTF-8."""
    return read_bytes(path, limit).decode("utf-8")
