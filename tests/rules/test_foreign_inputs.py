"""Manifests written elsewhere: the preset chosen per input, pod templates inside custom
resources (data/custom_workloads.yaml), OpenShift Template objects, and a stream with a
document that does not parse."""

from __future__ import annotations

import json

import pytest

from llmfleet.model import OverlayModel
from llmfleet.pipeline.lint import presets
from llmfleet.pipeline.lint.engine import RuleSet, lint_model
from llmfleet.pipeline.manifests import load_text
from rules_helpers import model_of

VLLM = {"name": "vllm", "image": "vllm/vllm-openai:v0.33.0", "args": ["Qwen/Qwen3-8B"]}


def deployment(labels: dict | None = None) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "m", "labels": labels or {}},
            "spec": {"template": {"spec": {"containers": [VLLM]}}},
        }
    )


PRESET = [
    ("a foreign file, auto", "auto", None, False, "off", "info"),
    (
        "this repository's render, auto",
        "auto",
        {"app.kubernetes.io/part-of": "llmfleet"},
        False,
        "on",
        "warning",
    ),
    ("an overlay, auto", "auto", None, True, "on", "warning"),
    ("a foreign file, --preset fleet", "fleet", None, False, "on", "warning"),
    (
        "our render, --preset foreign",
        "foreign",
        {"app.kubernetes.io/part-of": "llmfleet"},
        True,
        "off",
        "info",
    ),
]


@pytest.mark.parametrize(
    "preset,labels,overlay,alerts,security", [c[1:] for c in PRESET], ids=[c[0] for c in PRESET]
)
def test_preset(preset, labels, overlay, alerts, security):
    resources, _ = load_text(deployment(labels), "x.yaml")
    model = OverlayModel("o" if overlay else "", resources, None, is_overlay=overlay)
    findings = lint_model(model, RuleSet.configure(preset=preset))
    assert any(f.rule == "alert-coverage" for f in findings) == (alerts == "on")
    assert {f.severity.value for f in findings if f.rule == "pod-security"} == {security}
    assert presets.foreign(preset, model) == (alerts == "off")


def test_unknown_preset_is_a_usage_error():
    from llmfleet.infra.errors import UsageError

    with pytest.raises(UsageError, match="preset 'x'"):
        RuleSet.configure(preset="x")


