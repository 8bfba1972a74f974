"""tools/llmfleet/data/node_shapes.yaml: the node shapes per GPU class and cloud.

Every allocatable figure is recomputed from the documented reservation rules (GKE's table,
EKS AL2023 nodeadm's code), every GPU class of the catalog has shapes on both clouds, and
the node pools the deploy guide creates (docs/deploying.md, and docs/multi-node.md for the
models bigger than one node) fit every pod of every overlay: a Deployment's pod, or the
leader and the workers of a LeaderWorkerSet group, one node each (GPUs on one node, CPU and
memory requests plus the headroom within allocatable)."""

from __future__ import annotations

import math
import re

import pytest
import yaml

from llmfleet.pipeline import render
from llmfleet_testlib import REPO_ROOT, overlay_names

DATA = REPO_ROOT / "tools" / "llmfleet" / "data"
SHAPES = yaml.safe_load((DATA / "node_shapes.yaml").read_text())
GPUS = yaml.safe_load((DATA / "gpus.yaml").read_text())["gpus"]
#: The deploy guide: deploying.md, and multi-node.md, which it links for the models that
#: span nodes. Both create node pools.
GUIDE_FILES = ("docs/deploying.md", "docs/multi-node.md")
GUIDE = "\n".join((REPO_ROOT / f).read_text() for f in GUIDE_FILES if (REPO_ROOT / f).is_file())
MI = 1024**2
GI = 1024**3


def quantity(value) -> float:
    """A Kubernetes CPU (cores) or memory (bytes) quantity, for the forms used here."""
    text = str(value)
    units = {"m": 1e-3, "Ki": 1024, "Mi": MI, "Gi": GI, "Ti": 1024 * GI, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * units[suffix]
    return float(text)


def shapes():
    for gpu_class, clouds in SHAPES["shapes"].items():
        for cloud, rows in clouds.items():
            for row in rows:
                yield gpu_class, cloud, row


def cpu_reserved_millicores(vcpus: int) -> int:
    """GKE's table and nodeadm's getCPUMillicoresToReserve: 6 %, 1 %, 0.5 %, 0.25 %."""
    total = vcpus * 1000
    reserved = 0
    for start, end, per_10000 in ((0, 1000, 600), (1000, 2000, 100), (2000, 4000, 50), (4000, total, 25)):
        if total > start:
            reserved += (min(total, end) - start) * per_10000 // 10000
    return reserved


#: AKS "Node resource reservations": kube-reserved CPU (millicores) by cores on the host --
#: the documented table, which has no row for 24, 40, 48, 80 or 96 cores.
AKS_CPU_RESERVED = {1: 60, 2: 100, 4: 140, 8: 180, 16: 260, 32: 420, 64: 740}


def aks_cpu_reserved_millicores(vcpus: int) -> int:
    """AKS's node provisioner (Azure/karpenter-provider-azure reservedCPUTaxVCPU): 6 % of the
    first core, 4 % of the second, 2 % of cores 3-4, 1 % of every core above 4."""
    total = vcpus * 1000
    reserved = 0
    for start, end, per_100 in ((0, 1000, 6), (1000, 2000, 4), (2000, 4000, 2), (4000, total, 1)):
        if total > start:
            reserved += (min(total, end) - start) * per_100 // 100
    return reserved


def aks_memory_reserved_mib(gib: float, max_pods: int) -> float:
    """AKS 1.29+: the lesser of 20 x maxPods + 50 and 25 % of the memory, in MiB."""
    return min(20 * max_pods + 50, gib * 1024 * 0.25)


def gke_memory_reserved_mib(gib: float) -> float:
    tiers = ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (math.inf, 0.02))
    left, reserved = gib * 1024, 0.0
    for size_gib, fraction in tiers:
        take = min(left, size_gib * 1024)
        reserved += take * fraction
        left -= take
    return reserved


@pytest.mark.parametrize(
    "gpu_class, cloud, row", list(shapes()), ids=[f"{c}-{k}-{r['name']}-{r['gpus']}" for c, k, r in shapes()]
)
def test_allocatable_follows_the_documented_reservations(gpu_class, cloud, row):
    assert row["gpus"] >= 1 and row["cpu"] >= 1 and row["memory_gib"] >= 1
    cpu = row["cpu"] * 1000 - cpu_reserved_millicores(row["cpu"])
    if cloud == "gke":
        memory = row["memory_gib"] * 1024 - gke_memory_reserved_mib(row["memory_gib"]) - 100
    elif cloud == "aks":
        cpu = row["cpu"] * 1000 - aks_cpu_reserved_millicores(row["cpu"])
        assert 30 <= row["max_pods"] <= 250
        memory = row["memory_gib"] * 1024 - aks_memory_reserved_mib(row["memory_gib"], row["max_pods"]) - 100
    else:
        assert cloud == "eks", cloud
        assert row["max_pods"] >= 8
        memory = row["memory_gib"] * 1024 - (11 * row["max_pods"] + 255) - 100
    assert row["allocatable"]["cpu"] == f"{cpu}m"
    assert row["allocatable"]["memory"] == f"{math.floor(memory)}Mi"


