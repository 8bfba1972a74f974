"""The multi-node serving unit (base-multinode/) as rendered by its overlays.

Every overlay whose kustomization builds on ``base-multinode`` is rendered once per test
session with the real kustomize (kubectl from the repository's .venv) and checked for what
makes a group of pods one working vLLM instance: the leader's and the workers' vLLM
command lines form one cluster (same config, same parallel sizes; tensor parallel x
pipeline parallel = GPUs per pod x pods per group), GPU scheduling per node, the
shutdown budget across leader and workers, probes on the leader only, the Service and the
PodMonitor on the leaders only, and the ScaledObject on the LeaderWorkerSet.

Schema validation uses the LeaderWorkerSet schema vendored in the repository
(``schemas/crds/leaderworkerset.x-k8s.io/leaderworkerset_v1.json``): the test fails, and
says so, while that file is missing from the checkout.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from llmfleet_testlib import MULTINODE_BASE, REPO_ROOT, multinode_overlays, require

LWS_API = "leaderworkerset.x-k8s.io/v1"
LWS_SCHEMA = REPO_ROOT / "schemas" / "crds" / "leaderworkerset.x-k8s.io" / "leaderworkerset_v1.json"
SCHEMA_LOCATION = str(
    REPO_ROOT / "schemas" / "crds" / "{{.Group}}" / "{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
)
GPU = "nvidia.com/gpu"
GPU_CLASS_LABEL = "llmfleet.io/gpu-class"
HPA_MAX_STABILIZATION = 3600  # autoscaling/v2 HPAScalingRules.stabilizationWindowSeconds maximum


OVERLAYS = multinode_overlays()


def kubectl() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "kubectl"
    path = str(venv) if venv.is_file() else shutil.which("kubectl")
    require(path is not None, "kubectl not found (make setup installs it into .venv)")
    return path


def kustomize(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)


def render(folder: Path) -> list[dict]:
    result = kustomize(folder)
    assert result.returncode == 0, f"kustomize {folder} failed:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


_RENDERED: dict[str, list[dict]] = {}


@pytest.fixture(params=OVERLAYS)
def docs(request) -> list[dict]:
    """The rendered objects of one multi-node overlay (rendered once per session)."""
    name = request.param
    if name not in _RENDERED:
        _RENDERED[name] = render(REPO_ROOT / "overlays" / name)
    return copy.deepcopy(_RENDERED[name])


def one(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind}{' ' + name if name else ''}, found {len(found)}"
    return found[0]


# -- reading the LeaderWorkerSet -------------------------------------------------------


def templates(lws: dict) -> dict[str, dict]:
    lwt = lws["spec"]["leaderWorkerTemplate"]
    return {"leader": lwt["leaderTemplate"], "worker": lwt["workerTemplate"]}


def vllm_container(template: dict) -> dict:
    containers = [c for c in template["spec"]["containers"] if c["name"] == "vllm"]
    assert len(containers) == 1, "one container named vllm per pod template"
    return containers[0]


def flags(container: dict) -> dict[str, str | bool]:
    """``--flag value`` pairs (``True`` for a flag with no value) of a vLLM command line."""
    args = container.get("args") or []
    out: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        assert arg.startswith("--"), f"positional argument {arg!r}: the model comes from --config"
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            out[arg] = args[i + 1]
            i += 2
        else:
            out[arg] = True
            i += 1
    return out


def serve_config(docs: list[dict], lws: dict) -> dict:
    """serve.yaml of the ConfigMap both templates mount at the --config folder."""
    names = set()
    for template in templates(lws).values():
        container = vllm_container(template)
        config_dir = str(Path(str(flags(container)["--config"])).parent)
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == config_dir)
        volume = next(v for v in template["spec"]["volumes"] if v["name"] == mount["name"])
        names.add(volume["configMap"]["name"])
    assert len(names) == 1, f"leader and workers read different configs: {names}"
    config_map = one(docs, "ConfigMap", names.pop())
    return yaml.safe_load(config_map["data"]["serve.yaml"])


def gpus(container: dict) -> tuple[int, int]:
    resources = container.get("resources") or {}
    return (
        int((resources.get("requests") or {}).get(GPU, 0)),
        int((resources.get("limits") or {}).get(GPU, 0)),
    )


def cluster_problems(docs: list[dict]) -> list[str]:
    """Why the leader and workers of the rendered LeaderWorkerSet would not form one vLLM
    instance ([] when they do): vLLM 0.33's multi-node launch checks, as read from its
    source (docs/reference/vllm-multinode.md §2)."""
    problems: list[str] = []
    lws = one(docs, "LeaderWorkerSet")
    size = int(lws["spec"]["leaderWorkerTemplate"].get("size", 1))
    config = serve_config(docs, lws)
    tp = int(config.get("tensor-parallel-size", 1))
    pp = int(config.get("pipeline-parallel-size", 1))
    world = tp * pp
    by_role = {role: vllm_container(t) for role, t in templates(lws).items()}
    per_pod = {role: gpus(c) for role, c in by_role.items()}
    for role, (request, limit) in per_pod.items():
        if request != limit:
            problems.append(f"{role}: {GPU} request {request} != limit {limit}")
    if per_pod["leader"] != per_pod["worker"]:
        problems.append(f"leader and worker request different GPUs: {per_pod}")
    gpus_per_pod = per_pod["leader"][0]
    if size < 2:
        problems.append(f"size {size}: a multi-node group has at least two pods")
    if world != gpus_per_pod * size:
        problems.append(
            f"tensor-parallel-size {tp} x pipeline-parallel-size {pp} = {world} GPUs, "
            f"but the group has {gpus_per_pod} GPUs x {size} pods = {gpus_per_pod * size}"
        )
    if world % size:
        problems.append(f"vLLM refuses --nnodes {size}: it does not divide the world size {world}")
    leader, worker = flags(by_role["leader"]), flags(by_role["worker"])
    for role, f in (("leader", leader), ("worker", worker)):
        if f.get("--nnodes") != "$(LWS_GROUP_SIZE)":
            problems.append(f"{role}: --nnodes {f.get('--nnodes')!r}, not the group size $(LWS_GROUP_SIZE)")
    if leader.get("--node-rank") not in ("0", "$(LWS_WORKER_INDEX)"):
        problems.append(f"leader: --node-rank {leader.get('--node-rank')!r} (the leader is rank 0)")
    if worker.get("--node-rank") != "$(LWS_WORKER_INDEX)":
        problems.append(f"worker: --node-rank {worker.get('--node-rank')!r}, not $(LWS_WORKER_INDEX)")
    if worker.get("--master-addr") != "$(LWS_LEADER_ADDRESS)":
        problems.append(f"worker: --master-addr {worker.get('--master-addr')!r}, not the leader")
    if leader.get("--master-port") != worker.get("--master-port"):
        problems.append(
            f"--master-port differs: leader {leader.get('--master-port')!r}, "
            f"worker {worker.get('--master-port')!r}"
        )
    if worker.get("--headless") is not True or "--headless" in leader:
        problems.append("only the workers run --headless (the leader serves the API)")
    if by_role["leader"]["image"] != by_role["worker"]["image"]:
        problems.append("leader and worker run different vLLM images")
    for key in ("--tensor-parallel-size", "--pipeline-parallel-size", "--model"):
        if key in leader or key in worker:
            problems.append(f"{key} on a command line: it belongs in serve.yaml, read by every node")
    return problems


# -- the tests -----------------------------------------------------------------------


def test_there_is_a_multinode_overlay():
    assert OVERLAYS, f"no overlay builds on {MULTINODE_BASE}/"


def test_group_forms_one_vllm_cluster(docs):
    assert cluster_problems(docs) == []


def test_gpus_per_pod_equal_tensor_parallel_and_pods_equal_pipeline_stages(docs):
    lws = one(docs, "LeaderWorkerSet")
    config = serve_config(docs, lws)
    size = lws["spec"]["leaderWorkerTemplate"]["size"]
    for template in templates(lws).values():
        assert gpus(vllm_container(template)) == (config["tensor-parallel-size"],) * 2
    assert config["pipeline-parallel-size"] == size


@pytest.mark.parametrize(
    "mutation, expected",
    [
        ({"pipeline-parallel-size": 1}, "tensor-parallel-size 8 x pipeline-parallel-size 1 = 8 GPUs"),
        ({"tensor-parallel-size": 4}, "x pipeline-parallel-size 2 = 8 GPUs"),
    ],
)
def test_cluster_check_catches_inconsistent_sizes(docs, mutation, expected):
    """The check is not vacuous: PP 1 on two nodes of 8 GPUs, or TP 4, is reported."""
    config_map = next(d for d in docs if d["kind"] == "ConfigMap" and "serve.yaml" in d.get("data", {}))
    serve = yaml.safe_load(config_map["data"]["serve.yaml"])
    serve.update(mutation)
    config_map["data"]["serve.yaml"] = yaml.safe_dump(serve)
    assert any(expected in p for p in cluster_problems(docs)), cluster_problems(docs)


def test_worker_pointed_at_itself_is_caught(docs):
    lws = one(docs, "LeaderWorkerSet")
    args = vllm_container(templates(lws)["worker"])["args"]
    args[args.index("--master-addr") + 1] = "$(VLLM_HOST_IP)"
    assert any("--master-addr" in p for p in cluster_problems(docs))


def test_gpu_scheduling_per_node(docs):
    for role, template in templates(one(docs, "LeaderWorkerSet")).items():
        spec = template["spec"]
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ]
        keys = {e["key"] for t in terms for e in t["matchExpressions"] if e["operator"] == "In"}
        assert GPU_CLASS_LABEL in keys, f"{role}: no required affinity on {GPU_CLASS_LABEL}"
        assert any(
            t.get("key") == GPU and t.get("effect") == "NoSchedule" for t in spec.get("tolerations") or []
        ), f"{role}: no {GPU} toleration"
        request, limit = gpus(vllm_container(template))
        assert request == limit > 0, f"{role}: {GPU} {request}/{limit}"
        mounts = {m["mountPath"]: m["name"] for m in vllm_container(template)["volumeMounts"]}
        shm = next(v for v in spec["volumes"] if v["name"] == mounts["/dev/shm"])
        assert shm["emptyDir"]["medium"] == "Memory", f"{role}: /dev/shm not memory-backed"


def test_every_node_mounts_the_shared_model_cache(docs):
    lws = one(docs, "LeaderWorkerSet")
    claims = set()
    for role, template in templates(lws).items():
        mounts = {m["mountPath"]: m["name"] for m in vllm_container(template)["volumeMounts"]}
        volume = next(v for v in template["spec"]["volumes"] if v["name"] == mounts["/var/cache/huggingface"])
        assert "persistentVolumeClaim" in volume and "emptyDir" not in volume, f"{role}: {volume}"
        claims.add(volume["persistentVolumeClaim"]["claimName"])
    assert len(claims) == 1
    pvc = one(docs, "PersistentVolumeClaim", claims.pop())
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def _seconds(container: dict, flag: str) -> int:
    return int(flags(container)[flag])


def test_shutdown_budget_covers_the_leader_drain_on_every_pod(docs):
    leader_t, worker_t = templates(one(docs, "LeaderWorkerSet")).values()
    leader, worker = vllm_container(leader_t), vllm_container(worker_t)
    leader_prestop = leader["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = leader_prestop + _seconds(leader, "--shutdown-timeout")
    assert drain <= leader_t["spec"]["terminationGracePeriodSeconds"]
    # The workers hold pipeline stages the draining requests still need.
    worker_prestop = worker["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert worker_prestop >= drain
    assert worker_t["spec"]["terminationGracePeriodSeconds"] > worker_prestop


def test_probes_on_the_leader_only(docs):
    leader_t, worker_t = templates(one(docs, "LeaderWorkerSet")).values()
    leader, worker = vllm_container(leader_t), vllm_container(worker_t)
    port = int(flags(leader)["--port"])
    ports = {p["name"]: p["containerPort"] for p in leader["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = leader[probe]["httpGet"]
        assert get["path"] == "/health" and ports.get(get["port"], get["port"]) == port, probe
        assert probe not in worker, f"worker has a {probe}: a headless worker has no HTTP listener"
    assert "ports" not in worker


def test_startup_window_within_scale_down_window(docs):
    leader = vllm_container(templates(one(docs, "LeaderWorkerSet"))["leader"])
    startup = leader["startupProbe"]["periodSeconds"] * leader["startupProbe"]["failureThreshold"]
    scaled = one(docs, "ScaledObject")
    window = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
        "stabilizationWindowSeconds"
    ]
    assert startup <= window <= HPA_MAX_STABILIZATION


def test_pods_pass_the_restricted_pod_security_profile(docs):
    for role, template in templates(one(docs, "LeaderWorkerSet")).items():
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert not spec.get("hostNetwork") and not spec.get("hostIPC") and not spec.get("hostPID")
        assert all("hostPath" not in v for v in spec["volumes"])
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], role
            assert not (sc.get("capabilities") or {}).get("add"), role


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_service_and_podmonitor_select_only_leaders(docs):
    lws = one(docs, "LeaderWorkerSet")
    leader_labels = templates(lws)["leader"]["metadata"]["labels"]
    worker_labels = templates(lws)["worker"]["metadata"]["labels"]
    service = one(docs, "Service")
    monitor = one(docs, "PodMonitor")
    for name, selector in (
        ("Service", service["spec"]["selector"]),
        ("PodMonitor", monitor["spec"]["selector"]["matchLabels"]),
    ):
        assert _selects(selector, leader_labels), f"{name} misses the leaders: {selector}"
        assert not _selects(selector, worker_labels), f"{name} selects workers: {selector}"
    # The Service is not named like the LeaderWorkerSet, whose headless Service the LWS
    # controller would otherwise take over (docs/reference/vllm-multinode.md §5.3).
    assert service["metadata"]["name"] != lws["metadata"]["name"]
    port = next(p for p in service["spec"]["ports"] if p["name"] == "http")
    assert port["targetPort"] == "http"


def test_api_key_on_the_leader_only(docs):
    leader_t, worker_t = templates(one(docs, "LeaderWorkerSet")).values()
    names = lambda c: {e["name"] for e in c.get("env") or []}  # noqa: E731
    assert "VLLM_API_KEY" in names(vllm_container(leader_t))
    assert "VLLM_API_KEY" not in names(vllm_container(worker_t))


def test_scaledobject_scales_groups_of_the_leaderworkerset(docs):
    lws = one(docs, "LeaderWorkerSet")
    target = one(docs, "ScaledObject")["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": LWS_API, "kind": "LeaderWorkerSet", "name": lws["metadata"]["name"]}
    assert "replicas" not in lws["spec"], "KEDA owns spec.replicas (the number of groups)"
    assert one(docs, "ScaledObject")["spec"]["minReplicaCount"] >= 1


def test_pods_of_a_model_may_reach_each_other(docs):
    lws = one(docs, "LeaderWorkerSet")
    group_policies = []
    for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
        for rule in policy["spec"].get("ingress") or []:
            peers = [
                p["podSelector"].get("matchLabels") or {}
                for p in rule.get("from") or []
                if "podSelector" in p and "namespaceSelector" not in p
            ]
            open_ports = all("port" not in p for p in rule.get("ports") or [])
            if open_ports and any(
                all(_selects(peer, t["metadata"]["labels"]) for t in templates(lws).values())
                for peer in peers
            ):
                group_policies.append(policy["metadata"]["name"])
    assert group_policies, "no NetworkPolicy admits leader <-> worker traffic on every port"


def _selects_all(selector: dict, labels: dict) -> bool:
    """A NetworkPolicy podSelector (matchLabels only here) matches these pod labels; an
    empty selector matches every pod."""
    return all(
        labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()
    ) and not selector.get("matchExpressions")


def _isolating(docs: list[dict], labels: dict, direction: str) -> list[dict]:
    """The NetworkPolicies that isolate pods with these labels for Ingress or Egress."""
    return [
        p
        for p in docs
        if p["kind"] == "NetworkPolicy"
        and direction in (p["spec"].get("policyTypes") or ["Ingress"])
        and _selects_all(p["spec"].get("podSelector") or {}, labels)
    ]


def _admits_every_tcp_port(rules: list[dict], key: str, peer_labels: dict) -> bool:
    for rule in rules:
        peers = [p for p in rule.get(key) or [] if "podSelector" in p and "namespaceSelector" not in p]
        open_ports = all(
            "port" not in p and p.get("protocol", "TCP") == "TCP" for p in rule.get("ports") or []
        )
        if open_ports and any(_selects_all(p["podSelector"], peer_labels) for p in peers):
            return True
    return False


def group_traffic_problems(docs: list[dict]) -> list[str]:
    """Why the pods of a group could not open connections to each other on any TCP port
    (vLLM's store, message queues and NCCL pick ports at run time), given the model's
    NetworkPolicies ([] when they can). Policies add up: a direction is open when no policy
    isolates the pod for it, or when one of the isolating policies admits the peer."""
    problems = []
    roles = {r: t["metadata"]["labels"] for r, t in templates(one(docs, "LeaderWorkerSet")).items()}
    for src, src_labels in roles.items():
        for dst, dst_labels in roles.items():
            egress = _isolating(docs, src_labels, "Egress")
            if egress and not _admits_every_tcp_port(
                [r for p in egress for r in p["spec"].get("egress") or []], "to", dst_labels
            ):
                problems.append(
                    f"egress {src} -> {dst} blocked by {sorted(p['metadata']['name'] for p in egress)}"
                )
            ingress = _isolating(docs, dst_labels, "Ingress")
            if ingress and not _admits_every_tcp_port(
                [r for p in ingress for r in p["spec"].get("ingress") or []], "from", src_labels
            ):
                problems.append(
                    f"ingress {src} -> {dst} blocked by {sorted(p['metadata']['name'] for p in ingress)}"
                )
    return problems


def test_group_traffic_passes_the_network_policies_both_ways(docs):
    """The overlays isolate their pods for ingress and egress (network-policy and
    egress-policy, multi-node flavours), and the pods of a group still reach each other."""
    lws_labels = templates(one(docs, "LeaderWorkerSet"))["leader"]["metadata"]["labels"]
    assert _isolating(docs, lws_labels, "Egress"), "no egress policy on the model's pods"
    assert _isolating(docs, lws_labels, "Ingress"), "no ingress policy on the model's pods"
    assert group_traffic_problems(docs) == []


@pytest.mark.parametrize(
    "dropped, expected",
    [
        ("-group-egress", "egress leader -> worker blocked"),
        ("-group", "ingress leader -> worker blocked"),
    ],
)
def test_group_traffic_check_catches_a_missing_policy(docs, dropped, expected):
    """The single-node egress-policy alone (or network-policy alone) would stop a group
    from forming: the check says so."""
    kept = [d for d in docs if not (d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith(dropped))]
    assert len(kept) == len(docs) - 1
    assert any(expected in p for p in group_traffic_problems(kept)), group_traffic_problems(kept)


def test_alerts_watch_the_leader_statefulset(docs):
    lws = one(docs, "LeaderWorkerSet")
    rule = one(docs, "PrometheusRule")
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert not any("SERVED_MODEL_NAME" in e or "kube_deployment_" in e for e in exprs)
    assert sum(f'statefulset="{lws["metadata"]["name"]}"' in e for e in exprs) == 2


def test_validates_against_the_vendored_leaderworkerset_schema(tmp_path):
    """The rendered overlays, the LeaderWorkerSet included, against the schemas; and a
    LeaderWorkerSet with a wrong field type is rejected, so the schema is really used."""
    assert LWS_SCHEMA.is_file(), (
        f"{LWS_SCHEMA.relative_to(REPO_ROOT)} is missing: the LeaderWorkerSet CRD schema "
        "is vendored into schemas/crds/ with the other CRD schemas"
    )
    llmfleet = REPO_ROOT / ".venv" / "bin" / "llmfleet"
    require(llmfleet.is_file(), "llmfleet not installed in .venv (make setup)")
    command = [str(llmfleet), "validate", "--validator", "jsonschema", "--schema-location", SCHEMA_LOCATION]
    for name in OVERLAYS:
        result = subprocess.run(
            [*command, str(REPO_ROOT / "overlays" / name)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"
        broken = render(REPO_ROOT / "overlays" / name)
        one(broken, "LeaderWorkerSet")["spec"]["leaderWorkerTemplate"]["size"] = "two"
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(broken))
        result = subprocess.run(
            [*command, str(path)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 1 and "/spec/leaderWorkerTemplate/size" in result.stdout, (
            result.stdout + result.stderr
        )


def test_component_patches_refuse_a_reordered_template(tmp_path):
    """The components' JSON patches on the LeaderWorkerSet address container 0 and
    volume 0; their `test` operations make kustomize fail instead of patching the
    wrong item when that order changes."""
    name = OVERLAYS[0]
    for folder in ("base", MULTINODE_BASE, "components"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    shutil.copytree(REPO_ROOT / "overlays" / name, tmp_path / "overlays" / name)
    lws_file = tmp_path / MULTINODE_BASE / "leaderworkerset.yaml"
    lws = yaml.safe_load(lws_file.read_text())
    worker = lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    worker["volumes"].append(worker["volumes"].pop(0))  # model-cache no longer first
    lws_file.write_text(yaml.safe_dump(lws))
    result = kustomize(tmp_path / "overlays" / name)
    assert result.returncode != 0
    assert "volumes/0/name" in result.stderr, result.stderr


def _gpus_per_replica(docs: list[dict]) -> int:
    """GPUs of one replica: a Deployment's pod, or a LeaderWorkerSet's group of pods."""
    for d in docs:
        if d["kind"] == "Deployment":
            return sum(gpus(c)[0] for c in d["spec"]["template"]["spec"]["containers"])
        if d["kind"] == "LeaderWorkerSet":
            lwt = d["spec"]["leaderWorkerTemplate"]
            per_pod = {
                role: sum(gpus(c)[0] for c in t["spec"]["containers"]) for role, t in templates(d).items()
            }
            return per_pod["leader"] + per_pod["worker"] * (int(lwt.get("size", 1)) - 1)
    return 0


def test_platform_gpu_quota_holds_the_fleet_with_multinode_groups():
    """platform/resource-quota.yaml: the sum over the overlays of maxReplicaCount x GPUs
    per replica (a whole group for a LeaderWorkerSet) plus one rollout unit (the largest
    replica: maxSurge 1 everywhere) fits the namespace's GPU quota."""
    total, largest = 0, 0
    for kustomization in sorted((REPO_ROOT / "overlays").glob("*/kustomization.yaml")):
        rendered = render(kustomization.parent)
        per_replica = _gpus_per_replica(rendered)
        total += per_replica * int(one(rendered, "ScaledObject")["spec"]["maxReplicaCount"])
        largest = max(largest, per_replica)
    quota = one(render(REPO_ROOT / "platform"), "ResourceQuota", "gpu")
    hard = int(quota["spec"]["hard"]["requests.nvidia.com/gpu"])
    assert total + largest <= hard, f"fleet {total} + rollout {largest} > quota {hard}"
    assert largest == max(
        _gpus_per_replica(_RENDERED.get(n) or render(REPO_ROOT / "overlays" / n)) for n in OVERLAYS
    )
