"""A model scaffolded from its config.json carries its sizing facts in the overlay
(llmfleet.model.overlay_sizing), and simulate, cost and the gpu-fit rule size it exactly as
new-model did."""

from __future__ import annotations

import json

import pytest

from llmfleet.catalog import entries as catalog
from llmfleet.model import overlay_sizing
from llmfleet_testlib import REPO_ROOT

CONFIGS = REPO_ROOT / "tests" / "data" / "hf_configs"
R1 = "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"
R1_CONFIG = CONFIGS / "deepseek-ai--DeepSeek-R1-Distill-Qwen-32B.json"


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("deepseek-ai--DeepSeek-R1-Distill-Qwen-32B.json", R1),
        ("RedHatAI--Llama-3.3-70B-Instruct-FP8-dynamic.json", "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"),
        ("google--gemma-3-27b-it.json", "google/gemma-3-27b-it"),
        ("Qwen--Qwen3-30B-A3B.json", "Qwen/Qwen3-30B-A3B"),
    ],
)
def test_annotation_round_trips_every_sizing_fact(name, model_id):
    spec = catalog.model_from_config_json(CONFIGS / name, model_id)
    back = overlay_sizing.decode(overlay_sizing.encode(spec), model_id, "ConfigMap x")
    for field in overlay_sizing.CARRIED:
        assert getattr(back, field) == getattr(spec, field) or (
            not getattr(back, field) and not getattr(spec, field)
        ), field


def test_broken_annotation_names_the_field():
    with pytest.raises(ValueError, match="field 'layers' must be a positive number"):
        overlay_sizing.decode(json.dumps({"params": 1e9, "layers": 0}), "m", "ConfigMap x")
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        overlay_sizing.decode(json.dumps({"colour": "red"}), "m", "ConfigMap x")
    with pytest.raises(ValueError, match="is not JSON"):
        overlay_sizing.decode("{", "m", "ConfigMap x")


def test_scaffolded_model_is_sized_by_every_command(cli, repo_copy):
    made = cli(
        ["new-model", R1, "--config-json", str(R1_CONFIG), "--gpu", "l4", "--tp", "4", "--skip-check"],
        cwd=repo_copy,
    )
    assert made.exit_code == 0, made.stderr
    overlay = repo_copy / "overlays" / "deepseek-r1-distill-qwen-32b"
    kustomization = (overlay / "kustomization.yaml").read_text()
    assert overlay_sizing.ANNOTATION in kustomization
    # simulate and cost size it (they used to say "needs a catalogued model").
    simulated = cli(["simulate", "deepseek-r1-distill-qwen-32b"], cwd=repo_copy)
    assert simulated.exit_code in (0, 1), simulated.stderr
    assert "catalogued model" not in simulated.stdout + simulated.stderr
    priced = cli(["cost", "deepseek-r1-distill-qwen-32b", "--format", "json"], cwd=repo_copy)
    assert priced.exit_code == 0, priced.stderr
    doc = json.loads(priced.stdout)["overlays"][0]
    assert doc["capacity"] is not None and doc["api"]["size_class"].startswith("10B-40B")
    # gpu-fit is exact: 131,072 tokens need 8 GiB of KV per GPU at TP 4 (64 layers x 2 KV
    # heads per GPU x 128 x 2 x 2 B = 64 KiB per token), and 4 x L4 leave about 2 GiB.
    serve = overlay / "serve.yaml"
    text = serve.read_text()
    lines = [
        ("max-model-len: 131072" if line.startswith("max-model-len:") else line) for line in text.splitlines()
    ]
    serve.write_text("\n".join(lines) + "\n")
    checked = cli(["check", "deepseek-r1-distill-qwen-32b", "--offline"], cwd=repo_copy)
    assert checked.exit_code == 1
    assert "gpu-fit" in checked.stdout and "8.00 GiB KV for one sequence" in checked.stdout
