"""The committed golden files checked against expectations written here by hand, or derived
from the overlays' own sources with plain YAML, never by the code that generates them
(tests/test_rules_doc.py and `gateway-routes --check` check that they are current).

* docs/rules.md: every lint rule with the severity and scope below, each with its section,
  and the figures that come from Kubernetes and KEDA (63-character labels, keda-hpa-).
* platform/gateway/routes.yaml: one entry per overlay, whose name is the overlay's
  served-model-name (serve.yaml), whose URL is its namePrefix + the base Service ``server``
  in its namespace on the base Service's port, and api_key true where the overlay uses
  components/api-key.
"""

from __future__ import annotations

import re

import pytest
import yaml

from llmfleet_testlib import REPO_ROOT, overlay_names

RULES_MD = REPO_ROOT / "docs" / "rules.md"
ROUTES = REPO_ROOT / "platform" / "gateway" / "routes.yaml"

#: (rule id, severity, scope): the lint rules this repository documents.
RULES = [
    ("alert-coverage", "warning", "input"),
    ("alert-namespace", "error", "input"),
    ("auth-exposed", "error", "input"),
    ("fleet-duplicate-model", "error", "fleet"),
    ("fleet-quota", "error", "fleet"),
    ("fleet-rollout-gpus", "warning", "fleet"),
    ("gateway-backend-lifetime", "error", "fleet"),
    ("gateway-routes-stale", "error", "fleet"),
    ("gpu-fit", "error", "input"),
    ("gpu-missing", "error", "input"),
    ("gpu-node-selection", "warning", "input"),
    ("gpu-node-shape", "error", "input"),
    ("gpu-parallelism", "error", "input"),
    ("gpu-request-limit", "error", "input"),
    ("gpu-shm", "error", "input"),
    ("gpu-toleration", "error", "input"),
    ("image-digest", "error", "input"),
    ("image-placeholder", "error", "input"),
    ("model-cache", "warning", "input"),
    ("monitor-selector", "error", "input"),
    ("object-name-length", "error", "input"),
    ("pod-security", "warning", "input"),
    ("probe-liveness", "warning", "input"),
    ("probe-startup", "error", "input"),
    ("probe-target", "error", "input"),
    ("promql-syntax", "error", "input"),
    ("promql-unknown-metric", "error", "input"),
    ("promtool-rules", "error", "input"),
    ("scaler-bounds", "error", "input"),
    ("scaler-name-length", "error", "input"),
    ("scaler-query-scope", "error", "input"),
    ("scaler-replicas", "warning", "input"),
    ("scaler-target", "error", "input"),
    ("secret-literal", "error", "input"),
    ("shutdown-drain", "warning", "input"),
    ("shutdown-grace", "error", "input"),
    ("shutdown-prestop", "warning", "input"),
    ("vllm-config-false", "error", "input"),
    ("vllm-deprecated-entrypoint", "warning", "input"),
    ("vllm-image-unpinned", "error", "input"),
    ("vllm-metrics-disabled", "warning", "input"),
    ("vllm-removed-flag", "error", "input"),
    ("vllm-serve-repeated", "error", "input"),
    ("vllm-service-links", "error", "input"),
]


def documented_rows() -> list[tuple[str, str, str]]:
    rows = re.findall(
        r"^\| \[`([a-z0-9-]+)`\]\(#\1\) \| (error|warning|info) \| (input|fleet) \|",
        RULES_MD.read_text(encoding="utf-8"),
        re.M,
    )
    return rows


def test_the_rule_table_lists_each_rule_with_its_severity_and_scope():
    rows = documented_rows()
    assert len(rows) == len(set(rows))
    missing = [rule for rule in RULES if rule not in rows]
    assert missing == []


@pytest.mark.parametrize(("rule_id", "severity", "scope"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_has_a_section_with_a_passing_and_a_failing_example(rule_id, severity, scope):
    text = RULES_MD.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(rule_id)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no section for {rule_id}"
    section = match.group(1)
    assert section.lstrip().startswith(f"*{severity}*, {scope} scope, category ")
    assert "**Why.**" in section and "**Fix.**" in section
    assert re.search(r"^Passing", section, re.M) and re.search(r"^Failing", section, re.M)


@pytest.mark.parametrize(
    ("rule_id", "fact"),
    [
        # A label value has at most 63 characters; KEDA's HPA is "keda-hpa-" + name: 63 - 9.
        ("scaler-name-length", f"longer than {63 - len('keda-hpa-')} characters"),
        # controller-revision-hash: <name>-<10 characters> must fit 63: 63 - 11.
        ("object-name-length", f"a StatefulSet name at most {63 - 11} characters"),
        # The option defaults the rule tables of tests/rules/ were written against.
        ("probe-liveness", "| `min-window-seconds` | int | `60` |"),
        ("shutdown-grace", "| `margin-seconds` | int | `10` |"),
        ("shutdown-grace", "15 + 45 + 10 = 70"),
    ],
)
def test_rule_sections_state_the_upstream_figures(rule_id, fact):
    text = RULES_MD.read_text(encoding="utf-8")
    section = re.search(rf"^## {re.escape(rule_id)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section and fact in section.group(1)


def expected_route(overlay: str) -> dict:
    folder = REPO_ROOT / "overlays" / overlay
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    serve = yaml.safe_load((folder / "serve.yaml").read_text(encoding="utf-8"))
    base = "base-multinode" if any("base-multinode" in r for r in kustomization["resources"]) else "base"
    service = yaml.safe_load((REPO_ROOT / "base" / "service.yaml").read_text(encoding="utf-8"))
    port = service["spec"]["ports"][0]["port"]
    assert base in ("base", "base-multinode")
    return {
        "name": serve.get("served-model-name") or serve["model"],
        "url": f"http://{kustomization['namePrefix']}{service['metadata']['name']}."
        f"{kustomization['namespace']}.svc.cluster.local:{port}",
        "overlay": overlay,
        "api_key": "../../components/api-key" in (kustomization.get("components") or []),
    }


def test_committed_routes_follow_from_the_overlay_sources():
    committed = yaml.safe_load(ROUTES.read_text(encoding="utf-8"))
    expected = sorted((expected_route(o) for o in overlay_names()), key=lambda r: r["name"])
    assert committed == {"models": expected}


def test_committed_routes_of_the_four_example_models():
    # Written by hand: the example overlays, the names clients send and where they go.
    by_name = {m["name"]: m for m in yaml.safe_load(ROUTES.read_text(encoding="utf-8"))["models"]}
    assert by_name["meta-llama/Llama-3.1-8B-Instruct"]["url"] == (
        "http://llama-3-1-8b-instruct-server.inference.svc.cluster.local:8000"
    )
    assert by_name["mistralai/Mistral-7B-Instruct-v0.3"]["overlay"] == "mistral-7b-instruct-v0-3"
    assert by_name["meta-llama/Llama-3.1-405B-Instruct-FP8"]["url"] == (
        "http://llama-3-1-405b-instruct-fp8-server.inference.svc.cluster.local:8000"
    )
    assert all(m["api_key"] is True for m in by_name.values())
