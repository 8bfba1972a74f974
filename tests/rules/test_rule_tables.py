"""Edge-case tables for the rules issue 23 added or generalised (yamllint style: one row per
case, what the rule must report, or nothing)."""

from __future__ import annotations

import json

import pytest

from llmfleet.pipeline.lint.engine import RuleSet
from rules_helpers import lint_text

FOREIGN = RuleSet.configure(preset="foreign")
FLEET = RuleSet.configure(preset="fleet")
C0 = "/spec/template/spec/containers/0"


def deployment(container: dict, name: str = "m", spec: dict | None = None, pod: dict | None = None) -> str:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "llm"},
        "spec": {**(spec or {}), "template": {"spec": {**(pod or {}), "containers": [container]}}},
    }
    return json.dumps(body)


def doc(kind: str, name: str, spec: dict, api: str = "v1", **meta) -> str:
    return json.dumps(
        {
            "apiVersion": api,
            "kind": kind,
            "metadata": {"name": name, "namespace": "llm", **meta},
            "spec": spec,
        }
    )


def found(text: str, rule: str, rules: RuleSet = FOREIGN) -> set[tuple[str, str, str]]:
    return {
        (f.severity.value, f"{f.kind}/{f.name}", f.path)
        for f in lint_text(text, rules=rules)
        if f.rule == rule
    }


VLLM = {"name": "vllm", "image": "vllm/vllm-openai:v0.33.0", "args": ["Qwen/Qwen3-8B"]}
SGLANG = {
    "name": "sglang",
    "image": "lmsysorg/sglang:v0.5.5",
    "command": ["python3", "-m", "sglang.launch_server"],
    "args": ["--model-path", "meta-llama/Llama-3.1-8B-Instruct", "--port", "30000"],
}
LB = doc("Service", "svc", {"type": "LoadBalancer", "selector": {"app": "m"}})
NODEPORT = doc("Service", "svc", {"type": "NodePort", "selector": {"app": "m"}})
HEADLESS_ROUTE = "\n---\n".join(
    [
        doc("Service", "svc", {"clusterIP": "None", "selector": {"app": "m"}}),
        doc(
            "Route",
            "r",
            {"to": {"kind": "Service", "name": "svc"}, "tls": {"termination": "edge"}},
            api="route.openshift.io/v1",
        ),
    ]
)
LABELLED = {"metadata": {"labels": {"app": "m"}}}


def labelled(container: dict, **kw) -> str:
    body = json.loads(deployment(container, **kw))
    body["spec"]["template"]["metadata"] = {"labels": {"app": "m"}}
    return json.dumps(body)


