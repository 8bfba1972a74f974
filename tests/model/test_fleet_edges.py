"""Edges of the fleet model that a second mutation sample showed no test pinned (docs/mutation.md):
node fit at exactly the allocatable memory, the large-GPU --max-num-seqs boundary, load-time
fallbacks, the longest mount, chained preStop commands, KEDA's custom HPA name, dashboards by
label, unresolved --nnodes."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from llmfleet.catalog.node_shapes import NodeShape, catalog, cluster_shapes
from llmfleet.model import OverlayModel
from llmfleet.model.autoscaling import DEFAULT_MAX_NUM_SEQS, LARGE_GPU_MAX_NUM_SEQS, default_max_num_seqs
from llmfleet.model.load_time import expected_load
from llmfleet.model.monitoring import dashboard_queries
from llmfleet.model.names import limits
from llmfleet.model.pods import mounted_volume, prestop_sleep
from llmfleet.model.served import served
from llmfleet.model.servers import other_servers
from llmfleet.pipeline.manifests import load_text


def model_of(text: str) -> OverlayModel:
    resources, findings = load_text(textwrap.dedent(text), "t.yaml")
    assert not findings, [f.message for f in findings]
    return OverlayModel("t", resources)


def first_container(model: OverlayModel):
    return model.templates[0].main_containers[0]


def test_a_pod_fits_a_node_with_exactly_its_memory_left():
    shape = NodeShape("n", "l4", "cluster", 1, Decimal(8), Decimal(32))
    headroom = (Decimal(1), Decimal(2))
    assert shape.fits(1, Decimal(7), Decimal(30), headroom)  # 30 + 2 == 32: it fits
    assert not shape.fits(1, Decimal(7), Decimal("30.5"), headroom)
    assert shape.fits(1, Decimal(7), Decimal(1), headroom) and not shape.fits(
        1, Decimal("7.5"), Decimal(1), headroom
    )
    assert not shape.fits(2, Decimal(1), Decimal(1), headroom)


def test_cluster_shapes_written_out_and_picked_by_name():
    written = {"name": "own-l4", "gpu-class": "l4", "gpus": 2, "cpu": "15500m", "memory": "58Gi"}
    found = cluster_shapes((written,))
    assert found.shapes == (NodeShape("own-l4", "l4", "cluster", 2, Decimal("15.5"), Decimal(58 * 2**30)),)
    some = catalog().shapes[0]
    assert cluster_shapes((some.name,)).shapes == tuple(s for s in catalog().shapes if s.name == some.name)
    assert cluster_shapes(()).shapes == catalog().shapes


@pytest.mark.parametrize(
    "gib,name,expected",
    [
        (160, "a100-160", LARGE_GPU_MAX_NUM_SEQS),  # 160 GiB and up: large, whatever the name
        (159.9, "a100-x", DEFAULT_MAX_NUM_SEQS),
        (70, "h100-80gb", LARGE_GPU_MAX_NUM_SEQS),
        (79.25, "a100-80gb", DEFAULT_MAX_NUM_SEQS),
        (69.9, "h100", DEFAULT_MAX_NUM_SEQS),
    ],
)
def test_default_max_num_seqs_boundaries(gib, name, expected):
    assert default_max_num_seqs(gib, name) == expected


def test_expected_load_tries_every_name_before_the_unknown_floor():
    load = expected_load(["no-such-org/unknown-model", "meta-llama/Llama-3.1-8B-Instruct"])
    assert load.known is True
    assert "meta-llama/Llama-3.1-8B-Instruct" in load.why


def test_an_unknown_model_is_known_false_and_names_itself():
    load = expected_load(["", "no-such-org/unknown-model"])
    assert load.known is False
    assert "(no-such-org/unknown-model)" in load.why
    assert expected_load([]).known is False and "no model named" in expected_load([]).why


def test_the_deepest_mount_wins():
    model = model_of(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
          - name: vllm
            image: vllm/vllm-openai:v0.33.0
            volumeMounts: [{name: outer, mountPath: /models}, {name: inner, mountPath: /models/cache/}]
          volumes: [{name: outer, emptyDir: {}}, {name: inner, persistentVolumeClaim: {claimName: c}}]
        """
    )
    found = mounted_volume(first_container(model), "/models/cache/hub")
    assert found is not None and found.get("name") == "inner"
    outer = mounted_volume(first_container(model), "/models/other")
    assert outer is not None and outer.get("name") == "outer"


