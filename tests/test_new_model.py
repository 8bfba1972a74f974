"""``llmfleet new-model``: the scaffold, its atomic writing, every bad input, and the drift
test (the generated overlay of each hand-written model renders the same objects).

Every test works in a copy of the repository (fixture ``repo_copy``): nothing is written
into the real overlays/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from llmfleet.catalog import entries as catalog
from llmfleet.features.scaffold import plan, prepare, write
from llmfleet.features.scaffold.plan import NewModelOptions
from llmfleet.infra.findings import Finding, Severity
from llmfleet.pipeline import render

REPO_ROOT = Path(__file__).resolve().parents[1]

HAND_WRITTEN = [
    "llama-3-1-8b-instruct",
    "mistral-7b-instruct-v0-3",
    "llama-3-1-70b-instruct",
    "llama-3-1-405b-instruct-fp8",
]
CONFIGS = REPO_ROOT / "tests" / "data" / "hf_configs"


def tree(folder: Path) -> dict[str, bytes]:
    """Every file and folder under ``folder`` (hidden ones too), with contents."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        out[rel] = path.read_bytes() if path.is_file() else b"<dir>"
    return out


@pytest.fixture
def repo(repo_copy) -> Path:
    (repo_copy / "overlays").mkdir(exist_ok=True)
    return repo_copy


def new_model(cli, repo: Path, *args: str):
    return cli(["new-model", *args], cwd=repo)


# -- the happy path --------------------------------------------------------------------------


def routed(repo: Path) -> tuple[int, int]:
    """(models, overlays) in the repository's gateway routes file."""
    models = yaml.safe_load((repo / "platform" / "gateway" / "routes.yaml").read_text())["models"]
    return len(models), len({m["overlay"] for m in models})


def test_qwen_is_written_sized_priced_and_checked(cli, repo):
    # A fork that has named its repository in argocd/ (docs/deploying.md 7.1): otherwise the
    # fleet-wide check also reports the template's placeholder (argocd-repo-placeholder).
    for path in (repo / "argocd").glob("*.yaml"):
        path.write_text(path.read_text().replace("example-org/llm-fleet", "acme/llm-fleet"))
    models, overlays = routed(repo)
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct")
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    target = repo / "overlays" / "qwen2-5-7b-instruct"
    assert sorted(p.name for p in target.iterdir()) == [
        "kustomization.yaml",
        "patch-autoscaling-targets.yaml",
        "patch-max-replicas.yaml",
        "serve.yaml",
    ]
    for needle in (
        "gpu        1 x l4",
        "weights    14.19 GiB",
        "kv/token   57,344 B",
        "kv cache   67,423 tokens",
        "max concurrency at full context 8.23",
        # The pod (4 CPU, 24 GiB) fits neither g6.xlarge nor g2-standard-4 (4 vCPU, less the
        # kubelet's and the DaemonSets' share): the cheapest node that holds it is a
        # g2-standard-8 at $0.853624271/h (us-central1), the whole node per pod.
        "cost min   1 replica on 1 node of g2-standard-8 (1 × l4, $0.8536/h on demand, gke us-central1) "
        "= $0.8536/h, $20.49/day; 0 of 1 GPU slots free",
        "cost max   4 replicas on 4 nodes of g2-standard-8 (1 × l4, $0.8536/h on demand, gke us-central1) "
        "= $3.4145/h, $81.95/day; 0 of 4 GPU slots free",
        "instance   g2-standard-8 (1 × l4, $0.8536/h on demand, gke us-central1): the whole node",
        "check      llmfleet check overlays/qwen2-5-7b-instruct: passed (0 errors, 0 warnings)",
    ):
        assert needle in out, out
    serve = yaml.safe_load((target / "serve.yaml").read_text())
    assert serve == {
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "served-model-name": "Qwen/Qwen2.5-7B-Instruct",
        "tensor-parallel-size": 1,
        "max-model-len": 8192,
        "gpu-memory-utilization": 0.92,
    }
    assert not [p for p in (repo / "overlays").iterdir() if p.name.startswith(".")]
    # The gateway routes the new model, and the whole repository checks clean afterwards.
    assert (
        f"routes     wrote platform/gateway/routes.yaml ({models + 1} models from {overlays + 1} overlays)"
    ) in out
    assert routed(repo) == (models + 1, overlays + 1)
    assert "name: Qwen/Qwen2.5-7B-Instruct" in (repo / "platform" / "gateway" / "routes.yaml").read_text()
    assert cli(["check"], cwd=repo).exit_code == 0