AUTH = [
    (
        "vLLM behind a LoadBalancer, no key",
        labelled(VLLM) + "\n---\n" + LB,
        {("error", "Service/svc", "/spec/type")},
    ),
    (
        "vLLM behind a NodePort: a warning",
        labelled(VLLM) + "\n---\n" + NODEPORT,
        {("warning", "Service/svc", "/spec/type")},
    ),
    (
        "vLLM with VLLM_API_KEY from a Secret",
        labelled(
            {
                **VLLM,
                "env": [{"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}}],
            }
        )
        + "\n---\n"
        + LB,
        set(),
    ),
    (
        "SGLang behind a LoadBalancer, no --api-key",
        labelled(SGLANG) + "\n---\n" + LB,
        {("error", "Service/svc", "/spec/type")},
    ),
    (
        "SGLang with --api-key",
        labelled({**SGLANG, "args": [*SGLANG["args"], "--api-key", "$(KEY)"]}) + "\n---\n" + LB,
        set(),
    ),
    (
        "Ollama through an OpenShift Route (no auth exists)",
        labelled({"name": "ollama", "image": "ollama/ollama:0.5.7"}) + "\n---\n" + HEADLESS_ROUTE,
        {("error", "Route/r", "/spec/to/name")},
    ),
    (
        "TGI through a Route with API_KEY",
        labelled(
            {
                "name": "tgi",
                "image": "ghcr.io/huggingface/text-generation-inference:3.3.4",
                "env": [{"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}}],
            }
        )
        + "\n---\n"
        + HEADLESS_ROUTE,
        set(),
    ),
    (
        "a ClusterIP Service",
        labelled(SGLANG) + "\n---\n" + doc("Service", "svc", {"selector": {"app": "m"}}),
        set(),
    ),
    (
        "a router image is not a server",
        labelled({"name": "r", "image": "aibrix/sglang-router:v0.1.6"}) + "\n---\n" + LB,
        set(),
    ),
]


@pytest.mark.parametrize("text,expected", [c[1:] for c in AUTH], ids=[c[0] for c in AUTH])
def test_auth_exposed(text, expected):
    assert found(text, "auth-exposed") == expected


def probe(path="/health", delay=0, period=10, failures=3, port=8000):
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": delay,
        "periodSeconds": period,
        "failureThreshold": failures,
    }


STARTUP = [
    (
        "8 B: 300 s covers ~ 210 s",
        {**VLLM, "args": ["meta-llama/Llama-3.1-8B-Instruct"], "startupProbe": probe(failures=30)},
        set(),
    ),
    (
        "8 B: 150 s is short but above half: warning",
        {**VLLM, "args": ["meta-llama/Llama-3.1-8B-Instruct"], "startupProbe": probe(period=5, failures=30)},
        {("warning", "Deployment/m", f"{C0}/startupProbe")},
    ),
    (
        "8 B: 60 s restarts it: error",
        {**VLLM, "args": ["meta-llama/Llama-3.1-8B-Instruct"], "startupProbe": probe(failures=6)},
        {("error", "Deployment/m", f"{C0}/startupProbe")},
    ),
    (
        "OPT-1.3B: 270 s is plenty",
        {**VLLM, "args": ["facebook/opt-1.3b"], "startupProbe": probe(failures=27)},
        set(),
    ),
    (
        "SmolLM2-135M: 150 s is plenty",
        {**VLLM, "args": ["HuggingFaceTB/SmolLM2-135M"], "startupProbe": probe(failures=15)},
        set(),
    ),
    (
        "70 B downloaded at every start: 600 s, under half of ~ 24 min: error",
        {**VLLM, "args": ["meta-llama/Llama-3.3-70B-Instruct"], "startupProbe": probe(failures=60)},
        {("error", "Deployment/m", f"{C0}/startupProbe")},
    ),
    (
        "70 B downloaded: 1000 s: warning",
        {**VLLM, "args": ["meta-llama/Llama-3.3-70B-Instruct"], "startupProbe": probe(failures=100)},
        {("warning", "Deployment/m", f"{C0}/startupProbe")},
    ),
    (
        "unknown size: 300 s is only a warning",
        {**VLLM, "args": ["/models/x"], "startupProbe": probe(failures=30)},
        {("warning", "Deployment/m", f"{C0}/startupProbe")},
    ),
    ("no startup, no readiness: warning", VLLM, {("warning", "Deployment/m", C0)}),
    ("readiness only: not this rule's", {**VLLM, "readinessProbe": probe()}, set()),
    ("SGLang without probes: warning", SGLANG, {("warning", "Deployment/m", C0)}),
    ("Ollama listens before loading: not judged", {"name": "ollama", "image": "ollama/ollama:0.5.7"}, set()),
]


@pytest.mark.parametrize("container,expected", [c[1:] for c in STARTUP], ids=[c[0] for c in STARTUP])
def test_probe_startup(container, expected):
    assert found(deployment(container), "probe-startup") == expected


def test_probe_startup_not_on_kserve_runtime():
    runtime = doc(
        "ServingRuntime",
        "rt",
        {"containers": [{**VLLM, "name": "kserve-container"}]},
        api="serving.kserve.io/v1alpha1",
    )
    assert found(runtime, "probe-startup") == set()


LIVENESS = [
    (
        "SGLang: liveness from 30 s, 3 x 10 s, 8 B model: error",
        {**SGLANG, "livenessProbe": probe(delay=30)},
        {("error", "Deployment/m", f"{C0}/livenessProbe")},
    ),
    (
        "8 B: 200 s window without a startup probe: warning",
        {**VLLM, "args": ["meta-llama/Llama-3.1-8B-Instruct"], "livenessProbe": probe(delay=170)},
        {("warning", "Deployment/m", f"{C0}/livenessProbe")},
    ),
    (
        "guarded by a startup probe, 60 s tolerance",
        {**VLLM, "startupProbe": probe(failures=60), "livenessProbe": probe(failures=6)},
        set(),
    ),
    (
        "guarded, but 15 s tolerance: warning",
        {**VLLM, "startupProbe": probe(failures=60), "livenessProbe": probe(period=5)},
        {("warning", "Deployment/m", f"{C0}/livenessProbe")},
    ),
    (
        "Ollama answers during the load",
        {
            "name": "ollama",
            "image": "ollama/ollama:0.5.7",
            "livenessProbe": probe(path="/", period=100, port=11434),
        },
        set(),
    ),
]


@pytest.mark.parametrize("container,expected", [c[1:] for c in LIVENESS], ids=[c[0] for c in LIVENESS])
def test_probe_liveness(container, expected):
    assert found(deployment(container), "probe-liveness") == expected


def test_probe_liveness_in_a_kserve_runtime_counts():
    tgi = {
        "name": "kserve-container",
        "image": "ghcr.io/huggingface/text-generation-inference:1.4.0",
        "command": ["text-generation-launcher"],
        "livenessProbe": {"exec": {"command": ["curl", "localhost:3000/health"]}, "initialDelaySeconds": 30},
    }
    runtime = doc("ServingRuntime", "rt", {"containers": [tgi]}, api="serving.kserve.io/v1alpha1")
    assert found(runtime, "probe-liveness") == {
        ("error", "ServingRuntime/rt", "/spec/containers/0/livenessProbe")
    }


HELM = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "vllm"}
SERVICE_LINKS = [
    # (case, Service spec, Service labels, pod spec, expected): reported on the Service's name
    ("a Service named vllm", {}, {}, None, {("error", "Service/vllm", "/metadata/name")}),
    ("ClusterIP type", {"type": "ClusterIP"}, {}, None, {("error", "Service/vllm", "/metadata/name")}),
    ("headless", {"clusterIP": "None"}, {}, None, set()),
    ("ExternalName", {"type": "ExternalName", "externalName": "x.example"}, {}, None, set()),
    ("pods turn service links off", {}, {}, {"enableServiceLinks": False}, set()),
    ("Helm release named vllm", {}, HELM, None, {("warning", "Service/vllm", "/metadata/name")}),
    (
        "Helm labels, instance is another name",
        {},
        {**HELM, "app.kubernetes.io/instance": "chat"},
        None,
        {("error", "Service/vllm", "/metadata/name")},
    ),
    (
        "release-named, not Helm-managed",
        {},
        {"app.kubernetes.io/instance": "vllm"},
        None,
        {("error", "Service/vllm", "/metadata/name")},
    ),
]


@pytest.mark.parametrize(
    "svc_spec,labels,pod,expected",
    [c[1:] for c in SERVICE_LINKS],
    ids=[c[0] for c in SERVICE_LINKS],
)
def test_vllm_service_links(svc_spec, labels, pod, expected):
    meta = {"labels": labels} if labels else {}
    text = deployment(VLLM, pod=pod) + "\n---\n" + doc("Service", "vllm", svc_spec, **meta)
    assert found(text, "vllm-service-links") == expected


def test_vllm_service_links_in_another_namespace_is_fine():
    service = json.loads(doc("Service", "vllm", {}))
    service["metadata"]["namespace"] = "other"
    text = deployment(VLLM) + "\n---\n" + json.dumps(service)
    assert found(text, "vllm-service-links") == set()


GPU_MISSING = [
    ("OPEA's CPU build opea/vllm", {**VLLM, "image": "opea/vllm:1.2"}, set()),
    (
        "CPU backend settings in env",
        {
            **VLLM,
            "image": "example.org/vllm-custom:1",
            "env": [{"name": "VLLM_CPU_KVCACHE_SPACE", "value": "4"}],
        },
        set(),
    ),
    ("CUDA image, no GPU", {**VLLM}, {("error", "Deployment/m", C0)}),
    ("CPU build by name", {**VLLM, "image": "quay.io/rh-aiservices-bu/vllm-cpu-openai-ubi9:0.3"}, set()),
    ("--device cpu", {**VLLM, "args": ["Qwen/Qwen3-8B", "--device", "cpu"]}, set()),
    (
        "Gaudi by --device hpu, known by its options",
        {
            "name": "s",
            "image": "intel/redhat-ai-services:1.20.0",
            "args": [
                "--model=x/y",
                "--device",
                "hpu",
                "--max-model-len",
                "6144",
                "--tensor-parallel-size",
                "1",
            ],
            "resources": {"limits": {"habana.ai/gaudi": 1}},
        },
        set(),
    ),
]


@pytest.mark.parametrize("container,expected", [c[1:] for c in GPU_MISSING], ids=[c[0] for c in GPU_MISSING])
def test_gpu_missing(container, expected):
    assert found(deployment(container), "gpu-missing") == expected


def scaled(query: str, metric_type: str | None = None, extra: str = "") -> str:
    trigger = {
        "type": "prometheus",
        "metadata": {"serverAddress": "http://p:9090", "threshold": "5", "query": query},
    }
    if metric_type:
        trigger["metricType"] = metric_type
    so = doc(
        "ScaledObject", "m", {"scaleTargetRef": {"name": "m"}, "triggers": [trigger]}, api="keda.sh/v1alpha1"
    )
    return (
        deployment({**VLLM, "args": ["Qwen/Qwen3-8B", "--served-model-name", "qwen"]})
        + "\n---\n"
        + so
        + extra
    )


AVERAGED = [
    ("avg under the default AverageValue", "avg(DCGM_FI_DEV_GPU_UTIL)", None, True),
    ("(avg(...)) in parentheses", "(avg(x))", None, True),
    ("sum/count", "sum(x) / count(x)", None, True),
    ("avg under Value", "avg(DCGM_FI_DEV_GPU_UTIL)", "Value", False),
    ("a total", 'sum(vllm:num_requests_waiting{model_name="qwen", namespace="llm"})', None, False),
    ("max", "max(x)", None, False),
]


@pytest.mark.parametrize(
    "query,metric_type,reported", [c[1:] for c in AVERAGED], ids=[c[0] for c in AVERAGED]
)
def test_scaler_averaged_query(query, metric_type, reported):
    got = found(scaled(query, metric_type), "scaler-averaged-query")
    assert got == ({("error", "ScaledObject/m", "/spec/triggers/0/metadata/query")} if reported else set())


OTHER = "\n---\n" + deployment(
    {**VLLM, "args": ["Qwen/Qwen3-14B", "--served-model-name", "other"]}, name="other"
)
SCOPE = [
    (
        "no model_name, alone in the namespace: warning",
        'sum(vllm:num_requests_waiting{namespace="llm"})',
        "",
        "warning",
    ),
    (
        "no model_name, another model beside it: error",
        'sum(vllm:num_requests_waiting{namespace="llm"})',
        OTHER,
        "error",
    ),
    ("scoped", 'sum(vllm:num_requests_waiting{model_name="qwen", namespace="llm"})', OTHER, None),
    (
        "one series per pod: error whatever else",
        'vllm:num_requests_waiting{model_name="qwen", namespace="llm"}',
        "",
        "error",
    ),
    # The survivors of issue 26's mutation run, each a case of its own:
    (
        "sum by (pod): one element per pod, an error",
        'sum by (pod)(vllm:num_requests_waiting{model_name="qwen", namespace="llm"})',
        "",
        "error",
    ),
    (
        "a regex that matches only part of the name does not scope it",
        'sum(vllm:num_requests_waiting{model_name=~"qwe", namespace="llm"})',
        OTHER,
        "error",
    ),
    (
        "a regex that fully matches the name scopes it",
        'sum(vllm:num_requests_waiting{model_name=~"qw.*", namespace="llm"})',
        OTHER,
        None,
    ),
    (
        "the right-hand side of a binary expression is checked too",
        'sum(vllm:num_requests_waiting{model_name="qwen", namespace="llm"})'
        ' / sum(vllm:num_requests_running{namespace="llm"})',
        OTHER,
        "error",
    ),
    (
        "both sides scoped",
        'sum(vllm:num_requests_waiting{model_name="qwen", namespace="llm"})'
        ' / sum(vllm:num_requests_running{model_name="qwen", namespace="llm"})',
        OTHER,
        None,
    ),
    (
        "the namespace's value must be the ScaledObject's own",
        'sum(vllm:num_requests_waiting{model_name="qwen", namespace="prod"})',
        OTHER,
        "error",
    ),
    (
        "no namespace, one model in the input: a warning",
        'sum(vllm:num_requests_waiting{model_name="qwen"})',
        "",
        "warning",
    ),
]


@pytest.mark.parametrize("query,extra,severity", [c[1:] for c in SCOPE], ids=[c[0] for c in SCOPE])
def test_scaler_query_scope(query, extra, severity):
    got = found(scaled(query, extra=extra), "scaler-query-scope")
    assert got == ({(severity, "ScaledObject/m", "/spec/triggers/0/metadata/query")} if severity else set())


RECREATE = [
    ("Recreate, replicas 1", {"replicas": 1, "strategy": {"type": "Recreate"}}, "", False),
    ("Recreate, replicas 3", {"replicas": 3, "strategy": {"type": "Recreate"}}, "", True),
    ("Recreate, KEDA max 4", {"strategy": {"type": "Recreate"}}, "keda", True),
    ("RollingUpdate, KEDA max 4", {}, "keda", False),
]


@pytest.mark.parametrize("spec,scaler,reported", [c[1:] for c in RECREATE], ids=[c[0] for c in RECREATE])
def test_scaler_recreate(spec, scaler, reported):
    text = deployment(VLLM, spec=spec)
    if scaler:
        text += "\n---\n" + doc(
            "ScaledObject",
            "s",
            {"scaleTargetRef": {"name": "m"}, "maxReplicaCount": 4, "triggers": []},
            api="keda.sh/v1alpha1",
        )
    assert found(text, "scaler-recreate") == (
        {("error", "Deployment/m", "/spec/strategy/type")} if reported else set()
    )


def test_scaler_replicas_under_an_hpa():
    hpa = doc(
        "HorizontalPodAutoscaler",
        "h",
        {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "m"}, "maxReplicas": 3},
        api="autoscaling/v2",
    )
    assert found(deployment(VLLM, spec={"replicas": 1}) + "\n---\n" + hpa, "scaler-replicas") == {
        ("warning", "Deployment/m", "/spec/replicas")
    }
    assert found(deployment(VLLM) + "\n---\n" + hpa, "scaler-replicas") == set()


def env(name: str, value=None, secret=False) -> dict:
    return (
        {"name": name, "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
        if secret
        else {"name": name, "value": value}
    )


GATED = [
    ("meta-llama without token", ["meta-llama/Llama-3.1-8B-Instruct"], [], {}, "error"),
    (
        "mistralai, empty HUGGING_FACE_HUB_TOKEN",
        ["--model", "mistralai/Mistral-7B-Instruct-v0.2"],
        [env("HUGGING_FACE_HUB_TOKEN", "")],
        {},
        "error",
    ),
    ("gemma with HF_TOKEN from a Secret", ["google/gemma-3-1b-it"], [env("HF_TOKEN", secret=True)], {}, None),
    ("not gated", ["Qwen/Qwen3-0.6B"], [], {}, None),
    ("a local path", ["/mnt/models"], [], {}, None),
    ("HF_HUB_OFFLINE=1", ["meta-llama/Llama-3.1-8B-Instruct"], [env("HF_HUB_OFFLINE", "1")], {}, None),
    (
        "envFrom may hold it",
        ["meta-llama/Llama-3.1-8B-Instruct"],
        [],
        {"envFrom": [{"secretRef": {"name": "hf"}}]},
        None,
    ),
]


@pytest.mark.parametrize("args,envs,extra,severity", [c[1:] for c in GATED], ids=[c[0] for c in GATED])
def test_gated_model_token(args, envs, extra, severity):
    container = {**VLLM, "args": args, **({"env": envs} if envs else {}), **extra}
    got = found(deployment(container), "gated-model-token")
    path = f"{C0}/env/0" if envs and severity else C0
    assert got == ({(severity, "Deployment/m", path)} if severity else set())


VISIBLE = [
    # CUDA makes visible only the indices before the first invalid one (CUDA Programming Guide)
    ("0,1 for 2 GPUs", "0,1", 2, [], None),
    ("0,1,2,3 for 1 GPU, one GPU needed: CUDA sees device 0", "0,1,2,3", 1, [], "warning"),
    (
        "0,1,2,3 for 1 GPU and tensor parallel 4: fails",
        "0,1,2,3",
        1,
        ["--tensor-parallel-size", "4"],
        "error",
    ),
    ("index 1 for 1 GPU: CUDA sees none", "1", 1, [], "error"),
    ("1,0 for 1 GPU: the first index is invalid", "1,0", 1, [], "error"),
    ("a UUID", "GPU-1234", 1, [], None),
    ("a reference", "$(DEVICES)", 1, [], None),
    ("no GPU requested (gpu-missing's)", "0", 0, [], None),
]


@pytest.mark.parametrize("value,gpus,args,severity", [c[1:] for c in VISIBLE], ids=[c[0] for c in VISIBLE])
def test_gpu_visible_devices(value, gpus, args, severity):
    container = {
        **VLLM,
        "args": [*VLLM["args"], *args],
        "env": [env("CUDA_VISIBLE_DEVICES", value)],
        "resources": {"limits": {"nvidia.com/gpu": gpus}} if gpus else {},
    }
    got = found(deployment(container), "gpu-visible-devices")
    assert got == ({(severity, "Deployment/m", f"{C0}/env/0")} if severity else set())


UNPINNED = [
    ("sglang:latest", "lmsysorg/sglang:latest", True),
    ("sglang without a tag", "lmsysorg/sglang", True),
    ("sglang release", "lmsysorg/sglang:v0.5.5.post3-cu129-amd64", False),
    ("NIM :latest", "nvcr.io/nim/nvidia/llama-3.3-nemotron-super-49b-v1.5:latest", True),
    ("a digest", "lmsysorg/sglang@sha256:" + "0" * 64, False),
    ("a placeholder", "$(IMAGE)", False),
]


@pytest.mark.parametrize("image,reported", [c[1:] for c in UNPINNED], ids=[c[0] for c in UNPINNED])
def test_server_image_unpinned(image, reported):
    got = found(deployment({**SGLANG, "image": image}), "server-image-unpinned")
    assert got == ({("error", "Deployment/m", f"{C0}/image")} if reported else set())


LOCALAI = {"name": "local-ai", "image": "localai/localai:latest"}
UNPINNED_SEVERITY = [
    # (case, container, severity): an error when the manifest passes the server options a
    # release can rename or drop, a warning when it runs on the image's defaults and env
    ("SGLang with flags", {**SGLANG, "image": "lmsysorg/sglang:latest"}, "error"),
    ("LocalAI on its defaults", LOCALAI, "warning"),
    ("LocalAI with env only", {**LOCALAI, "env": [{"name": "THREADS", "value": "4"}]}, "warning"),
    ("LocalAI with an args option", {**LOCALAI, "args": ["--threads", "4"]}, "error"),
    ("LocalAI with a positional model only", {**LOCALAI, "args": ["phi-2"]}, "warning"),
    (
        "an option inside sh -c",
        {**LOCALAI, "command": ["sh", "-c"], "args": ["local-ai run --address :8080"]},
        "error",
    ),
    ("sh -c with no option", {**LOCALAI, "command": ["sh", "-c", "local-ai"]}, "warning"),
]


@pytest.mark.parametrize(
    "container,severity", [c[1:] for c in UNPINNED_SEVERITY], ids=[c[0] for c in UNPINNED_SEVERITY]
)
def test_server_image_unpinned_severity(container, severity):
    assert found(deployment(container), "server-image-unpinned") == {
        (severity, "Deployment/m", f"{C0}/image")
    }


SVC = doc("Service", "decode", {"selector": {"a": "b"}, "ports": [{"port": 8000}]})
REFERENCES = [
    ("defined, right port", {"name": "DECODE", "value": "http://decode:8000"}, SVC, False),
    ("defined, wrong port", {"name": "DECODE", "value": "http://decode:9000"}, SVC, True),
    ("undefined", {"name": "DECODE", "value": "http://decodr:8000"}, SVC, True),
    (
        "undefined, but the input defines no Service: not judged",
        {"name": "DECODE", "value": "http://decodr:8000"},
        "",
        False,
    ),
    (
        "another namespace the input does not hold",
        {"name": "P", "value": "http://prometheus.monitoring:9090"},
        SVC,
        False,
    ),
    ("a run-time reference", {"name": "P", "value": "http://$(LEADER_ADDRESS):8000"}, SVC, False),
    ("outside the cluster", {"name": "P", "value": "https://api.example.com/v1"}, SVC, False),
]


@pytest.mark.parametrize("item,extra,reported", [c[1:] for c in REFERENCES], ids=[c[0] for c in REFERENCES])
def test_service_reference(item, extra, reported):
    text = deployment({**VLLM, "env": [item]}) + ("\n---\n" + extra if extra else "")
    got = found(text, "service-reference")
    assert got == ({("warning", "Deployment/m", f"{C0}/env/0/value")} if reported else set())


SECRETS = [
    (
        "SGLang --api-key literal",
        [*SGLANG["args"], "--api-key", "sk-abcdefghijklmnop1234"],
        {("error", "Deployment/m", f"{C0}/args/4")},
    ),
    (
        "SGLang --api-key=literal",
        [*SGLANG["args"], "--api-key=sk-abcdefghijklmnop1234"],
        {("error", "Deployment/m", f"{C0}/args/4")},
    ),
    ("SGLang --api-key from an env var", [*SGLANG["args"], "--api-key", "$(API_KEY)"], set()),
    ("SGLang without a key", SGLANG["args"], set()),
]


@pytest.mark.parametrize("args,expected", [c[1:] for c in SECRETS], ids=[c[0] for c in SECRETS])
def test_secret_literal_in_other_servers(args, expected):
    assert found(deployment({**SGLANG, "args": args}), "secret-literal") == expected


def workspace(instance: str, vllm: dict | None, count: int | None = None) -> str:
    cm = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "p"},
            "data": {"inference_config.yaml": json.dumps({"vllm": vllm})},
        }
    )
    ws = {
        "apiVersion": "kaito.sh/v1beta1",
        "kind": "Workspace",
        "metadata": {"name": "ws"},
        "resource": {"instanceType": instance, **({"count": count} if count else {})},
        "inference": {"config": "p"},
    }
    return cm + "\n---\n" + json.dumps(ws)


