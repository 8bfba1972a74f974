"""Every external tool is bounded and cancellable: a render that never ends is a finding for
its overlay after ``limits.render-timeout-seconds`` (the other overlays are still reported),
SIGINT and SIGTERM stop the running tools at once and remove the temporary worktree, and a
later run removes what a killed run left.  The renders here hang for real: the kustomization
names a remote resource on a local TCP server that accepts connections and never answers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from llmfleet.infra import exitcodes, tempdirs
from llmfleet_testlib import git

SERVICE_WITH_SCHEMA_ERROR = """\
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  ports: [{port: "eighty"}]
"""


@pytest.fixture
def blackhole():
    """``http://127.0.0.1:PORT/``: accepts connections, never answers."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


def make_repo(root: Path, blackhole: str, render_timeout: float) -> Path:
    """Overlays ``good`` (a schema error) and ``hang`` (a remote resource that never
    answers), with the render timeout given."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "llmfleet.yaml").write_text(
        yaml.safe_dump(
            {"overlays": "overlays", "platform": [], "limits": {"render-timeout-seconds": render_timeout}}
        )
    )
    good = root / "overlays" / "good"
    good.mkdir(parents=True)
    (good / "kustomization.yaml").write_text("resources:\n  - svc.yaml\n")
    (good / "svc.yaml").write_text(SERVICE_WITH_SCHEMA_ERROR)
    hang = root / "overlays" / "hang"
    hang.mkdir()
    (hang / "kustomization.yaml").write_text(f"resources:\n  - {blackhole}/remote.yaml\n")
    return root


def processes_mentioning(text: str) -> list[str]:
    """Command lines of the running processes that mention ``text`` (e.g. a test folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(f"{entry.name}: {cmdline}")
    return found


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def llmfleet_env(tmp: Path) -> dict[str, str]:
    """Temporary folders (worktrees) under the test's own folder, so leftovers can be seen."""
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp), "LLMFLEET_OFFLINE": "1"}


def test_a_render_that_times_out_is_a_finding_and_the_other_overlays_are_reported(tmp_path, blackhole):
    repo = make_repo(tmp_path / "repo", blackhole, render_timeout=2)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "llmfleet", "check", "--format", "json"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env=llmfleet_env(tmp_path / "tmp"),
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == exitcodes.FINDINGS, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    render = [f for f in findings if f["rule"] == "render"]
    assert [(f["overlay"], f["file"]) for f in render] == [("hang", "overlays/hang/kustomization.yaml")]
    assert "timed out after 2 s (limits.render-timeout-seconds in llmfleet.yaml)" in render[0]["message"]
    assert any(f["overlay"] == "good" and f["path"] == "/spec/ports/0/port" for f in findings), findings
    assert elapsed < 60
    assert processes_mentioning(str(repo)) == []  # the timed-out kubectl was killed


@pytest.fixture
def hanging_git_repo(tmp_path, blackhole) -> Path:
    """A committed repository whose overlay ``hang`` hangs when rendered, at the base and in
    the working tree; the working tree changes it, so diff renders both."""
    repo = make_repo(tmp_path / "repo", blackhole, render_timeout=600)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "overlays" / "hang" / "kustomization.yaml").write_text(
        f"resources:\n  - {blackhole}/remote.yaml\nnamePrefix: changed-\n"
    )
    return repo


def worktrees(repo: Path) -> list[str]:
    return [
        line
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_diff_stops_kubectl_and_removes_the_worktree(tmp_path, hanging_git_repo, signum):
    repo, tmp = hanging_git_repo, tmp_path / "tmp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmfleet", "diff", "--base", "HEAD", "hang"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=llmfleet_env(tmp),
    )
    try:
        # Both renders (the base worktree's and the working tree's) are hanging in kubectl.
        wait_for(
            lambda: len([p for p in processes_mentioning(str(tmp_path)) if "kustomize" in p]) >= 2,
            60,
            "two hanging renders",
        )
        assert len(worktrees(repo)) == 2
        started = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    assert f"llmfleet: interrupted ({signal.Signals(signum).name})" in err
    assert "Traceback" not in err
    assert elapsed < 10, elapsed
    assert worktrees(repo) == [f"worktree {repo}"]
    assert not [p for p in tmp.iterdir() if p.name.startswith("llmfleet-")]
    wait_for(lambda: not processes_mentioning(str(tmp_path)), 5, "no kubectl left")