def test_dry_run_writes_nothing(cli, repo):
    before = tree(repo / "overlays")
    result = new_model(cli, repo, "google/gemma-2-9b-it", "--dry-run", "--skip-check")
    assert result.exit_code == 0, result.stderr
    assert "--- overlays/gemma-2-9b-it/serve.yaml" in result.stdout
    assert "--- overlays/gemma-2-9b-it/patch-gpu-count.yaml" in result.stdout  # TP 2 on L4
    assert "dry run: nothing written; check skipped" in result.stdout
    assert tree(repo / "overlays") == before


def test_output_is_deterministic(repo):
    options = NewModelOptions("meta-llama/Llama-3.1-70B-Instruct", gpu="a100-80gb", tp=4, force=True)
    one = prepare.prepare(options, repo / "overlays", repo).files
    two = prepare.prepare(options, repo / "overlays", repo).files
    assert one == two


def test_default_names():
    assert plan.default_name("Qwen/Qwen2.5-7B-Instruct") == "qwen2-5-7b-instruct"
    assert plan.default_name("meta-llama/Llama-3.1-8B-Instruct") == "llama-3-1-8b-instruct"
    assert plan.default_name("mistralai/Mistral-7B-Instruct-v0.3") == "mistral-7b-instruct-v0-3"
    assert plan.default_name("01-ai/01-Yi__6B") == "m-01-yi-6b"
    assert len(plan.default_name("org/" + "x" * 100)) == plan.MAX_NAME == 41


def test_config_json_model(cli, repo, tmp_path):
    config = {
        "hidden_size": 2048,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "max_position_embeddings": 32768,
        "torch_dtype": "bfloat16",
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = new_model(
        cli,
        repo,
        "acme/Small-2B",
        "--config-json",
        str(path),
        "--params",
        "2.1B",
        "--dry-run",
        "--skip-check",
    )
    assert result.exit_code == 0, result.stderr
    assert "acme/Small-2B: 2.10 B parameters, 24 layers, 16 heads / 2 KV heads x 128" in result.stdout


def test_config_json_counts_the_parameters(cli, repo):
    """No --params: the count follows from config.json (a mixture of experts here)."""
    result = new_model(
        cli,
        repo,
        "Qwen/Qwen3-30B-A3B",
        "--config-json",
        str(CONFIGS / "Qwen--Qwen3-30B-A3B.json"),
        "--dry-run",
        "--skip-check",
    )
    assert result.exit_code == 0, result.stderr
    assert "Qwen/Qwen3-30B-A3B: 30.53 B parameters (3.35 B active per token), 48 layers" in result.stdout


# -- bad input: exit 2, a clear message, nothing written ----------------------------------------


def _config_missing_heads(tmp_path: Path) -> str:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps({"hidden_size": 4096, "num_hidden_layers": 32, "max_position_embeddings": 8192})
    )
    return str(path)


def _config_huge(tmp_path: Path) -> str:
    path = tmp_path / "huge.json"
    path.write_text(
        json.dumps(
            {
                "hidden_size": 16384,
                "num_hidden_layers": 126,
                "num_attention_heads": 128,
                "num_key_value_heads": 8,
                "max_position_embeddings": 131072,
                "torch_dtype": "bfloat16",
            }
        )
    )
    return str(path)