INSTANCES = [
    ("TP 2 on one A100", "Standard_NC24ads_A100_v4", {"tensor-parallel-size": 2}, None, True),
    ("TP 2 on two A100s", "Standard_NC48ads_A100_v4", {"tensor-parallel-size": 2}, None, False),
    ("underscored key", "Standard_NC24ads_A100_v4", {"tensor_parallel_size": 4}, None, True),
    ("TP 1 x PP 2 over two nodes", "Standard_NC24ads_A100_v4", {"pipeline-parallel-size": 2}, 2, False),
    ("TP 1 x PP 2 on one node", "Standard_NC24ads_A100_v4", {"pipeline-parallel-size": 2}, None, True),
    ("an instance type not in the table", "Standard_Unknown", {"tensor-parallel-size": 8}, None, False),
    ("no vLLM settings", "Standard_NC24ads_A100_v4", None, None, False),
]


@pytest.mark.parametrize(
    "instance,vllm,count,reported", [c[1:] for c in INSTANCES], ids=[c[0] for c in INSTANCES]
)
def test_instance_parallelism(instance, vllm, count, reported):
    got = found(workspace(instance, vllm, count), "instance-parallelism")
    assert got == ({("error", "Workspace/ws", "/inference/config")} if reported else set())


SIZED = [
    ("Qwen3-0.6B: no cache, no GPU type demanded", "Qwen/Qwen3-0.6B", set(), set()),
    ("SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M", set(), set()),
    ("gemma-3-1b", "google/gemma-3-1b-it", set(), set()),
    (
        "Llama-3.1-8B: both",
        "meta-llama/Llama-3.1-8B-Instruct",
        {("warning", "Deployment/m", C0)},
        {("warning", "Deployment/m", "/spec/template/spec")},
    ),
    (
        "a size the name does not tell: both",
        "org/secret-model",
        {("warning", "Deployment/m", C0)},
        {("warning", "Deployment/m", "/spec/template/spec")},
    ),
]


