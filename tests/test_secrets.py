"""Secrets never leave the machine: no report format (text, JSON, GitHub annotations, SARIF,
JUnit), no diff (text, Markdown) and no error message carries a value from a Secret, from
``stringData``, from an env var, option or config key named like a credential, or anything
that looks like a token; they say where it is instead."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from llmfleet.features.diff.rendered import compare
from llmfleet.infra import exitcodes
from llmfleet.model.secrets import is_sensitive_name, secret_values
from llmfleet.pipeline.redact import REDACTED, REDACTED_CHANGED, redact_pair, scrub_text
from llmfleet_testlib import git, line_of

HF = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123"
SK = "sk-live0123456789abcdefghijKLMNOP"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl"
#: The value of an option vLLM does not know: vllm-removed-flag quotes the option as written.
UNKNOWN_OPTION_VALUE = "not-a-token-shape-but-secret"

#: Every value that must not appear in any output, with the forms it may leak in.
SECRETS = [
    "12345678",
    "hunter2-db",
    "s3cr3t-in-config",
    "yet-another-pass",
    "plain-env-secret",
    HF,
    SK,
    JWT,
    UNKNOWN_OPTION_VALUE,
    "data-value-42",
    base64.b64encode(b"data-value-42").decode(),
]

MANIFEST = f"""\
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: llm}}
stringData:
  DB_PASSWORD: 12345678
  other: hunter2-db
data:
  blob: {base64.b64encode(b"data-value-42").decode()}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg, namespace: llm}}
data:
  serve.yaml: |
    model: m
    api-key: s3cr3t-in-config
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: m, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: m}}}}
  template:
    metadata: {{labels: {{app: m}}}}
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.33.0
          args: [--config, /etc/vllm/serve.yaml, "--api-key={SK}", --swap-space, "4", --hf-token, {HF},
                 "--hub-api-token={UNKNOWN_OPTION_VALUE}"]
          env:
            - {{name: HF_TOKEN, value: plain-env-secret}}
            - {{name: DB_PASSWORD, value: 4444}}
            - {{name: SOMETHING, value: {JWT}}}
            - {{name: ADMIN_PASSWORD, value: {{nested: yet-another-pass}}}}
          volumeMounts: [{{name: cfg, mountPath: /etc/vllm}}]
      volumes: [{{name: cfg, configMap: {{name: cfg}}}}]