def test_aks_cpu_rule_reproduces_the_documented_table():
    """The provisioner's brackets give every figure of the AKS table, and the A100/H100/H200
    sizes' core counts (24-96) -- which the table lacks -- follow from the same brackets."""
    assert {cores: aks_cpu_reserved_millicores(cores) for cores in AKS_CPU_RESERVED} == AKS_CPU_RESERVED
    # 24 cores: 60 + 40 + 2 x 20 + 20 x 10 = 340m; 96 cores: 140 + 92 x 10 = 1060m.
    assert (aks_cpu_reserved_millicores(24), aks_cpu_reserved_millicores(96)) == (340, 1060)
    aks_cores = {r["cpu"] for c, k, r in shapes() if k == "aks"}
    assert {24, 40, 48, 80, 96} <= aks_cores and not {24, 40, 48, 80, 96} & set(AKS_CPU_RESERVED)


def test_every_catalog_class_has_shapes_on_every_cloud():
    """On each cloud, unless the data says the cloud does not rent the class or its shapes
    there are not derived yet; never two of these at once."""
    not_offered = SHAPES.get("not_offered") or {}
    not_derived = SHAPES.get("not_derived") or {}
    for gpu_class in GPUS:
        clouds = set(SHAPES["shapes"].get(gpu_class, {}))
        absent, pending = set(not_offered.get(gpu_class, [])), set(not_derived.get(gpu_class, []))
        assert clouds, gpu_class
        assert clouds | absent | pending == {"gke", "eks", "aks"}, gpu_class
        assert not clouds & absent and not clouds & pending and not absent & pending, gpu_class
    assert set(SHAPES["shapes"]["t4"]) == {"gke", "eks", "aks"}
    # Azure's A100, H100 and H200 sizes are derived now: nothing is left pending.
    for gpu_class in ("a100-40gb", "a100-80gb", "h100-80gb", "h200-141gb"):
        assert "aks" in SHAPES["shapes"][gpu_class], gpu_class
    assert not any(not_derived.values())


def test_aks_t4_allocatable_by_hand():
    """Standard_NC4as_T4_v3 (4 vCPU, 28 GiB) with maxPods 250: CPU 4000 - 140 = 3860m; memory
    28672 - min(20 x 250 + 50, 7168) - 100 = 23522 MiB. Standard_NC64as_T4_v3 (64 vCPU,
    440 GiB): 64000 - 740 = 63260m, 450560 - 5050 - 100 = 445410 MiB."""
    aks = {r["name"]: r for r in SHAPES["shapes"]["t4"]["aks"]}
    assert aks["Standard_NC4as_T4_v3"]["allocatable"] == {"cpu": "3860m", "memory": "23522Mi"}
    assert aks["Standard_NC64as_T4_v3"]["allocatable"] == {"cpu": "63260m", "memory": "445410Mi"}
    assert aks["Standard_NC64as_T4_v3"]["gpus"] == 4
    # The 25 % cap binds only below 20,200 MiB of memory at maxPods 250: not on these sizes.
    assert aks_memory_reserved_mib(16, 250) == 4096 and aks_memory_reserved_mib(28, 250) == 5050


def test_aks_a100_and_h200_allocatable_by_hand():
    """Standard_NC24ads_A100_v4 (24 vCPU, 220 GiB, 1 A100 80GB): CPU 24000 - 340 = 23660m;
    memory 225280 - 5050 - 100 = 220130 MiB. Standard_ND96isr_H200_v5 (96 vCPU, 1,850 GiB,
    8 H200): 96000 - 1060 = 94940m; 1894400 - 5050 - 100 = 1889250 MiB."""
    a100 = {r["name"]: r for r in SHAPES["shapes"]["a100-80gb"]["aks"]}
    assert a100["Standard_NC24ads_A100_v4"]["allocatable"] == {"cpu": "23660m", "memory": "220130Mi"}
    assert [a100[n]["gpus"] for n in ("Standard_NC24ads_A100_v4", "Standard_NC48ads_A100_v4")] == [1, 2]
    h200 = SHAPES["shapes"]["h200-141gb"]["aks"][0]
    assert (h200["name"], h200["gpus"]) == ("Standard_ND96isr_H200_v5", 8)
    assert h200["allocatable"] == {"cpu": "94940m", "memory": "1889250Mi"}