@pytest.mark.parametrize("model_id,cache,selection", [c[1:] for c in SIZED], ids=[c[0] for c in SIZED])
def test_cache_and_gpu_type_scale_with_the_model(model_id, cache, selection):
    text = deployment({**VLLM, "args": [model_id], "resources": {"limits": {"nvidia.com/gpu": 1}}})
    assert found(text, "model-cache") == cache
    assert found(text, "gpu-node-selection") == selection


def test_probe_startup_with_weights_on_a_volume_needs_less():
    container = {
        **VLLM,
        "args": ["meta-llama/Llama-3.3-70B-Instruct", "--download-dir", "/cache"],
        "startupProbe": probe(failures=90),
        "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
    }
    pod = {"volumes": [{"name": "cache", "persistentVolumeClaim": {"claimName": "hf"}}]}
    assert found(deployment(container, pod=pod), "probe-startup") == set()  # 900 s ≥ 120 + 4 × 131
    # The same window with the weights downloaded at every start (≈ 1430 s): short, a warning.
    assert found(deployment({**container, "volumeMounts": []}), "probe-startup") == {
        ("warning", "Deployment/m", f"{C0}/startupProbe")
    }


SECRET_ENTRIES = [
    ("a token under a token key", {"HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz"}, "error"),
    ("a password key", {"db-password": "hunter2hunter2"}, "error"),
    ("a token-like value under any key", {"value": "sk-abcdefghijklmnop1234567890"}, "error"),
    (
        "a URL and a client id: may be settings, a warning",
        {"serverAddress": "https://prom.example.com", "identityId": "d42099fb-9808"},
        "warning",
    ),
]


