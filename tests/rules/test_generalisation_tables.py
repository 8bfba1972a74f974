"""Edge tables for the generalisation fixes of the corpus3 dev half (tests/corpus3/README.md):
each row a manifest shape from elsewhere, what the rule must report, or nothing."""

from __future__ import annotations

import json

import pytest

from rule_tables import findings, where

C0 = "/spec/template/spec/containers/0"


def deployment(
    container: dict, name: str = "m", namespace: str | None = "llm", pod: dict | None = None
) -> str:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {**(pod or {}), "containers": [{"name": "c", **container}]},
                },
            },
        }
    )


def dynamo(worker: dict, frontend: dict | None = None) -> str:
    services = {"VllmDecodeWorker": worker}
    if frontend is not None:
        services["Frontend"] = frontend
    return json.dumps(
        {
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeployment",
            "metadata": {"name": "dgd", "namespace": "llm"},
            "spec": {"services": services},
        }
    )


RUNTIME = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.8.0"
WORKER = {
    "replicas": 1,
    "resources": {"limits": {"gpu": "2"}},
    "extraPodSpec": {
        "mainContainer": {
            "image": RUNTIME,
            "command": ["python3", "-m", "dynamo.vllm"],
            "args": ["--model", "Qwen/Qwen3-32B", "--tensor-parallel-size", "2"],
        }
    },
}
FRONTEND = {"replicas": 1, "extraPodSpec": {"mainContainer": {"image": RUNTIME}}}


def test_dynamo_service_resources_give_the_main_container_its_gpus():
    # resources.limits.gpu at the service level: nvidia.com/gpu on the main container
    assert findings("gpu-missing", dynamo(WORKER)) == []
    one = {**WORKER, "resources": {"limits": {"gpu": "1"}}}
    assert [r[0] for r in findings("gpu-toleration", dynamo(one))] == ["warning"]  # it requests a GPU


def test_dynamo_operator_owns_probes_and_shm():
    assert findings("probe-startup", dynamo(WORKER)) == []
    assert findings("gpu-shm", dynamo(WORKER)) == []
    assert findings("shutdown-prestop", dynamo(WORKER)) == []


def test_an_image_that_only_mentions_vllm_and_has_no_args_is_not_a_vllm_server():
    # the Dynamo frontend: vllm-runtime image, no command, no args
    assert findings("gpu-missing", dynamo(WORKER, FRONTEND)) == []
    # with vLLM-looking args it is still taken for a server that gets no GPU
    named = {"image": "registry.example.com/team/vllm-custom:1.0", "args": ["Qwen/Qwen3-8B"]}
    assert [r[0] for r in findings("gpu-missing", deployment(named))] == ["error"]


SECRETS = [
    ("a real token in a ConfigMap", "HF_TOKEN", "hf_abcdefghijklmnopqrstuvwxyz012345", "error"),
    ("an API key name", "OPENAI_API_KEY", "sk-live-0123456789", "error"),
    ("a placeholder", "HUGGINGFACEHUB_API_TOKEN", "<your token>", "warning"),
    ("a reference", "HF_TOKEN", "$(HF_TOKEN)", None),
    ("empty", "HF_TOKEN", "", None),
    ("not a credential", "MAX_TOKENS", "4096", None),
]


@pytest.mark.parametrize(("case", "key", "value", "severity"), SECRETS, ids=[r[0] for r in SECRETS])
def test_secret_literal_in_a_configmap(case, key, value, severity):
    text = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "llm"},
            "data": {key: value},
        }
    )
    found = where(findings("secret-literal", text))
    assert found == ([(severity, "ConfigMap", "cfg", f"/data/{key}")] if severity else [])


FLOATING = [
    ("latest", "opea/codetrans-ui:latest", True),
    ("no tag", "ghcr.io/example/router", True),
    ("main", "alpine/git:main", True),
    ("a release", "nginx:1.27.1", False),
    ("a digest", "nginx@sha256:" + "0" * 64, False),
    ("a template placeholder", "${REGISTRY}/ui:latest", False),
    ("a vLLM image is vllm-image-unpinned's", "vllm/vllm-openai:latest", False),
]


@pytest.mark.parametrize(("case", "image", "reported"), FLOATING, ids=[r[0] for r in FLOATING])
def test_image_floating_tag(case, image, reported):
    found = where(findings("image-floating-tag", deployment({"image": image})))
    assert found == ([("warning", "Deployment", "m", f"{C0}/image")] if reported else [])


