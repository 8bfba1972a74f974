"""The GitHub workflows and pre-commit hooks: schema-valid, zizmor- and actionlint-clean,
every `run:` is valid bash, every action pinned by commit SHA, no job that runs the PR's code
holds a write token, crashes never pass as findings, the PR comment is found by marker and
bot identity and cut at a safe Markdown boundary, and every llmfleet command they run is
one click accepts (and the tests run)."""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from llmfleet_testlib import REPO_ROOT, SCHEMAS, require

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.y*ml"))
SCHEMA = SCHEMAS / "other" / "github-workflow.json"  # vendored, schemas/README.md
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
#: `uses: owner/repo[/path]@<40-hex SHA> # vX.Y.Z`: the commit, and which release it is.
PINNED_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s+v\d+\.\d+\.\d+\s*$")
SCRIPTS = REPO_ROOT / ".github" / "scripts"
STATUS_SCRIPT = SCRIPTS / "llmfleet-status.sh"
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "(", ")", "&", "2>", "2>&1"}


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, job, step


def run_scripts() -> list[tuple[str, str]]:
    return [
        (f"{p.name}:{job_id}:{step.get('name', step['run'].splitlines()[0])}", step["run"])
        for p in WORKFLOWS
        for job_id, _, step in steps(load(p))
        if "run" in step
    ]


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
                for t in tokens[i + 1 :]:
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
def test_every_action_is_pinned_by_sha_with_its_version(path):
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert lines, f"{path.name} uses no action"
    for line in lines:
        assert PINNED_LINE.match(line), f"{path.name}: {line.strip()!r} is not `@<commit SHA> # vX.Y.Z`"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_do_not_persist_credentials(path):
    for job_id, _, step in steps(load(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}:{job_id}"


def _runs_repository_code(job: dict) -> bool:
    return any("run" in s or s.get("uses", "").startswith("actions/checkout@") for s in job.get("steps", []))


def _writes(job: dict) -> list[str]:
    perms = job.get("permissions", {})
    if perms in ("write-all",):
        return ["write-all"]
    return [k for k, v in (perms or {}).items() if v == "write"]


#: Events whose code is reviewed and merged (a push to main or a tag, or a maintainer's
#: manual run of such a ref): only there may a job that runs the repository's code publish.
TRUSTED_EVENTS = {"push", "workflow_dispatch"}
PUBLISH_REFS = {"main", "v*"}


def _events(wf: dict) -> dict:
    # PyYAML reads the key `on` as the boolean True.
    on = wf.get("on", wf.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on or {})


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_job_that_runs_untrusted_code_holds_a_write_token(path):
    """A workflow that pull requests trigger never holds a write token while it runs their
    code; one that writes while running the repository's code (publishing the gateway image)
    runs only on pushes to main and version tags, never on a pull request."""
    wf = load(path)
    assert wf.get("permissions") == {}, f"{path.name}: workflow-level permissions must be {{}}"
    events = _events(wf)
    for job_id, job in wf["jobs"].items():
        assert "permissions" in job, f"{path.name}:{job_id}: no explicit permissions"
        if not (_runs_repository_code(job) and _writes(job)):
            continue
        assert set(events) <= TRUSTED_EVENTS, (
            f"{path.name}:{job_id} runs the checked-out code with {_writes(job)} on {sorted(events)}"
        )
        push = events.get("push") or {}
        refs = set(push.get("branches", [])) | set(push.get("tags", []))
        assert refs and refs <= PUBLISH_REFS, f"{path.name}:{job_id} publishes from {sorted(refs)}"


def test_writing_jobs_only_read_artifacts():
    wf = load(REPO_ROOT / ".github" / "workflows" / "pr.yml")
    writers = {job_id: job for job_id, job in wf["jobs"].items() if _writes(job)}
    assert set(writers) == {"upload-sarif", "comment"}
    for job_id, job in writers.items():
        assert job["needs"] == "check"
        uses = [s["uses"].split("@")[0] for s in job["steps"]]
        assert "actions/download-artifact" in uses, job_id
        assert not any("run" in s for s in job["steps"]), f"{job_id} runs a script"
        assert "actions/checkout" not in uses, f"{job_id} checks out the PR"
        # A fork's PR gets a read-only token: the writers are skipped there.
        assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]


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
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "base"],
        ["checkout", "-q", "-b", "pr"],
    ):
        subprocess.run([*git, *args], cwd=repo_copy, check=True, capture_output=True)
    overlay = sorted(p.parent for p in (repo_copy / "overlays").glob("*/serve.yaml"))[0]
    (overlay / "serve.yaml").write_text((overlay / "serve.yaml").read_text() + "\n# changed\n")
    invocations = [args for _, script in run_scripts() for args in llmfleet_invocations(script)]
    for args in invocations:
        args = ["main" if a == "$BASE" else a for a in args]
        result = cli(args, cwd=repo_copy)
        allowed = (0, 1) if args[0] == "check" else (0,)
        if args[0] == "diff" and "breaches the latency objective" in result.stderr:
            allowed = (1,)  # the simulated default spike misses the SLO (calibration.md §4)
        assert result.exit_code in allowed, f"llmfleet {' '.join(args)}: {result.stderr}"
        if args[0] == "check":
            assert "1 of " in result.stderr  # only the changed overlay
    assert (repo_copy / "llmfleet.sarif").is_file()