CUSTOM = [
    (
        "AIBrix RayClusterFleet: head and workers",
        {
            "apiVersion": "orchestration.aibrix.ai/v1alpha1",
            "kind": "RayClusterFleet",
            "spec": {
                "replicas": 2,
                "template": {
                    "spec": {
                        "headGroupSpec": {"template": {"spec": {"containers": [{"name": "head"}]}}},
                        "workerGroupSpecs": [{"template": {"spec": {"containers": [{"name": "w"}]}}}],
                    }
                },
            },
        },
        [
            "/spec/template/spec/headGroupSpec/template/spec/containers/0",
            "/spec/template/spec/workerGroupSpecs/0/template/spec/containers/0",
        ],
        True,
    ),
    (
        "AIBrix StormService: every role",
        {
            "apiVersion": "orchestration.aibrix.ai/v1alpha1",
            "kind": "StormService",
            "spec": {
                "template": {
                    "spec": {
                        "roles": [
                            {"name": "p", "template": {"spec": {"containers": [{"name": "a"}]}}},
                            {"name": "d", "template": {"spec": {"containers": [{"name": "b"}]}}},
                        ]
                    }
                }
            },
        },
        [
            "/spec/template/spec/roles/0/template/spec/containers/0",
            "/spec/template/spec/roles/1/template/spec/containers/0",
        ],
        True,
    ),
    (
        "KAITO Workspace: inference.template",
        {
            "apiVersion": "kaito.sh/v1beta1",
            "kind": "Workspace",
            "inference": {"template": {"spec": {"containers": [{"name": "c"}]}}},
        },
        ["/inference/template/spec/containers/0"],
        True,
    ),
    (
        "KAITO Workspace with a preset: no template",
        {"apiVersion": "kaito.sh/v1beta1", "kind": "Workspace", "inference": {"preset": {"name": "phi-4"}}},
        [],
        True,
    ),
    (
        "Dynamo: extraPodSpec.mainContainer of every service",
        {
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeployment",
            "spec": {
                "services": {
                    "Frontend": {"extraPodSpec": {"mainContainer": {"image": "x"}}},
                    "Worker": {"extraPodSpec": {"mainContainer": {"image": "y"}}},
                }
            },
        },
        [
            "/spec/services/Frontend/extraPodSpec/mainContainer",
            "/spec/services/Worker/extraPodSpec/mainContainer",
        ],
        True,
    ),
    (
        "OME ClusterServingRuntime: engine and router runners, no pods of its own",
        {
            "apiVersion": "ome.io/v1beta1",
            "kind": "ClusterServingRuntime",
            "spec": {"engineConfig": {"runner": {"name": "e"}}, "routerConfig": {"runner": {"name": "r"}}},
        },
        ["/spec/engineConfig/runner", "/spec/routerConfig/runner"],
        False,
    ),
    (
        "llmaz Service, LeaderWorkerTemplate layout (docs/examples): leader and worker",
        {
            "apiVersion": "inference.llmaz.io/v1alpha1",
            "kind": "Service",
            "spec": {
                "replicas": 2,
                "workloadTemplate": {
                    "size": 2,
                    "leaderTemplate": {"spec": {"containers": [{"name": "l"}]}},
                    "workerTemplate": {"spec": {"containers": [{"name": "w"}]}},
                },
            },
        },
        [
            "/spec/workloadTemplate/leaderTemplate/spec/containers/0",
            "/spec/workloadTemplate/workerTemplate/spec/containers/0",
        ],
        True,
    ),
    (
        "llmaz Service, LeaderWorkerSetSpec layout: workers only (single host)",
        {
            "apiVersion": "inference.llmaz.io/v1alpha1",
            "kind": "Service",
            "spec": {
                "workloadTemplate": {
                    "leaderWorkerTemplate": {"workerTemplate": {"spec": {"containers": [{"name": "w"}]}}}
                }
            },
        },
        ["/spec/workloadTemplate/leaderWorkerTemplate/workerTemplate/spec/containers/0"],
        True,
    ),
    (
        "a core v1 Service is not llmaz's",
        {"apiVersion": "v1", "kind": "Service", "spec": {"workloadTemplate": {"leaderTemplate": {}}}},
        [],
        True,
    ),
    (
        "llmaz Playground: no pod template (a BackendRuntime supplies it)",
        {
            "apiVersion": "inference.llmaz.io/v1alpha1",
            "kind": "Playground",
            "spec": {"replicas": 1, "modelClaim": {"modelName": "qwen2-0--5b"}},
        },
        [],
        True,
    ),
    (
        "an unknown kind",
        {
            "apiVersion": "example.com/v1",
            "kind": "Thing",
            "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}},
        },
        [],
        True,
    ),
]


@pytest.mark.parametrize("obj,paths,runs_pods", [c[1:] for c in CUSTOM], ids=[c[0] for c in CUSTOM])
def test_custom_resource_templates(obj, paths, runs_pods):
    obj = {**obj, "metadata": {"name": "x"}}
    model = model_of(json.dumps(obj))
    assert sorted(c.path for c in model.containers()) == sorted(paths)
    for workload in model.workloads:
        assert workload.runs_pods == runs_pods


def test_openshift_template_objects_are_linted():
    template = {
        "apiVersion": "template.openshift.io/v1",
        "kind": "Template",
        "metadata": {"name": "t"},
        "objects": [json.loads(deployment())],
    }
    resources, findings = load_text(json.dumps(template), "t.yaml")
    assert findings == []
    assert [(r.kind, r.name) for r in resources] == [("Template", "t"), ("Deployment", "m")]
    findings = lint_model(OverlayModel("", resources), RuleSet.configure(preset="foreign"))
    assert any(f.rule == "gpu-missing" and f.kind == "Deployment" for f in findings)


def test_a_document_that_does_not_parse_hides_nothing_else():
    text = (
        deployment()
        + "\n---\nkind: Service\nmetadata: {name: a\n  broken: [\n---\n"
        + json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "b"},
                "spec": {"type": "LoadBalancer"},
            }
        )
    )
    resources, findings = load_text(text, "s.yaml")
    assert [f.rule for f in findings] == ["yaml-syntax"]
    assert sorted(r.name for r in resources) == ["b", "m"]
