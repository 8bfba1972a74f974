"""Input limits that are limits, and the bad inputs that used to crash or hang: a large valid
file loads whole; a broken document or an alias bomb hides no other document; aliases are
counted per document; nesting has a depth limit reported as a finding (never a
RecursionError or a crash of the C parser); only regular files and stdin are read (a FIFO or a
device is a finding, at once) up to ``limits.max-input-bytes``; ``kind`` and ``apiVersion``
must be names before they reach a schema path or URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from llmfleet.infra import exitcodes
from llmfleet.pipeline.manifests import MAX_ALIAS_EXPANSIONS, MAX_DEPTH, load_bytes


def findings(result) -> list[dict]:
    return json.loads(result.stdout)["findings"]


def llmfleet(cwd: Path, *args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmfleet", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def configmaps(count: int) -> str:
    """``count`` small ConfigMaps, one document each (36,000 of them are about 2.6 MB)."""
    return "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i:05d}}}\ndata: {{k: v}}\n"
        for i in range(count)
    )


def test_36000_configmaps_load_whole():
    text = configmaps(36_000)
    assert 2_500_000 < len(text) < 2_800_000
    resources, problems = load_bytes(text.encode(), "big.yaml")
    assert problems == []
    assert len(resources) == 36_000
    assert resources[-1].name == "c35999" and resources[-1].lines[""] == 5 * 35_999 + 2


def test_a_broken_document_or_an_alias_bomb_hides_nothing_after_it(cli, empty_repo):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8)
    )
    stream = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n"  # syntax error
        "---\n" + bomb + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\n"
        "---\n" + "x: " + "[" * 600 + "]" * 600 + "\n"  # too deep
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: also-kept}\n"
    )
    (empty_repo / "s.yaml").write_text(stream)
    result = cli(["lint", "--format", "json", "s.yaml"], cwd=empty_repo)
    assert sorted((f["rule"], f["line"]) for f in findings(result)) == [
        ("yaml-alias-bomb", 5),
        ("yaml-depth", 19),
        ("yaml-syntax", 4),
    ]
    assert json.loads(result.stdout)["summary"]["objects"] == 2


def test_aliases_are_counted_per_document():
    """Many documents, each with aliases, add up to more expansions than one may have."""
    doc = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, labels: &l {{a: b}}}}\n"
        "data: {{k: v}}\nx: [" + ", ".join(["*l"] * 100) + "]\n"
    )
    count = MAX_ALIAS_EXPANSIONS // 100 + 50
    text = "".join("---\n" + doc.format(i=i) for i in range(count))
    resources, problems = load_bytes(text.encode(), "aliases.yaml")
    assert problems == [] and len(resources) == count


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 100_000])
@pytest.mark.parametrize("style", ["flow", "block", "alias"])
def test_deep_nesting_is_a_finding_never_a_crash(tmp_path, depth, style):
    if style == "flow":
        body = "data: " + "[" * depth + "]" * depth + "\n"
    elif style == "block":
        depth = min(depth, 3_000)  # block nesting of 100,000 levels is a 5 GB file
        body = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x: 1\n"
    else:  # nesting built from aliases: small text, deep data
        body = "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, min(depth, 5_000)))
    (tmp_path / "deep.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: d}}\n{body}"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n"
    )
    started = time.monotonic()
    result = llmfleet(tmp_path, "validate", "--format", "json", "--offline", "deep.yaml")
    assert time.monotonic() - started < 30
    assert result.returncode == exitcodes.FINDINGS, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    report = json.loads(result.stdout)
    assert [f["rule"] for f in report["findings"]] == ["yaml-depth"]
    assert report["summary"]["objects"] == 1


def test_deep_nesting_inside_a_serve_config_or_a_kustomization_is_no_crash(cli, empty_repo):
    deep = "x: " + "[" * 50_000 + "]" * 50_000
    overlay = empty_repo / "overlays" / "o"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("resources: [cm.yaml]\nconfigurations: [conf.yaml]\n")
    (overlay / "conf.yaml").write_text(deep + "\n")
    (overlay / "cm.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg"},
                "data": {"serve.yaml": deep},
            }
        )
    )
    result = cli(["lint", "--format", "json", "overlays/o"], cwd=empty_repo)
    assert result.exit_code in (exitcodes.OK, exitcodes.FINDINGS), result.stderr
    assert not [f for f in findings(result) if f["rule"] == "rule-crashed"]


def test_promtool_gets_rule_groups_nested_to_the_limit(cli, empty_repo):
    """Nesting just under the loader's limit inside a PrometheusRule: promtool's input is
    written without a RecursionError."""
    nested: object = "x"
    for _ in range(MAX_DEPTH - 8):
        nested = {"n": nested}
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "r"},
        "spec": {
            "groups": [
                {"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "labels": {"deep": nested}}]}
            ]
        },
    }
    (empty_repo / "r.yaml").write_text(yaml.safe_dump(rule))
    result = cli(["lint", "--format", "json", "r.yaml"], cwd=empty_repo)
    assert result.exit_code in (exitcodes.OK, exitcodes.FINDINGS), result.stderr
    assert not [f for f in findings(result) if f["rule"] in ("rule-crashed", "yaml-depth")]


# -- what is read ------------------------------------------------------------------------------


def test_a_fifo_is_a_finding_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "good.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    result = llmfleet(tmp_path, "lint", "--format", "json", "pipe.yaml", "good.yaml", timeout=30)
    assert result.returncode == exitcodes.FINDINGS
    report = json.loads(result.stdout)
    assert [(f["rule"], f["file"]) for f in report["findings"]] == [("input", "pipe.yaml")]
    assert "a FIFO: only regular files and - (stdin) are read" in report["findings"][0]["message"]
    assert report["summary"]["objects"] == 1


def test_a_fifo_in_a_folder_is_a_finding_too(tmp_path):
    folder = tmp_path / "manifests"
    folder.mkdir()
    os.mkfifo(folder / "pipe.yaml")
    (folder / "good.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    result = llmfleet(tmp_path, "lint", "--format", "json", "manifests", timeout=30)
    assert [f["rule"] for f in findings(result)] == ["input"]


def test_a_device_is_a_finding_not_read(tmp_path):
    result = llmfleet(tmp_path, "lint", "--format", "json", "/dev/zero", timeout=30)
    assert result.returncode == exitcodes.FINDINGS
    assert "a device: only regular files and - (stdin) are read" in findings(result)[0]["message"]


def test_the_size_limit_is_a_setting(tmp_path):
    (tmp_path / "llmfleet.yaml").write_text("limits: {max-input-bytes: 1000}\n")
    (tmp_path / "big.yaml").write_text(configmaps(20))
    (tmp_path / "small.yaml").write_text(configmaps(1))
    result = llmfleet(tmp_path, "lint", "--format", "json", "big.yaml", "small.yaml")
    report = json.loads(result.stdout)
    assert [(f["rule"], f["file"]) for f in report["findings"]] == [("input", "big.yaml")]
    assert report["findings"][0]["message"] == "1,460 bytes, larger than 1,000 (limits.max-input-bytes)"
    piped = llmfleet(tmp_path, "lint", "--format", "json", "-", input=configmaps(20))
    assert "stdin is larger than 1,000 bytes" in findings(piped)[0]["message"]


# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, api_version, field",
    [
        ("Config Map", "v1", "/kind"),
        ("Cönfig", "v1", "/kind"),
        ("K" * 260, "v1", "/kind"),
        ("Config/../../etc", "v1", "/kind"),
        ("ConfigMap", "a/b/c", "/apiVersion"),
        ("ConfigMap", "Example.COM/v1", "/apiVersion"),
        ("ConfigMap", "example.com/V 1", "/apiVersion"),
    ],
)
def test_kind_and_api_version_are_names_before_they_reach_a_schema_location(
    cli, empty_repo, monkeypatch, kind, api_version, field
):
    # A remote schema location that must never be asked: no such name reaches a URL.
    monkeypatch.delenv("LLMFLEET_OFFLINE", raising=False)
    (empty_repo / "o.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}, allow_unicode=True
        )
    )
    result = cli(
        [
            "validate",
            "--format",
            "json",
            "--schema-location",
            "http://127.0.0.1:9/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json",
            "o.yaml",
        ],
        cwd=empty_repo,
    )
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    [finding] = findings(result)
    assert (finding["rule"], finding["path"]) == ("not-kubernetes", field)
    assert len(finding["message"]) < 300


def test_valid_names_of_custom_kinds_pass(cli, empty_repo):
    (empty_repo / "o.yaml").write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: x}\n---\n"
        "apiVersion: example.com/v1alpha1\nkind: My-Kind\nmetadata: {name: y}\n"
    )
    result = cli(["lint", "--format", "json", "o.yaml"], cwd=empty_repo)
    assert not [f for f in findings(result) if f["rule"] == "not-kubernetes"]