def test_sigkill_leaves_no_kubectl_and_the_next_diff_prunes_the_worktree(tmp_path, hanging_git_repo):
    repo, tmp = hanging_git_repo, tmp_path / "tmp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmfleet", "diff", "--base", "HEAD", "hang"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=llmfleet_env(tmp),
    )
    try:
        wait_for(
            lambda: len([p for p in processes_mentioning(str(tmp_path)) if "kustomize" in p]) >= 2,
            60,
            "two hanging renders",
        )
    finally:
        proc.kill()
        proc.wait(timeout=30)
    # kubectl dies with llmfleet (parent-death signal), even though llmfleet ran no clean-up.
    wait_for(lambda: not processes_mentioning(str(tmp_path)), 10, "kubectl to die with llmfleet")
    assert len(worktrees(repo)) == 2
    assert [p.name[:14] for p in tmp.iterdir() if p.name.startswith("llmfleet-")] == ["llmfleet-base-"]

    # The next diff (here one that has nothing to render) removes the dead run's worktree.
    (repo / "overlays" / "hang" / "kustomization.yaml").write_text(
        (repo / "overlays" / "hang" / "kustomization.yaml").read_text().replace("namePrefix: changed-\n", "")
    )
    (repo / "overlays" / "good" / "svc.yaml").write_text(SERVICE_WITH_SCHEMA_ERROR.replace("svc", "svc2"))
    later = subprocess.run(
        [sys.executable, "-m", "llmfleet", "diff", "--base", "HEAD", "good"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env=llmfleet_env(tmp),
    )
    assert later.returncode == 0, later.stderr
    assert worktrees(repo) == [f"worktree {repo}"]
    assert not [p for p in tmp.iterdir() if p.name.startswith("llmfleet-")]


def test_a_live_runs_folder_is_not_pruned(tmp_path):
    """Pruning removes only folders whose owner is gone."""
    with tempdirs.owned("llmfleet-base-", dir=tmp_path) as mine:
        dead = tmp_path / "llmfleet-base-dead"
        dead.mkdir()
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        (dead / tempdirs.OWNER_FILE).write_text(tempdirs.owner_record(child.pid))
        child.wait()
        assert tempdirs.prune("llmfleet-base-", dir=tmp_path) == [dead]
        assert mine.is_dir() and not dead.exists()


def test_a_folder_whose_owner_is_being_written_is_not_pruned(tmp_path):
    """A record read while another run writes it (empty, or cut short) is no proof that the
    owner is gone: the folder is kept until it is older than the grace period."""
    for record in ("", "12"):
        young = tmp_path / f"llmfleet-promtool-{len(record)}"
        young.mkdir()
        (young / tempdirs.OWNER_FILE).write_text(record)
        assert tempdirs.prune("llmfleet-promtool-", dir=tmp_path) == []
        assert young.is_dir()
        old = time.time() - 3600
        os.utime(young, (old, old))
        assert tempdirs.prune("llmfleet-promtool-", dir=tmp_path) == [young]
    with tempdirs.owned("llmfleet-promtool-", dir=tmp_path) as mine:
        assert sorted(p.name for p in mine.iterdir()) == [tempdirs.OWNER_FILE]


# -- every tool's timeout is a setting --------------------------------------------------------


def _sleeping_tool(folder: Path, name: str) -> Path:
    """A stand-in for ``name`` that never finishes (and starts a child that does not either:
    the whole process group must go)."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / name
    tool.write_text("#!/bin/sh\nsleep 300 &\nsleep 300\n")
    tool.chmod(0o755)
    return tool


@pytest.mark.parametrize(
    "tool, setting, args",
    [
        ("git", "git-timeout-seconds", ["affected", "--base", "HEAD"]),
        ("promtool", "promtool-timeout-seconds", ["lint", "rule.yaml"]),
        (
            "kubeconform",
            "kubeconform-timeout-seconds",
            ["validate", "--validator", "kubeconform", "rule.yaml"],
        ),
    ],
)
def test_each_tool_timeout_is_a_setting(tmp_path, tool, setting, args):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "llmfleet.yaml").write_text(yaml.safe_dump({"limits": {setting: 1}}))
    (repo / "rule.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": {"name": "r"},
                "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0"}]}]},
            }
        )
    )
    fake = _sleeping_tool(tmp_path / "bin", tool)
    env = {
        **llmfleet_env(tmp_path / "tmp"),
        "PATH": f"{fake.parent}:{os.environ['PATH']}",
        "LLMFLEET_PROMTOOL": str(fake) if tool == "promtool" else "",
    }
    env.pop("LLMFLEET_OFFLINE")  # kubeconform does not run offline
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "llmfleet", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert time.monotonic() - started < 30
    assert proc.returncode == exitcodes.TOOL, proc.stdout + proc.stderr
    assert f"{tool}: timed out after 1 s" in proc.stderr and f"limits.{setting}" in proc.stderr
    wait_for(lambda: not processes_mentioning(str(fake)), 5, f"the fake {tool} to be killed")
