"""components/load-test: rendered on top of every overlay (as README.md applies it), validated,
its `vllm bench serve` flags checked against vLLM 0.33.0's parser, and its script run with a
stand-in `vllm` that records each phase's arguments."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from llmfleet_testlib import REPO_ROOT, is_multinode, overlay_names, require

OVERLAYS = overlay_names()
COMPONENT = REPO_ROOT / "components" / "load-test"
SCRIPT = COMPONENT / "job" / "load_test.sh"


def component_for(overlay: str) -> Path:
    """components/load-test copies from a Deployment; components/load-test-multi-node from
    a LeaderWorkerSet's leader."""
    return COMPONENT.with_name("load-test-multi-node") if is_multinode(overlay) else COMPONENT


def serving_unit(docs, overlay: str) -> tuple[dict, dict]:
    """(the workload, its vllm container that receives the Service's traffic)."""
    if is_multinode(overlay):
        lws = one(docs, "LeaderWorkerSet")
        containers = lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"]
        return lws, next(c for c in containers if c["name"] == "vllm")
    deployment = one(docs, "Deployment")
    return deployment, next(
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm"
    )


BENCH_FLAGS = REPO_ROOT / "tests" / "data" / "vllm-bench-serve-flags-0.33.0.txt"


def kubectl() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "kubectl"
    path = str(venv) if venv.is_file() else shutil.which("kubectl")
    require(path is not None, "kubectl not found (make setup installs it into .venv)")
    return path


def load_test_kustomization(root: Path, overlay: str) -> Path:
    """The on-demand kustomization of README.md: the overlay plus this component."""
    folder = root / overlay
    folder.mkdir(parents=True)
    rel = lambda p: os.path.relpath(p, folder)  # noqa: E731 -- kustomize refuses absolute paths
    (folder / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [rel(REPO_ROOT / "overlays" / overlay)],
                "components": [rel(component_for(overlay))],
            }
        )
    )
    return folder


@cache
def render(overlay: str, tmp: str) -> tuple[dict, ...]:
    folder = load_test_kustomization(Path(tmp), overlay)
    proc = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return tuple(d for d in yaml.safe_load_all(proc.stdout) if d)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("load-test")
    return lambda overlay: render(overlay, str(root))


def one(docs, kind, predicate=lambda d: True):
    found = [d for d in docs if d["kind"] == kind and predicate(d)]
    assert len(found) == 1, f"{kind}: {len(found)}"
    return found[0]


def load_job(docs):
    return one(
        docs, "Job", lambda d: d["metadata"]["labels"].get("app.kubernetes.io/component") == "load-test"
    )


def env_of(container):
    return {e["name"]: e for e in container["env"]}


