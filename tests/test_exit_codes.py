"""Exit codes CI can trust: 1 only for findings; an unexpected exception is 4 with one line
saying where to report it; stdout closed, full or abandoned by its reader, stdin closed and an
unwritable -o each get a clear message and their documented code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmfleet import ISSUES_URL
from llmfleet.infra import exitcodes
from llmfleet_testlib import REPO_ROOT

GOOD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"


def many_findings(count: int = 3000) -> str:
    return "".join(
        f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\nspec: {{ports: [{{port: eighty}}]}}\n"
        for i in range(count)
    )


def shell(cwd: Path, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``script`` in bash, with ``llmfleet`` the toolkit of the running interpreter."""
    env = {**os.environ, "LLMFLEET": f"{sys.executable} -m llmfleet"}
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def test_an_unexpected_exception_is_exit_4_with_one_line(cli, empty_repo, monkeypatch):
    import llmfleet.pipeline.runner

    def crash(*args, **kwargs):
        raise ValueError("boom near hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123")

    monkeypatch.setattr(llmfleet.pipeline.runner, "run_lint", crash)
    monkeypatch.delenv("LLMFLEET_DEBUG", raising=False)
    (empty_repo / "c.yaml").write_text(GOOD)
    result = cli(["lint", "c.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.INTERNAL
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("llmfleet: internal error: ValueError: boom near <redacted> (at ")
    assert "test_exit_codes.py" in line or "llmfleet/" in line
    assert f"please report it at {ISSUES_URL}" in line
    assert "Traceback" not in result.stderr


def test_the_traceback_with_llmfleet_debug(cli, empty_repo, monkeypatch):
    import llmfleet.pipeline.runner

    monkeypatch.setattr(llmfleet.pipeline.runner, "run_lint", lambda *a, **k: [][1])
    monkeypatch.setenv("LLMFLEET_DEBUG", "1")
    (empty_repo / "c.yaml").write_text(GOOD)
    result = cli(["lint", "c.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.INTERNAL
    assert "Traceback (most recent call last)" in result.stderr
    assert "llmfleet: internal error: IndexError: list index out of range" in result.stderr


def test_stdout_full(tmp_path):
    (tmp_path / "c.yaml").write_text(GOOD)
    for command in ("$LLMFLEET lint c.yaml > /dev/full", "$LLMFLEET rules > /dev/full"):
        result = shell(tmp_path, command)
        assert result.returncode == exitcodes.USAGE, (command, result.stderr)
        assert result.stderr == "llmfleet: error: cannot write to stdout: No space left on device\n"


def test_stdout_closed(tmp_path):
    (tmp_path / "c.yaml").write_text(GOOD)
    result = shell(tmp_path, "$LLMFLEET lint c.yaml >&-")
    assert result.returncode == exitcodes.USAGE
    assert "llmfleet: error: cannot write to stdout" in result.stderr and "Traceback" not in result.stderr


def test_reader_goes_away(tmp_path):
    (tmp_path / "s.yaml").write_text(many_findings())
    result = shell(tmp_path, "set -o pipefail; $LLMFLEET validate --offline s.yaml | head -1")
    assert result.returncode == exitcodes.BROKEN_PIPE, result.stderr
    assert result.stdout.startswith("s.yaml:5: error: schema: Service s0")
    assert result.stderr == "llmfleet: error: output stopped: the reader of stdout closed the pipe\n"


def test_stdin_closed(tmp_path):
    result = shell(tmp_path, "$LLMFLEET lint --format json - <&-")
    assert result.returncode == exitcodes.FINDINGS, result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["rule"], finding["file"]) == ("input", "<stdin>")
    assert finding["message"].startswith("cannot read stdin: it is closed")


def test_output_into_a_missing_folder_is_created_and_an_impossible_one_is_exit_2(cli, empty_repo):
    (empty_repo / "c.yaml").write_text(GOOD)
    result = cli(["lint", "c.yaml", "-o", "reports/today/lint.txt"], cwd=empty_repo)
    assert result.exit_code == exitcodes.OK
    assert (empty_repo / "reports" / "today" / "lint.txt").read_text().startswith("lint: 1 input(s)")
    (empty_repo / "a-file").write_text("")
    result = cli(["lint", "c.yaml", "-o", "a-file/lint.txt"], cwd=empty_repo)
    assert result.exit_code == exitcodes.USAGE
    assert result.stderr.startswith("llmfleet: error: -o a-file/lint.txt: cannot write the report")


def test_every_exit_code_is_documented():
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("**Exit codes.**") :]
    section = section[: section.index("\n\n")]
    for code in exitcodes.DOCUMENTED:
        assert re.search(rf"`{code}`", section), f"exit code {code} is not in the README"
    from llmfleet.cli import main

    assert "4 internal error" in (main.help or "")


@pytest.mark.parametrize("args", [["lint", "-"], ["validate", "-"]])
def test_garbage_on_stdin_is_findings_not_a_crash(cli, empty_repo, args):
    result = cli(args, cwd=empty_repo, input=b"\x00\xff\xfe" + os.urandom(64))
    assert result.exit_code == exitcodes.FINDINGS
    assert "Traceback" not in result.stderr
