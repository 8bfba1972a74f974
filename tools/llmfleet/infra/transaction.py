"""Changes to the repository that must happen together or not at all: a new (or replaced)
overlay and the gateway routes regenerated with it (``new-model``), or the routes alone
(``gateway-routes``).

* **One writer at a time.**  :func:`repository_lock` takes an exclusive ``flock`` on
  ``.llmfleet-cache/write.lock`` under the repository root (git-ignored); a second run waits
  for it (up to ``limits.lock-timeout-seconds``), so two runs never interleave and the
  second sees what the first wrote.  The kernel drops the lock when its holder dies.
* **Stage, then rename into place last.**  :class:`OverlayTransaction` writes the overlay to
  ``overlays/.tmp-<name>-*`` and the routes to ``.routes.yaml.*.tmp``; they are checked there.
  Only then a journal (``.llmfleet-cache/new-model.journal.json``) records the plan, and the
  renames happen with SIGINT/SIGTERM held back: the old overlay aside (``.old-<name>-*``),
  the new one into place, the routes into place, the journal marked committed.  The old
  overlay and the routes backup are deleted after that.
* **Recovery.**  :func:`recover` runs first under the lock: a journal that is not committed
  is rolled back (the old overlay and the old routes restored, the new overlay removed), a
  committed one is finished (the leftovers deleted); leftover ``.tmp-*`` folders and routes
  temporary files are removed, and an ``.old-<name>-*`` folder without a journal is
  restored when ``overlays/<name>`` is missing, else kept and reported.  Each action is
  returned as one line for the user.

``LLMFLEET_TEST_KILL_AT=<point>`` makes the process kill itself (SIGKILL) at a point of the
transaction, for the tests that check each of them (:data:`FAULT_POINTS`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmfleet.infra import procs
from llmfleet.infra.errors import UsageError

STATE_DIR = ".llmfleet-cache"
LOCK_FILE = "write.lock"
JOURNAL_FILE = "new-model.journal.json"
FAULT_ENV = "LLMFLEET_TEST_KILL_AT"
#: Where ``LLMFLEET_TEST_KILL_AT`` can stop a run (in the order they are reached).
FAULT_POINTS = (
    "staged",
    "checking",
    "routes-staged",
    "journal",
    "old-aside",
    "new-in-place",
    "routes-in-place",
    "committed",
    "cleaned",
)


def fault_point(name: str) -> None:
    """Die here, as SIGKILL would kill us, when the tests ask for it."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


# -- the lock -------------------------------------------------------------------------------


@contextlib.contextmanager
def repository_lock(
    root: Path, timeout: float, echo: Callable[..., None], what: str = "this run"
) -> Iterator[None]:
    """Hold the repository's write lock for the block; wait for another holder (up to
    ``timeout`` seconds, saying so once)."""
    folder = state_dir(root)
    path = folder / LOCK_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(
            f"cannot create the write lock {path}: {exc.strerror or exc}; nothing was written"
        ) from None
    try:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if not waited:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                echo(
                    f"llmfleet: waiting for another new-model or gateway-routes run ({holder}) to "
                    f"finish before {what}",
                    err=True,
                )
                waited = True
            if time.monotonic() >= deadline:
                raise UsageError(
                    f"another new-model or gateway-routes run still holds "
                    f"{path.relative_to(root)} after {timeout:g} s "
                    "(limits.lock-timeout-seconds); nothing was written"
                )
            time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- the journal ----------------------------------------------------------------------------


