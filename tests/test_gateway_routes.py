"""llmfleet.model.routes: gateway routes from the fleet model, the routes file, diffs."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import yaml

from llmfleet.model import OverlayModel
from llmfleet.model.k8s import Resource
from llmfleet.model.routes import diff_routes, render_routes_file, routes_of


def routes_from_rendered(overlays: dict[str, list[dict]], **kwargs) -> dict:
    return routes_of(
        {
            name: OverlayModel(name, [Resource(o, f"<{name}>", i) for i, o in enumerate(objs)])
            for name, objs in overlays.items()
        },
        **kwargs,
    )


REPO = Path(__file__).resolve().parents[1]
EXPECTED_OVERLAYS = {
    "llama-3-1-8b-instruct": "meta-llama/Llama-3.1-8B-Instruct",
    "mistral-7b-instruct-v0-3": "mistralai/Mistral-7B-Instruct-v0.3",
    "llama-3-1-70b-instruct": "meta-llama/Llama-3.1-70B-Instruct",
}


def deployment(
    name="m-server",
    *,
    args=None,
    env=None,
    labels=None,
    namespace="inference",
    port=8000,
    mounts=None,
    volumes=None,
    image="vllm/vllm-openai:v0.33.0",
):
    labels = labels or {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "m"}
    container = {
        "name": "vllm",
        "image": image,
        "args": args or [],
        "ports": [{"name": "http", "containerPort": port}],
    }
    if env:
        container["env"] = env
    if mounts:
        container["volumeMounts"] = mounts
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, "extra": "x"}},
                "spec": {"containers": [container], "volumes": volumes or []},
            },
        },
    }


def service(name="m-server", *, selector=None, namespace="inference", port=8000, target="http"):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": selector or {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "m"},
            "ports": [{"name": "http", "port": port, "targetPort": target}],
        },
    }


def serve_config(text: str, name="m-vllm-serve-config-abc12345de"):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "inference"},
        "data": {"serve.yaml": text},
    }


CONFIG_MOUNT = {
    "args": ["--config", "/etc/vllm/serve.yaml"],
    "mounts": [{"name": "serve-config", "mountPath": "/etc/vllm", "readOnly": True}],
    "volumes": [{"name": "serve-config", "configMap": {"name": "m-vllm-serve-config-abc12345de"}}],
}


def test_served_model_name_from_args():
    objs = [deployment(args=["--served-model-name", "org/m", "--port", "8080"], port=8080), service(port=80)]
    routes = routes_from_rendered({"m": objs})
    assert routes == {
        "models": [
            {
                "name": "org/m",
                "url": "http://m-server.inference.svc.cluster.local:80",
                "overlay": "m",
                "api_key": False,
            }
        ]
    }


def test_served_model_name_and_api_key_from_config_file():
    objs = [
        deployment(**CONFIG_MOUNT),
        serve_config("model: org/base\nserved-model-name: org/served\napi-key: k\n"),
        service(),
    ]
    routes = routes_from_rendered({"m": objs}, cluster_domain="example.internal")
    assert routes["models"] == [
        {
            "name": "org/served",
            "url": "http://m-server.inference.svc.example.internal:8000",
            "overlay": "m",
            "api_key": True,
        }
    ]


def test_falls_back_to_model_and_env_api_key():
    env = [
        {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "vllm-api-key", "key": "api-key"}}}
    ]
    objs = [deployment(env=env, **CONFIG_MOUNT), serve_config("model: org/base\n"), service()]
    [route] = routes_from_rendered({"m": objs})["models"]
    assert (route["name"], route["api_key"]) == ("org/base", True)
    # The positional model of `vllm serve` works too.
    objs = [deployment(args=["org/positional"]), service()]
    [route] = routes_from_rendered({"m": objs})["models"]
    assert (route["name"], route["api_key"]) == ("org/positional", False)


def test_service_must_select_the_pods_in_the_same_namespace():
    objs = [
        deployment(args=["--served-model-name", "org/m"]),
        service("wrong-ns", namespace="other"),
        service("wrong-labels", selector={"app.kubernetes.io/instance": "other"}),
        service("right", target=8000),
    ]
    [route] = routes_from_rendered({"m": objs})["models"]
    assert route["url"] == "http://right.inference.svc.cluster.local:8000"
    with pytest.raises(ValueError, match=r"overlay m: .*no Service in namespace 'inference'"):
        routes_from_rendered({"m": objs[:3]})


def test_errors_name_the_overlay():
    with pytest.raises(ValueError, match="overlay empty: no vLLM server container"):
        routes_from_rendered({"empty": [service()]})
    missing_cm = [deployment(**CONFIG_MOUNT), service()]
    with pytest.raises(ValueError, match="overlay broken: .*--config file"):
        routes_from_rendered({"broken": missing_cm})
    with pytest.raises(ValueError, match="overlay noname: .*no served model name"):
        routes_from_rendered({"noname": [deployment(), service()]})


def test_two_overlays_may_not_serve_the_same_name():
    a = [deployment(args=["--served-model-name", "org/m"]), service()]
    b = copy.deepcopy(a)
    b[1]["metadata"]["name"] = "b-server"
    with pytest.raises(ValueError, match="overlay b: model 'org/m' is also served by overlay a"):
        routes_from_rendered({"a": a, "b": b})


def test_render_is_deterministic_and_loads_in_the_gateway():
    routes = {
        "models": [
            {
                "name": "z/model",
                "url": "http://z.inference.svc.cluster.local:8000",
                "overlay": "z",
                "api_key": False,
            },
            {
                "api_key": True,
                "overlay": "a",
                "url": "http://a.inference.svc.cluster.local:8000",
                "name": "a/model",
            },
        ]
    }
    text = render_routes_file(routes)
    assert text == render_routes_file({"models": list(reversed(routes["models"]))})
    assert text.startswith("# Generated by `llmfleet gateway-routes`")
    assert text.index("a/model") < text.index("z/model")
    sys.path.insert(0, str(REPO / "gateway"))
    try:
        from llm_gateway.config import parse_routes
    finally:
        sys.path.remove(str(REPO / "gateway"))
    parsed = parse_routes(yaml.safe_load(text))
    assert parsed.models["a/model"].api_key is True
    assert parsed.models["z/model"].url == "http://z.inference.svc.cluster.local:8000"


def test_diff_routes():
    base = {
        "models": [
            {"name": "a", "url": "http://a:8000", "overlay": "a", "api_key": True},
            {"name": "b", "url": "http://b:8000", "overlay": "b", "api_key": False},
        ]
    }
    expected = render_routes_file(base)
    assert diff_routes(expected, expected) == []
    changed = copy.deepcopy(base)
    changed["models"][0]["url"] = "http://old:8000"
    del changed["models"][1]
    changed["models"].append({"name": "c", "url": "http://c:8000", "overlay": "c", "api_key": False})
    diffs = diff_routes(render_routes_file(changed), expected)
    assert diffs == [
        "model 'b' is missing (expected url http://b:8000, overlay b)",
        "model 'c' is not served by any overlay (url http://c:8000)",
        "model 'a': url is 'http://old:8000', expected 'http://a:8000'",
    ]
    hand_edited = expected.replace("# Generated", "# Edited by hand\n# Generated")
    assert "regenerate" in diff_routes(hand_edited, expected)[0]
    assert "not valid YAML" in diff_routes("models: [", expected)[0]


def test_routes_of_the_real_overlays(repository_model):
    routes = routes_of(repository_model.overlays)
    by_overlay = {m["overlay"]: m for m in routes["models"]}
    for overlay, model in EXPECTED_OVERLAYS.items():
        assert by_overlay[overlay]["name"] == model
        assert by_overlay[overlay]["url"] == f"http://{overlay}-server.inference.svc.cluster.local:8000"
        assert by_overlay[overlay]["api_key"] is True  # components/api-key
    # That the committed file equals these routes: test_gateway_routes_command.py
    # (`gateway-routes --check`), once.
