"""Issue 25's loader cases: every YAML or value error is reported with file and line and
never as an internal error (exit 4); no message quotes a tag or value that could be a
secret; hostile documents (merge-key bombs, huge flow lists, long numbers) are refused by a
counted bound.  Times and memory are measured by benchmarks/bench_yaml_bounds.py."""

from __future__ import annotations

import json

import pytest

from llmfleet.infra import exitcodes
from llmfleet.kube import safe_yaml

SECRET_TAG = "!Sup3rS3cretPassw0rd"
SECRET_INT = "Hunter2Sup3rSecret"
FORMATS = ["text", "json", "github", "sarif", "junit"]

#: (value written unquoted in a manifest, what kubectl reads, or None where it refuses).
MANIFEST_VALUES = [
    ("2024-02-30", "2024-02-30"),
    ("12:30:00", "12:30:00"),
    ("!!binary aGVsbG8=", "hello"),
    (SECRET_TAG, ""),
    ("9" * 4400, "9" * 4400),
    ("1:" * 150_000 + "1", "1:" * 150_000 + "1"),
    (f"!!int {SECRET_INT}", None),
    ("!!float abc", None),
    ("!!bool maybe", None),
    ("!!timestamp x", None),
    ("!!timestamp 2024-02-30", None),
    ("!!binary not*base64", None),
]


def _secret(name: str, value: str) -> str:
    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: inference\n"
        f"stringData:\n  {name}: {value}\n"
    )


