"""llmfleet.model.accelerators: the accelerator class from every known node label, from
nodeSelector and required node affinity (terms ORed), and the cluster's own label keys."""

from __future__ import annotations

import pytest

from llmfleet.model.accelerators import accelerator_resource, node_selection


def affinity(*terms: list[dict]) -> dict:
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": list(t)} for t in terms]
                }
            }
        }
    }


@pytest.mark.parametrize(
    "key, value, gpu_class",
    [
        ("llmfleet.io/gpu-class", "a100-80gb", "a100-80gb"),
        ("cloud.google.com/gke-accelerator", "nvidia-l4", "l4"),
        ("cloud.google.com/gke-accelerator", "nvidia-tesla-a100", "a100-40gb"),
        ("cloud.google.com/gke-accelerator", "nvidia-h200-141gb", "h200-141gb"),
        ("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "h100-80gb"),
        ("nvidia.com/gpu.product", "Tesla-T4", "t4"),
        ("karpenter.k8s.aws/instance-gpu-name", "l4", "l4"),
        ("node.kubernetes.io/instance-type", "p4de.24xlarge", "a100-80gb"),
        ("node.kubernetes.io/instance-type", "g2-standard-24", "l4"),
        ("node.kubernetes.io/instance-type", "a3-highgpu-8g", "h100-80gb"),
    ],
)
def test_known_labels_give_the_class(key, value, gpu_class):
    by_selector = node_selection({"nodeSelector": {key: value}})
    by_affinity = node_selection(affinity([{"key": key, "operator": "In", "values": [value]}]))
    for selection in (by_selector, by_affinity):
        assert selection.selects and selection.classes == (gpu_class,) and selection.gpu_class == gpu_class


def test_compute_class_selects_gpus_without_saying_which():
    selection = node_selection({"nodeSelector": {"cloud.google.com/compute-class": "inference-pool"}})
    assert selection.selects and selection.classes == () and selection.gpu_class is None
    named = node_selection({"nodeSelector": {"cloud.google.com/compute-class": "l4-spot"}})
    assert named.classes == ("l4",)


def test_a_cpu_instance_type_is_no_gpu_selection():
    assert not node_selection({"nodeSelector": {"node.kubernetes.io/instance-type": "m5.large"}}).selects
    assert not node_selection({"nodeSelector": {"kubernetes.io/os": "linux"}}).selects


def test_every_ored_term_must_select():
    one = affinity(
        [{"key": "cloud.google.com/gke-accelerator", "operator": "In", "values": ["nvidia-l4"]}],
        [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}],
    )
    assert not node_selection(one).selects  # the second term lands anywhere
    both = affinity(
        [{"key": "cloud.google.com/gke-accelerator", "operator": "In", "values": ["nvidia-l4"]}],
        [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-L4"]}],
    )
    assert node_selection(both).selects and node_selection(both).classes == ("l4",)
    several = affinity([{"key": "llmfleet.io/gpu-class", "operator": "In", "values": ["l4", "a100-80gb"]}])
    assert (
        node_selection(several).classes == ("l4", "a100-80gb") and node_selection(several).gpu_class is None
    )


def test_cluster_label_keys_name_classes():
    spec = {"nodeSelector": {"example.com/pool": "pool-a"}}
    assert not node_selection(spec).selects
    assert node_selection(spec, ["example.com/pool"]).classes == ("pool-a",)
    # an unknown label that names an accelerator: a pool of them, class unknown
    hinted = node_selection({"nodeSelector": {"NodeGroupType": "g5-gpu-karpenter"}})
    assert hinted.selects and hinted.classes == ()


def test_accelerator_resources():
    assert accelerator_resource("nvidia.com/gpu").kind == "gpu"
    assert accelerator_resource("amd.com/gpu").vendor == "amd"
    assert accelerator_resource("google.com/tpu").kind == "tpu"
    assert accelerator_resource("nvidia.com/mig-3g.40gb").vendor == "nvidia"
    assert accelerator_resource("cpu") is None and accelerator_resource("example.com/foo") is None
