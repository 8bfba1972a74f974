"""The few git operations the PR checks need: changed files, files at a revision, and a
throw-away worktree of a revision.

git missing or failing is a :class:`ToolError` (exit code 3) naming the command, its exit
code and output; a revision that does not exist is a :class:`UsageError` (exit code 2).
Nothing here changes the working tree, the index or any ref of the repository it runs in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from llmfleet.errors import ToolError, UsageError

GIT_TIMEOUT_S = 120
INSTALL_HINT = "install git (apt-get install git)"


def git(args: list[str], cwd: Path, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ``git ARGS`` in ``cwd``; bytes out, never a prompt, never a pager."""
    command = ["git", *args]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"}
    try:
        proc = subprocess.run(command, cwd=str(cwd), capture_output=True, timeout=GIT_TIMEOUT_S,
                              env=env, input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise ToolError("git", "git was not found on PATH", command=command,
                        install_hint=INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise ToolError("git", f"timed out after {GIT_TIMEOUT_S} s", command=command) from None
    if check and proc.returncode != 0:
        raise ToolError("git", "failed", command=command, returncode=proc.returncode,
                        output=proc.stderr.decode("utf-8", "replace") or proc.stdout.decode("utf-8", "replace"))
    return proc


def toplevel(path: Path) -> Path:
    """The root of the git working tree holding ``path``."""
    proc = git(["rev-parse", "--show-toplevel"], path, check=False)
    if proc.returncode != 0:
        raise UsageError(f"{path}: not inside a git repository (the PR checks compare against a "
                         f"git revision): {proc.stderr.decode('utf-8', 'replace').strip()}")
    return Path(proc.stdout.decode().strip()).resolve()


def resolve_ref(repo: Path, ref: str, option: str = "--base") -> str:
    """The commit id of ``ref``; an unknown revision is a usage error."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"{option} {ref!r}: give a git revision such as origin/main")
    proc = git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], repo, check=False)
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
            raise UsageError(f"{option} {ref}: no common ancestor with HEAD (fetch more history: "
                             "fetch-depth: 0)")
        names.update(_names(git(["diff", "--name-only", "--no-renames", "-z", f"{ref}...HEAD", "--"],
                                repo).stdout))
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
        self.files = {n[len(self.prefix):] for n in _names(out) if n.startswith(self.prefix)}
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
    errors and Ctrl-C).  The repository's own working tree and index are never touched."""
    commit = resolve_ref(repo, ref)
    parent = Path(tempfile.mkdtemp(prefix="llmfleet-base-"))
    path = parent / "tree"
    try:
        git(["worktree", "add", "--detach", "--quiet", str(path), commit], repo)
        yield path
    finally:
        git(["worktree", "remove", "--force", str(path)], repo, check=False)
        shutil.rmtree(parent, ignore_errors=True)
        git(["worktree", "prune"], repo, check=False)