BAD_INPUTS = [
    (
        "bad-name",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "Qwen_7B"],
        r"--name 'Qwen_7B': not a DNS-1123 label",
    ),
    (
        "digit-first",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "7b-qwen"],
        r"--name '7b-qwen': must start with a letter",
    ),
    (
        "too-long",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "q" * 60],
        # The smoke-test Job's name carries a 10-character content hash (components/smoke-test).
        r"--name 'q{60}' has 60 characters: at most 41 for this overlay, because Job "
        r"<name>-smoke-test-[a-z0-9]{10} may have at most 63 characters: its pods carry the label job-name",
    ),
    # 55 characters: the Service <name>-server (62) would still be a valid DNS label, but
    # KEDA's HPA keda-hpa-<name>-server (71) would not, nor the smoke-test Job's pod label.
    ("55-characters", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "a" * 55], r"at most 41"),
    (
        "multi-node-name",
        lambda t: ["meta-llama/Llama-3.1-405B-Instruct", "--gpu", "h100-80gb", "--name", "m" * 45],
        r"at most 41 for this overlay, because Job <name>-smoke-test-[a-z0-9]{10} may have at most 63",
    ),
    (
        "gemma2-on-t4",
        lambda t: ["google/gemma-2-9b-it", "--gpu", "t4"],
        r"google/gemma-2-9b-it on t4: .*refuses float16 for model type 'gemma2'.*"
        r"Alternatives: \(1\) another GPU class: 2 x l4 .*\(2\) float32 on t4.*\(3\) a quantized variant",
    ),
    (
        "gemma2-half",
        lambda t: ["google/gemma-2-9b-it", "--gpu", "l4", "--dtype", "half"],
        r"refuses float16 for model type 'gemma2'",
    ),
    (
        "bf16-on-t4",
        lambda t: [
            "meta-llama/Llama-3.1-8B-Instruct",
            "--gpu",
            "t4",
            "--dtype",
            "bfloat16",
            "--name",
            "t4-8b",
            "--served-model-name",
            "t4-8b",
        ],
        r"t4 \(Turing, compute capability 7.5\) has no bfloat16",
    ),
    ("nodes-out-of-range", lambda t: ["meta-llama/Llama-3.1-405B-Instruct", "--nodes", "9"], r"--nodes"),
    (
        "same-served-name",
        lambda t: ["meta-llama/Llama-3.1-70B-Instruct", "--gpu", "l4", "--name", "l4-70b"],
        r"overlay llama-3-1-70b-instruct already serves model name 'meta-llama/Llama-3.1-70B-Instruct'.*"
        r"--served-model-name",
    ),
    (
        "bad-served-name",
        lambda t: ["meta-llama/Llama-3.1-8B-Instruct", "--served-model-name", "a b"],
        r"--served-model-name 'a b'",
    ),
    (
        "path-outside",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "../x"],
        r"--name '../x': must be a plain folder name under overlays/, not a path",
    ),
    ("absolute-path", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "/tmp/x"], r"not a path"),
    (
        "exists",
        lambda t: ["meta-llama/Llama-3.1-8B-Instruct", "--name", "existing"],
        r"overlay overlays/existing already exists; pass --force to replace it",
    ),
    (
        "unknown-model",
        lambda t: ["acme/Mystery-13B"],
        r"model 'acme/Mystery-13B' is not in the catalog .*--config-json PATH",
    ),
    ("bad-model-id", lambda t: ["not a model id"], r"expected a Hugging Face id"),
    (
        "unknown-gpu",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--gpu", "x100"],
        r"unknown GPU class 'x100': known classes are " + re.escape(", ".join(catalog.gpu_names())),
    ),
    (
        "fits-nothing",
        lambda t: ["acme/Huge-4T", "--config-json", _config_huge(t), "--params", "4T"],
        r"does not fit on any GPU class of the catalog on up to 4 nodes \(closest: 4 nodes x 8 x b200\): "
        r"per GPU .* > budget .*short by \d+\.\d\d GiB",
    ),
    (
        "pinned-too-small",
        lambda t: ["meta-llama/Llama-3.1-70B-Instruct", "--name", "big", "--gpu", "l4", "--tp", "1"],
        r"does not fit on l4 at TP 1 \(closest: 1 x l4\): per GPU 131.42 GiB weights \(bfloat16\) \+ 2.50 GiB "
        r"overhead \+ 0.62 GiB KV for 2 sequences of 1024 tokens = 134.54 GiB > budget 20.29 GiB",
    ),
    (
        "config-missing-field",
        lambda t: ["acme/Broken-7B", "--config-json", _config_missing_heads(t), "--params", "7B"],
        r"config\.json: missing field 'num_attention_heads'",
    ),
    (
        "config-no-count",
        lambda t: ["acme/Broken-7B", "--config-json", _config_huge(t)],
        r"huge.json: field 'vocab_size' is missing \(needed to count the parameters; pass --params",
    ),
    (
        "config-not-found",
        lambda t: ["acme/Broken-7B", "--config-json", str(t / "none.json"), "--params", "7B"],
        r"no such file",
    ),
    ("bad-params", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--params", "lots"], r"--params 'lots'"),
    (
        "len-above-context",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--max-model-len", "65536"],
        r"--max-model-len 65536 is above Qwen/Qwen2.5-7B-Instruct's context \(32768",
    ),
    (
        "bad-tp",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--tp", "8"],
        r"--tp 8: 28 attention heads are not divisible by TP 8; valid for Qwen/Qwen2.5-7B-Instruct: 1, 2, 4",
    ),
    (
        "min-replicas-zero",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--min-replicas", "0"],
        r"--min-replicas 0: at least 1",
    ),
    (
        "max-below-min",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--min-replicas", "3", "--max-replicas", "2"],
        r"--max-replicas 2 is below --min-replicas 3",
    ),
    (
        "bad-quantization",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--quantization", "bnb"],
        r"--quantization 'bnb': sizing knows fp8, .*awq",
    ),
    (
        "awq-needs-checkpoint",
        lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--quantization", "awq"],
        r"--quantization awq: needs a checkpoint quantized with it",
    ),
]


