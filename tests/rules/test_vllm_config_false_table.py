"""vllm-config-false, edge by edge: vLLM's --config loader emits ``--key`` for ``key: true``
and nothing for ``key: false``, so a false boolean is ignored (docs/reference/vllm.md)."""

from __future__ import annotations

import pytest

from rule_tables import findings, where


def served(serve_yaml: str) -> str:
    body = "\n".join(f"    {line}" for line in serve_yaml.strip().splitlines())
    return f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg, namespace: llm}}
data:
  serve.yaml: |
{body}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: m, namespace: llm}}
spec:
  template:
    spec:
      volumes: [{{name: cfg, configMap: {{name: cfg}}}}]
      containers:
        - {{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /etc/vllm/serve.yaml],
           volumeMounts: [{{name: cfg, mountPath: /etc/vllm}}]}}
"""


TABLE = [
    # (case, serve.yaml line, severity or None, advice in the message)
    (
        "enable- option set false",
        "enable-prefix-caching: false",
        "error",
        "write `disable-prefix-caching: true`",
    ),
    (
        "underscores are the same key",
        "enable_prefix_caching: false",
        "error",
        "write `disable-prefix-caching: true`",
    ),
    ("a plain boolean set false", "enforce-eager: false", "error", "write `no-enforce-eager: true`"),
    ("a switch off by default", "disable-log-stats: false", "warning", "is off by default"),
    ("true is what the loader emits", "enable-prefix-caching: true", None, ""),
    ("the negative spelled out", "no-enable-prefix-caching: true", None, ""),
    ("an unknown key is another rule's", "not-a-vllm-option: false", None, ""),
    ("a value option", "max-model-len: 8192", None, ""),
]


@pytest.mark.parametrize(("case", "line", "severity", "advice"), TABLE, ids=[r[0] for r in TABLE])
def test_vllm_config_false_table(case, line, severity, advice):
    found = findings("vllm-config-false", served(f"model: org/m\n{line}"))
    assert where(found) == ([(severity, "ConfigMap", "cfg", "/data/serve.yaml")] if severity else [])
    if severity:
        assert advice in found[0][4]
