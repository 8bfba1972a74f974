"""secret-literal: tokens and keys must come from a Secret, not from the manifest.

A literal ``value`` for ``HF_TOKEN``/``HUGGING_FACE_HUB_TOKEN`` (gated-model downloads) or
``VLLM_API_KEY`` (vLLM's API key when ``--api-key`` is not given), or ``--api-key`` /
``--hf-token`` as a literal arg or ``serve.yaml`` key, puts the credential in git, in the
rendered overlay and in ``kubectl get -o yaml``.  vLLM's k8s doc takes the HF token with
``valueFrom.secretKeyRef`` (docs/reference/vllm-0.33.md §2.2 "Frontend", §5.12); Polaris
flags the same as ``sensitiveContainerEnvVar`` / ``sensitiveConfigmapContent`` (docs/reference/tooling.md §4.1).
Names checked: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, VLLM_API_KEY, ``*_TOKEN``, ``*_KEY``,
``*_SECRET``, ``*PASSWORD*``.  ``$(VAR)`` references (Kubernetes dependent env) are not literals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from llmfleet.lint.api import Options, OverlayModel, Problem, Severity, rule

SENSITIVE = re.compile(r"^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN|VLLM_API_KEY|.*_TOKEN|.*_KEY|.*_SECRET"
                       r"|.*PASSWORD.*)$", re.IGNORECASE)
SECRET_OPTIONS = ("api-key", "hf-token")
_REFERENCE = re.compile(r"^\$\([A-Za-z_][A-Za-z0-9_]*\)$")


def is_literal(value: Any) -> bool:
    if value is None or value is True or value is False or value == "":
        return False
    if isinstance(value, list):
        return any(is_literal(v) for v in value)
    return not _REFERENCE.match(str(value).strip())


@rule(id="secret-literal", severity=Severity.ERROR,
      description="A token/key/password env var with a literal value, or --api-key/--hf-token "
                  "written literally in args or serve.yaml",
      remediation="Put the value in a Secret and use env valueFrom.secretKeyRef (VLLM_API_KEY, "
                  "HF_TOKEN) instead of --api-key/--hf-token.",
      rationale="A manifest is committed, rendered in CI logs and PR diffs, and readable by anyone "
                "who can read the Deployment: a credential in it is published "
                "(docs/reference/vllm-0.33.md §5.12).",
      category="security")
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        env: [{name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf-token, key: token}}}]

    Failing (``/spec/template/spec/containers/0/env/0/value``)::

        env: [{name: HF_TOKEN, value: hf_abcdef}]
    """
    for container in model.containers():
        for i, item in enumerate(container.data.get("env") or []):
            if not isinstance(item, dict):
                continue
            name = str(item.get("name") or "")
            if SENSITIVE.match(name) and "value" in item and is_literal(item.get("value")):
                yield Problem(container.resource, f"{container.path}/env/{i}/value",
                              f"env {name} of container {container.name!r} has a literal value; "
                              "take it from a Secret (valueFrom.secretKeyRef)")
    for server in model.servers:
        for setting in server.all:
            if setting.name in SECRET_OPTIONS and is_literal(setting.raw or setting.value):
                yield Problem(setting.resource, setting.path,
                              f"--{setting.name} is written literally ({setting.where}); use env "
                              + ("VLLM_API_KEY" if setting.name == "api-key" else "HF_TOKEN")
                              + " from a Secret instead")