def test_shapes_are_unique_and_sourced():
    header = (DATA / "node_shapes.yaml").read_text().split("\nversion:")[0]
    for url in (
        "cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes",
        "cloud.google.com/compute/docs/accelerator-optimized-machines",
        "docs.aws.amazon.com/ec2/latest/instancetypes/ac.html",
        "awslabs/amazon-eks-ami",
        "learn.microsoft.com/en-us/azure/aks/node-resource-reservations",
        "learn.microsoft.com/en-us/azure/aks/concepts-network-ip-address-planning",
        "learn.microsoft.com/en-us/azure/virtual-machines/sizes/gpu-accelerated/ncast4v3-series",
        "Azure/karpenter-provider-azure",
        "nca100v4-series.md",
        "ndasra100v4-series.md",
        "ndma100v4-series.md",
        "ncadsh100v5-series.md",
        "ndh100v5-series.md",
        "nd-h200-v5-series.md",
    ):
        assert url in header
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", SHAPES["read"])
    seen = set()
    for gpu_class, cloud, row in shapes():
        key = (gpu_class, cloud, row["name"], row["gpus"])
        assert key not in seen, key
        seen.add(key)


# -- the deploy guide's node pools fit the overlays ---------------------------------------------


def guide_pools() -> dict[str, list[tuple[str, str, int]]]:
    """cloud -> [(gpu class, machine type, GPUs per node)] of the pools the guide creates:
    every `gcloud container node-pools create` command and every eksctl ClusterConfig
    block (```yaml starting with `# eksctl-<name>.yaml`) of the guide's files."""
    pools: dict[str, list[tuple[str, str, int]]] = {"gke": [], "eks": []}
    for command in re.findall(r"gcloud container node-pools create .*?(?:\n(?!\s)|\Z)", GUIDE, re.S):
        machine = re.search(r"--machine-type=(\S+)", command).group(1)
        count = int(re.search(r"--accelerator=type=[\w-]+,count=(\d+)", command).group(1))
        gpu_class = re.search(r"llmfleet\.io/gpu-class=([\w-]+)", command).group(1)
        pools["gke"].append((gpu_class, machine, count))
    blocks = re.findall(r"```yaml\n(# eksctl-[\w.-]+\.yaml.*?)```", GUIDE, re.S)
    assert blocks, "no eksctl node group file in the deploy guide"
    for block in blocks:
        for group in yaml.safe_load(block)["managedNodeGroups"]:
            shape = next(r for c, k, r in shapes() if k == "eks" and r["name"] == group["instanceType"])
            pools["eks"].append(
                (group["labels"]["llmfleet.io/gpu-class"], group["instanceType"], shape["gpus"])
            )
    return pools


def test_guide_pools_are_known_shapes():
    pools = guide_pools()
    assert len(pools["gke"]) >= 2 and len(pools["eks"]) >= 2
    for cloud, rows in pools.items():
        for gpu_class, machine, count in rows:
            known = [
                r
                for c, k, r in shapes()
                if (c, k, r["name"], r["gpus"]) == (gpu_class, cloud, machine, count)
            ]
            assert known, f"{cloud} pool {machine} x {count} {gpu_class} is not in node_shapes.yaml"


def guide_aks_pools() -> list[tuple[str, str]]:
    """(gpu class, VM size) of every `az aks nodepool add` command of the guide's files."""
    pools = []
    for command in re.findall(r"az aks nodepool add .*?(?:\n(?!\s)|\Z)", GUIDE, re.S):
        size = re.search(r"--node-vm-size (\S+)", command).group(1)
        gpu_class = re.search(r"llmfleet\.io/gpu-class=([\w-]+)", command).group(1)
        assert "nvidia.com/gpu=present:NoSchedule" in command, command
        pools.append((gpu_class, size))
    return pools


def test_guide_aks_pools_are_known_shapes_that_fit_the_70b_pod():
    """The AKS pool of docs/deploying.md 2.4 is a shape of its class in node_shapes.yaml, and
    the 70B overlay's pod fits it (4 x A100 80GB, its CPU and memory requests)."""
    pools = guide_aks_pools()
    assert pools, "no az aks nodepool add command in the deploy guide"
    aks = {(c, r["name"]): r for c, k, r in shapes() if k == "aks"}
    for gpu_class, size in pools:
        assert (gpu_class, size) in aks, f"AKS pool {size} ({gpu_class}) is not in node_shapes.yaml"
    pod = _pods("llama-3-1-70b-instruct")
    (role, needs), *_ = pod.items()
    assert any(fits(needs, aks[p]) for p in pools if p[0] == needs["class"]), (role, needs)