TGI = "ghcr.io/huggingface/text-generation-inference:3.3.4"
SGLANG = "lmsysorg/sglang:v0.5.5"
SHARDS = [
    ("TGI NUM_SHARD 4 on 2 GPUs", {"image": TGI, "env": [{"name": "NUM_SHARD", "value": "4"}]}, 2, "error"),
    ("TGI --num-shard 1 on 2 GPUs", {"image": TGI, "args": ["--num-shard", "1"]}, 2, "warning"),
    ("TGI without a shard count takes every GPU", {"image": TGI}, 2, None),
    (
        "SGLang --tp-size 16 over 2 nodes of 8",
        {
            "image": SGLANG,
            "command": ["python3", "-m", "sglang.launch_server"],
            "args": ["--tp-size", "16", "--nnodes", "2"],
        },
        8,
        None,
    ),
    (
        "SGLang --tp 4 on 2 GPUs",
        {"image": SGLANG, "command": ["python3", "-m", "sglang.launch_server"], "args": ["--tp", "4"]},
        2,
        "error",
    ),
    (
        "SGLang with data parallelism is not judged",
        {
            "image": SGLANG,
            "command": ["python3", "-m", "sglang.launch_server"],
            "args": ["--tp", "4", "--dp-size", "2"],
        },
        2,
        None,
    ),
]


@pytest.mark.parametrize(("case", "container", "gpus", "severity"), SHARDS, ids=[r[0] for r in SHARDS])
def test_gpu_parallelism_of_tgi_and_sglang(case, container, gpus, severity):
    container = {**container, "resources": {"limits": {"nvidia.com/gpu": gpus}}}
    found = where(findings("gpu-parallelism", deployment(container)))
    assert found == ([(severity, "Deployment", "m", C0)] if severity else [])


def test_an_object_without_a_namespace_meets_one_in_default():
    pods = deployment({"image": TGI}, namespace=None)
    service = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "m"}, "ports": [{"port": 80}]},
        }
    )
    assert where(findings("auth-exposed", pods + "\n---\n" + service)) == [
        ("error", "Service", "svc", "/spec/type")
    ]


def statefulset(args: list[str], service_name: str = "leader") -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "s", "namespace": "llm"},
            "spec": {
                "serviceName": service_name,
                "selector": {"matchLabels": {"app": "s"}},
                "template": {
                    "metadata": {"labels": {"app": "s"}},
                    "spec": {"containers": [{"name": "c", "image": SGLANG, "args": args}]},
                },
            },
        }
    )


def test_service_reference_to_the_governing_service_of_a_statefulset():
    args = ["--dist-init-addr", "leader:20000"]
    assert where(findings("service-reference", statefulset(args))) == [
        ("warning", "StatefulSet", "s", f"{C0}/args/1")
    ]
    # another name, in an input with no Service: not self-contained, not judged
    assert findings("service-reference", statefulset(["--dist-init-addr", "elsewhere:20000"])) == []
    headless = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "leader", "namespace": "llm"},
            "spec": {"clusterIP": "None", "selector": {"app": "s"}, "ports": [{"port": 20000}]},
        }
    )
    assert findings("service-reference", statefulset(args) + "\n---\n" + headless) == []


NODE_SELECTION = [
    (
        "a Dynamo worker of a 0.6 B model",
        dynamo(
            {
                **WORKER,
                "extraPodSpec": {
                    "mainContainer": {
                        **WORKER["extraPodSpec"]["mainContainer"],
                        "args": ["--model", "Qwen/Qwen3-0.6B"],
                    }
                },
            }
        ),
        [],
    ),
    (
        "a Dynamo worker of a 32 B model",
        dynamo(WORKER),
        [("warning", "DynamoGraphDeployment", "dgd", "/spec/services/VllmDecodeWorker/extraPodSpec")],
    ),
    (
        "a Gaudi pod: the resource names the family",
        deployment(
            {
                "image": "ghcr.io/huggingface/tgi-gaudi:2.0.6",
                "args": ["--model-id", "mistralai/Mistral-7B-Instruct-v0.3"],
                "resources": {"limits": {"habana.ai/gaudi": 1}},
            }
        ),
        [],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), NODE_SELECTION, ids=[r[0] for r in NODE_SELECTION])
def test_gpu_node_selection_knows_the_model_and_the_family(case, text, expected):
    assert where(findings("gpu-node-selection", text)) == expected


PRIVILEGED = [
    (
        "privileged with a GPU",
        {"securityContext": {"privileged": True}, "resources": {"limits": {"nvidia.com/gpu": 1}}},
        "/securityContext/privileged",
    ),
    (
        "privileged with CUDA_VISIBLE_DEVICES",
        {"securityContext": {"privileged": True}, "env": [{"name": "CUDA_VISIBLE_DEVICES", "value": "0"}]},
        "/securityContext/privileged",
    ),
    ("privileged, no GPU", {"securityContext": {"privileged": True}}, None),
    (
        "privileged: false",
        {"securityContext": {"privileged": False}, "resources": {"limits": {"nvidia.com/gpu": 1}}},
        None,
    ),
    ("a GPU, not privileged", {"resources": {"limits": {"nvidia.com/gpu": 1}}}, None),
]