@dataclass
class Journal:
    """What a transaction is about to do, written before its first rename.  Paths are
    relative to the repository root."""

    name: str
    target: str
    staged: str
    had_old: bool
    old: str = ""
    routes: str = ""
    routes_staged: str = ""
    routes_backup: str = ""
    had_routes: bool = False
    committed: bool = False

    def save(self, root: Path) -> None:
        _write_file(state_dir(root) / JOURNAL_FILE, json.dumps(asdict(self), indent=2) + "\n")

    @staticmethod
    def load(root: Path) -> Journal | None:
        path = state_dir(root) / JOURNAL_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Journal(**{k: v for k, v in data.items() if k in Journal.__dataclass_fields__})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            return Journal("", "", "", False)  # unreadable: recovery falls back to the leftovers

    @staticmethod
    def remove(root: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            (state_dir(root) / JOURNAL_FILE).unlink()


def _write_file(path: Path, text: str) -> None:
    """Write ``path`` whole and durably: a temporary file, fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(path: Path) -> None:
    """Delete a file or a folder tree; nothing when it is gone already."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# -- recovery -------------------------------------------------------------------------------


def recover(root: Path, overlays_dir: Path, routes_file: str) -> list[str]:
    """Finish or roll back what an interrupted run left (call under the lock); one line per
    action, for the user."""
    notes: list[str] = []
    journal = Journal.load(root)
    if journal is not None:
        if journal.name:
            notes += _finish(root, journal) if journal.committed else _roll_back(root, journal)
        Journal.remove(root)
    notes += _leftovers(root, overlays_dir, routes_file)
    return notes


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _finish(root: Path, j: Journal) -> list[str]:
    notes = []
    for rel in (j.old, j.routes_backup, j.staged, j.routes_staged):
        if rel and (root / rel).exists():
            _remove(root / rel)
            notes.append(
                f"removed {rel}, left by an interrupted new-model of {j.name} that had "
                f"written {j.target}/" + (f" and {j.routes}" if j.routes else "")
            )
    return notes


def _roll_back(root: Path, j: Journal) -> list[str]:
    """Undo an uncommitted transaction: the repository as it was before it."""
    notes = []
    target, staged, old = root / j.target, root / j.staged, root / j.old if j.old else None
    if j.routes and j.routes_backup and (root / j.routes_backup).exists():
        os.replace(root / j.routes_backup, root / j.routes)
        notes.append(f"restored {j.routes} as it was before an interrupted new-model of {j.name}")
    elif (
        j.routes
        and not j.had_routes
        and j.routes_staged
        and not (root / j.routes_staged).exists()
        and (root / j.routes).exists()
    ):
        (root / j.routes).unlink()  # it did not exist before: the interrupted run created it
        notes.append(f"removed {j.routes}, created by an interrupted new-model of {j.name}")
    if j.had_old:
        if old is not None and old.exists():
            if target.exists():
                _remove(target)
            os.replace(old, target)
            notes.append(
                f"restored {j.target}/ (the overlay an interrupted new-model --force of "
                f"{j.name} was replacing)"
            )
    elif target.exists() and not staged.exists():
        _remove(target)  # the new overlay had been renamed into place
        notes.append(
            f"removed {j.target}/, placed by an interrupted new-model of {j.name} before it completed"
        )
    for rel in (j.staged, j.routes_staged):
        path = root / rel if rel else None
        if path is not None and path.exists():
            _remove(path)
            notes.append(f"removed {rel}, left by an interrupted new-model of {j.name}")
    return notes


def _leftovers(root: Path, overlays_dir: Path, routes_file: str) -> list[str]:
    notes = []
    if overlays_dir.is_dir():
        for path in sorted(overlays_dir.iterdir()):
            if path.name.startswith(".tmp-") and path.is_dir():
                _remove(path)
                notes.append(
                    f"removed {_rel(root, path)}/, a half-written overlay left by an interrupted run"
                )
        for path in sorted(overlays_dir.iterdir()):
            if not (path.name.startswith(".old-") and path.is_dir()):
                continue
            name = path.name[len(".old-") :].rsplit("-", 1)[0]
            target = overlays_dir / name
            if name and not target.exists():
                os.replace(path, target)
                notes.append(
                    f"restored {_rel(root, target)}/ from {_rel(root, path)}/, the overlay "
                    "an interrupted new-model --force was replacing"
                )
            else:
                notes.append(
                    f"kept {_rel(root, path)}/: an overlay an interrupted new-model --force "
                    f"replaced; {_rel(root, target)}/ exists, so delete it once you have "
                    "checked nothing in it is needed"
                )
    if routes_file:
        routes = root / routes_file
        if routes.parent.is_dir():
            for path in sorted(routes.parent.glob(f".{routes.name}.*")):
                if path.suffix == ".tmp":
                    path.unlink()
                    notes.append(
                        f"removed {_rel(root, path)}, a routes file left half-written by an interrupted run"
                    )
                elif path.suffix == ".bak":
                    notes.append(
                        f"kept {_rel(root, path)}: a copy of {routes_file} from an "
                        "interrupted run; delete it once you have checked it is not needed"
                    )
    return notes


# -- the transaction ------------------------------------------------------------------------


@dataclass
class OverlayTransaction:
    """Write ``overlays/<name>/`` (replacing one with ``force``) together with the routes
    file; see the module docstring."""

    root: Path
    overlays_dir: Path
    name: str
    routes_file: str = ""
    staged: Path | None = None
    routes_staged: Path | None = None
    committed: bool = False
    journal: Journal | None = None
    done: list[str] = field(default_factory=list)

    @property
    def target(self) -> Path:
        return self.overlays_dir / self.name

    def rel(self, path: Path) -> str:
        return _rel(self.root, path)

    def stage(self, files: dict[str, str]) -> Path:
        """The overlay's files in ``overlays/.tmp-<name>-*`` (same depth as the overlay, so
        its relative paths work there)."""
        self.overlays_dir.mkdir(parents=True, exist_ok=True)
        # A signal between creating a temporary and recording it would leave it behind.
        with procs.signals_deferred():
            self.staged = Path(tempfile.mkdtemp(prefix=f".tmp-{self.name}-", dir=self.overlays_dir))
        for filename in sorted(files):
            (self.staged / filename).write_text(files[filename], encoding="utf-8")
        os.chmod(self.staged, 0o755)
        fault_point("staged")
        return self.staged

    def stage_routes(self, text: str) -> None:
        if not self.routes_file:
            return
        routes = self.root / self.routes_file
        with procs.signals_deferred():
            fd, tmp = tempfile.mkstemp(prefix=f".{routes.name}.", suffix=".tmp", dir=routes.parent)
            self.routes_staged = Path(tmp)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        fault_point("routes-staged")

    def commit(self) -> None:
        """Rename everything into place (signals held back meanwhile), then delete the old
        overlay and the routes backup."""
        assert self.staged is not None
        routes = self.root / self.routes_file if self.routes_file and self.routes_staged else None
        journal = Journal(
            name=self.name,
            target=self.rel(self.target),
            staged=self.rel(self.staged),
            had_old=self.target.exists(),
            routes=self.routes_file if routes else "",
            routes_staged=self.rel(self.routes_staged) if routes and self.routes_staged else "",
            had_routes=bool(routes and routes.exists()),
        )
        old = None
        if journal.had_old:
            old = Path(tempfile.mkdtemp(prefix=f".old-{self.name}-", dir=self.overlays_dir))
            os.rmdir(old)
            journal.old = self.rel(old)
        backup = None
        # From the backup's creation until the journal names it, a signal would leave it behind.
        with procs.signals_deferred():
            if routes is not None and journal.had_routes:
                fd, tmp = tempfile.mkstemp(prefix=f".{routes.name}.", suffix=".bak", dir=routes.parent)
                os.close(fd)
                shutil.copy2(routes, tmp)
                backup = Path(tmp)
                journal.routes_backup = self.rel(backup)
            journal.save(self.root)
            self.journal = journal
        fault_point("journal")
        with procs.signals_deferred():
            if old is not None:
                os.replace(self.target, old)
                fault_point("old-aside")
            os.replace(self.staged, self.target)
            fault_point("new-in-place")
            if routes is not None and self.routes_staged is not None:
                os.replace(self.routes_staged, routes)
                fault_point("routes-in-place")
            _fsync_dir(self.overlays_dir)
            journal.committed = True
            journal.save(self.root)
            self.done = [f"{self.rel(self.target)}/"] + ([self.routes_file] if routes is not None else [])
            self.committed = True
            fault_point("committed")
        for path in (old, backup):
            if path is not None:
                _remove(path)
        Journal.remove(self.root)
        fault_point("cleaned")

    def abort(self) -> None:
        """Leave the repository as it was (before :meth:`commit` completed)."""
        if self.committed:
            return
        if self.journal is not None:
            _roll_back(self.root, self.journal)
            Journal.remove(self.root)
        for path in (self.staged, self.routes_staged):
            if path is not None and path.exists():
                _remove(path)

    def describe_interrupt(self) -> str:
        """What was and was not written, for the message of an interrupted run."""
        touched = [f"{self.rel(self.target)}/"] + ([self.routes_file] if self.routes_file else [])
        if self.committed:
            return (
                f"{' and '.join(self.done)} were written and checked before the interrupt; both are in place"
            )
        return (
            f"nothing was written ({' and '.join(touched)} {'are' if len(touched) > 1 else 'is'} as before)"
        )