@pytest.mark.parametrize(("value", "expected"), MANIFEST_VALUES, ids=lambda v: str(v)[:24])
def test_manifest_values_read_as_kubectl_reads_them(value, expected):
    text = _secret("DB_PASSWORD", value)
    if expected is None:
        with pytest.raises(safe_yaml.UnsafeYAML) as caught:
            safe_yaml.load(text, semantics=safe_yaml.KUBERNETES)
        assert caught.value.line == 7
        assert SECRET_INT not in str(caught.value) and "abc" not in str(caught.value)
    else:
        assert safe_yaml.load(text, semantics=safe_yaml.KUBERNETES)["stringData"]["DB_PASSWORD"] == expected


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", [f"!!int {SECRET_INT}", SECRET_TAG, f"!!float {SECRET_INT}"])
def test_manifest_value_errors_are_findings_without_the_value(cli, empty_repo, fmt, value):
    (empty_repo / "secret.yaml").write_text(_secret("DB_PASSWORD", value) + "---\n" + _secret("OTHER", "'x'"))
    result = cli(["validate", "--format", fmt, "secret.yaml"], cwd=empty_repo)
    assert result.exit_code in (exitcodes.OK, exitcodes.FINDINGS), result.stderr
    output = result.stdout + result.stderr
    assert SECRET_INT not in output and SECRET_TAG[1:] not in output, output
    if value.startswith("!!"):
        assert result.exit_code == exitcodes.FINDINGS
        if fmt == "json":
            (finding,) = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "yaml-syntax"]
            assert finding["file"] == "secret.yaml" and finding["line"] == 7
            assert "document 1" in finding["message"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  ~: x\n  b: y\n", "yaml-syntax"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  a: .inf\n", "yaml-syntax"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: &d\n  a: *d\n", "yaml-syntax"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  <<: 1\n", "yaml-syntax"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  ? [a]\n  : b\n", "yaml-syntax"),
    ],
    ids=["null-key", "infinity", "recursive-anchor", "merge-of-scalar", "list-key"],
)
def test_documents_kubectl_refuses_are_findings_not_crashes(cli, empty_repo, text, rule):
    (empty_repo / "bad.yaml").write_text(
        text + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n"
    )
    result = cli(["validate", "--format", "json", "bad.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [f["rule"] for f in findings] == [rule], findings
    assert findings[0]["line"] >= 4


def test_unquoted_y_in_configmap_data_is_flagged_and_dates_are_not(cli, empty_repo):
    (empty_repo / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n"
        "data:\n  flag: y\n  octal: 0o17\n  released: 2024-02-30\n  at: 12:30:00\n  bin: !!binary aGk=\n"
    )
    result = cli(["validate", "--format", "json", "cm.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    paths = sorted(f["path"] for f in json.loads(result.stdout)["findings"])
    assert paths == ["/data/flag", "/data/octal"]


def _merge_bomb(levels: int) -> str:
    lines = ["a0: &a0 {k: v}"]
    lines += [f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_merge_key_bomb_is_refused_as_an_alias_bomb(cli, empty_repo):
    bomb = _merge_bomb(25)  # 2**25 merges unbounded
    assert len(bomb) < 750
    (empty_repo / "bomb.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  " + bomb.replace("\n", "\n  ")
    )
    result = cli(["validate", "--format", "json", "bomb.yaml"], cwd=empty_repo)
    assert [f["rule"] for f in json.loads(result.stdout)["findings"]] == ["yaml-alias-bomb"]
    for semantics in (safe_yaml.KUBERNETES, safe_yaml.PYYAML):
        with pytest.raises(safe_yaml.AliasBomb):
            safe_yaml.Builder(semantics=semantics).build(yaml_node(bomb, semantics))


def yaml_node(text: str, semantics: str):
    loader = safe_yaml.loader_for(text, semantics)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def test_merge_keys_within_the_bound_still_merge():
    assert safe_yaml.load(_merge_bomb(5), semantics=safe_yaml.KUBERNETES)["a5"] == {"k": "v"}
    assert safe_yaml.load(_merge_bomb(5))["a5"] == {"k": "v"}


def test_huge_flow_list_is_refused_before_it_is_composed(cli, empty_repo):
    flow = "[" + ",".join(["1"] * (safe_yaml.MAX_NODES + 10)) + "]"
    (empty_repo / "flow.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nitems: " + flow + "\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
    )
    result = cli(["validate", "--format", "json", "flow.yaml"], cwd=empty_repo)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["line"]) for f in findings] == [("yaml-too-large", 4)]


@pytest.mark.parametrize(
    "line",
    [
        "released: 2024-02-30",
        "x: !!float abc",
        "x: !!bool maybe",
        "x: !!timestamp x",
        f"x: !!int {SECRET_INT}",
        f"x: {SECRET_TAG}",
        "x: " + "9" * 4400,
        "x: " + "1:" * 150_000 + "1",
        "x: " + _merge_bomb(30).replace("\n", " ").replace("a0: &a0", "{a0: &a0").rstrip() + "}",
    ],
    ids=["date", "float", "bool", "timestamp", "int", "tag", "digits", "sexagesimal", "merge-bomb"],
)
def test_pyyaml_reading_refuses_with_line_and_no_value(line):
    with pytest.raises(safe_yaml.UnsafeYAML) as caught:
        safe_yaml.load("a: 1\n" + line + "\n")
    message = str(caught.value)
    assert "(line 2)" in message or "alias" in message, message
    assert SECRET_INT not in message and SECRET_TAG[1:] not in message


@pytest.mark.parametrize(
    "line", ["x: !!int Hunter2Sup3rSecret", "x: !Sup3rS3cretPassw0rd", "released: 2024-02-30"]
)
def test_llmfleet_yaml_value_errors_exit_2_without_the_value(cli, repo_copy, line):
    config = repo_copy / "llmfleet.yaml"
    config.write_text(config.read_text() + line + "\n")
    result = cli(["lint", "--format", "json"], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE
    assert "llmfleet.yaml" in result.stderr and "(line " in result.stderr
    assert "Hunter2" not in result.stderr and "Sup3r" not in result.stderr


@pytest.mark.parametrize(
    "line", ["released: 2024-02-30", "x: !!float abc", f"x: !!int {SECRET_INT}", f"x: {SECRET_TAG}"]
)
def test_serve_yaml_value_errors_crash_no_rule(cli, repo_copy, line):
    serve = repo_copy / "overlays" / "llama-3-1-8b-instruct" / "serve.yaml"
    serve.write_text(serve.read_text() + line + "\n")
    result = cli(["lint", "--format", "json", "overlays/llama-3-1-8b-instruct"], cwd=repo_copy)
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert not [f for f in findings if f["rule"] == "rule-crashed"], findings
    (unreadable,) = [f for f in findings if f["rule"] == "vllm-config-unreadable"]
    assert "(line " in unreadable["message"] and unreadable["file"].endswith("serve.yaml")
    assert "Hunter2" not in result.stdout + result.stderr and "Sup3r" not in result.stdout + result.stderr