def test_overlays_do_not_include_it():
    for overlay in OVERLAYS:
        text = (REPO_ROOT / "overlays" / overlay / "kustomization.yaml").read_text()
        assert "components/load-test" not in text


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_job_takes_everything_from_the_overlay(rendered, overlay):
    docs = rendered(overlay)
    job = load_job(docs)
    workload, vllm = serving_unit(docs, overlay)
    service = one(docs, "Service")
    assert job["metadata"]["name"] == f"{workload['metadata']['name']}-load-test"
    assert job["metadata"]["namespace"] == workload["metadata"]["namespace"]
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/instance"] == overlay
    [container] = pod["spec"]["containers"]
    assert container["image"] == vllm["image"]
    env, vllm_env = env_of(container), env_of(vllm)
    assert env["SERVICE_NAME"]["value"] == service["metadata"]["name"]
    assert env["SERVICE_PORT"]["value"] == str(
        next(p["port"] for p in service["spec"]["ports"] if p["name"] == "http")
    )
    serve_cm = one(docs, "ConfigMap", lambda d: "serve.yaml" in (d.get("data") or {}))
    assert (
        env["SERVED_MODEL_NAME"]["value"]
        == yaml.safe_load(serve_cm["data"]["serve.yaml"])["served-model-name"]
    )
    for name, source in (("OPENAI_API_KEY", "VLLM_API_KEY"), ("HF_TOKEN", "HF_TOKEN")):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        src = vllm_env[source]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"], ref["optional"]) == (src["name"], src["key"], True)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["serve-config"]["configMap"]["name"] == serve_cm["metadata"]["name"]
    script = one(docs, "ConfigMap", lambda d: d["metadata"]["name"] == volumes["script"]["configMap"]["name"])
    assert script["data"]["load_test.sh"] == SCRIPT.read_text()
    assert script["metadata"]["namespace"] == job["metadata"]["namespace"]
    # Bounded and restricted.
    spec = job["spec"]
    assert spec["backoffLimit"] == 0 and spec["ttlSecondsAfterFinished"] > 0
    phases = sum(int(env[k]["value"]) for k in ("RAMP_SECONDS", "PLATEAU_SECONDS", "TAIL_SECONDS"))
    assert spec["activeDeadlineSeconds"] > phases + 600
    sc = container["securityContext"]
    assert (
        sc["readOnlyRootFilesystem"]
        and not sc["allowPrivilegeEscalation"]
        and sc["capabilities"]["drop"] == ["ALL"]
    )
    assert pod["spec"]["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert "nvidia.com/gpu" not in json.dumps(container.get("resources", {}))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_admits_the_load_test(rendered, overlay):
    docs = rendered(overlay)
    labels = load_job(docs)["spec"]["template"]["metadata"]["labels"]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    assert policies
    assert any(
        all(labels.get(k) == v for k, v in peer["podSelector"]["matchLabels"].items())
        for p in policies
        for rule in p["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if "matchLabels" in peer.get("podSelector", {})
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_validates(cli, tmp_path, overlay):
    folder = load_test_kustomization(tmp_path, overlay)
    result = cli(["validate", "--format", "json", str(folder)], cwd=REPO_ROOT)
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["findings"] == []


def script_flags() -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", SCRIPT.read_text()))


def test_script_uses_only_vllm_bench_serve_flags():
    known = {line.strip() for line in BENCH_FLAGS.read_text().splitlines() if line.startswith("--")}
    used = script_flags()
    assert {
        "--ramp-up-strategy",
        "--ramp-up-start-rps",
        "--ramp-up-end-rps",
        "--request-rate",
        "--burstiness",
        "--dataset-name",
        "--random-input-len",
        "--random-output-len",
    } <= used
    assert used <= known, f"not options of vllm bench serve 0.33.0: {sorted(used - known)}"


# --- the script with a stand-in vllm ---------------------------------------------------------


@pytest.fixture
def fake_vllm(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "calls.jsonl"
    stub = bin_dir / "vllm"
    stub.write_text(f"""#!{sys.executable}
import json, os, sys
with open({str(record)!r}, "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "key": bool(os.environ.get("OPENAI_API_KEY"))}}) + "\\n")
if "--save-result" in sys.argv:  # what vllm bench serve writes: one JSON object, no newline
    path = os.path.join(sys.argv[sys.argv.index("--result-dir") + 1], sys.argv[sys.argv.index("--result-filename") + 1])
    with open(path, "w") as out:
        json.dump({{"completed": 1, "seed": sys.argv[sys.argv.index("--seed") + 1]}}, out)
fail = os.environ.get("FAKE_FAIL_PHASE")
sys.exit(3 if fail and "--seed" in sys.argv and sys.argv[sys.argv.index("--seed") + 1] == fail else 0)
""")
    stub.chmod(0o755)
    # python3 with PyYAML (the venv's), as in the vLLM image.
    (bin_dir / "python3").symlink_to(sys.executable)
    serve = tmp_path / "serve.yaml"
    serve.write_text("model: meta-llama/Llama-3.1-8B-Instruct\nserved-model-name: llama\n")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SERVE_CONFIG": str(serve),
        "SERVICE_NAME": "m-server",
        "SERVICE_NAMESPACE": "inference",
        "SERVICE_PORT": "8000",
        "SERVED_MODEL_NAME": "llama",
        "OPENAI_API_KEY": "k",
        "RAMP_START_RPS": "1",
        "PEAK_RPS": "4",
        "RAMP_SECONDS": "600",
        "PLATEAU_SECONDS": "900",
        "TAIL_RPS": "0.2",
        "TAIL_SECONDS": "600",
        "INPUT_LEN": "1024",
        "OUTPUT_LEN": "256",
        "RANGE_RATIO": "0.3",
        "BURSTINESS": "1.0",
        "RESULT_DIR": str(tmp_path / "results"),
    }

    def run(**overrides):
        proc = subprocess.run(
            ["bash", str(SCRIPT)], env={**env, **overrides}, capture_output=True, text=True, timeout=60
        )
        calls = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
        return proc, calls

    return run


def option(argv, name):
    return argv[argv.index(name) + 1]


def test_script_runs_ramp_plateau_tail(fake_vllm):
    proc, calls = fake_vllm()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Each phase's --save-result file on one log line, for `llmfleet calibrate`.
    assert 'load-test: result plateau {"completed": 1, "seed": "2"}' in proc.stdout.splitlines()
    assert all(
        option(c["argv"], "--result-filename") in ("ramp.json", "plateau.json", "tail.json") for c in calls
    )
    assert all("vllm_version=unknown" in c["argv"] for c in calls)
    assert [c["argv"][:2] for c in calls] == [["bench", "serve"]] * 3
    ramp, plateau, tail = (c["argv"] for c in calls)
    assert option(ramp, "--base-url") == "http://m-server.inference.svc:8000"
    assert option(ramp, "--model") == "meta-llama/Llama-3.1-8B-Instruct"  # the tokenizer
    assert option(ramp, "--served-model-name") == "llama"
    assert (
        option(ramp, "--ramp-up-strategy"),
        option(ramp, "--ramp-up-start-rps"),
        option(ramp, "--ramp-up-end-rps"),
    ) == ("linear", "1", "4")
    # 600 s of a linear ramp 1 -> 4 rps: 600 x 3 / ln 4 requests.
    assert int(option(ramp, "--num-prompts")) == math.ceil(600 * 3 / math.log(4))
    assert "--request-rate" not in ramp
    assert (option(plateau, "--request-rate"), option(plateau, "--num-prompts")) == ("4", "3600")
    assert (option(tail, "--request-rate"), option(tail, "--num-prompts")) == ("0.2", "120")
    assert all(
        option(c, "--dataset-name") == "random" and option(c, "--random-input-len") == "1024"
        for c in (ramp, plateau, tail)
    )
    assert all(c["key"] for c in calls)
    assert proc.stdout.splitlines()[-1].startswith("load-test: PASSED")


def test_script_names_the_failed_phase(fake_vllm):
    proc, calls = fake_vllm(FAKE_FAIL_PHASE="2")
    assert proc.returncode == 1
    assert len(calls) == 2
    assert "load-test: FAILED: in phase plateau" in proc.stdout


def test_script_rejects_a_bad_configuration(fake_vllm):
    proc, calls = fake_vllm(RAMP_START_RPS="0")
    assert proc.returncode == 1 and calls == []
    assert "RAMP_START_RPS must be >= 1" in proc.stdout
    proc, _ = fake_vllm(PEAK_RPS="2.5")
    assert "PEAK_RPS=2.5 is not a whole number" in proc.stdout


def test_no_tail(fake_vllm):
    proc, calls = fake_vllm(TAIL_SECONDS="0")
    assert proc.returncode == 0 and len(calls) == 2
