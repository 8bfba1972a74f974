"""components/smoke-test: the Job every overlay renders, and its script run against a local
fake OpenAI-compatible server (passing) and broken ones (each failing at a named step).

The script under test is the one the rendered ConfigMap carries (what the Job runs), started
as a subprocess with the environment of the rendered Job, BASE_URL pointing at 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from llmfleet_testlib import REPO_ROOT, is_multinode, overlay_names, require

OVERLAYS = overlay_names()
COMPONENT = REPO_ROOT / "components" / "smoke-test"
SCRIPT = COMPONENT / "job" / "smoke_test.py"


def component_of(overlay: str) -> str:
    """components/smoke-test reads the API key reference from a Deployment;
    components/smoke-test-multi-node from a LeaderWorkerSet's leader."""
    return "../../components/smoke-test" + ("-multi-node" if is_multinode(overlay) else "")


def serving_container(docs, overlay: str) -> dict:
    """The vllm container that receives the Service's traffic: the Deployment's, or the
    LeaderWorkerSet leader's."""
    if is_multinode(overlay):
        lws = one(docs, "LeaderWorkerSet")
        containers = lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"]
    else:
        containers = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "vllm")


API_KEY = "sk-test-5f1c2a9b7d"
#: Upper bound for one failing run of the script (the wait step is configured to 2 s).
RUN_BOUND_S = 20


def kubectl() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "kubectl"
    path = str(venv) if venv.is_file() else shutil.which("kubectl")
    require(path is not None, "kubectl not found (make setup installs it into .venv)")
    return path


