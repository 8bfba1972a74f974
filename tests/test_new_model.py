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

from llmfleet import render, scaffold
from llmfleet.findings import Finding, Severity
from llmfleet.scaffold import NewModelOptions

REPO_ROOT = Path(__file__).resolve().parents[1]

HAND_WRITTEN = ["llama-3-1-8b-instruct", "mistral-7b-instruct-v0-3", "llama-3-1-70b-instruct"]


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
    models, overlays = routed(repo)
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct")
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    target = repo / "overlays" / "qwen2-5-7b-instruct"
    assert sorted(p.name for p in target.iterdir()) == \
        ["kustomization.yaml", "patch-autoscaling-targets.yaml", "patch-max-replicas.yaml", "serve.yaml"]
    for needle in ("gpu        1 x l4", "weights    14.19 GiB", "kv/token   57,344 B",
                   "kv cache   67,423 tokens", "max concurrency at full context 8.23",
                   "cost min   1 replica: $0.70/h, 1 × L4 × $0.70/h × 24 h = $16.80/day",
                   "cost max   4 replicas: $2.80/h, 4 × L4 × $0.70/h × 24 h = $67.20/day",
                   "check      llmfleet check overlays/qwen2-5-7b-instruct: passed (0 errors, 0 warnings)"):
        assert needle in out, out
    serve = yaml.safe_load((target / "serve.yaml").read_text())
    assert serve == {"model": "Qwen/Qwen2.5-7B-Instruct", "served-model-name": "Qwen/Qwen2.5-7B-Instruct",
                     "tensor-parallel-size": 1, "max-model-len": 8192, "gpu-memory-utilization": 0.92}
    assert not [p for p in (repo / "overlays").iterdir() if p.name.startswith(".")]
    # The gateway routes the new model, and the whole repository checks clean afterwards.
    assert (f"routes     wrote platform/gateway/routes.yaml ({models + 1} models from "
            f"{overlays + 1} overlays)") in out
    assert routed(repo) == (models + 1, overlays + 1)
    assert "name: Qwen/Qwen2.5-7B-Instruct" in (repo / "platform" / "gateway" / "routes.yaml").read_text()
    assert cli(["check"], cwd=repo).exit_code == 0


def test_dry_run_writes_nothing(cli, repo):
    before = tree(repo / "overlays")
    result = new_model(cli, repo, "google/gemma-2-9b-it", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "--- overlays/gemma-2-9b-it/serve.yaml" in result.stdout
    assert "--- overlays/gemma-2-9b-it/patch-gpu-count.yaml" in result.stdout   # TP 2 on L4
    assert "dry run: nothing written" in result.stdout
    assert tree(repo / "overlays") == before


def test_output_is_deterministic(repo):
    options = NewModelOptions("meta-llama/Llama-3.1-70B-Instruct", gpu="a100-80gb", tp=4, force=True)
    one = scaffold.prepare(options, repo / "overlays", repo).files
    two = scaffold.prepare(options, repo / "overlays", repo).files
    assert one == two


def test_default_names():
    assert scaffold.default_name("Qwen/Qwen2.5-7B-Instruct") == "qwen2-5-7b-instruct"
    assert scaffold.default_name("meta-llama/Llama-3.1-8B-Instruct") == "llama-3-1-8b-instruct"
    assert scaffold.default_name("mistralai/Mistral-7B-Instruct-v0.3") == "mistral-7b-instruct-v0-3"
    assert scaffold.default_name("01-ai/01-Yi__6B") == "m-01-yi-6b"
    assert len(scaffold.default_name("org/" + "x" * 100)) == scaffold.MAX_NAME


def test_config_json_model(cli, repo, tmp_path):
    config = {"hidden_size": 2048, "num_hidden_layers": 24, "num_attention_heads": 16,
              "num_key_value_heads": 2, "max_position_embeddings": 32768, "torch_dtype": "bfloat16"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = new_model(cli, repo, "acme/Small-2B", "--config-json", str(path), "--params", "2.1B",
                       "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "acme/Small-2B: 2.10 B parameters, 24 layers, 16 heads / 2 KV heads x 128" in result.stdout


# -- bad input: exit 2, a clear message, nothing written ----------------------------------------

def _config_missing_heads(tmp_path: Path) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"hidden_size": 4096, "num_hidden_layers": 32,
                                "max_position_embeddings": 8192}))
    return str(path)


def _config_huge(tmp_path: Path) -> str:
    path = tmp_path / "huge.json"
    path.write_text(json.dumps({"hidden_size": 16384, "num_hidden_layers": 126, "num_attention_heads": 128,
                                "num_key_value_heads": 8, "max_position_embeddings": 131072,
                                "torch_dtype": "bfloat16"}))
    return str(path)


