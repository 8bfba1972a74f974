"""Temporary folders that say which process owns them, so that a later run can remove the
ones a killed run left behind (SIGKILL runs no clean-up) without touching those of a run
that is still going.

The owner is recorded as the process id, its start time (``/proc/<pid>/stat``, so that a
recycled process id is not mistaken for the owner) and the host name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

OWNER_FILE = ".llmfleet-owner"
#: A folder without an owner file is being created by a live run for this long at most.
_GRACE_S = 60.0


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" where /proc is absent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) is in parentheses and may hold spaces.
    return stat.rpartition(")")[2].split()[19]


def owner_record(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{pid} {_start_time(pid)} {socket.gethostname()}\n"


def is_alive(record: str) -> bool:
    """Whether the process an owner record names still runs (on another host: assumed so)."""
    parts = record.split()
    if len(parts) < 2 or not parts[0].isdigit():
        return False
    pid, host = int(parts[0]), parts[-1]
    started = parts[1] if len(parts) > 2 else ""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not started or _start_time(pid) in ("", started)


def is_stale(folder: Path) -> bool:
    """The folder's owner is gone (or it never got one and is older than a minute)."""
    try:
        record = (folder / OWNER_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        record = ""
    except OSError:
        return False
    if not record.endswith("\n"):  # no owner yet, or one an older llmfleet was writing
        try:
            return time.time() - folder.stat().st_mtime > _GRACE_S
        except OSError:
            return False
    return not is_alive(record)


@contextlib.contextmanager
def owned(prefix: str, dir: Path | None = None) -> Iterator[Path]:
    """A new temporary folder recording this process as its owner, removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=dir))
    try:
        # Written whole or not at all: another run's prune reading a half-written record
        # would take the folder for an orphan and delete it from under this run.
        partial = folder / f"{OWNER_FILE}.tmp"
        partial.write_text(owner_record(), encoding="utf-8")
        os.replace(partial, folder / OWNER_FILE)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def prune(prefix: str, dir: Path | None = None) -> list[Path]:
    """Remove the ``prefix*`` folders in ``dir`` (default: the temporary folder) whose owner
    is gone.  Returns those removed."""
    base = Path(dir) if dir is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        candidates = [
            p for p in base.iterdir() if p.name.startswith(prefix) and p.is_dir() and not p.is_symlink()
        ]
    except OSError:
        return []
    for folder in candidates:
        if is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
    return removed