@pytest.mark.parametrize(
    "command,seconds",
    [
        (["sh", "-c", "sleep 5&&kill 1"], 5),
        (["sh", "-c", "sleep 7;kill 1"], 7),
        (["/bin/sleep", "30s"], 30),
        (["sh", "-c", "echo sleep"], None),
    ],
)
def test_prestop_sleep_in_chained_commands(command, seconds):
    model = model_of(
        f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: p}}
        spec:
          containers:
          - name: vllm
            image: vllm/vllm-openai:v0.33.0
            lifecycle: {{preStop: {{exec: {{command: {command!r}}}}}}}
        """.replace("'", '"')
    )
    assert prestop_sleep(first_container(model))[0] == seconds


SCALED = """
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: {name}}}
spec:
  scaleTargetRef: {{name: d}}
  {advanced}
  triggers: [{{type: cpu, metadata: {{value: "50"}}}}]
"""


def test_a_custom_hpa_name_frees_the_scaled_object_from_keda_s_prefix():
    name = "s" * 60
    plain = model_of(SCALED.format(name=name, advanced=""))
    assert any("keda-hpa-" in limit.why for limit in limits(plain.resources))
    custom = model_of(
        SCALED.format(name=name, advanced="advanced: {horizontalPodAutoscalerConfig: {name: short}}")
    )
    assert not any("keda-hpa-" in limit.why for limit in limits(custom.resources))


def test_label_values_are_limited_and_say_so():
    model = model_of("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {team: x}}\n")
    found = [limit for limit in limits(model.resources) if limit.path == "/metadata/labels/team"]
    assert [(limit.limit, limit.why) for limit in found] == [(63, "label team is a label value (63)")]


def test_a_dashboard_is_found_by_its_label_without_a_json_key():
    board = '{"panels": [{"targets": [{"expr": "sum(vllm:num_requests_running)"}]}]}'
    labelled = model_of(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, labels: {{grafana_dashboard: '1'}}}}\n"
        f"data: {{board: '{board}'}}\n"
    )
    assert [q.query.text for q in dashboard_queries(labelled.resources[0])] == [
        "sum(vllm:num_requests_running)"
    ]
    unlabelled = model_of(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{board: '{board}'}}\n"
    )
    assert list(dashboard_queries(unlabelled.resources[0])) == []


def test_an_unresolved_nnodes_is_loaded_as_one_node():
    model = model_of(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          template:
            spec:
              containers:
              - name: vllm
                image: vllm/vllm-openai:v0.33.0
                args: [--model, meta-llama/Llama-3.1-70B-Instruct, --nnodes, $(NODES)]
                resources: {limits: {nvidia.com/gpu: 8}}
        """
    )
    (found,) = [s for s in served(model) if s.engine == "vLLM"]
    one_node = expected_load(["meta-llama/Llama-3.1-70B-Instruct"], None, 1, "downloaded" in found.load.why)
    assert found.load.typical_s == one_node.typical_s
    assert found.load.typical_s > expected_load(["meta-llama/Llama-3.1-70B-Instruct"], None, 2).typical_s


def test_other_servers_beside_a_vllm_container_in_the_same_pod():
    model = model_of(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
          - {name: vllm, image: vllm/vllm-openai:v0.33.0, args: [--model, m]}
          - {name: tgi, image: ghcr.io/huggingface/text-generation-inference:3.0.1, args: [--model-id, m2]}
        """
    )
    assert [s.container.name for s in other_servers(model)] == ["tgi"]