@pytest.mark.parametrize("data,severity", [c[1:] for c in SECRET_ENTRIES], ids=[c[0] for c in SECRET_ENTRIES])
def test_secret_entries(data, severity):
    got = found(
        doc("Secret", "s", {}).replace(
            '"spec": {}', json.dumps("stringData")[:-1] + '": ' + json.dumps(data)
        ),
        "secret-literal",
    )
    assert got and {sev for sev, _, _ in got} == {severity}


def test_gpu_shm_not_demanded_in_kuberay_fleets():
    fleet = {
        "apiVersion": "orchestration.aibrix.ai/v1alpha1",
        "kind": "RayClusterFleet",
        "metadata": {"name": "f"},
        "spec": {
            "template": {
                "spec": {
                    "headGroupSpec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "head",
                                        "image": "vllm/vllm-openai:v0.7.1",
                                        "command": [
                                            "vllm",
                                            "serve",
                                            "Qwen/Qwen2.5-Coder-7B-Instruct",
                                            "--tensor-parallel-size",
                                            "2",
                                            "--distributed-executor-backend",
                                            "ray",
                                        ],
                                        "resources": {"limits": {"nvidia.com/gpu": 1}},
                                    }
                                ]
                            }
                        }
                    }
                }
            }
        },
    }
    text = json.dumps(fleet)
    assert found(text, "gpu-shm") == set()
    assert found(text, "gpu-parallelism") == set()