@pytest.mark.parametrize("case, args, message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input(cli, repo, tmp_path, case, args, message):
    existing = repo / "overlays" / "existing"
    existing.mkdir()
    (existing / "kustomization.yaml").write_text("resources: []\n")
    before = tree(repo / "overlays")
    result = new_model(cli, repo, *args(tmp_path))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert re.search(message, result.stderr), result.stderr
    assert result.stderr.startswith("llmfleet: error: ")
    assert "Traceback" not in result.stderr + result.stdout
    assert tree(repo / "overlays") == before
    assert not (repo / "x").exists()


def test_bad_input_through_the_command_alone(repo, monkeypatch):
    """The click command works outside the main group too (exit 2, no traceback)."""
    from click.testing import CliRunner

    from llmfleet.commands.new_model import command

    monkeypatch.delenv("LLMFLEET_ROOT", raising=False)
    result = CliRunner().invoke(
        command, ["Qwen/Qwen2.5-7B-Instruct", "--gpu", "x100", "--repo-root", str(repo)]
    )
    assert result.exit_code == 2 and "unknown GPU class 'x100'" in result.stderr


# -- atomic writing --------------------------------------------------------------------------


def test_force_replaces_atomically(cli, repo):
    target = repo / "overlays" / "qwen"
    target.mkdir()
    (target / "old-file.yaml").write_text("old\n")
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct", "--name", "qwen", "--force", "--skip-check")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in target.iterdir()) == [
        "kustomization.yaml",
        "patch-autoscaling-targets.yaml",
        "patch-max-replicas.yaml",
        "serve.yaml",
    ]
    assert not [p for p in (repo / "overlays").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("force", [False, True])
def test_interrupt_leaves_no_half_overlay(cli, repo, monkeypatch, force):
    name = "llama-3-1-8b-instruct" if force else "qwen2-5-7b-instruct"
    model = "meta-llama/Llama-3.1-8B-Instruct" if force else "Qwen/Qwen2.5-7B-Instruct"
    if force and not (repo / "overlays" / name).is_dir():
        (repo / "overlays" / name).mkdir()
        (repo / "overlays" / name / "kustomization.yaml").write_text("resources: []\n")
    before = tree(repo / "overlays")
    real_replace = os.replace

    def interrupted(src, dst):
        if Path(src).name.startswith(".tmp-"):
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted)
    args = [model, "--skip-check"] + (["--force"] if force else [])
    result = new_model(cli, repo, *args)
    assert result.exit_code == 130
    assert "interrupted; nothing was written" in result.stderr
    assert tree(repo / "overlays") == before


