"""Writing a command's output: to stdout, or to a file written whole (a temporary file renamed
into place), its folder created when missing.  A stdout that cannot take the output (closed,
full, a reader that went away) is an :class:`OutputError` or :class:`BrokenPipe` with the
reason, never a traceback."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from pathlib import Path

from llmfleet.infra.bounded_read import kind_of
from llmfleet.infra.errors import BrokenPipe, OutputError

_CHUNK = 16 * 1024


def stdout_problem(exc: OSError) -> OutputError | BrokenPipe:
    if exc.errno == errno.EPIPE:
        return BrokenPipe("output stopped: the reader of stdout closed the pipe")
    return OutputError(f"cannot write to stdout: {exc.strerror or exc}")


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that what is still buffered for a closed or full stdout
    does not fail again when the interpreter exits (which would turn the exit code into 120)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def write_stdout(text: str) -> None:
    if sys.stdout is None:
        raise OutputError("cannot write to stdout: it is closed")
    try:
        # In pieces: a single large write into a pipe whose reader exits part-way can end
        # without an error (the kernel reports the part written), losing the rest unseen.
        for start in range(0, len(text), _CHUNK):
            sys.stdout.write(text[start : start + _CHUNK])
            sys.stdout.flush()
        if not text:
            sys.stdout.flush()
    except OSError as exc:
        raise stdout_problem(exc) from None


def output_target(output: str | Path, option: str = "-o") -> Path:
    """Where to write the file ``output`` names: itself, or the regular file a link names (so
    the link stays).  Anything else that exists there (a device node, a FIFO, a folder, a
    link to a descriptor such as /dev/stdout) is refused: replacing it with a regular file
    is never what was asked."""
    path = Path(output)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return path  # whoever writes says why it cannot
    except OSError as exc:
        raise OutputError(f"{option} {output}: cannot write there: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"{option} {output}: {kind_of(info.st_mode)}, not a regular file: not replaced")
    if _through_descriptor(path):
        raise OutputError(f"{option} {output}: a link to a file descriptor, not a file: not replaced")
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _through_descriptor(path: Path) -> bool:
    """Whether ``path`` or a link on the way to its file is under /dev or /proc (/dev/stdout,
    /proc/self/fd/1: whatever descriptor 1 is now, even a regular file)."""
    current = os.path.abspath(path)
    for _ in range(40):
        if current.startswith(("/dev/", "/proc/")):
            return True
        if not os.path.islink(current):
            return False
        current = os.path.abspath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return True


def write_output(text: str, output: str | None) -> None:
    """Print, or write the file whole (a temporary file renamed into place)."""
    if not output or output == "-":
        write_stdout(text)
        return
    path = output_target(output)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(f"-o {output}: cannot write the report: {exc.strerror or exc}") from None