@cache
def render(overlay: str) -> tuple[dict, ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(REPO_ROOT / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"kustomize {overlay}: {result.stderr}"
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


def one(docs, kind, predicate=lambda d: True) -> dict:
    found = [d for d in docs if d["kind"] == kind and predicate(d)]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def smoke_job(docs) -> dict:
    return one(
        docs, "Job", lambda d: d["metadata"]["labels"].get("app.kubernetes.io/name") == "llmfleet-smoke-test"
    )


def env_of(container: dict) -> dict:
    return {e["name"]: e for e in container.get("env", [])}


def test_every_overlay_lists_the_component():
    assert OVERLAYS
    for overlay in OVERLAYS:
        components = yaml.safe_load((REPO_ROOT / "overlays" / overlay / "kustomization.yaml").read_text())[
            "components"
        ]
        component = component_of(overlay)
        assert component in components, overlay
        # After api-key (it copies the key reference) and network-policy (it adds a rule).
        assert components.index(component) > max(
            components.index(c)
            for c in components
            if c.endswith(("/api-key", "/network-policy", "/network-policy-multi-node"))
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_job_is_a_bounded_postsync_hook(overlay):
    job = smoke_job(render(overlay))
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "PostSync"
    policies = set(annotations["argocd.argoproj.io/hook-delete-policy"].split(","))
    assert "HookSucceeded" in policies and policies <= {"HookSucceeded", "BeforeHookCreation", "HookFailed"}
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert 0 < spec["activeDeadlineSeconds"] <= 3600
    assert spec["ttlSecondsAfterFinished"] > 0
    [container] = spec["template"]["spec"]["containers"]
    env = env_of(container)
    # The deadline covers the wait and both requests.
    assert spec["activeDeadlineSeconds"] > int(env["WAIT_SECONDS"]["value"]) + 2 * int(
        env["REQUEST_TIMEOUT"]["value"]
    )
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_job_pod_is_restricted_and_pinned(overlay):
    pod = smoke_job(render(overlay))["spec"]["template"]["spec"]
    [container] = pod["containers"]
    image = container["image"]
    assert "@sha256:" in image and len(image.split("@sha256:")[1]) == 64, image
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    assert {"requests", "limits"} <= set(container["resources"])
    # Pod Security "restricted" volume types only.
    assert all(set(v) - {"name"} <= {"configMap", "emptyDir", "secret", "projected"} for v in pod["volumes"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_job_takes_its_values_from_the_overlay(overlay):
    docs = render(overlay)
    job = smoke_job(docs)
    [container] = job["spec"]["template"]["spec"]["containers"]
    env = env_of(container)
    service = one(docs, "Service")
    assert env["SERVICE_NAME"]["value"] == service["metadata"]["name"] == f"{overlay}-server"
    port = next(p for p in service["spec"]["ports"] if p["name"] == "http")["port"]
    assert env["SERVICE_PORT"]["value"] == str(port)
    serve = one(docs, "ConfigMap", lambda d: "serve.yaml" in (d.get("data") or {}))
    served = yaml.safe_load(serve["data"]["serve.yaml"])["served-model-name"]
    assert env["SERVED_MODEL_NAME"]["value"] == served
    key_ref = env_of(serving_container(docs, overlay))["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]
    job_ref = env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert (job_ref["name"], job_ref["key"]) == (key_ref["name"], key_ref["key"])
    # The script the Job mounts is the component's file, byte for byte.
    volume = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "script")
    script_cm = one(docs, "ConfigMap", lambda d: d["metadata"]["name"] == volume["configMap"]["name"])
    assert script_cm["data"]["smoke_test.py"] == SCRIPT.read_text()
    # Never selected by the model's Service.
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert not all(pod_labels.get(k) == v for k, v in service["spec"]["selector"].items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_admits_only_this_smoke_test(overlay):
    docs = render(overlay)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    if not policies:
        pytest.skip(f"{overlay} has no NetworkPolicy")
    pod_labels = smoke_job(docs)["spec"]["template"]["metadata"]["labels"]
    admitted = [
        rule
        for p in policies
        for rule in p["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if "matchLabels" in peer.get("podSelector", {})
        and all(pod_labels.get(k) == v for k, v in peer["podSelector"]["matchLabels"].items())
    ]
    assert admitted, f"{overlay}: no NetworkPolicy rule admits the smoke-test pods"
    for rule in admitted:
        assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
        peer = rule["from"][0]["podSelector"]["matchLabels"]
        assert peer["app.kubernetes.io/instance"] == overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_with_smoke_test_validates(cli, overlay):
    result = cli(["validate", "--format", "json", str(REPO_ROOT / "overlays" / overlay)], cwd=REPO_ROOT)
    findings = json.loads(result.stdout)["findings"]
    assert [f for f in findings if f["kind"] in ("Job", "ConfigMap", "NetworkPolicy")] == []
    assert result.exit_code == 0, result.stdout


# --- the script against fake servers ------------------------------------------------------


class FakeOpenAI(BaseHTTPRequestHandler):
    """A vLLM-like server; the class attributes choose how it misbehaves."""

    served = ["meta-llama/Llama-3.1-8B-Instruct"]
    key = API_KEY
    chat_status = 200
    health_status = 200
    seen_auth: list = []

    def log_message(self, *args):
        pass

    def _send(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        self.seen_auth.append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != f"Bearer {self.key}":
            self._send(401, {"error": "Unauthorized"})
            return False
        return True

    def do_GET(self):
        if self.path == "/health":
            self._send(self.health_status, {})
        elif self.path == "/v1/models" and self._authorized():
            self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.served]})
        elif self.path != "/v1/models":
            self._send(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": "not found"})
            return
        if not self._authorized():
            return
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length))
        if self.chat_status != 200:
            self._send(self.chat_status, {"error": {"message": "EngineCore encountered an issue"}})
        elif request.get("model") not in self.served:
            self._send(404, {"error": {"message": f"The model `{request.get('model')}` does not exist."}})
        else:
            self._send(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": request["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "ready"},
                        }
                    ],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
                },
            )