SHM = [
    # (case, pod spec additions, volumes on the container, reported)
    ("TP 4, nothing at /dev/shm", {}, False, True),
    ("TP 4, hostIPC: the node's /dev/shm", {"hostIPC": True}, False, False),
    ("TP 4, hostIPC false", {"hostIPC": False}, False, True),
    ("TP 4, hostIPC as a string is not true", {"hostIPC": "true"}, False, True),
    ("TP 4, memory emptyDir at /dev/shm", {}, True, False),
]


@pytest.mark.parametrize("pod,mounted,reported", [c[1:] for c in SHM], ids=[c[0] for c in SHM])
def test_gpu_shm_table(pod, mounted, reported):
    container = {
        **VLLM,
        "args": ["Qwen/Qwen3-8B", "--tensor-parallel-size", "4"],
        "resources": {"limits": {"nvidia.com/gpu": 4}},
    }
    if mounted:
        container["volumeMounts"] = [{"name": "shm", "mountPath": "/dev/shm"}]
        pod = {**pod, "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory"}}]}
    got = found(deployment(container, pod=pod), "gpu-shm")
    assert got == ({("error", "Deployment/m", C0)} if reported else set())


PLACEHOLDERS = [
    # (case, ConfigMap HF_TOKEN value, severity): a placeholder is a missing credential, not a
    # leaked one (a warning); a real-looking key stays an error
    ("insert-your-...-here", "insert-your-huggingface-token-here", "warning"),
    ("<token>", "<token>", "warning"),
    ("changeme", "changeme", "warning"),
    ("your-token", "your-token", "warning"),
    ("${VAR}", "${HF_TOKEN}", "warning"),
    ("xxxx", "xxxxxxxxxxxx", "warning"),
    ("put your token here", "put-your-token-here", "warning"),
    ("a real-looking HF token", "hf_abcdefghijklmnopqrstuvwxyz012345", "error"),
    ("a real token ending in -here stays a token", "sk-abc123def456ghi789jkl012-here", "error"),
    ("an opaque word", "s3cr3tValue42", "error"),
]


