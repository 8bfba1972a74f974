"""The GitHub workflows and pre-commit hooks: schema-valid, every `run:` is valid bash, every
action pinned, and every llmfleet command they run is one click accepts (and the tests run)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from llmfleet_testlib import REPO_ROOT, SCHEMAS


WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.y*ml"))
SCHEMA = SCHEMAS / "other" / "github-workflow.json"   # vendored, schemas/README.md
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "(", ")", "&", "2>", "2>&1"}


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:            # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, job, step


def run_scripts() -> list[tuple[str, str]]:
    return [(f"{p.name}:{job_id}:{step.get('name', step['run'].splitlines()[0])}", step["run"])
            for p in WORKFLOWS for job_id, _, step in steps(load(p)) if "run" in step]


def llmfleet_invocations(script: str) -> list[list[str]]:
    """`llmfleet SUBCOMMAND ARGS` of a shell script, up to the next shell operator."""
    script = EXPRESSION.sub("PLACEHOLDER", script).replace("\\\n", " ")
    found = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        for i, token in enumerate(tokens):
            if token == "llmfleet" or token.endswith("/llmfleet"):
                args = []
                for t in tokens[i + 1:]:
                    if t in SHELL_OPERATORS or set(t) <= set("|&;<>()"):
                        break
                    args.append(t)
                found.append(args)
    return found


def parse_llmfleet(args: list[str]) -> click.Context:
    """Parse (never run) ``llmfleet ARGS`` with the real click command: unknown options,
    bad choices or missing values raise click.UsageError."""
    from llmfleet.cli import main
    assert args, "llmfleet without a subcommand"
    command = main.get_command(click.Context(main), args[0])
    assert command is not None, f"llmfleet has no subcommand {args[0]!r}"
    return command.make_context(args[0], list(args[1:]))


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert "pr.yml" in names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(path):
    import json

    import jsonschema
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(load(path)), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors)


@pytest.mark.parametrize("name,script", run_scripts(), ids=[n for n, _ in run_scripts()])
def test_run_steps_are_valid_bash(name, script, tmp_path):
    bash = shutil.which("bash")
    assert bash
    file = tmp_path / "step.sh"
    file.write_text(EXPRESSION.sub("PLACEHOLDER", script))
    proc = subprocess.run([bash, "-n", str(file)], capture_output=True, text=True)
    assert proc.returncode == 0, f"{name}: {proc.stderr}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned(path):
    for job_id, job, step in steps(load(path)):
        if "uses" in step:
            assert PINNED.match(step["uses"]), f"{path.name}:{job_id}: {step['uses']} is not pinned to a full version or SHA"


def test_llmfleet_commands_in_workflows_parse_and_are_tested():
    invocations = [args for _, script in run_scripts() for args in llmfleet_invocations(script)]
    used = {args[0] for args in invocations}
    assert {"check", "diff", "cost"} <= used
    for args in invocations:
        parse_llmfleet(args)


def test_llmfleet_commands_in_workflows_run(cli, repo_copy, tmp_path):
    """Run every llmfleet command of the workflows, as written, in a git repository made
    from this one with a change on a branch ($BASE = the main branch)."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"],
                 ["checkout", "-q", "-b", "pr"]):
        subprocess.run([*git, *args], cwd=repo_copy, check=True, capture_output=True)
    overlay = sorted(p.parent for p in (repo_copy / "overlays").glob("*/serve.yaml"))[0]
    (overlay / "serve.yaml").write_text((overlay / "serve.yaml").read_text() + "\n# changed\n")
    invocations = [args for _, script in run_scripts() for args in llmfleet_invocations(script)]
    for args in invocations:
        args = ["main" if a == "$BASE" else a for a in args]
        result = cli(args, cwd=repo_copy)
        allowed = (0, 1) if args[0] == "check" else (0,)
        assert result.exit_code in allowed, f"llmfleet {' '.join(args)}: {result.stderr}"
        if args[0] == "check":
            assert f"1 of " in result.stderr          # only the changed overlay
    assert (repo_copy / "llmfleet.sarif").is_file()