def pod_templates(docs: list[dict]) -> dict[str, dict]:
    """The GPU pod templates of an overlay's serving workload, by role: a Deployment's pod,
    or a LeaderWorkerSet's leader and workers (the workers default to the leader's template)."""
    out = {}
    for d in docs:
        if d["kind"] == "Deployment":
            out[f"Deployment {d['metadata']['name']}"] = d["spec"]["template"]
        elif d["kind"] == "LeaderWorkerSet":
            lwt = d["spec"]["leaderWorkerTemplate"]
            leader = lwt["leaderTemplate"] if "leaderTemplate" in lwt else lwt["workerTemplate"]
            out[f"LeaderWorkerSet {d['metadata']['name']} leader"] = leader
            out[f"LeaderWorkerSet {d['metadata']['name']} workers"] = lwt["workerTemplate"]
    return out


def pod_needs(template: dict) -> dict:
    """GPU class (required node affinity), and the GPUs, CPU and memory one pod requests."""
    spec = template["spec"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    gpu_class = next(
        e["values"][0] for t in terms for e in t["matchExpressions"] if e["key"] == "llmfleet.io/gpu-class"
    )
    requests = {"cpu": 0.0, "memory": 0.0, "gpus": 0}
    for container in spec["containers"]:
        r = container["resources"]["requests"]
        requests["cpu"] += quantity(r.get("cpu", 0))
        requests["memory"] += quantity(r.get("memory", 0))
        requests["gpus"] += int(r.get("nvidia.com/gpu", 0))
    return {"class": gpu_class, **requests}


def _pods(overlay: str) -> dict[str, dict]:
    result = render.render(REPO_ROOT / "overlays" / overlay)
    assert result.ok, result.error
    templates = pod_templates([d for d in yaml.safe_load_all(result.text) if d])
    assert templates, f"{overlay}: no Deployment or LeaderWorkerSet"
    return {role: pod_needs(t) for role, t in templates.items()}


def fits(pod: dict, row: dict) -> bool:
    headroom = SHAPES["pod_headroom"]
    return (
        pod["gpus"] <= row["gpus"]
        and pod["cpu"] + quantity(headroom["cpu"]) <= quantity(row["allocatable"]["cpu"])
        and pod["memory"] + quantity(headroom["memory"]) <= quantity(row["allocatable"]["memory"])
    )


@pytest.mark.parametrize("overlay", overlay_names())
def test_the_guide_creates_a_pool_for_every_overlay(overlay):
    for role, pod in _pods(overlay).items():
        assert pod["gpus"] >= 1, role
        for cloud, pools in guide_pools().items():
            fitting = [
                machine
                for gpu_class, machine, count in pools
                if gpu_class == pod["class"]
                and fits(
                    pod,
                    next(
                        r
                        for c, k, r in shapes()
                        if (c, k, r["name"], r["gpus"]) == (gpu_class, cloud, machine, count)
                    ),
                )
            ]
            assert fitting, f"{overlay} ({role}): no {cloud} node pool in {', '.join(GUIDE_FILES)} fits {pod}"


def test_a_group_pod_needs_a_whole_eight_gpu_node():
    """The 8-GPU pods of a multi-node group fit only the 8-GPU H100 shapes, and the guide
    creates pools of them (docs/multi-node.md, section 3)."""
    pod = {"class": "h100-80gb", "gpus": 8, "cpu": 64.0, "memory": 640 * GI}
    h100 = {(k, r["name"]): r for c, k, r in shapes() if c == "h100-80gb"}
    assert fits(pod, h100[("gke", "a3-highgpu-8g")]) and fits(pod, h100[("eks", "p5.48xlarge")])
    assert not fits(pod, h100[("gke", "a3-highgpu-4g")]) and not fits(pod, h100[("eks", "p5.4xlarge")])
    created = [(c, m) for rows in guide_pools().values() for c, m, _ in rows]
    assert ("h100-80gb", "a3-highgpu-8g") in created and ("h100-80gb", "p5.48xlarge") in created


def test_a_four_gpu_pod_does_not_fit_a_one_gpu_node():
    pod = {"class": "a100-80gb", "gpus": 4, "cpu": 16.0, "memory": 192 * GI}
    one = next(r for c, k, r in shapes() if c == "a100-80gb" and r["name"] == "a2-ultragpu-1g")
    four = next(r for c, k, r in shapes() if c == "a100-80gb" and r["name"] == "a2-ultragpu-4g")
    assert not fits(pod, one) and fits(pod, four)
    # memory alone: a 1-GPU L4 pod asking for more than g2-standard-8 leaves
    l4 = next(r for c, k, r in shapes() if r["name"] == "g2-standard-8")
    assert fits({"gpus": 1, "cpu": 4.0, "memory": 24 * GI}, l4)
    assert not fits({"gpus": 1, "cpu": 4.0, "memory": 28 * GI}, l4)