def test_the_parser_rejects_what_click_would():
    parse_llmfleet(["check", "--changed-since", "origin/main", "--format", "sarif", "-o", "x.sarif"])
    with pytest.raises(click.UsageError):
        parse_llmfleet(["check", "--format", "sarf"])
    with pytest.raises(click.UsageError):
        parse_llmfleet(["diff", "--bse", "x"])
    assert llmfleet_invocations(
        'a=1; llmfleet diff --base "$BASE" --format markdown > out.md\nllmfleet cost || echo failed'
    ) == [["diff", "--base", "$BASE", "--format", "markdown"], ["cost"]]


def test_pr_workflow_does_what_the_issue_asks():
    wf = load(REPO_ROOT / ".github" / "workflows" / "pr.yml")
    assert "pull_request" in wf["on"]
    all_steps = [(job_id, job, s) for job_id, job, s in steps(wf)]
    uses = {s["uses"].split("@")[0]: s for _, _, s in all_steps if "uses" in s}
    scripts = "\n".join(s.get("run", "") for _, _, s in all_steps)
    # full history for --changed-since and diff, in every job that checks out for them
    for job_id, _, s in all_steps:
        if s.get("uses", "").startswith("actions/checkout@") and job_id != "gateway-image":
            assert s["with"]["fetch-depth"] == 0, job_id
    assert str(uses["actions/setup-python"]["with"]["python-version"]).endswith(("3.11", "PYTHON_VERSION }}"))
    assert wf["env"]["PYTHON_VERSION"] == "3.11"
    assert "make setup tools" in scripts  # kubeconform, pinned in tools/gotools/kubeconform/go.sum
    assert "apt-get install" in scripts and "prometheus" in scripts
    invocations = [
        a for _, script in run_scripts() if script in scripts for a in llmfleet_invocations(script)
    ]
    assert ["check", "--changed-since", "$BASE", "--format", "github"] in invocations
    assert ["check", "--changed-since", "$BASE", "--format", "sarif", "-o", "llmfleet.sarif"] in invocations
    assert ["diff", "--base", "$BASE", "--format", "markdown"] in invocations
    assert wf["env"]["BASE"] == "origin/${{ github.base_ref }}"
    sarif = uses["github/codeql-action/upload-sarif"]["with"]
    assert sarif == {"sarif_file": "llmfleet.sarif", "category": "llmfleet"}
    upload_job = next(job for job_id, job, s in all_steps if s is uses["github/codeql-action/upload-sarif"])
    assert upload_job["permissions"]["security-events"] == "write"
    # Every llmfleet exit status goes through the status script: only 1 is findings.
    for _, script in run_scripts():
        if "llmfleet check" in script or "llmfleet diff" in script:
            assert "status=$?" in script and ".github/scripts/llmfleet-status.sh" in script, script
    test_step = next(s for _, _, s in all_steps if s.get("run", "").strip() == "make test")
    assert test_step["env"]["LLMFLEET_REQUIRE_KUBECONFORM"] == "1"
    assert "docker build --file gateway/Dockerfile" in scripts
    # one PR comment, found again by its hidden marker
    comment = uses["actions/github-script"]["with"]["script"]
    assert "<!-- llmfleet-pr-comment -->" in comment and "<!-- llmfleet-pr-comment -->" in scripts
    assert "updateComment" in comment and "createComment" in comment
    # found by the marker AND the identity GITHUB_TOKEN posts as, never another's comment
    assert "c.user.login === botLogin" in comment and "'github-actions[bot]'" in comment
    assert ".github/scripts/pr_comment.py pr-comment-full.md pr-comment.md" in scripts
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


# -- the real linters ------------------------------------------------------------------------


def _tool(name: str) -> str:
    venv = REPO_ROOT / ".venv" / "bin" / name
    path = str(venv) if venv.is_file() else shutil.which(name)
    require(bool(path), f"{name} not found (requirements-dev.txt installs it: make setup)")
    return path


def test_zizmor_finds_nothing():
    """zizmor (pinned in requirements-dev.txt) over every workflow, offline, at its
    pedantic-most persona: unpinned actions, persisted credentials, template injection,
    excessive permissions, dangerous triggers..."""
    proc = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--persona=auditor",
            "--no-progress",
            "--format=plain",
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, f"zizmor exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "No findings to report" in proc.stdout + proc.stderr


