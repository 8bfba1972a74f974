"""`llmfleet lint a.yaml b.yaml dir/`: the objects of one invocation are one model (a ScaledObject
in one file scales the Deployment of another, a Service exposes pods defined elsewhere), and each
finding is still reported under the file, line and input its object came from."""

from __future__ import annotations

import json

import pytest

SCALED = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: m, namespace: llm}
spec:
  scaleTargetRef: {name: m}
  maxReplicaCount: 3
  triggers: [{type: cpu, metricType: Utilization, metadata: {value: "50"}}]
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: m, namespace: llm}
spec:
  replicas: 1
  selector: {matchLabels: {app: m}}
  template:
    metadata: {labels: {app: m}}
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [Qwen/Qwen3-0.6B]
"""
LOAD_BALANCER = """\
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: llm}
spec:
  type: LoadBalancer
  selector: {app: m}
  ports: [{port: 80, targetPort: 8000}]
"""


def _lint(cli, root, *targets):
    result = cli(["lint", "--format", "json", *targets], cwd=root)
    return json.loads(result.stdout)


def _found(report, rule):
    return {
        (f["overlay"], f["file"], f["line"], f["kind"], f["path"])
        for f in report["findings"]
        if f["rule"] == rule
    }


@pytest.mark.parametrize(
    "layout",
    [
        {"a.yaml": SCALED, "b.yaml": DEPLOYMENT},
        {"b.yaml": DEPLOYMENT, "a.yaml": SCALED},  # the order on the command line does not matter
    ],
    ids=["scaler first", "workload first"],
)
def test_a_scaled_object_in_one_file_sees_the_deployment_of_another(cli, empty_repo, layout):
    for name, text in layout.items():
        (empty_repo / name).write_text(text)
    report = _lint(cli, empty_repo, *layout)
    assert _found(report, "scaler-replicas") == {("b.yaml", "b.yaml", 5, "Deployment", "/spec/replicas")}
    assert _found(report, "scaler-target") == set()  # the target is found in the other file
    assert report["summary"]["inputs"] == 2


def test_each_file_alone_is_what_it_was(cli, empty_repo):
    (empty_repo / "a.yaml").write_text(SCALED)
    (empty_repo / "b.yaml").write_text(DEPLOYMENT)
    # a lone ScaledObject's target is deployed from elsewhere; a lone Deployment is not scaled
    assert {f["rule"] for f in _lint(cli, empty_repo, "a.yaml")["findings"]} == set()
    assert _found(_lint(cli, empty_repo, "b.yaml"), "scaler-replicas") == set()
    # given together with a file that defines other workloads, the missing target is an error
    (empty_repo / "c.yaml").write_text(DEPLOYMENT.replace("name: m,", "name: other,"))
    together = _lint(cli, empty_repo, "a.yaml", "c.yaml")
    assert _found(together, "scaler-target") == {
        ("a.yaml", "a.yaml", 5, "ScaledObject", "/spec/scaleTargetRef")
    }


def test_a_folder_and_a_file_resolve_across_each_other(cli, empty_repo):
    folder = empty_repo / "serving"
    folder.mkdir()
    (folder / "deployment.yaml").write_text(DEPLOYMENT)
    (empty_repo / "scaling.yaml").write_text(SCALED)
    (empty_repo / "expose.yaml").write_text(LOAD_BALANCER)
    report = _lint(cli, empty_repo, "scaling.yaml", "serving", "expose.yaml")
    # the finding on the Deployment names the folder given as the input and the file inside it
    assert _found(report, "scaler-replicas") == {
        ("serving", "serving/deployment.yaml", 5, "Deployment", "/spec/replicas")
    }
    # the Service in a third file exposes the vLLM pods of the folder without an API key
    assert _found(report, "auth-exposed") == {("expose.yaml", "expose.yaml", 5, "Service", "/spec/type")}
    assert _found(_lint(cli, empty_repo, "expose.yaml"), "auth-exposed") == set()
