"""The alerts of every model overlay, checked and unit-tested with promtool.

For each ``overlays/<model>``: render it with kustomize, take the PrometheusRule, write
``{"groups": spec.groups}`` to a rule file, run ``promtool check rules`` and then
``promtool test rules`` with ``tests/promtool/vllm-alerts.test.yaml``, whose
placeholders are filled from the rendered objects (served model name from the
generated serve.yaml, namespace and name of the Deployment, or of the LeaderWorkerSet of a
multi-node overlay, whose alerts watch its leader StatefulSet). The test file makes each
alert fire on a series that should trigger it and stay silent on healthy series and
on another model's or namespace's series.

promtool missing: the tests fail when the environment variable CI is set, and skip
with the reason otherwise. kubectl (kustomize) comes from the repository's .venv.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
OVERLAYS = sorted(p.name for p in (REPO / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
TEST_TEMPLATE = REPO / "tests" / "promtool" / "vllm-alerts.test.yaml"
# Serving workload kind -> the kube-state-metrics series of its available replicas and
# its workload label. A LeaderWorkerSet's leaders run as a StatefulSet of the same name
# (base-multinode/patch-alerts-leaderworkerset.yaml).
WORKLOAD_SERIES = {
    "Deployment": ("kube_deployment_status_replicas_available", "deployment"),
    "LeaderWorkerSet": ("kube_statefulset_status_replicas_ready", "statefulset"),
}


def _require_tool(name: str, path: str | None) -> str:
    """The tool's path; fail in CI, skip with a reason elsewhere."""
    if path:
        return path
    reason = f"{name} not found (install it, e.g. `make system-tools` / `make setup`)"
    if os.environ.get("CI"):
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def _kubectl() -> str:
    venv = REPO / ".venv" / "bin" / "kubectl"
    return _require_tool("kubectl", str(venv) if venv.is_file() else shutil.which("kubectl"))


def _promtool() -> str:
    return _require_tool("promtool", shutil.which("promtool"))


def _render(overlay: str) -> list[dict]:
    result = subprocess.run(
        [_kubectl(), "kustomize", str(REPO / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"kustomize failed for {overlay}:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _one(docs: list[dict], kind: str, predicate=lambda d: True) -> dict:
    """The one object of ``kind`` (any kind when empty) that satisfies ``predicate``."""
    found = [d for d in docs if (not kind or d.get("kind") == kind) and predicate(d)]
    assert len(found) == 1, f"expected exactly one {kind or 'match'}, found {len(found)}"
    return found[0]


def _served_model_name(docs: list[dict]) -> str:
    config = _one(docs, "ConfigMap", lambda d: "serve.yaml" in (d.get("data") or {}))
    served = yaml.safe_load(config["data"]["serve.yaml"]).get("served-model-name")
    if isinstance(served, list):  # vLLM accepts several; the first is the metric label
        served = served[0]
    assert served, "serve.yaml has no served-model-name"
    return str(served)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(params=OVERLAYS)
def rendered(request, tmp_path):
    """(overlay, rendered docs, rule file path, placeholder values) for one overlay."""
    overlay = request.param
    docs = _render(overlay)
    rule = _one(docs, "PrometheusRule")
    workload = _one(docs, "", lambda d: d.get("kind") in WORKLOAD_SERIES)
    metric, label = WORKLOAD_SERIES[workload["kind"]]
    values = {
        "model_name": _served_model_name(docs),
        "namespace": workload["metadata"]["namespace"],
        "deployment": workload["metadata"]["name"],
        "workload_kind": workload["kind"],
        "workload_metric": metric,
        "workload_label": label,
        "other_model": "example-org/some-other-model",
        "other_deployment": "some-other-model-server",
        "other_namespace": "not-" + workload["metadata"]["namespace"],
    }
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return overlay, docs, rules_file, values


def test_overlays_exist():
    assert OVERLAYS, "no overlays/<model>/kustomization.yaml found"


def test_promql_selects_served_model_and_namespace(rendered):
    """Every query and alert selects the model vLLM really exports, in its namespace."""
    overlay, docs, _, v = rendered
    selector = f'model_name="{v["model_name"]}",namespace="{v["namespace"]}"'
    rule = _one(docs, "PrometheusRule")
    exprs = {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
    for alert, expr in exprs.items():
        assert "SERVED_MODEL_NAME" not in expr, f"{overlay}: {alert} still has the placeholder"
        if "vllm:" in expr:
            assert selector in expr, f"{overlay}: {alert} does not select {selector}: {expr}"
        if v["workload_metric"] in expr:
            assert f'{v["workload_label"]}="{v["deployment"]}"' in expr, f"{overlay}: {alert}: {expr}"
    for r in (r for g in rule["spec"]["groups"] for r in g["rules"]):
        assert r["labels"]["model_name"] == v["model_name"], f"{overlay}: {r['alert']} label"
    scaled = _one(docs, "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == v["deployment"]
    for trigger in scaled["spec"]["triggers"]:
        assert selector in trigger["metadata"]["query"], f"{overlay}: trigger {trigger.get('name')}"


def test_promtool_check_rules(rendered):
    overlay, _, rules_file, _ = rendered
    result = _run([_promtool(), "check", "rules", str(rules_file)], rules_file.parent)
    assert result.returncode == 0, f"{overlay}: promtool check rules\n{result.stdout}\n{result.stderr}"


def test_promtool_unit_tests(rendered):
    overlay, docs, rules_file, values = rendered
    template = TEST_TEMPLATE.read_text()
    # Every alert of the rule needs a firing case and a healthy (silent) case.
    rule = _one(docs, "PrometheusRule")
    for alert in (r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]):
        assert f"name: {alert} fires" in template, f"no firing test for {alert}"
        assert re.search(rf"alertname: {alert}, exp_alerts: \[\]", template), f"no silent test for {alert}"
    test_file = rules_file.parent / "vllm-alerts.test.yaml"
    # substitute() raises KeyError for an unknown placeholder: nothing is left unfilled.
    test_file.write_text(string.Template(template).substitute(values))
    result = _run([_promtool(), "test", "rules", test_file.name], rules_file.parent)
    assert result.returncode == 0, (
        f"{overlay}: promtool test rules failed for model_name={values['model_name']!r}\n"
        f"{result.stdout}\n{result.stderr}"
    )