"""


def assert_no_secret(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"leaked {leaked}:\n{text}"


def _parses(fmt: str, text: str) -> None:
    if fmt in ("json", "sarif"):
        json.loads(text)
    elif fmt == "junit":
        ET.fromstring(text)


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif", "junit"])
@pytest.mark.parametrize("command", ["lint", "validate"])
def test_no_report_format_quotes_a_secret(cli, empty_repo, command, fmt):
    (empty_repo / "m.yaml").write_text(MANIFEST)
    result = cli([command, "--format", fmt, "m.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    assert_no_secret(result.stdout + result.stderr)
    _parses(fmt, result.stdout)
    # ...and the findings are still there, saying where.
    if command == "validate":
        assert "/stringData/DB_PASSWORD" in result.stdout  # an integer where a string goes
        assert "/spec/template/spec/containers/0/env/3/value" in result.stdout
    else:
        assert "secret-literal" in result.stdout and "vllm-removed-flag" in result.stdout
        assert "--hub-api-token=" in result.stdout  # the unknown option, without its value


def test_schema_error_on_secret_data_names_the_field_not_the_value(cli, empty_repo):
    (empty_repo / "s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {DB_PASSWORD: 12345678}\n"
    )
    result = cli(["validate", "--format", "json", "s.yaml"], cwd=empty_repo)
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["path"] == "/stringData/DB_PASSWORD"
    assert finding["message"] == (
        "an integer where the schema wants string or null (value not shown: it may be secret)"
    )


def test_names_that_hold_credentials():
    assert all(
        map(
            is_sensitive_name,
            [
                "HF_TOKEN",
                "VLLM_API_KEY",
                "--api-key",
                "--hf-token",
                "api-key",
                "DB_PASSWORD",
                "clientSecret",
                "AWS_SECRET_ACCESS_KEY",
            ],
        )
    )
    assert not any(
        map(
            is_sensitive_name,
            [
                "--tokenizer",
                "--max-num-batched-tokens",
                "secretKeyRef",
                "secretName",
                "HF_TOKEN_PATH",
                "--ssl-keyfile",
                "--long-prefill-token-threshold",
                "--allow-credentials",
            ],
        )
    )


def test_scrub_keeps_the_message_and_removes_the_value():
    assert scrub_text(f"bad '--api-key={SK}' at /args/2") == f"bad '--api-key={REDACTED}' at /args/2"
    assert scrub_text("--api-key is written literally") == "--api-key is written literally"
    assert (
        scrub_text("value 12345678 for port 123456789", {"12345678"})
        == f"value {REDACTED} for port 123456789"
    )
    assert scrub_text(f"token {HF} and {JWT}") == f"token {REDACTED} and {REDACTED}"


# -- diff ------------------------------------------------------------------------------------


def _secret(data: dict, string: dict | None = None, kind: str = "Secret", api: str = "v1") -> dict:
    obj = {"apiVersion": api, "kind": kind, "metadata": {"name": "s"}, "data": data}
    if string is not None:
        obj["stringData"] = string
    return obj


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_diff_of_a_secret_shows_keys_and_which_changed_never_a_value():
    before = _secret(
        {"token": b64("old-token-1"), "same": b64("kept-value-1"), "gone": b64("gone-value")},
        {"DB_PASSWORD": 12345678},
    )
    after = _secret(
        {"token": b64("new-token-2"), "same": b64("kept-value-1"), "new": b64("fresh-value")},
        {"DB_PASSWORD": 87654321},
    )
    [change] = compare([before], [after])
    text = change.diff
    for value in (
        "old-token-1",
        "new-token-2",
        "kept-value-1",
        "gone-value",
        "fresh-value",
        "12345678",
        "87654321",
    ):
        assert value not in text and b64(value) not in text
    assert f"-  token: {REDACTED}\n+  token: {REDACTED_CHANGED}\n" in text
    assert f"   same: {REDACTED}\n" in text  # unchanged: context
    assert f"-  gone: {REDACTED}\n" in text and f"+  new: {REDACTED}\n" in text
    assert f"+  DB_PASSWORD: {REDACTED_CHANGED}\n" in text
    assert "sha" not in text.lower()  # no digest of a value either


@pytest.mark.parametrize(
    "kind, api, field",
    [
        ("SealedSecret", "bitnami.com/v1alpha1", ("spec", "encryptedData")),
        ("ExternalSecret", "external-secrets.io/v1beta1", ("spec", "target", "template", "data")),
    ],
)
def test_diff_redacts_other_kinds_that_hold_secrets(kind, api, field):
    def obj(value: str) -> dict:
        inner: dict = {"password": value}
        for key in reversed(field):
            inner = {key: inner}
        return {"apiVersion": api, "kind": kind, "metadata": {"name": "s"}, **inner}

    old, new = redact_pair(obj("AgBy3i4OJSWK+PiTySYZZA=="), obj("AgCHANGED+PiTySYZZA=="))
    assert "AgBy3i4" not in json.dumps([old, new]) and "AgCHANGED" not in json.dumps([old, new])
    node = new
    for key in field:
        node = node[key]
    assert node == {"password": REDACTED_CHANGED}


def test_diff_redacts_credentials_in_workloads_and_config_files():
    def deployment(token: str, key: str) -> dict:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "vllm",
                                "args": ["--api-key", key, "--port", "8000"],
                                "env": [{"name": "HF_TOKEN", "value": token}, {"name": "X", "value": JWT}],
                            }
                        ]
                    }
                }
            },
        }

    [change] = compare(
        [deployment("plain-env-secret", "key-one-xyz")], [deployment("changed-env-secret", "key-one-xyz")]
    )
    assert_no_secret(change.diff)
    assert "changed-env-secret" not in change.diff and "key-one-xyz" not in change.diff
    assert f"+          value: {REDACTED_CHANGED}" in change.diff

    def configmap(key: str) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c"},
            "data": {"serve.yaml": f"model: m\napi-key: {key}\nport: 1\n"},
        }

    [change] = compare([configmap("s3cr3t-in-config")], [configmap("other-s3cr3t")])
    assert "s3cr3t" not in change.diff
    assert f"api-key: {REDACTED_CHANGED}" in change.diff


OVERLAY = "mistral-7b-instruct-v0-3"


@pytest.fixture
def repo_with_secret(repo_copy) -> Path:
    """The overlay renders a Secret from a committed manifest (a bad practice the diff must
    still not publish); committed on main."""
    overlay = repo_copy / "overlays" / OVERLAY
    (overlay / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n"
        "stringData: {DB_PASSWORD: hunter2-db, untouched: yet-another-pass}\n"
        f"data: {{blob: {b64('data-value-42')}}}\n"
    )
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace("resources:\n", "resources:\n  - secret.yaml\n", 1)
    )
    git(repo_copy, "init", "-q")
    git(repo_copy, "add", "-A")
    git(repo_copy, "commit", "-q", "-m", "base")
    return repo_copy


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_diff_of_a_changed_secret_publishes_no_value(repo_with_secret, fmt):
    secret = repo_with_secret / "overlays" / OVERLAY / "secret.yaml"
    secret.write_text(
        secret.read_text().replace("hunter2-db", "12345678").replace(b64("data-value-42"), b64(HF))
    )
    proc = subprocess.run(
        [sys.executable, "-m", "llmfleet", "diff", "--base", "HEAD", "--format", fmt, OVERLAY],
        cwd=repo_with_secret,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Exit 1 only for the simulated latency objective (docs/reference/calibration.md §4).
    slo_breached = "breaches the latency objective" in proc.stderr
    assert proc.returncode == (1 if slo_breached else 0), proc.stderr
    assert_no_secret(proc.stdout + proc.stderr)
    assert "hunter2-db" not in proc.stdout and b64(HF) not in proc.stdout
    assert f"Secret inference/{OVERLAY}-creds" in proc.stdout
    assert (
        f"-  DB_PASSWORD: {REDACTED}" in proc.stdout and f"+  DB_PASSWORD: {REDACTED_CHANGED}" in proc.stdout
    )
    assert f"   untouched: {REDACTED}" in proc.stdout


# -- secret-literal: where the value is, never the value ------------------------------------------


def test_secret_generator_literals_and_env_files_are_traced_to_their_lines(cli, repo_copy):
    overlay = repo_copy / "overlays" / OVERLAY
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text()
        + (
            "secretGenerator:\n  - name: creds\n    literals:\n      - HF_TOKEN=plain-env-secret\n"
            "    envs:\n      - creds.env\n"
        )
    )
    (overlay / "creds.env").write_text("# credentials\nAPI_TOKEN=yet-another-pass\n")
    serve = overlay / "serve.yaml"
    serve.write_text(serve.read_text() + "api-key: s3cr3t-in-config\n")
    result = cli(["lint", "--format", "json", f"overlays/{OVERLAY}"], cwd=repo_copy)
    assert_no_secret(result.stdout)
    found = {
        (f["path"], f["file"], f["line"])
        for f in json.loads(result.stdout)["findings"]
        if f["rule"] == "secret-literal"
    }
    rel = f"overlays/{OVERLAY}"
    assert ("/data/HF_TOKEN", f"{rel}/kustomization.yaml", line_of(kustomization, "HF_TOKEN=")) in found
    assert ("/data/API_TOKEN", f"{rel}/creds.env", 2) in found
    assert ("/data/serve.yaml/api-key", f"{rel}/serve.yaml", line_of(serve, "^api-key:")) in found


def test_collected_values_exclude_references_and_placeholders():
    values = secret_values(
        [_secret({}, {"a": "$(VAR)", "b": "REPLACE_ME", "c": "<your token>", "d": "real-value-9"})]
    )
    assert values == {"real-value-9"}