def test_the_parser_rejects_what_click_would():
    parse_llmfleet(["check", "--changed-since", "origin/main", "--format", "sarif", "-o", "x.sarif"])
    with pytest.raises(click.UsageError):
        parse_llmfleet(["check", "--format", "sarf"])
    with pytest.raises(click.UsageError):
        parse_llmfleet(["diff", "--bse", "x"])
    assert llmfleet_invocations('a=1; llmfleet diff --base "$BASE" --format markdown > out.md\n'
                                "llmfleet cost || echo failed") == \
        [["diff", "--base", "$BASE", "--format", "markdown"], ["cost"]]


def test_pr_workflow_does_what_the_issue_asks():
    wf = load(REPO_ROOT / ".github" / "workflows" / "pr.yml")
    assert "pull_request" in wf["on"]
    all_steps = [(job_id, job, s) for job_id, job, s in steps(wf)]
    uses = {s["uses"].split("@")[0]: s for _, _, s in all_steps if "uses" in s}
    scripts = "\n".join(s.get("run", "") for _, _, s in all_steps)
    # full history for --changed-since and diff, in every job that checks out for them
    for job_id, job, s in all_steps:
        if s.get("uses", "").startswith("actions/checkout@") and job_id != "gateway-image":
            assert s["with"]["fetch-depth"] == 0, job_id
    assert str(uses["actions/setup-python"]["with"]["python-version"]).endswith(("3.11", "PYTHON_VERSION }}"))
    assert wf["env"]["PYTHON_VERSION"] == "3.11"
    assert "make setup" in scripts
    assert "kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}" in scripts and wf["env"]["KUBECONFORM_VERSION"] == "v0.7.0"
    assert "apt-get install" in scripts and "prometheus" in scripts
    invocations = [a for _, script in run_scripts() if script in scripts for a in llmfleet_invocations(script)]
    assert ["check", "--changed-since", "$BASE", "--format", "github"] in invocations
    assert ["check", "--changed-since", "$BASE", "--format", "sarif", "-o", "llmfleet.sarif"] in invocations
    assert ["diff", "--base", "$BASE", "--format", "markdown"] in invocations
    assert wf["env"]["BASE"] == "origin/${{ github.base_ref }}"
    sarif = uses["github/codeql-action/upload-sarif"]["with"]
    assert sarif == {"sarif_file": "llmfleet.sarif", "category": "llmfleet"}
    check_job = next(job for job_id, job, s in all_steps if s is uses["github/codeql-action/upload-sarif"])
    assert check_job["permissions"]["security-events"] == "write"
    test_step = next(s for _, _, s in all_steps if s.get("run", "").strip() == "make test")
    assert test_step["env"]["LLMFLEET_REQUIRE_KUBECONFORM"] == "1"
    assert "docker build --file gateway/Dockerfile" in scripts
    # one PR comment, found again by its hidden marker
    comment = uses["actions/github-script"]["with"]["script"]
    assert "<!-- llmfleet-pr-comment -->" in comment and "<!-- llmfleet-pr-comment -->" in scripts
    assert "updateComment" in comment and "createComment" in comment
    comment_job = next(job for job_id, job, s in all_steps if s is uses["actions/github-script"])
    assert comment_job["permissions"]["pull-requests"] == "write"


def test_make_targets_the_workflows_run_exist():
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = {m for _, script in run_scripts() for m in re.findall(r"\bmake (\w[\w-]*)", script)}
    assert targets >= {"setup", "test"}
    for target in targets:
        assert re.search(rf"(?m)^{target}:", makefile), f"make {target}: no such target"


def test_pre_commit_hooks():
    hooks = {h["id"]: h for h in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    lint, check = hooks["llmfleet-lint"], hooks["llmfleet-check"]
    assert lint["entry"] == "llmfleet lint" and lint["language"] == "python"
    pattern = re.compile(lint["files"])
    assert pattern.search("k8s/deploy.yaml") and pattern.search("a.yml") and not pattern.search("a.json")
    assert lint.get("pass_filenames", True) is True
    assert check["entry"] == "llmfleet check" and check["pass_filenames"] is False
    # pre-commit appends the file names to the entry
    parse_llmfleet([*shlex.split(lint["entry"])[1:], "k8s/deploy.yaml", "k8s/svc.yml"])
    parse_llmfleet(shlex.split(check["entry"])[1:])
