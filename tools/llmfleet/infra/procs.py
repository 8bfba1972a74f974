"""Every external program llmfleet runs (kustomize or kubectl, git, promtool, kubeconform)
goes through :func:`run`, which bounds and cancels it:

* a timeout per tool (``limits:`` in llmfleet.yaml, :func:`configure`); on expiry the tool is
  killed together with everything it started, and :class:`subprocess.TimeoutExpired` is
  raised with what it printed so far;
* each tool runs in its own process group, so that a timeout or a signal stops the whole
  tree (kubectl and the git it may start for a remote resource), not only the direct child;
* on Linux the parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) is set in the
  child, so a tool never outlives an llmfleet that was killed outright (SIGKILL);
* :func:`handle_signals` turns SIGINT, SIGTERM and SIGHUP into :class:`Interrupted` in the
  main thread after killing every running tool at once; from then on no new tool starts
  outside the main thread (:class:`Cancelled`), while the main thread may still run the
  clean-up commands (``git worktree remove``) of the ``finally`` blocks it unwinds through.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

#: Default seconds per tool; :func:`configure` sets them from ``limits:``.
DEFAULT_TIMEOUTS = {"kustomize": 300.0, "git": 120.0, "promtool": 60.0, "kubeconform": 300.0}
_timeouts = dict(DEFAULT_TIMEOUTS)

#: Seconds to wait for the pipes of a killed tool to close.
_DRAIN_S = 5.0
_PR_SET_PDEATHSIG = 1
HANDLED_SIGNALS = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)


class Interrupted(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM, SIGHUP) stops the run; exit code 128 + the signal number,
    as a shell reports a process killed by it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


class Cancelled(Exception):
    """The run is stopping (a signal came): no new tool is started outside the main thread."""


def configure(timeouts: dict[str, float]) -> None:
    """Per-tool timeouts in seconds (keys of :data:`DEFAULT_TIMEOUTS`)."""
    for tool, seconds in timeouts.items():
        if tool not in DEFAULT_TIMEOUTS:
            raise KeyError(tool)
        _timeouts[tool] = float(seconds)


def timeout_for(tool: str) -> float:
    return _timeouts[tool]


# -- running ---------------------------------------------------------------------------------

_lock = threading.Lock()
_running: dict[int, subprocess.Popen] = {}
_stopping = threading.Event()


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()


def _child_setup(parent: int) -> None:
    """Runs in the child between fork and exec: die with the parent.  Only a C call and
    two system calls here (nothing that allocates or takes a lock), as preexec_fn requires."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(137)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def stopping() -> bool:
    return _stopping.is_set()


def run(
    argv: list[str],
    *,
    tool: str,
    timeout: float | None = None,
    input: bytes | str | None = None,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    text: bool = False,
) -> subprocess.CompletedProcess:
    """Run ``argv`` to completion and capture its output (``subprocess.run``'s contract for
    ``capture_output=True``).  ``timeout`` defaults to the configured timeout of ``tool``.

    Raises :class:`subprocess.TimeoutExpired` (the process group was killed), ``OSError``
    when the program cannot be started, :class:`Cancelled` when the run is stopping."""
    if _stopping.is_set() and threading.current_thread() is not threading.main_thread():
        raise Cancelled(argv[0])
    seconds = timeout_for(tool) if timeout is None else timeout
    parent = os.getpid()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        text=text,
        encoding="utf-8" if text else None,
        errors="replace" if text else None,
        process_group=0,
        preexec_fn=lambda: _child_setup(parent),
    )
    with _lock:
        _running[proc.pid] = proc
        late = _stopping.is_set() and threading.current_thread() is not threading.main_thread()
    try:
        if late:  # a signal came while it was starting
            _kill_group(proc)
        try:
            out, err = proc.communicate(input, timeout=seconds)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = _drain(proc, text)
            raise subprocess.TimeoutExpired(argv, seconds, out, err) from None
        except BaseException:
            _kill_group(proc)
            _drain(proc, text)
            raise
    finally:
        with _lock:
            _running.pop(proc.pid, None)
    if late or (
        _stopping.is_set()
        and proc.returncode == -signal.SIGKILL
        and threading.current_thread() is not threading.main_thread()
    ):
        raise Cancelled(argv[0])
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _drain(proc: subprocess.Popen, text: bool) -> tuple[Any, Any]:
    """What a killed process printed.  Its pipes are closed instead when a grandchild that
    left the process group keeps them open."""
    try:
        return proc.communicate(timeout=_DRAIN_S)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_DRAIN_S)
        empty = "" if text else b""
        return empty, empty


def kill_all() -> int:
    """Kill every running tool's process group at once; returns how many there were."""
    with _lock:
        procs = list(_running.values())
    for proc in procs:
        _kill_group(proc)
    return len(procs)


# -- signals ---------------------------------------------------------------------------------


def _on_signal(signum: int, frame: Any) -> None:
    first = not _stopping.is_set()
    _stopping.set()
    kill_all()
    if first:
        raise Interrupted(signum)
    # A second signal while the first one's clean-up runs: the tools are killed again, the
    # clean-up (removing a worktree, restoring an overlay) goes on.


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP stop the running tools and raise :class:`Interrupted`
    for the duration of the block (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    _stopping.clear()
    for signum in HANDLED_SIGNALS:
        try:
            previous[signum] = signal.signal(signum, _on_signal)
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler)
        _stopping.clear()


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back for the duration of the block (a few renames
    that must happen together); a signal that came meanwhile is delivered at its end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