def test_interrupt_while_writing_files(cli, repo, monkeypatch):
    before = tree(repo / "overlays")
    real = Path.write_text
    calls = []

    def write_text(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct", "--skip-check")
    assert result.exit_code == 130
    monkeypatch.setattr(Path, "write_text", real)
    assert tree(repo / "overlays") == before


def _fake_check(own: bool):
    finding = Finding("gpu-fit", Severity.ERROR, "boom", overlay="qwen2-5-7b-instruct" if own else "")

    def check(config, target, name, files=None):
        from llmfleet.pipeline.report import Report

        report = Report("check", findings=[finding])
        return {
            "report": report,
            "own_errors": [finding] if own else [],
            "other_errors": [] if own else [finding],
            "text": "error: gpu-fit: boom\n",
        }

    return check


def test_failed_check_rolls_back(cli, repo, monkeypatch):
    before = tree(repo / "overlays")
    monkeypatch.setattr(write, "_check", _fake_check(own=True))
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct")
    assert result.exit_code == 1
    assert "the generated overlay fails `llmfleet check overlays/qwen2-5-7b-instruct`" in result.stderr
    assert tree(repo / "overlays") == before


def test_failed_check_with_force_restores_the_old_overlay(cli, repo, monkeypatch):
    target = repo / "overlays" / "qwen2-5-7b-instruct"
    target.mkdir()
    (target / "kustomization.yaml").write_text("resources: []\n")
    before = tree(repo / "overlays")
    monkeypatch.setattr(write, "_check", _fake_check(own=True))
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct", "--force")
    assert result.exit_code == 1
    assert tree(repo / "overlays") == before


def test_fleet_findings_keep_the_overlay_but_fail(cli, repo, monkeypatch):
    monkeypatch.setattr(write, "_check", _fake_check(own=False))
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct")
    assert result.exit_code == 1
    assert "passes its own checks" in result.stderr and "fleet-wide findings" in result.stderr
    assert (repo / "overlays" / "qwen2-5-7b-instruct" / "serve.yaml").is_file()


# -- drift: generated == hand-written --------------------------------------------------------


def rendered_objects(directory: Path) -> list[dict]:
    result = render.render(directory)
    assert result.ok, result.error
    return [d for d in yaml.safe_load_all(result.text) if d]


_HASHED = re.compile(r"(vllm-serve-config)-[a-z0-9]{10}$")


def normalise(objects: list[dict]) -> list[dict]:
    """Drop the ConfigMap hash suffix everywhere and compare serve.yaml as data (its
    comments are documentation, not configuration)."""

    def walk(node):
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return _HASHED.sub(r"\1", node)
        return node

    out = []
    for obj in objects:
        obj = walk(obj)
        if obj.get("kind") == "ConfigMap" and "serve.yaml" in (obj.get("data") or {}):
            obj["data"]["serve.yaml"] = yaml.safe_load(obj["data"]["serve.yaml"])
        out.append(obj)
    return sorted(out, key=lambda o: (o["kind"], o["metadata"]["name"]))


def flags_of(overlay: Path, objects: list[dict]) -> NewModelOptions:
    """The new-model flags that reproduce a hand-written overlay's choices."""
    serve = yaml.safe_load((overlay / "serve.yaml").read_text())
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    gpu = [c.rsplit("/gpu-", 1)[1] for c in kustomization["components"] if "/gpu-" in c]
    scaled = next(o for o in objects if o["kind"] == "ScaledObject")["spec"]
    pp = serve.get("pipeline-parallel-size", 1)
    return NewModelOptions(
        serve["model"],
        name=overlay.name,
        gpu=gpu[0],
        tp=serve.get("tensor-parallel-size"),
        max_model_len=serve.get("max-model-len"),
        quantization=serve.get("quantization"),
        kv_cache_dtype=serve.get("kv-cache-dtype", "auto"),
        gpu_memory_utilization=serve.get("gpu-memory-utilization", 0.92),
        min_replicas=scaled.get("minReplicaCount", 1),
        max_replicas=scaled.get("maxReplicaCount"),
        force=True,
        dtype=serve.get("dtype"),
        nodes=pp if pp > 1 else None,
        served_model_name=serve.get("served-model-name")
        if serve.get("served-model-name") != serve["model"]
        else None,
    )


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_generated_overlay_renders_like_the_hand_written_one(repo, name):
    original = REPO_ROOT / "overlays" / name
    assert original.is_dir(), f"hand-written overlay {name} is missing"
    expected = rendered_objects(original)
    options = flags_of(original, expected)
    sc = prepare.prepare(options, repo / "overlays", repo)
    shutil.rmtree(repo / "overlays" / name)
    write.write_overlay(repo / "overlays", name, sc.files, force=True)
    got = normalise(rendered_objects(repo / "overlays" / name))
    want = normalise(expected)
    assert [(o["kind"], o["metadata"]["name"]) for o in got] == [
        (o["kind"], o["metadata"]["name"]) for o in want
    ]
    for g, w in zip(got, want):
        assert g == w, (
            f"{w['kind']} {w['metadata']['name']} differs:\n--- hand-written\n"
            f"{yaml.safe_dump(w, sort_keys=True)}\n--- generated\n{yaml.safe_dump(g, sort_keys=True)}"
        )


# -- generated overlays pass every lint rule -----------------------------------------------------

VARIANTS = [
    ("meta-llama/Llama-3.1-8B-Instruct", []),
    ("meta-llama/Llama-3.1-70B-Instruct", []),  # auto: TP 8 on L4
    ("mistralai/Mistral-7B-Instruct-v0.3", ["--gpu", "h100-80gb", "--min-replicas", "2"]),
    ("Qwen/Qwen2.5-7B-Instruct", ["--quantization", "fp8", "--kv-cache-dtype", "fp8"]),
    ("google/gemma-2-9b-it", []),  # TP 2, longer startup
    ("google/gemma-2-9b-it", ["--gpu", "t4", "--dtype", "float32"]),  # float32: twice the weights
    ("microsoft/Phi-3-mini-4k-instruct", ["--gpu", "t4"]),  # dtype: half
    ("meta-llama/Llama-3.1-405B-Instruct", ["--gpu", "h100-80gb"]),  # two nodes (LeaderWorkerSet)
    ("meta-llama/Llama-3.1-405B-Instruct", ["--gpu", "a100-80gb", "--nodes", "3"]),
]


@pytest.mark.parametrize(
    "model, flags", VARIANTS, ids=[v[0].split("/")[1] + "".join(v[1][:2]) for v in VARIANTS]
)
def test_generated_overlays_lint_clean(repo, model, flags):
    from llmfleet.pipeline.config import load_config
    from llmfleet.pipeline.runner import Options, run_lint

    name = "gen-" + plan.default_name(model)[:30]
    opts = NewModelOptions(model, name=name, served_model_name=name)
    args = iter(flags)
    for flag in args:
        key = flag[2:].replace("-", "_")
        value = next(args)
        setattr(opts, key, int(value) if key in ("min_replicas", "max_replicas", "tp", "nodes") else value)
    sc = prepare.prepare(opts, repo / "overlays", repo)
    write.write_overlay(repo / "overlays", name, sc.files, force=False)
    report = run_lint(load_config(repo), [str(repo / "overlays" / name)], Options())
    assert [
        (f.rule, f.severity.value, f.path, f.message) for f in report.findings if f.severity.value != "info"
    ] == []


# -- dtypes vLLM accepts --------------------------------------------------------------------------


def test_gemma2_on_t4_is_refused_and_float32_is_written_only_when_asked(cli, repo):
    before = tree(repo / "overlays")
    refused = new_model(cli, repo, "google/gemma-2-9b-it", "--gpu", "t4")
    assert refused.exit_code == 2 and tree(repo / "overlays") == before
    assert "vllm/config/model.py _FLOAT16_NOT_SUPPORTED_MODELS" in refused.stderr
    result = new_model(
        cli, repo, "google/gemma-2-9b-it", "--gpu", "t4", "--dtype", "float32", "--dry-run", "--skip-check"
    )
    assert result.exit_code == 0, result.stderr
    assert "dtype      float32 (--dtype float32, serve.yaml dtype: float32)" in result.stdout
    assert "weights    34.43 GiB (float32)" in result.stdout
    serve = result.stdout.split("--- overlays/gemma-2-9b-it/serve.yaml\n")[1]
    assert yaml.safe_load(serve.split("--- ")[0])["dtype"] == "float32"
    assert "# google/gemma-2-9b-it (fp32) on four NVIDIA T4 16 GB" in result.stdout


def test_comments_state_the_dtype_configured(repo):
    sc = prepare.prepare(
        NewModelOptions("microsoft/Phi-3-mini-4k-instruct", gpu="t4"), repo / "overlays", repo
    )
    assert sc.files["kustomization.yaml"].startswith(
        "# microsoft/Phi-3-mini-4k-instruct (fp16) on one NVIDIA T4"
    )
    serve = yaml.safe_load(sc.files["serve.yaml"])
    assert serve["dtype"] == "half"
    assert "in fp16 ->" in sc.files["serve.yaml"] and "(bf16)" not in sc.files["kustomization.yaml"]
    l4 = prepare.prepare(
        NewModelOptions("microsoft/Phi-3-mini-4k-instruct", gpu="l4"), repo / "overlays", repo
    )
    assert "(bf16)" in l4.files["kustomization.yaml"] and "dtype" not in yaml.safe_load(
        l4.files["serve.yaml"]
    )


# -- served model names ---------------------------------------------------------------------------


def test_served_model_name_lets_a_second_overlay_coexist(cli, repo):
    result = new_model(
        cli,
        repo,
        "meta-llama/Llama-3.1-70B-Instruct",
        "--gpu",
        "l4",
        "--name",
        "llama-70b-l4",
        "--served-model-name",
        "llama-3.1-70b-l4",
    )
    assert "fleet-duplicate-model" not in result.stdout + result.stderr
    assert result.exit_code in (0, 1), result.stderr
    target = repo / "overlays" / "llama-70b-l4"
    serve = yaml.safe_load((target / "serve.yaml").read_text())
    assert (
        serve["served-model-name"] == "llama-3.1-70b-l4"
        and serve["model"] == "meta-llama/Llama-3.1-70B-Instruct"
    )
    assert "llmfleet.io/served-model-name: llama-3.1-70b-l4" in (target / "kustomization.yaml").read_text()
    check = cli(["check", "--format", "json"], cwd=repo)
    rules = {f["rule"] for f in json.loads(check.stdout)["findings"]}
    assert "fleet-duplicate-model" not in rules


# -- one arithmetic, and --dry-run runs what the real run runs -----------------------------------------

PARITY = [
    ("accepted", ["Qwen/Qwen2.5-7B-Instruct", "--name", "qwen-parity"]),
    ("accepted-t4", ["microsoft/Phi-3-mini-4k-instruct", "--gpu", "t4", "--name", "phi-parity"]),
    ("multi-node", ["meta-llama/Llama-3.1-405B-Instruct", "--gpu", "h100-80gb", "--name", "big-parity"]),
    ("refused-dtype", ["google/gemma-2-9b-it", "--gpu", "t4"]),
    ("refused-name", ["Qwen/Qwen2.5-7B-Instruct", "--name", "n" * 55]),
    ("refused-fit", ["meta-llama/Llama-3.1-70B-Instruct", "--gpu", "l4", "--tp", "1", "--name", "x70"]),
    ("refused-served-name", ["meta-llama/Llama-3.1-8B-Instruct", "--name", "second-8b"]),
]


@pytest.mark.parametrize("case, args", PARITY, ids=[c[0] for c in PARITY])
def test_dry_run_exits_like_the_real_run(cli, repo, case, args):
    before = tree(repo / "overlays")
    dry = new_model(cli, repo, *args, "--dry-run")
    assert tree(repo / "overlays") == before, "a dry run wrote something"
    real = new_model(cli, repo, *args)
    assert dry.exit_code == real.exit_code, (case, dry.stderr, real.stderr)
    if case.startswith("refused"):
        assert real.exit_code == 2 and dry.stderr == real.stderr
    else:
        # The same findings decide both: the check's error lines are the same.
        assert check_errors(dry.stderr) == check_errors(real.stderr)


def check_errors(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if ": error: " in line and "llmfleet: error" not in line)


# -- multi-node ------------------------------------------------------------------------------------


def test_multi_node_overlay_when_one_node_is_not_enough(cli, repo):
    result = new_model(cli, repo, "meta-llama/Llama-3.1-405B-Instruct", "--gpu", "h100-80gb", "--skip-check")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "gpu        2 nodes x 8 x h100-80gb = 16 GPUs per replica (TP 8 x PP 2" in out
    assert "no single node holds meta-llama/Llama-3.1-405B-Instruct in bfloat16" in out
    assert "quota      up to 2 x 16 = 32 GPUs at max replicas" in out
    target = repo / "overlays" / "llama-3-1-405b-instruct"
    serve = yaml.safe_load((target / "serve.yaml").read_text())
    assert (serve["tensor-parallel-size"], serve["pipeline-parallel-size"], serve["max-model-len"]) == (
        8,
        2,
        131072,
    )
    assert serve["distributed-timeout-seconds"] == 1800
    objects = rendered_objects(target)
    lws = next(o for o in objects if o["kind"] == "LeaderWorkerSet")
    tpl = lws["spec"]["leaderWorkerTemplate"]
    assert tpl["size"] == 2
    for role in ("leaderTemplate", "workerTemplate"):
        vllm = tpl[role]["spec"]["containers"][0]
        assert vllm["resources"]["limits"]["nvidia.com/gpu"] == 8
    scaled = next(o for o in objects if o["kind"] == "ScaledObject")
    thresholds = {t["name"]: t["metadata"]["threshold"] for t in scaled["spec"]["triggers"]}
    # 750,102 tokens per group / 131072 = 5.72 sequences: queue 5, KV 1 - 1/5.72 = 0.82.
    assert thresholds == {"queue-depth": "5", "kv-cache-usage": "0.82"}
    assert scaled["spec"]["scaleTargetRef"]["kind"] == "LeaderWorkerSet"
    assert not any(o["kind"] == "Deployment" for o in objects)
    kinds = {o["kind"] for o in objects}
    assert "NetworkPolicy" in kinds and "PersistentVolumeClaim" in kinds


def test_three_nodes_patch_the_group_size(repo):
    sc = prepare.prepare(
        NewModelOptions("meta-llama/Llama-3.1-405B-Instruct", gpu="h100-80gb", nodes=3),
        repo / "overlays",
        repo,
    )
    assert "patch-size.yaml" in sc.files
    serve = yaml.safe_load(sc.files["serve.yaml"])
    assert (serve["tensor-parallel-size"], serve["pipeline-parallel-size"]) == (8, 3)
    write.write_overlay(repo / "overlays", sc.name, sc.files, force=False)
    lws = next(o for o in rendered_objects(repo / "overlays" / sc.name) if o["kind"] == "LeaderWorkerSet")
    assert lws["spec"]["leaderWorkerTemplate"]["size"] == 3


def test_l4_groups_get_resources_that_fit_their_nodes(repo):
    """base-multinode asks 640Gi per pod (an 8 x H100 node); an 8 x L4 node has less."""
    sc = prepare.prepare(
        NewModelOptions(
            "meta-llama/Llama-3.1-70B-Instruct", gpu="l4", nodes=2, served_model_name="l4-70b", name="l4-70b"
        ),
        repo / "overlays",
        repo,
    )
    assert "patch-resources.yaml" in sc.files
    write.write_overlay(repo / "overlays", sc.name, sc.files, force=False)
    lws = next(o for o in rendered_objects(repo / "overlays" / sc.name) if o["kind"] == "LeaderWorkerSet")
    for role in ("leaderTemplate", "workerTemplate"):
        resources = lws["spec"]["leaderWorkerTemplate"][role]["spec"]["containers"][0]["resources"]
        assert resources["requests"]["memory"] == "256Gi" and resources["requests"]["cpu"] == "32"


def test_multi_node_explains_why_not(cli, repo):
    config = yaml.safe_load((repo / "llmfleet.yaml").read_text())
    config.setdefault("cluster", {})["node-shapes"] = ["g6.xlarge", "g2-standard-8", "a3-highgpu-1g"]
    (repo / "llmfleet.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = new_model(cli, repo, "meta-llama/Llama-3.1-405B-Instruct", "--gpu", "h100-80gb")
    assert result.exit_code == 2
    assert (
        "no node shape with several GPUs in the cluster's node shapes (cluster.node-shapes in "
        "llmfleet.yaml) (largest: 1)"
    ) in result.stderr


def test_base_defaults_are_read_from_the_repository(repo):
    d = plan.base_defaults(repo)
    deployment = yaml.safe_load((repo / "base" / "deployment.yaml").read_text())
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    assert (d.startup_failures, d.probe_period_s) == (probe["failureThreshold"], probe["periodSeconds"])
    assert plan.base_defaults(repo / "nowhere") == plan.BaseDefaults()


@pytest.mark.parametrize(
    "model, gpu, bound",
    [("Qwen/Qwen2.5-7B-Instruct", "l4", 41), ("meta-llama/Llama-3.1-405B-Instruct", "h100-80gb", 41)],
)
def test_name_bound_from_the_render_and_without_a_renderer(repo, monkeypatch, model, gpu, bound):
    """The bound comes from the objects the overlay renders; without kustomize, the same
    figure from the known object names."""
    from llmfleet.infra.errors import ToolError
    from llmfleet.pipeline import render

    options = NewModelOptions(model, gpu=gpu, name="x", served_model_name="x")
    assert prepare.prepare(options, repo / "overlays", repo).name_limit == bound

    def missing():
        raise ToolError("kustomize", "not found")

    monkeypatch.setattr(render, "find_renderer", missing)
    assert prepare.prepare(options, repo / "overlays", repo).name_limit == bound


@pytest.mark.parametrize("multinode", [False, True], ids=["single-node", "multi-node"])
def test_the_new_overlay_is_rendered_once(cli, repo, monkeypatch, tmp_path, multinode):
    """new-model renders its files once, in a temporary folder, to measure object names; that
    render is kept under the written overlay's own cache key and serves the check of the
    dry run, the check of the staged overlay and a later run.  It is exactly what kustomize
    renders for the written overlay."""
    from llmfleet.pipeline.render_cache import RenderCache

    monkeypatch.setenv("LLMFLEET_CACHE_DIR", str(tmp_path / "cache"))
    args = (
        ("meta-llama/Llama-3.1-405B-Instruct", "--gpu", "h100-80gb", "--max-replicas", "1")
        if multinode
        else ("Qwen/Qwen2.5-7B-Instruct",)
    )
    name = "llama-3-1-405b-instruct" if multinode else "qwen2-5-7b-instruct"
    renders: list[str] = []
    real = render.render
    monkeypatch.setattr(render, "render", lambda *a, **k: renders.append(Path(a[0]).name) or real(*a, **k))

    def of_the_new_overlay() -> list[str]:
        return [r for r in renders if r == name or r.startswith(f".tmp-{name}-")]

    result = new_model(cli, repo, *args, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert of_the_new_overlay() == [name]  # measured once; the dry run's check hits the cache
    renders.clear()
    written = new_model(cli, repo, *args)
    assert written.exit_code == 0, written.stderr
    assert of_the_new_overlay() == []

    target = repo / "overlays" / name
    cache = RenderCache(repo, render.find_renderer())
    key = cache.key(target)
    assert key is not None and key == cache.key_of_files(
        f"overlays/{name}", {p.name: p.read_text() for p in target.iterdir()}
    )
    stored = cache.lookup(key)
    assert stored is not None, "the measuring render was not kept under the overlay's key"
    assert stored == real(target).text
    check = cli(["check", f"overlays/{name}"], cwd=repo)
    assert check.exit_code == 0, check.stdout + check.stderr
    assert of_the_new_overlay() == []