def test_zizmor_really_audits(tmp_path):
    """The same zizmor call fails on a workflow with an unpinned action and persisted
    credentials, so a green run above means something."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad\non: pull_request\npermissions: {}\njobs:\n  j:\n    name: j\n"
        "    runs-on: ubuntu-24.04\n    permissions: {}\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
    )
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", "--format=plain", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "unpinned-uses" in proc.stdout and "artipacked" in proc.stdout


def test_actionlint_finds_nothing():
    proc = subprocess.run(
        [_tool("actionlint"), "-no-color", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, f"actionlint exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"


def test_actionlint_really_checks(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo ${{ github.event.nope.x }}\n"
        "        if: ${{ matrix.missing }}\n"
    )
    proc = subprocess.run(
        [_tool("actionlint"), "-no-color", str(workflows / "bad.yml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 1 and "matrix" in proc.stdout


# -- exit statuses: only 1 is findings ---------------------------------------------------------


def _status(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(STATUS_SCRIPT), *args], capture_output=True, text=True, cwd=tmp_path, timeout=30
    )


@pytest.mark.parametrize(
    "status, meaning",
    [("2", "usage error"), ("3", "missing or failing"), ("4", "internal error"), ("137", "unexpected")],
)
def test_a_crash_never_passes_as_findings(tmp_path, status, meaning):
    (tmp_path / "report.sarif").write_text("{}")
    result = _status(tmp_path, status, "--findings-ok", "--report", "report.sarif")
    assert result.returncode == int(status)
    assert meaning in result.stdout and "not a findings report" in result.stdout


def test_findings_and_clean(tmp_path):
    (tmp_path / "report.sarif").write_text('{"runs": []}')
    assert _status(tmp_path, "0").returncode == 0
    assert _status(tmp_path, "1").returncode == 1  # the gate step fails
    assert _status(tmp_path, "1", "--findings-ok", "--report", "report.sarif").returncode == 0
    # "findings" with no report: the process died, it did not check
    missing = _status(tmp_path, "1", "--findings-ok", "--report", "absent.sarif")
    assert missing.returncode == 1 and "wrote no report" in missing.stdout
    (tmp_path / "empty.md").write_text("")
    assert _status(tmp_path, "0", "--report", "empty.md").returncode == 1


# -- the PR comment is cut at a safe boundary ------------------------------------------------


def _pr_comment():
    spec = importlib.util.spec_from_file_location("pr_comment", SCRIPTS / "pr_comment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _open_fences(text: str) -> int:
    """Fences left open at the end of ``text`` (CommonMark, as GitHub renders them)."""
    fence = None
    for line in text.splitlines():
        m = re.match(r"^ {0,3}(`{3,}|~{3,})(.*)$", line)
        if fence is None and m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
            fence = m.group(1)
        elif (
            fence
            and m
            and m.group(1)[0] == fence[0]
            and len(m.group(1)) >= len(fence)
            and not m.group(2).strip()
        ):
            fence = None
    return 0 if fence is None else 1


def _comment_body(lines: int) -> str:
    diff = "".join(f"+  image: vllm/vllm-openai:v0.{i}  # ``` inside a longer fence\n" for i in range(lines))
    return (
        "<!-- llmfleet-pr-comment -->\n<!-- llmfleet-diff -->\n### Rendered manifests\n\n"
        "<details><summary><code>m</code>: changed</summary>\n\n"
        f"````diff\n{diff}````\n\n</details>\n\n### Fleet cost\n\n```\ncost table\n```\n"
    )


def test_short_comment_is_unchanged():
    body = _comment_body(10)
    assert _pr_comment().cut(body, 65_000) == body


@pytest.mark.parametrize("limit", [700, 2_000, 5_003, 30_000])
def test_long_comment_is_cut_outside_fences_and_details(limit):
    cut = _pr_comment().cut
    body = _comment_body(2_000)
    out = cut(body, limit)
    assert len(out) <= limit
    assert out.startswith("<!-- llmfleet-pr-comment -->\n")
    assert _open_fences(out) == 0, out[-400:]
    assert out.count("<details") == out.count("</details>")
    assert "**Truncated:**" in out.splitlines()[-1]
    # whole lines only: every kept diff line is a full line of the original
    kept = [line for line in out.splitlines() if line.startswith("+  image:")]
    assert kept and all(line + "\n" in body for line in kept)


def test_cut_inside_a_tilde_fence_and_after_it(tmp_path):
    module = _pr_comment()
    body = "<!-- llmfleet-pr-comment -->\n~~~~\n" + "x\n" * 5_000 + "~~~~\nafter\n"
    out = module.cut(body, 1_000)
    assert _open_fences(out) == 0 and out.count("~~~~") == 2
    source, target = tmp_path / "in.md", tmp_path / "out.md"
    source.write_text(body)
    assert module.main([str(source), str(target), "--limit", "1000"]) == 0
    assert target.read_text() == out
