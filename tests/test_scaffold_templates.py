"""new-model's files come from the Jinja2 templates in tools/llmfleet/data/scaffold/: every
template is used, every rendered file is YAML of the shape kustomize and vLLM expect, and
the kustomization lists exactly the patch files written beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmfleet.catalog import entries as catalog
from llmfleet.features.scaffold import plan, prepare
from llmfleet.features.scaffold import templates as scaffold_templates
from llmfleet.model.vllm import flags

REPO = Path(__file__).resolve().parents[1]

PLANS = [
    ("Qwen/Qwen2.5-7B-Instruct", {}),
    ("Qwen/Qwen2.5-7B-Instruct", {"gpu": "t4", "dtype": "float16"}),
    ("Qwen/Qwen2.5-7B-Instruct", {"gpu": "t4", "dtype": "float32", "max_model_len": 2048}),
    ("meta-llama/Llama-3.1-70B-Instruct", {"gpu": "a100-80gb", "min_replicas": 2, "max_replicas": 3}),
    ("meta-llama/Llama-3.1-70B-Instruct", {"gpu": "l4", "quantization": "fp8", "kv_cache_dtype": "fp8"}),
    ("meta-llama/Llama-3.1-405B-Instruct-FP8", {"gpu": "h100-80gb", "nodes": 3}),
    ("meta-llama/Llama-3.1-405B-Instruct-FP8", {"gpu": "l4", "nodes": 4}),
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    overlays = tmp_path_factory.mktemp("repo") / "overlays"
    overlays.mkdir()
    mp = pytest.MonkeyPatch()
    # The object-name bound needs a kustomize render; it is not what this test is about.
    mp.setattr(prepare, "name_limit", lambda sc, root, overlays_dir=None: (plan.MAX_NAME, ""))
    used: set[str] = set()
    real = scaffold_templates._environment().get_template

    def recording(name, *args, **kwargs):
        used.add(name)
        return real(name, *args, **kwargs)

    mp.setattr(scaffold_templates._environment(), "get_template", recording)
    try:
        out = [
            (model, opts, prepare.prepare(plan.NewModelOptions(model_id=model, **opts), overlays, REPO))
            for model, opts in PLANS
        ]
    finally:
        mp.undo()
    return out, used


def test_every_template_is_used(rendered):
    _, used = rendered
    on_disk = {
        p.relative_to(scaffold_templates.TEMPLATE_DIR).as_posix()
        for p in scaffold_templates.TEMPLATE_DIR.rglob("*.j2")
    }
    assert on_disk - used == set(), "a template no plan renders"


@pytest.mark.parametrize("index", range(len(PLANS)))
def test_files_are_yaml_that_kustomize_and_vllm_read(rendered, index):
    model, opts, sc = rendered[0][index]
    files = sc.files
    for name, text in files.items():
        assert "{{" not in text and "{%" not in text, name
        assert text.endswith("\n") and not text.endswith("\n\n"), name
        assert yaml.safe_load(text) is not None, name
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namePrefix"] == f"{sc.name}-"
    listed = [p["path"] for p in kustomization["patches"]]
    assert sorted(listed) == sorted(n for n in files if n.startswith("patch-"))
    assert f"gpu-{sc.plan.sizing.gpu.name}" in " ".join(kustomization["components"])
    annotation = kustomization["configMapGenerator"][0]["options"]["annotations"]
    serve = yaml.safe_load(files["serve.yaml"])
    assert annotation["llmfleet.io/served-model-name"] == serve["served-model-name"] == sc.served
    known = set(flags.known_flags())
    assert {f"--{key}" for key in serve} <= known, "serve.yaml keys must be vLLM flags"
    assert serve["model"] == model
    assert serve["tensor-parallel-size"] == sc.plan.sizing.tp
    assert serve.get("pipeline-parallel-size", 1) == sc.plan.sizing.pp
    assert serve["max-model-len"] == sc.plan.max_model_len
    assert serve.get("dtype") == (sc.plan.serve_dtype or None)
    assert serve.get("kv-cache-dtype", "auto") == opts.get("kv_cache_dtype", "auto")
    assert (serve.get("quantization") is not None) == bool(opts.get("quantization"))
    assert f"{sc.plan.sizing.kv_tokens:,} tokens" in files["serve.yaml"]
    scaler = yaml.safe_load(files["patch-max-replicas.yaml"])
    assert scaler["spec"]["maxReplicaCount"] == sc.max_replicas
    assert scaler["spec"].get("minReplicaCount", 1) == sc.min_replicas


def test_a_missing_value_is_an_error_not_an_empty_string():
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        scaffold_templates.render("multinode/patch-size.yaml.j2")


def test_the_catalog_models_all_render(tmp_path, monkeypatch):
    monkeypatch.setattr(prepare, "name_limit", lambda sc, root, overlays_dir=None: (plan.MAX_NAME, ""))
    (tmp_path / "overlays").mkdir()
    for model_id in catalog.models():
        sc = prepare.prepare(plan.NewModelOptions(model_id=model_id), tmp_path / "overlays", REPO)
        assert yaml.safe_load(sc.files["serve.yaml"])["model"] == model_id