BAD_INPUTS = [
    ("bad-name", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "Qwen_7B"],
     r"--name 'Qwen_7B': not a DNS-1123 label"),
    ("digit-first", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "7b-qwen"],
     r"--name '7b-qwen': must start with a letter"),
    ("too-long", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "q" * 60],
     r"at most 56 characters"),
    ("path-outside", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "../x"],
     r"--name '../x': must be a plain folder name under overlays/, not a path"),
    ("absolute-path", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--name", "/tmp/x"],
     r"not a path"),
    ("exists", lambda t: ["meta-llama/Llama-3.1-8B-Instruct", "--name", "existing"],
     r"overlay overlays/existing already exists; pass --force to replace it"),
    ("unknown-model", lambda t: ["acme/Mystery-13B"],
     r"model 'acme/Mystery-13B' is not in the catalog .*--config-json PATH"),
    ("bad-model-id", lambda t: ["not a model id"], r"expected a Hugging Face id"),
    ("unknown-gpu", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--gpu", "x100"],
     r"unknown GPU class 'x100': known classes are t4, l4, a100-40gb, a100-80gb, h100-80gb"),
    ("fits-nothing", lambda t: ["meta-llama/Llama-3.1-405B-Instruct", "--config-json", _config_huge(t),
                                "--params", "405.85B"],
     r"fits no GPU class even at TP 8: .*756\.0 GiB of weights.* GiB of KV cache.*would need 11 GPUs"),
    ("pinned-too-small", lambda t: ["meta-llama/Llama-3.1-70B-Instruct", "--name", "big", "--gpu", "l4",
                                    "--tp", "1"],
     r"does not fit on l4 at TP 1: .*short by \d+\.\d\d GiB"),
    ("config-missing-field", lambda t: ["acme/Broken-7B", "--config-json", _config_missing_heads(t),
                                        "--params", "7B"],
     r"config\.json: missing field 'num_attention_heads'"),
    ("config-no-params", lambda t: ["acme/Broken-7B", "--config-json", _config_huge(t)],
     r"gives no parameter count; pass --params"),
    ("config-not-found", lambda t: ["acme/Broken-7B", "--config-json", str(t / "none.json"), "--params", "7B"],
     r"no such file"),
    ("bad-params", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--params", "lots"], r"--params 'lots'"),
    ("len-above-context", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--max-model-len", "65536"],
     r"--max-model-len 65536 is above Qwen/Qwen2.5-7B-Instruct's context \(32768"),
    ("bad-tp", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--tp", "8"],
     r"--tp 8: 28 attention heads are not divisible by TP 8; valid for Qwen/Qwen2.5-7B-Instruct: 1, 2, 4"),
    ("min-replicas-zero", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--min-replicas", "0"],
     r"--min-replicas 0: at least 1"),
    ("max-below-min", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--min-replicas", "3", "--max-replicas", "2"],
     r"--max-replicas 2 is below --min-replicas 3"),
    ("bad-quantization", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--quantization", "bnb"],
     r"--quantization 'bnb': sizing knows fp8, .*awq"),
    ("awq-needs-checkpoint", lambda t: ["Qwen/Qwen2.5-7B-Instruct", "--quantization", "awq"],
     r"--quantization awq: needs a checkpoint quantized with it"),
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
    result = CliRunner().invoke(command, ["Qwen/Qwen2.5-7B-Instruct", "--gpu", "x100",
                                          "--repo-root", str(repo)])
    assert result.exit_code == 2 and "unknown GPU class 'x100'" in result.stderr


# -- atomic writing --------------------------------------------------------------------------

def test_force_replaces_atomically(cli, repo):
    target = repo / "overlays" / "qwen"
    target.mkdir()
    (target / "old-file.yaml").write_text("old\n")
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct", "--name", "qwen", "--force", "--skip-check")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in target.iterdir()) == \
        ["kustomization.yaml", "patch-autoscaling-targets.yaml", "patch-max-replicas.yaml", "serve.yaml"]
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

    monkeypatch.setattr(scaffold.os, "replace", interrupted)
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

    def check(config, target, name):
        from llmfleet.report import Report
        report = Report("check", findings=[finding])
        return {"report": report, "own_errors": [finding] if own else [],
                "other_errors": [] if own else [finding], "text": "error: gpu-fit: boom\n"}
    return check


def test_failed_check_rolls_back(cli, repo, monkeypatch):
    before = tree(repo / "overlays")
    monkeypatch.setattr(scaffold, "_check", _fake_check(own=True))
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct")
    assert result.exit_code == 1
    assert "the generated overlay fails `llmfleet check overlays/qwen2-5-7b-instruct`" in result.stderr
    assert tree(repo / "overlays") == before


def test_failed_check_with_force_restores_the_old_overlay(cli, repo, monkeypatch):
    target = repo / "overlays" / "qwen2-5-7b-instruct"
    target.mkdir()
    (target / "kustomization.yaml").write_text("resources: []\n")
    before = tree(repo / "overlays")
    monkeypatch.setattr(scaffold, "_check", _fake_check(own=True))
    result = new_model(cli, repo, "Qwen/Qwen2.5-7B-Instruct", "--force")
    assert result.exit_code == 1
    assert tree(repo / "overlays") == before


def test_fleet_findings_keep_the_overlay_but_fail(cli, repo, monkeypatch):
    monkeypatch.setattr(scaffold, "_check", _fake_check(own=False))
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
    return NewModelOptions(
        serve["model"], name=overlay.name, gpu=gpu[0], tp=serve.get("tensor-parallel-size"),
        max_model_len=serve.get("max-model-len"), quantization=serve.get("quantization"),
        kv_cache_dtype=serve.get("kv-cache-dtype", "auto"),
        gpu_memory_utilization=serve.get("gpu-memory-utilization", 0.92),
        min_replicas=scaled.get("minReplicaCount", 1), max_replicas=scaled.get("maxReplicaCount"),
        force=True)


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_generated_overlay_renders_like_the_hand_written_one(repo, name):
    original = REPO_ROOT / "overlays" / name
    assert original.is_dir(), f"hand-written overlay {name} is missing"
    expected = rendered_objects(original)
    options = flags_of(original, expected)
    sc = scaffold.prepare(options, repo / "overlays", repo)
    shutil.rmtree(repo / "overlays" / name)
    scaffold.write_overlay(repo / "overlays", name, sc.files, force=True)
    got = normalise(rendered_objects(repo / "overlays" / name))
    want = normalise(expected)
    assert [(o["kind"], o["metadata"]["name"]) for o in got] == \
        [(o["kind"], o["metadata"]["name"]) for o in want]
    for g, w in zip(got, want):
        assert g == w, (f"{w['kind']} {w['metadata']['name']} differs:\n--- hand-written\n"
                        f"{yaml.safe_dump(w, sort_keys=True)}\n--- generated\n{yaml.safe_dump(g, sort_keys=True)}")


# -- generated overlays pass every lint rule -----------------------------------------------------

VARIANTS = [
    ("meta-llama/Llama-3.1-8B-Instruct", []),
    ("meta-llama/Llama-3.1-70B-Instruct", []),                       # auto: TP 8 on L4
    ("mistralai/Mistral-7B-Instruct-v0.3", ["--gpu", "h100-80gb", "--min-replicas", "2"]),
    ("Qwen/Qwen2.5-7B-Instruct", ["--quantization", "fp8", "--kv-cache-dtype", "fp8"]),
    ("google/gemma-2-9b-it", []),                                    # TP 2, longer startup
    ("microsoft/Phi-3-mini-4k-instruct", ["--gpu", "t4"]),           # dtype: half
]


@pytest.mark.parametrize("model, flags", VARIANTS, ids=[v[0].split("/")[1] for v in VARIANTS])
def test_generated_overlays_lint_clean(repo, model, flags):
    from llmfleet.config import load_config
    from llmfleet.checker import Options, run_lint
    name = "gen-" + scaffold.default_name(model)[:40]
    opts = NewModelOptions(model, name=name)
    args = iter(flags)
    for flag in args:
        key = flag[2:].replace("-", "_")
        value = next(args)
        setattr(opts, key, int(value) if key in ("min_replicas", "max_replicas", "tp") else value)
    sc = scaffold.prepare(opts, repo / "overlays", repo)
    scaffold.write_overlay(repo / "overlays", name, sc.files, force=False)
    report = run_lint(load_config(repo), [str(repo / "overlays" / name)], Options())
    assert [(f.rule, f.severity.value, f.path, f.message) for f in report.findings
            if f.severity.value != "info"] == []


def test_base_defaults_are_read_from_the_repository(repo):
    d = scaffold.base_defaults(repo)
    deployment = yaml.safe_load((repo / "base" / "deployment.yaml").read_text())
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    assert (d.startup_failures, d.probe_period_s) == (probe["failureThreshold"], probe["periodSeconds"])
    assert scaffold.base_defaults(repo / "nowhere") == scaffold.BaseDefaults()
