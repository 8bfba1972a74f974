"""A full disk during ``new-model`` (ENOSPC at each point where it writes) is exit 2 with a
plain message, and the repository is exactly as before: no half-written overlay, routes
file or journal, no traceback, no internal error."""

from __future__ import annotations

import errno
import os
import pathlib
from pathlib import Path

import pytest
import yaml

from llmfleet.infra import exitcodes

NAME = "llama-3-1-8b-instruct"
MODEL = "Qwen/Qwen2.5-7B-Instruct"


def tree(repo: Path) -> dict[str, bytes]:
    """The repository's files, the caches left out (a render may be cached before the failure)."""
    return {
        str(p.relative_to(repo)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(repo.rglob("*"))
        if ".llmfleet-cache" not in p.parts
    }


def disk_full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def repo(repo_copy) -> Path:
    config = yaml.safe_load((repo_copy / "llmfleet.yaml").read_text())
    config.setdefault("lint", {})["disabled-rules"] = ["image-placeholder"]
    (repo_copy / "llmfleet.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return repo_copy


def inject_write_text(monkeypatch, repo: Path) -> None:
    """The staged overlay's files (Path.write_text under overlays/) cannot be written."""
    real = pathlib.Path.write_text

    def write_text(self, *args, **kwargs):
        if str(self).startswith(str(repo / "overlays")):
            disk_full()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", write_text)


def inject_fsync(monkeypatch, repo: Path) -> None:
    """Flushing the staged routes file or the journal to disk fails (os.fsync)."""
    monkeypatch.setattr(os, "fsync", disk_full)


def inject_replace(monkeypatch, repo: Path) -> None:
    """The first rename inside the repository fails (os.replace); the roll-back's work."""
    real = os.replace
    failed = []

    def replace(src, dst, *args, **kwargs):
        if not failed and str(dst).startswith((str(repo / "overlays"), str(repo / "platform"))):
            failed.append(dst)
            disk_full()
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("inject", [inject_write_text, inject_fsync, inject_replace])
def test_full_disk_during_new_model_is_exit_2_and_leaves_the_repository_as_it_was(
    cli, repo, monkeypatch, inject
):
    before = tree(repo)
    inject(monkeypatch, repo)
    result = cli(["new-model", MODEL, "--name", NAME, "--force"], cwd=repo)
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert "No space left on device" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    monkeypatch.undo()
    assert tree(repo) == before
