"""The few git operations the PR checks need: changed files, files at a revision, and a
throw-away worktree of a revision.

git missing, failing or timing out (``limits.git-timeout-seconds``) is a :class:`ToolError`
(exit code 3) naming the command, its exit code and output; a revision that does not exist
is a :class:`UsageError` (exit code 2).  Nothing here changes the working tree, the index or
any ref of the repository it runs in.

A worktree lives in a temporary folder ``llmfleet-base-*`` that records its owner
(:mod:`llmfleet.infra.tempdirs`); it is removed when the run ends, also on an error or a signal
(:mod:`llmfleet.infra.procs`).  One left behind by a run that was killed outright (SIGKILL) is
removed by the next :func:`worktree` call in the same repository, and ``git worktree prune``
drops any registration whose folder is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from llmfleet.infra import procs, tempdirs
from llmfleet.infra.errors import ToolError, UsageError

#: The default of ``limits.git-timeout-seconds``.
GIT_TIMEOUT_S = procs.DEFAULT_TIMEOUTS["git"]
INSTALL_HINT = "install git (apt-get install git)"
#: Temporary folders holding a worktree of the base revision (``<folder>/tree``).
WORKTREE_PREFIX = "llmfleet-base-"


def git(
    args: list[str], cwd: Path, check: bool = True, input: bytes | None = None
) -> subprocess.CompletedProcess:
    """Run ``git ARGS`` in ``cwd``; bytes out, never a prompt, never a pager."""
    command = ["git", *args]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"}
    try:
        proc = procs.run(command, tool="git", cwd=str(cwd), env=env, input=input)
    except FileNotFoundError:
        raise ToolError(
            "git", "git was not found on PATH", command=command, install_hint=INSTALL_HINT
        ) from None
    except OSError as exc:
        raise ToolError("git", f"cannot run it: {exc.strerror or exc}", command=command) from None
    except subprocess.TimeoutExpired:
        raise ToolError(
            "git",
            f"timed out after {procs.timeout_for('git'):g} s (limits.git-timeout-seconds in llmfleet.yaml)",
            command=command,
        ) from None
    if check and proc.returncode != 0:
        raise ToolError(
            "git",
            "failed",
            command=command,
            returncode=proc.returncode,
            output=proc.stderr.decode("utf-8", "replace") or proc.stdout.decode("utf-8", "replace"),
        )
    return proc


def toplevel(path: Path) -> Path:
    """The root of the git working tree holding ``path``."""
    proc = git(["rev-parse", "--show-toplevel"], path, check=False)
    if proc.returncode != 0:
        raise UsageError(
            f"{path}: not inside a git repository (the PR checks compare against a "
            f"git revision): {proc.stderr.decode('utf-8', 'replace').strip()}"
        )
    return Path(proc.stdout.decode().strip()).resolve()


def resolve_ref(repo: Path, ref: str, option: str = "--base") -> str:
    """The commit id of ``ref``; an unknown revision is a usage error."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"{option} {ref!r}: give a git revision such as origin/main")
    proc = git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], repo, check=False
    )
    if proc.returncode != 0:
        hint = ""
        if "/" in ref:
            hint = " (in CI, check out with fetch-depth: 0 so the base branch is fetched)"
        raise UsageError(f"{option} {ref}: unknown git revision{hint}")
    return proc.stdout.decode().strip()


def _names(raw: bytes) -> list[str]:
    return [n for n in raw.decode("utf-8", "surrogateescape").split("\0") if n]


def changed_files(repo: Path, ref: str, option: str = "--base") -> list[str]:
    """Files changed since ``ref``, relative to the repository's top level: committed on this
    branch since the merge base (``REF...HEAD``), plus uncommitted (staged or not) and untracked
    changes.  Renames count as a deletion and an addition, so both paths are listed."""
    resolve_ref(repo, ref, option)
    names: set[str] = set()
    head = git(["rev-parse", "--verify", "--quiet", "HEAD"], repo, check=False)
    if head.returncode == 0:
        base = git(["merge-base", ref, "HEAD"], repo, check=False)
        if base.returncode != 0:
            raise UsageError(
                f"{option} {ref}: no common ancestor with HEAD (fetch more history: fetch-depth: 0)"
            )
        names.update(
            _names(git(["diff", "--name-only", "--no-renames", "-z", f"{ref}...HEAD", "--"], repo).stdout)
        )
        names.update(_names(git(["diff", "--name-only", "--no-renames", "-z", "HEAD", "--"], repo).stdout))
    names.update(_names(git(["ls-files", "--others", "--exclude-standard", "-z"], repo).stdout))
    return sorted(names)


class TreeReader:
    """Read-only view of the files of one commit (``git ls-tree`` and ``git cat-file``)."""

    def __init__(self, repo: Path, ref: str, prefix: str = ""):
        self.repo = repo
        self.commit = resolve_ref(repo, ref)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        out = git(["ls-tree", "-r", "-z", "--name-only", self.commit], repo).stdout
        self.files = {n[len(self.prefix) :] for n in _names(out) if n.startswith(self.prefix)}
        self.dirs = {""}
        for name in self.files:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                self.dirs.add("/".join(parts[:i]))
        self._cache: dict[str, str | None] = {}

    def read_text(self, path: str) -> str | None:
        if path not in self.files:
            return None
        if path not in self._cache:
            proc = git(["cat-file", "blob", f"{self.commit}:{self.prefix}{path}"], self.repo, check=False)
            self._cache[path] = proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None
        return self._cache[path]


@contextlib.contextmanager
def worktree(repo: Path, ref: str) -> Iterator[Path]:
    """A detached checkout of ``ref`` in a temporary folder, removed afterwards (also on
    errors, Ctrl-C and SIGTERM).  The repository's own working tree and index are never
    touched.  Worktrees that earlier runs left behind are removed first."""
    commit = resolve_ref(repo, ref)
    prune_worktrees(repo)
    with tempdirs.owned(WORKTREE_PREFIX) as parent:
        path = parent / "tree"
        try:
            git(["worktree", "add", "--detach", "--quiet", str(path), commit], repo)
            yield path
        finally:
            _remove_worktree(repo, path)


def _remove_worktree(repo: Path, path: Path) -> None:
    git(["worktree", "remove", "--force", str(path)], repo, check=False)
    shutil.rmtree(path, ignore_errors=True)
    git(["worktree", "prune"], repo, check=False)


def llmfleet_worktrees(repo: Path) -> list[Path]:
    """Worktrees of ``repo`` that llmfleet created (``.../llmfleet-base-*/tree``)."""
    out = git(["worktree", "list", "--porcelain", "-z"], repo, check=False).stdout
    paths = []
    for field in out.decode("utf-8", "surrogateescape").split("\0"):
        if field.startswith("worktree "):
            path = Path(field[len("worktree ") :])
            if path.name == "tree" and path.parent.name.startswith(WORKTREE_PREFIX):
                paths.append(path)
    return paths


def prune_worktrees(repo: Path) -> list[Path]:
    """Remove the worktrees (and their temporary folders) of llmfleet runs that are over,
    and let git forget registrations whose folder is gone.  Returns what was removed."""
    removed = []
    git(["worktree", "prune"], repo, check=False)
    for path in llmfleet_worktrees(repo):
        if tempdirs.is_stale(path.parent):
            _remove_worktree(repo, path)
            shutil.rmtree(path.parent, ignore_errors=True)
            removed.append(path)
    removed += tempdirs.prune(WORKTREE_PREFIX)
    return removed
