"""llmfleet from another repository: the wheel carries its data files and lints a file
outside this repository, the composite action (action.yml) is sound, and the pre-commit hook
runs the foreign preset by default."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import yaml

from llmfleet_testlib import REPO_ROOT, require
from test_workflows import parse_llmfleet

ACTION = REPO_ROOT / "action.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")

FOREIGN_FILE = """\
apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata: {name: ws}
resource: {instanceType: Standard_NC24ads_A100_v4}
inference:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.33.0
          args: [Qwen/Qwen3-8B, --swap-space, "4"]
"""


def _action_steps() -> list[dict]:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    return action["runs"]["steps"]


def test_action_uses_are_pinned_by_sha():
    for step in _action_steps():
        if "uses" in step:
            assert PINNED.match(step["uses"]), step["uses"]
    text = ACTION.read_text(encoding="utf-8")
    for line in text.splitlines():
        if "uses:" in line and "@" in line and not line.lstrip().startswith("#"):
            assert "# v" in line, f"no version comment: {line.strip()}"


def test_action_run_steps_are_bash_and_their_llmfleet_commands_parse(tmp_path):
    steps = [s for s in _action_steps() if "run" in s]
    assert steps
    for i, step in enumerate(steps):
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], "inputs reach scripts through env, never inline"
        script = tmp_path / f"step{i}.sh"
        script.write_text(step["run"], encoding="utf-8")
        proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    lint = "\n".join(s["run"] for s in steps)
    assert "--format sarif" in lint and "--format github" in lint
    parse_llmfleet(["lint", "--preset", "auto", "--format", "sarif", "-o", "x.sarif", "k8s/"])
    parse_llmfleet(["lint", "--preset", "foreign", "--format", "github", "--strict", "k8s/"])
    uploads = [s for s in _action_steps() if "upload-sarif" in s.get("uses", "")]
    assert len(uploads) == 1 and "always()" in uploads[0]["if"]


def test_pre_commit_hook_lints_with_the_automatic_preset():
    hooks = {h["id"]: h for h in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    ctx = parse_llmfleet([*hooks["llmfleet-lint"]["entry"].split()[1:], "k8s/a.yaml"])
    assert ctx.params["preset"] == "auto"


def _build_wheel(out: Path) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    require(proc.returncode == 0, f"building the wheel needs setuptools from PyPI: {proc.stderr[-400:]}")
    wheels = list(out.glob("llmfleet-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_installs_with_its_data_and_lints_a_file_elsewhere(tmp_path):
    wheel = _build_wheel(tmp_path / "dist")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    # The dependencies come from this test's environment (no network), the package from the wheel.
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = {str(Path(p)) for p in sys.path if p.endswith("site-packages")}
    Path(purelib, "zz-test-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    elsewhere = tmp_path / "other-repository"
    elsewhere.mkdir()
    (elsewhere / "workspace.yaml").write_text(FOREIGN_FILE, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LLMFLEET_", "PYTHON"))}
    where = subprocess.run(
        [str(python), "-c", "import llmfleet; print(llmfleet.__file__)"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=environ,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(env_dir)), where
    proc = subprocess.run(
        [str(env_dir / "bin" / "llmfleet"), "lint", "--format", "json", "workspace.yaml"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=environ,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    findings = {(f["rule"], f["kind"]) for f in json.loads(proc.stdout)["findings"]}
    # custom_workloads.yaml (the Workspace's template) and the vLLM flag tables are package data.
    assert ("gpu-missing", "Workspace") in findings
    assert ("vllm-removed-flag", "Workspace") in findings
    assert not any(rule == "alert-coverage" for rule, _ in findings)