@pytest.mark.parametrize("value,severity", [c[1:] for c in PLACEHOLDERS], ids=[c[0] for c in PLACEHOLDERS])
def test_secret_placeholder_in_configmap(value, severity):
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "llm"},
        "data": {"HF_TOKEN": value},
    }
    assert found(json.dumps(configmap), "secret-literal") == {(severity, "ConfigMap/cfg", "/data/HF_TOKEN")}


@pytest.mark.parametrize("value,severity", [c[1:] for c in PLACEHOLDERS], ids=[c[0] for c in PLACEHOLDERS])
def test_secret_placeholder_in_env(value, severity):
    container = {**VLLM, "env": [{"name": "HF_TOKEN", "value": value}]}
    assert found(deployment(container), "secret-literal") == {(severity, "Deployment/m", f"{C0}/env/0/value")}


PARALLEL = [
    # (case, tensor-parallel size, GPUs requested, severity or None)
    ("TP 4 on 4 GPUs", "4", 4, None),
    ("TP 4 on 2 GPUs: cannot place its workers", "4", 2, "error"),
    ("TP 1 on 2 GPUs: one stays idle", "1", 2, "warning"),
    ("TP 2 on 8 GPUs: six stay idle", "2", 8, "warning"),
]


@pytest.mark.parametrize("tp,gpus,severity", [c[1:] for c in PARALLEL], ids=[c[0] for c in PARALLEL])
def test_gpu_parallelism_more_workers_fail_fewer_idle(tp, gpus, severity):
    container = {
        **VLLM,
        "args": [*VLLM["args"], "--tensor-parallel-size", tp],
        "resources": {"limits": {"nvidia.com/gpu": gpus}},
    }
    got = found(deployment(container, pod={"volumes": []}), "gpu-parallelism")
    assert got == ({(severity, "Deployment/m", f"{C0}/args/1")} if severity else set())