@pytest.mark.parametrize(("case", "fields", "pointer"), PRIVILEGED, ids=[r[0] for r in PRIVILEGED])
def test_gpu_privileged(case, fields, pointer):
    found = where(
        findings("gpu-privileged", deployment({"image": "vllm/vllm-openai:v0.33.0", "args": ["m"], **fields}))
    )
    assert found == ([("warning", "Deployment", "m", C0 + pointer)] if pointer else [])


PVC_CACHE = {"name": "cache", "persistentVolumeClaim": {"claimName": "cache"}}
CACHES = [
    (
        "TGI without a volume at /data",
        {"image": TGI, "args": ["--model-id", "mistralai/Mistral-7B-Instruct-v0.3"]},
        None,
        True,
    ),
    (
        "TGI with a claim at /data",
        {
            "image": TGI,
            "args": ["--model-id", "mistralai/Mistral-7B-Instruct-v0.3"],
            "volumeMounts": [{"name": "cache", "mountPath": "/data"}],
        },
        [PVC_CACHE],
        False,
    ),
    (
        "TGI with HF_HOME on a claim",
        {
            "image": TGI,
            "args": ["--model-id", "mistralai/Mistral-7B-Instruct-v0.3"],
            "env": [{"name": "HF_HOME", "value": "/models"}],
            "volumeMounts": [{"name": "cache", "mountPath": "/models"}],
        },
        [PVC_CACHE],
        False,
    ),
    ("TGI with a small model", {"image": TGI, "args": ["--model-id", "Qwen/Qwen3-0.6B"]}, None, False),
    ("TGI serving a local path", {"image": TGI, "args": ["--model-id", "/models/m"]}, None, False),
    ("Ollama without a volume", {"image": "ollama/ollama:0.5.7"}, None, True),
    (
        "Ollama with OLLAMA_MODELS on a claim",
        {
            "image": "ollama/ollama:0.5.7",
            "env": [{"name": "OLLAMA_MODELS", "value": "/m"}],
            "volumeMounts": [{"name": "cache", "mountPath": "/m"}],
        },
        [PVC_CACHE],
        False,
    ),
    (
        "SGLang on a generic ephemeral volume",
        {
            "image": SGLANG,
            "command": ["python3", "-m", "sglang.launch_server"],
            "args": ["--model-path", "Qwen/Qwen3-14B"],
            "volumeMounts": [{"name": "cache", "mountPath": "/root/.cache"}],
        },
        [
            {
                "name": "cache",
                "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}},
            }
        ],
        False,
    ),
]


@pytest.mark.parametrize(("case", "container", "volumes", "reported"), CACHES, ids=[r[0] for r in CACHES])
def test_model_cache_of_other_servers(case, container, volumes, reported):
    text = deployment(container, pod={"volumes": volumes} if volumes else None)
    found = where(findings("model-cache", text))
    assert found == ([("warning", "Deployment", "m", C0)] if reported else [])


def test_a_model_named_in_a_configmap_of_the_input_is_read():
    configmap = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "tgi-config", "namespace": "llm"},
            "data": {"MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.3", "PORT": "2080"},
        }
    )
    by_env_from = {
        "image": "ghcr.io/huggingface/tgi-gaudi:2.0.6",
        "envFrom": [{"configMapRef": {"name": "tgi-config"}}],
    }
    by_key = {
        "image": TGI,
        "env": [
            {"name": "MODEL_ID", "valueFrom": {"configMapKeyRef": {"name": "tgi-config", "key": "MODEL_ID"}}}
        ],
    }
    for container in (by_env_from, by_key):
        text = deployment(container) + "\n---\n" + configmap
        assert where(findings("model-cache", text)) == [("warning", "Deployment", "m", C0)], container
    # the ConfigMap elsewhere: the model is not known, nothing is judged
    assert findings("model-cache", deployment(by_env_from)) == []


@pytest.mark.parametrize(
    ("image", "reported"),
    [
        ("nvcr.io/nvidia/ai-dynamo/vllm-runtime:my-tag", True),
        ("ghcr.io/acme/server:your-version", True),
        ("ghcr.io/acme/server:1.2.3", False),
        ("ghcr.io/acme/mytagger:1.0", False),
    ],
)
def test_image_placeholder_tags(image, reported):
    found = where(findings("image-placeholder", deployment({"image": image})))
    assert found == ([("error", "Deployment", "m", f"{C0}/image")] if reported else [])


