"""image-digest (opt-in), image-placeholder and vllm-deprecated-entrypoint, edge by edge."""

from __future__ import annotations

import pytest

from rule_tables import findings, rules, where

C0 = "/spec/template/spec/containers/0"


def pod(image: str, command: str = "", args: str = "[m]") -> str:
    command_field = f", command: {command}" if command else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: d, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: d}}}}
  template:
    metadata: {{labels: {{app: d}}}}
    spec:
      containers: [{{name: vllm, image: "{image}"{command_field}, args: {args}}}]
"""


DIGEST = "sha256:" + "0123456789abcdef" * 4

DIGEST_TABLE = [
    ("tag and digest", f"vllm/vllm-openai:v0.33.0@{DIGEST}", False),
    ("digest only", f"vllm/vllm-openai@{DIGEST}", False),
    ("tag only", "vllm/vllm-openai:v0.33.0", True),
    ("no tag at all", "vllm/vllm-openai", True),
    ("a registry with a port and a tag", "registry.local:5000/vllm:v1", True),
    ("a variable is filled in later", "$(IMAGE)", False),
    ("a template is filled in later", "{{ .Values.image }}", False),
]


@pytest.mark.parametrize(("case", "image", "reported"), DIGEST_TABLE, ids=[r[0] for r in DIGEST_TABLE])
def test_image_digest_table(case, image, reported):
    found = where(findings("image-digest", pod(image), rules(enabled=("image-digest",))))
    assert found == ([("error", "Deployment", "d", f"{C0}/image")] if reported else [])


def test_image_digest_is_off_by_default():
    assert findings("image-digest", pod("vllm/vllm-openai:v0.33.0")) == []


PLACEHOLDER_TABLE = [
    ("a real registry", "ghcr.io/acme/llm-gateway:0.1.0", False),
    ("example-org owner", "ghcr.io/example-org/llm-gateway:0.1.0", True),
    ("example.com registry", "example.com/llm-gateway:0.1.0", True),
    ("your-registry", "your-registry/llm-gateway:0.1.0", True),
    ("REPLACE_ME tag", "ghcr.io/acme/llm-gateway:REPLACE_ME", True),
    ("changeme tag", "ghcr.io/acme/llm-gateway:changeme", True),
    ("angle brackets", "ghcr.io/<org>/llm-gateway:0.1.0", True),
    ("xxx tag", "ghcr.io/acme/llm-gateway:xxx", True),
    ("'example' inside a word", "ghcr.io/acme/counterexample:1.0", False),
    ("'todo' inside a word", "ghcr.io/acme/todolist:1.0", False),
    ("a variable", "$(IMAGE)", False),
]


@pytest.mark.parametrize(
    ("case", "image", "reported"), PLACEHOLDER_TABLE, ids=[r[0] for r in PLACEHOLDER_TABLE]
)
def test_image_placeholder_table(case, image, reported):
    found = findings("image-placeholder", pod(image))
    assert where(found) == ([("error", "Deployment", "d", f"{C0}/image")] if reported else [])
    if reported:
        assert "a placeholder image: it cannot be pulled as it is" in found[0][4]


ENTRYPOINT_TABLE = [
    # (case, image tag, command, severity or None)
    ("vllm serve", "v0.33.0", "[vllm, serve]", None),
    (
        "openai api_server on 0.33.0",
        "v0.33.0",
        "[python3, -m, vllm.entrypoints.openai.api_server]",
        "warning",
    ),
    (
        "openai api_server on 0.29.0",
        "v0.29.0",
        "[python3, -m, vllm.entrypoints.openai.api_server]",
        "warning",
    ),
    (
        "openai api_server on 0.28.0: not yet deprecated",
        "v0.28.0",
        "[python3, -m, vllm.entrypoints.openai.api_server]",
        None,
    ),
    ("demo server on 0.25.0: removed", "v0.25.0", "[python3, -m, vllm.entrypoints.api_server]", "error"),
    ("demo server on 0.24.0: a warning", "v0.24.0", "[python3, -m, vllm.entrypoints.api_server]", "warning"),
    ("demo server on latest: removed", "latest", "[python3, -m, vllm.entrypoints.api_server]", "error"),
]


@pytest.mark.parametrize(
    ("case", "tag", "command", "severity"), ENTRYPOINT_TABLE, ids=[r[0] for r in ENTRYPOINT_TABLE]
)
def test_vllm_deprecated_entrypoint_table(case, tag, command, severity):
    found = where(
        findings("vllm-deprecated-entrypoint", pod(f"vllm/vllm-openai:{tag}", command, "[--model, m]"))
    )
    assert found == ([(severity, "Deployment", "d", f"{C0}/command")] if severity else [])


FLOATING_COMPOUND = [
    # (case, vLLM image, reported by vllm-image-unpinned)
    ("latest", "vllm/vllm-openai:latest", True),
    ("latest-nightly (a fork's nightly)", "lmcache/vllm-openai:latest-nightly", True),
    ("nightly with a build variant", "vllm/vllm-openai:nightly-cu128", True),
    ("a dated nightly", "vllm/vllm-openai:nightly-20250101", False),
    ("an ISO-dated nightly", "vllm/vllm-openai:nightly-2025-01-01", False),
    ("a nightly at a commit", "vllm/vllm-openai:nightly-3fb4b4f1", False),
    ("a release", "vllm/vllm-openai:v0.8.5", False),
    ("a release with latest in a variant", "vllm/vllm-openai:v0.8.5-latest", False),
    ("a variant without a floating word", "vllm/vllm-openai:cu128", False),
    ("devel is not dev", "vllm/vllm-openai:devel", False),
]


@pytest.mark.parametrize(
    "image,reported", [c[1:] for c in FLOATING_COMPOUND], ids=[c[0] for c in FLOATING_COMPOUND]
)
def test_compound_floating_tags(image, reported):
    got = where(findings("vllm-image-unpinned", pod(image)))
    assert bool(got) == reported
    if reported:
        assert got == [("error", "Deployment", "d", f"{C0}/image")]
