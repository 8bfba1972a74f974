"""``new-model`` is a transaction: killed (SIGKILL) at any point, interrupted (SIGINT,
SIGTERM), failing, or racing another run, it leaves the repository as before or leaves the
new overlay and the regenerated routes together; the next run repairs what a kill left and
says what it did.  Every run here is a real ``llmfleet`` process on a copy of the repository.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from llmfleet.features.gateway_routes import expected_text
from llmfleet.features.scaffold import prepare
from llmfleet.features.scaffold.plan import NewModelOptions
from llmfleet.infra import exitcodes, transaction
from llmfleet.pipeline.config import load_config

NAME = "llama-3-1-8b-instruct"
#: Replaces the hand-written llama overlay by a Qwen one under the same name: the routes change.
MODEL = "Qwen/Qwen2.5-7B-Instruct"
ROUTES = "platform/gateway/routes.yaml"
#: Before these points the old overlay must survive; from "committed" on, the new one.
ROLLED_BACK = transaction.FAULT_POINTS[: transaction.FAULT_POINTS.index("committed")]


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(folder.rglob("*"))
    }


def leftovers(repo: Path) -> list[str]:
    found = [p.name for p in (repo / "overlays").iterdir() if p.name.startswith((".tmp-", ".old-"))]
    found += [p.name for p in (repo / "platform" / "gateway").iterdir() if p.name.startswith(".routes.yaml.")]
    if (repo / transaction.STATE_DIR / transaction.JOURNAL_FILE).exists():
        found.append(transaction.JOURNAL_FILE)
    return found


@pytest.fixture
def repo(repo_copy) -> Path:
    """The repository copy with a hand edit in the overlay that --force replaces, and the
    platform gateway's placeholder image (an error in this repository until the image is
    published) turned off, so that a successful run exits 0."""
    (repo_copy / "overlays" / NAME / "NOTES.md").write_text("hand-written notes\n")
    config = yaml.safe_load((repo_copy / "llmfleet.yaml").read_text())
    config.setdefault("lint", {})["disabled-rules"] = ["image-placeholder"]
    (repo_copy / "llmfleet.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return repo_copy


def llmfleet(
    repo: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300, **kwargs
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmfleet", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def generated_files(repo: Path) -> dict[str, bytes]:
    options = NewModelOptions(MODEL, name=NAME, force=True)
    files = prepare.prepare(options, repo / "overlays", repo).files
    return {name: text.encode() for name, text in files.items()}


def assert_consistent(repo: Path, old_tree: dict[str, bytes], old_routes: str) -> str:
    """The overlay is the old one (and the routes the old ones) or the new one complete, and
    the routes file is the one the overlays render either way.  Returns which."""
    current = tree(repo / "overlays" / NAME) if (repo / "overlays" / NAME).is_dir() else {}
    routes = (repo / ROUTES).read_text()
    assert routes == expected_text(load_config(repo))[0], "routes.yaml does not match the overlays"
    if current == old_tree:
        assert routes == old_routes
        return "old"
    assert current == generated_files(repo), sorted(current)
    assert "name: Qwen/Qwen2.5-7B-Instruct" in routes
    return "new"


def test_force_replaces_overlay_and_routes_together(repo):
    result = llmfleet(repo, "new-model", MODEL, "--name", NAME, "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"routes     wrote {ROUTES}" in result.stdout
    assert assert_consistent(repo, {}, "") == "new"
    assert leftovers(repo) == []


@pytest.mark.parametrize("point", transaction.FAULT_POINTS)
def test_sigkill_at_each_point_then_the_next_run_repairs(repo, point):
    old_tree, old_routes = tree(repo / "overlays" / NAME), (repo / ROUTES).read_text()
    killed = llmfleet(repo, "new-model", MODEL, "--name", NAME, "--force", env={transaction.FAULT_ENV: point})
    assert killed.returncode == -signal.SIGKILL, (point, killed.stdout, killed.stderr)

    # The next run that writes (gateway-routes, or new-model) repairs first and says how.
    repaired = llmfleet(repo, "gateway-routes")
    assert repaired.returncode == 0, repaired.stderr
    state = assert_consistent(repo, old_tree, old_routes)
    assert state == ("old" if point in ROLLED_BACK else "new"), (point, repaired.stderr)
    assert leftovers(repo) == [], point
    if point != "cleaned":  # a kill after the clean-up leaves nothing to repair
        assert "llmfleet: recovered: " in repaired.stderr, (point, repaired.stderr)
    if state == "old" and point in ("old-aside", "new-in-place", "routes-in-place"):
        assert f"restored overlays/{NAME}/" in repaired.stderr


def test_recovery_restores_an_old_overlay_left_without_a_journal(repo):
    """An earlier llmfleet (no journal) killed between its two renames left only
    overlays/.old-<name>-XXXX: it is put back."""
    old_tree = tree(repo / "overlays" / NAME)
    (repo / "overlays" / NAME).rename(repo / "overlays" / f".old-{NAME}-abc123")
    (repo / "overlays" / f".tmp-{NAME}-def456").mkdir()
    (repo / "platform" / "gateway" / ".routes.yaml.x1y2.tmp").write_text("half")
    result = llmfleet(repo, "gateway-routes")
    assert result.returncode == 0, result.stderr
    assert tree(repo / "overlays" / NAME) == old_tree
    assert f"restored overlays/{NAME}/ from overlays/.old-{NAME}-abc123/" in result.stderr
    assert f"removed overlays/.tmp-{NAME}-def456/" in result.stderr
    assert "removed platform/gateway/.routes.yaml.x1y2.tmp" in result.stderr
    assert leftovers(repo) == []


def test_an_old_overlay_beside_a_live_one_is_kept_and_reported(repo):
    stale = repo / "overlays" / f".old-{NAME}-zz9"
    stale.mkdir()
    (stale / "kustomization.yaml").write_text("resources: []\n")
    result = llmfleet(repo, "gateway-routes")
    assert result.returncode == 0
    assert stale.is_dir()
    assert f"kept overlays/.old-{NAME}-zz9/" in result.stderr and "delete it once" in result.stderr


def _wait_for_staging(proc: subprocess.Popen, repo: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not any(p.name.startswith(".tmp-") for p in (repo / "overlays").iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the overlay was never staged"
        time.sleep(0.01)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_the_check_writes_nothing_and_says_so(repo, signum):
    old_tree, old_routes = tree(repo / "overlays" / NAME), (repo / ROUTES).read_text()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmfleet", "new-model", MODEL, "--name", NAME, "--force"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_staging(proc, repo)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in (128 + signum, 0, 1), err
    if proc.returncode == 128 + signum:
        name = signal.Signals(signum).name
        assert (
            f"llmfleet: interrupted ({name}); nothing was written (overlays/{NAME}/ and {ROUTES} "
            "are as before)" in err
        )
        assert tree(repo / "overlays" / NAME) == old_tree and (repo / ROUTES).read_text() == old_routes
    else:  # the signal came after the commit: both are written
        assert assert_consistent(repo, old_tree, old_routes) == "new"
    assert leftovers(repo) == []


def test_two_runs_for_the_same_model_under_different_names_cannot_both_succeed(repo):
    """Serialised by the lock: whichever runs second sees the first's overlay serving the
    same model (before taking the lock, or once it holds it) and writes nothing."""
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "llmfleet", "new-model", MODEL, "--name", name],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("qwen-a", "qwen-b")
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [exitcodes.OK, exitcodes.USAGE], results
    written = [n for n in ("qwen-a", "qwen-b") if (repo / "overlays" / n).is_dir()]
    assert len(written) == 1, results
    loser = next(err for code, _, err in results if code != 0)
    assert "already serves model name 'Qwen/Qwen2.5-7B-Instruct'" in loser, loser
    assert leftovers(repo) == []
    assert (repo / ROUTES).read_text() == expected_text(load_config(repo))[0]


def test_a_held_lock_makes_a_writer_wait_then_give_up(repo):
    config = yaml.safe_load((repo / "llmfleet.yaml").read_text())
    config["limits"] = {"lock-timeout-seconds": 1}
    (repo / "llmfleet.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    lock = repo / transaction.STATE_DIR / transaction.LOCK_FILE
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write("pid 4242")
        handle.flush()
        before = (repo / ROUTES).read_text()
        result = llmfleet(repo, "gateway-routes")
    assert result.returncode == exitcodes.USAGE
    assert "waiting for another new-model or gateway-routes run (pid 4242)" in result.stderr
    assert "still holds .llmfleet-cache/write.lock after 1 s" in result.stderr
    assert (repo / ROUTES).read_text() == before