TOLERATIONS = [
    ("catch-all", [{"operator": "Exists"}], "/spec/template/spec/tolerations/0"),
    (
        "catch-all NoExecute",
        [{"operator": "Exists", "effect": "NoExecute"}],
        "/spec/template/spec/tolerations/0",
    ),
    ("catch-all NoSchedule only", [{"operator": "Exists", "effect": "NoSchedule"}], None),
    ("catch-all for 300 s", [{"operator": "Exists", "tolerationSeconds": 300}], None),
    ("a keyed toleration", [{"key": "nvidia.com/gpu", "operator": "Exists"}], None),
]


@pytest.mark.parametrize(("case", "tolerations", "pointer"), TOLERATIONS, ids=[r[0] for r in TOLERATIONS])
def test_toleration_all(case, tolerations, pointer):
    found = where(
        findings("toleration-all", deployment({"image": "nginx:1.27.1"}, pod={"tolerations": tolerations}))
    )
    assert found == ([("warning", "Deployment", "m", pointer)] if pointer else [])


TRITON = "nvcr.io/nvidia/tritonserver:25.08-py3"
PROBE_PORTS = [
    ("Triton ready on 8000", {"httpGet": {"path": "/v2/health/ready", "port": 8000}}, [], None),
    ("Triton metrics port 8002", {"httpGet": {"path": "/metrics", "port": 8002}}, [], None),
    ("Triton probed on 8080", {"httpGet": {"path": "/healthz", "port": 8080}}, [], "warning"),
    (
        "8080 declared by the pod (a sidecar may answer)",
        {"httpGet": {"path": "/healthz", "port": 8080}},
        [{"containerPort": 8080}],
        None,
    ),
    ("an undeclared named port", {"httpGet": {"path": "/v2/health/ready", "port": "http"}}, [], "error"),
]


@pytest.mark.parametrize(("case", "probe", "ports", "severity"), PROBE_PORTS, ids=[r[0] for r in PROBE_PORTS])
def test_probe_target_of_other_servers(case, probe, ports, severity):
    container = {
        "image": TRITON,
        "command": ["tritonserver", "--model-repository=/m"],
        "readinessProbe": probe,
    }
    if ports:
        container["ports"] = ports
    found = where(findings("probe-target", deployment(container)))
    assert found == ([(severity, "Deployment", "m", f"{C0}/readinessProbe/httpGet/port")] if severity else [])


SG_CMD = ["python3", "-m", "sglang.launch_server"]
PROBE = {"httpGet": {"path": "/health", "port": 30000}}
LOOPBACK_CASES = [
    (
        "SGLang without --host, probed",
        {"image": SGLANG, "command": SG_CMD, "args": ["--model-path", "m/m"], "readinessProbe": PROBE},
        "error",
    ),
    (
        "SGLang --host 127.0.0.1, probed",
        {"image": SGLANG, "command": SG_CMD, "args": ["--host", "127.0.0.1"], "readinessProbe": PROBE},
        "error",
    ),
    (
        "SGLang --host 0.0.0.0",
        {"image": SGLANG, "command": SG_CMD, "args": ["--host", "0.0.0.0"], "readinessProbe": PROBE},
        None,
    ),
    (
        "SGLang --host from a variable",
        {"image": SGLANG, "command": SG_CMD, "args": ["--host", "$(POD_IP)"], "readinessProbe": PROBE},
        None,
    ),
    ("SGLang without --host, nothing reaches it", {"image": SGLANG, "command": SG_CMD, "args": []}, None),
    (
        "llama.cpp's own server image binds 0.0.0.0",
        {"image": "ghcr.io/ggml-org/llama.cpp:server", "readinessProbe": PROBE},
        None,
    ),
    (
        "llama-server in another image",
        {"image": "quay.io/ramalama/ramalama:0.11.0", "command": ["llama-server"], "readinessProbe": PROBE},
        "warning",
    ),
    (
        "llama-server with LLAMA_ARG_HOST",
        {
            "image": "quay.io/ramalama/ramalama:0.11.0",
            "command": ["llama-server"],
            "env": [{"name": "LLAMA_ARG_HOST", "value": "0.0.0.0"}],
            "readinessProbe": PROBE,
        },
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "container", "severity"), LOOPBACK_CASES, ids=[r[0] for r in LOOPBACK_CASES]
)
def test_server_loopback(case, container, severity):
    found = where(findings("server-loopback", deployment(container)))
    assert found == ([(severity, "Deployment", "m", C0)] if severity else [])