TOLERATION_KEYS = [
    # (case, toleration key, severity): a spelling of nvidia.com/gpu matches no taint; another
    # GPU-looking key may be the taint some clusters put on their GPU nodes
    ("nvidia/gpu, a misspelling", "nvidia/gpu", "error"),
    ("nvidia.com/GPU, a misspelling", "nvidia.com/GPU", "error"),
    ("gpu, another cluster's taint key", "gpu", "warning"),
    ("nvidia.com/gpu.shared, another taint", "nvidia.com/gpu.shared-by-time-slicing", "warning"),
]


@pytest.mark.parametrize(
    "key,severity", [c[1:] for c in TOLERATION_KEYS], ids=[c[0] for c in TOLERATION_KEYS]
)
def test_gpu_toleration_key_that_is_not_the_taint(key, severity):
    pod = {"tolerations": [{"key": key, "operator": "Exists", "effect": "NoSchedule"}]}
    container = {**VLLM, "resources": {"limits": {"nvidia.com/gpu": 1}}}
    got = found(deployment(container, pod=pod), "gpu-toleration")
    assert got == {(severity, "Deployment/m", "/spec/template/spec/tolerations/0/key")}


ROUTE_KEYS = [
    # (case, route kind, header name, value, match type, severity or None)
    (
        "AIGatewayRoute, Authorization with an example key",
        "AIGatewayRoute",
        "Authorization",
        "sk-abcdefghijklmnopqrstuvwxyz",
        "Exact",
        "warning",
    ),
    (
        "HTTPRoute, x-api-key shaped like a real key",
        "HTTPRoute",
        "x-api-key",
        "sk-abc123def456ghi789jkl012mno",
        "Exact",
        "error",
    ),
    ("a placeholder", "HTTPRoute", "Authorization", "<your-key>", "Exact", None),
    ("a regular expression", "HTTPRoute", "Authorization", "^Bearer .+$", "RegularExpression", None),
    (
        "a model header is no credential",
        "AIGatewayRoute",
        "x-ai-eg-model",
        "sk-abc123def456ghi789jkl012mno",
        "Exact",
        None,
    ),
]


@pytest.mark.parametrize(
    "kind,header,value,match_type,severity", [c[1:] for c in ROUTE_KEYS], ids=[c[0] for c in ROUTE_KEYS]
)
def test_secret_literal_in_route_header_match(kind, header, value, match_type, severity):
    api = "aigateway.envoyproxy.io/v1beta1" if kind == "AIGatewayRoute" else "gateway.networking.k8s.io/v1"
    route = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "r", "namespace": "llm"},
        "spec": {
            "rules": [{"matches": [{"headers": [{"type": match_type, "name": header, "value": value}]}]}]
        },
    }
    got = found(json.dumps(route), "secret-literal")
    path = "/spec/rules/0/matches/0/headers/0/value"
    assert got == ({(severity, f"{kind}/r", path)} if severity else set())
