"""Triton Inference Server and llama.cpp's server, as the rules know them
(docs/reference/servers.md): how each is recognised, its port, its model, how it takes a key,
and how it answers while the model loads."""

from __future__ import annotations

import json

import pytest

from llmfleet.model.servers import other_servers
from rule_tables import findings, where
from rules_helpers import model_of

LLAMA_IMAGE = "ghcr.io/ggml-org/llama.cpp:server-cuda-b6000"
TRITON_IMAGE = "nvcr.io/nvidia/tritonserver:25.08-vllm-python-py3"
C0 = "/spec/template/spec/containers/0"


def deployment(container: dict) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "m", "namespace": "llm"},
            "spec": {
                "selector": {"matchLabels": {"app": "m"}},
                "template": {
                    "metadata": {"labels": {"app": "m"}},
                    "spec": {"containers": [{"name": "server", **container}]},
                },
            },
        }
    )


LB = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc", "namespace": "llm"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "m"}, "ports": [{"port": 80}]},
    }
)


def server(container: dict):
    (found,) = other_servers(model_of(deployment(container)))
    return found


RECOGNISED = [
    ("llama-server command", {"image": "example.com/llm:1", "command": ["llama-server"]}, "llamacpp", 8080),
    (
        "the server image runs llama-server itself",
        {"image": LLAMA_IMAGE, "args": ["-m", "/m.gguf"]},
        "llamacpp",
        8080,
    ),
    (
        "llama.cpp port from LLAMA_ARG_PORT",
        {"image": LLAMA_IMAGE, "env": [{"name": "LLAMA_ARG_PORT", "value": "9090"}]},
        "llamacpp",
        9090,
    ),
    ("llama.cpp --port wins", {"image": LLAMA_IMAGE, "args": ["--port", "8081"]}, "llamacpp", 8081),
    (
        "tritonserver",
        {"image": TRITON_IMAGE, "command": ["tritonserver", "--model-repository=/m"]},
        "triton",
        8000,
    ),
    (
        "Triton --http-port",
        {"image": TRITON_IMAGE, "args": ["tritonserver", "--model-repository=/m", "--http-port=9000"]},
        "triton",
        9000,
    ),
]


@pytest.mark.parametrize(("case", "container", "engine", "port"), RECOGNISED, ids=[r[0] for r in RECOGNISED])
def test_recognised_with_its_port(case, container, engine, port):
    found = server(container)
    assert (found.engine.id, found.port) == (engine, port)


@pytest.mark.parametrize(
    ("container", "model"),
    [
        ({"image": LLAMA_IMAGE, "args": ["-hf", "unsloth/phi-4-GGUF:q4_k_m"]}, "unsloth/phi-4-GGUF:q4_k_m"),
        ({"image": LLAMA_IMAGE, "args": ["--model", "/models/m.gguf"]}, "/models/m.gguf"),
        (
            {
                "image": LLAMA_IMAGE,
                "env": [{"name": "LLAMA_ARG_HF_REPO", "value": "ggml-org/gemma-3-1b-it-GGUF"}],
            },
            "ggml-org/gemma-3-1b-it-GGUF",
        ),
        ({"image": LLAMA_IMAGE, "env": [{"name": "LLAMA_ARG_MODEL", "value": "/m/x.gguf"}]}, "/m/x.gguf"),
    ],
)
def test_llamacpp_model_from_flags_or_env(container, model):
    assert server(container).model_id == model


KEY = {"name": "LLAMA_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}}
EXPOSED = [
    ("llama.cpp without a key", {"image": LLAMA_IMAGE, "args": ["-m", "/m.gguf"]}, True),
    ("llama.cpp --api-key", {"image": LLAMA_IMAGE, "args": ["-m", "/m.gguf", "--api-key", "$(KEY)"]}, False),
    ("llama.cpp --api-key-file", {"image": LLAMA_IMAGE, "args": ["--api-key-file", "/keys/k"]}, False),
    ("llama.cpp LLAMA_API_KEY from a Secret", {"image": LLAMA_IMAGE, "env": [KEY]}, False),
    ("Triton with no restriction", {"image": TRITON_IMAGE, "command": ["tritonserver"]}, True),
    (
        "Triton restricts inference to a header",
        {
            "image": TRITON_IMAGE,
            "command": ["tritonserver", "--http-restricted-api=inference,health:x-key=s3cr"],
        },
        False,
    ),
    (
        "Triton restricts only the model repository API",
        {
            "image": TRITON_IMAGE,
            "command": ["tritonserver", "--http-restricted-api=model-repository:x-key=s"],
        },
        True,
    ),
]


@pytest.mark.parametrize(("case", "container", "reported"), EXPOSED, ids=[r[0] for r in EXPOSED])
def test_auth_exposed(case, container, reported):
    found = where(findings("auth-exposed", deployment(container) + "\n---\n" + LB))
    assert found == ([("error", "Service", "svc", "/spec/type")] if reported else [])


def _liveness(probe: dict) -> dict:
    return {"periodSeconds": 10, "failureThreshold": 6, **probe}


LIVENESS = [
    (
        "llama.cpp httpGet /health during the load: 503, killed",
        {"httpGet": {"path": "/health", "port": 8080}},
        "error",
    ),
    ("llama.cpp tcpSocket: the port accepts during the load", {"tcpSocket": {"port": 8080}}, None),
]


@pytest.mark.parametrize(("case", "probe", "severity"), LIVENESS, ids=[r[0] for r in LIVENESS])
def test_llamacpp_liveness_during_the_load(case, probe, severity):
    container = {
        "image": LLAMA_IMAGE,
        "args": ["-hf", "bartowski/Meta-Llama-3.1-70B-Instruct-GGUF"],
        "livenessProbe": _liveness(probe),
    }
    found = where(findings("probe-liveness", deployment(container)))
    assert found == ([(severity, "Deployment", "m", f"{C0}/livenessProbe")] if severity else [])


LOCALAI = "localai/localai:v2.29.0-aio-cpu"


@pytest.mark.parametrize(
    ("container", "reported"),
    [
        ({"image": LOCALAI}, True),
        (
            {
                "image": LOCALAI,
                "env": [{"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}}],
            },
            False,
        ),
        (
            {
                "image": LOCALAI,
                "env": [
                    {"name": "LOCALAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}}
                ],
            },
            False,
        ),
    ],
)
def test_localai_exposed_without_a_key(container, reported):
    found = where(findings("auth-exposed", deployment(container) + "\n---\n" + LB))
    assert found == ([("error", "Service", "svc", "/spec/type")] if reported else [])


def test_localai_port_from_its_address():
    assert server({"image": LOCALAI, "env": [{"name": "LOCALAI_ADDRESS", "value": ":9090"}]}).port == 9090
    assert server({"image": LOCALAI}).port == 8080