def serve(**behaviour):
    handler = type("Fake", (FakeOpenAI,), {**behaviour, "seen_auth": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, handler


@pytest.fixture
def fake_server():
    servers = []

    def start(**behaviour):
        server, handler = serve(**behaviour)
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(
    overlay: str, tmp_path: Path, base_url: str, api_key: str = API_KEY, **overrides
) -> tuple[subprocess.CompletedProcess, float]:
    """Run the script of the rendered ConfigMap with the rendered Job's plain env values."""
    docs = render(overlay)
    job = smoke_job(docs)
    volume = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "script")
    cm = one(docs, "ConfigMap", lambda d: d["metadata"]["name"] == volume["configMap"]["name"])
    script = tmp_path / "smoke_test.py"
    script.write_text(cm["data"]["smoke_test.py"])
    [container] = job["spec"]["template"]["spec"]["containers"]
    env = {name: e["value"] for name, e in env_of(container).items() if "value" in e}
    env.update(
        {
            "SERVICE_NAMESPACE": job["metadata"]["namespace"],
            "BASE_URL": base_url,
            "OPENAI_API_KEY": api_key,
            "WAIT_SECONDS": "2",
            "POLL_SECONDS": "0.2",
            "REQUEST_TIMEOUT": "5",
            **overrides,
        }
    )
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=RUN_BOUND_S * 2
    )
    return proc, time.monotonic() - started


def served_name(overlay: str) -> str:
    [container] = smoke_job(render(overlay))["spec"]["template"]["spec"]["containers"]
    return env_of(container)["SERVED_MODEL_NAME"]["value"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_script_passes_against_a_healthy_server(overlay, tmp_path, fake_server):
    url, handler = fake_server(served=[served_name(overlay)])
    proc, _ = run_script(overlay, tmp_path, url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(":")[1].strip() for line in lines if ": step " in line] == [
        "step wait-for-service",
        "step list-models",
        "step chat-completion",
    ]
    assert lines[-1] == "smoke-test: PASSED"
    assert set(handler.seen_auth) == {f"Bearer {API_KEY}"}
    assert API_KEY not in proc.stdout + proc.stderr


BROKEN = {
    "wrong-model": (
        {"served": ["some-org/another-model"]},
        {},
        "list-models",
        "is not listed; the server lists 'some-org/another-model'",
    ),
    "unauthorized": ({"key": "a-different-key"}, {}, "list-models", "HTTP 401"),
    "chat-500": ({"chat_status": 500}, {}, "chat-completion", "HTTP 500"),
    "unhealthy": ({"health_status": 503}, {}, "wait-for-service", "not ready after 2 s"),
    "no-key": ({}, {"OPENAI_API_KEY": ""}, "list-models", "HTTP 401"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_script_fails_at_the_named_step(case, tmp_path, fake_server):
    overlay = OVERLAYS[0]
    behaviour, env, step, reason = BROKEN[case]
    url, _ = fake_server(**{"served": [served_name(overlay)], **behaviour})
    proc, elapsed = run_script(overlay, tmp_path, url, **env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    last = proc.stdout.splitlines()[-1]
    assert last.startswith(f"smoke-test: FAILED at step {step}: "), last
    assert reason in last, last
    assert "PASSED" not in proc.stdout
    assert API_KEY not in proc.stdout + proc.stderr
    assert elapsed < RUN_BOUND_S


def test_script_fails_fast_when_nothing_listens(tmp_path):
    proc, elapsed = run_script(OVERLAYS[0], tmp_path, f"http://127.0.0.1:{free_port()}")
    assert proc.returncode == 1
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("smoke-test: FAILED at step wait-for-service: ")
    assert "connection refused" in last
    assert elapsed < RUN_BOUND_S


def test_script_rejects_incomplete_configuration(tmp_path):
    proc, _ = run_script(OVERLAYS[0], tmp_path, "", SERVICE_NAME="", SERVED_MODEL_NAME="x")
    assert proc.returncode == 2
    assert (
        proc.stdout.splitlines()[-1]
        == "smoke-test: FAILED at step config: SERVICE_NAME empty (or set BASE_URL)"
    )
