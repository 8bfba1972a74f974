"""Each fact has one home, and everything else follows it (issue 26, item 3).

* the pinned vLLM release: ``llmfleet.model.vllm.VLLM_VERSION``;
* the GPU classes: ``tools/llmfleet/data/gpus.yaml`` (``components/gpu-*`` are generated
  from it by ``tools/scripts/gen_gpu_components.py``, the ``new-model`` help lists it).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil

import pytest
import yaml

from llmfleet.catalog import entries as catalog
from llmfleet.model.vllm import VLLM_VERSION, flags
from llmfleet_testlib import REPO_ROOT

PACKAGE = REPO_ROOT / "tools" / "llmfleet"


def _generator():
    path = REPO_ROOT / "tools" / "scripts" / "gen_gpu_components.py"
    spec = importlib.util.spec_from_file_location("gen_gpu_components", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the vLLM release ------------------------------------------------------------------------


def test_only_one_module_assigns_the_vllm_release():
    """A second ``X = "0.33.0"`` (or ``= "flags_0_33_0.txt"``) in the package is a second home
    of the version.  Other release literals (when a flag was removed, ...) are other facts."""
    spellings = {VLLM_VERSION, f"v{VLLM_VERSION}", flags.data_file(VLLM_VERSION)}
    homes = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
                if node.value.value in spellings:
                    homes.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert homes == [f"tools/llmfleet/model/vllm/__init__.py:{_line_of_version()}"]


def _line_of_version() -> int:
    text = (PACKAGE / "model" / "vllm" / "__init__.py").read_text(encoding="utf-8")
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("VLLM_VERSION ="))


def test_the_newest_flag_table_is_the_pinned_release():
    assert flags.NEWEST == VLLM_VERSION
    assert flags.table_versions()[-1] == VLLM_VERSION
    assert flags.table_for(None) == VLLM_VERSION
    # The default table is the pinned release's own file, not another one.
    assert flags.known_flags() == flags.known_flags(VLLM_VERSION)
    assert flags.data_file(VLLM_VERSION) == "flags_" + VLLM_VERSION.replace(".", "_") + ".txt"


def test_the_newest_metric_table_is_the_pinned_release():
    tables = sorted(
        (
            p.stem[len("metrics_") :].replace("_", ".")
            for p in (PACKAGE / "model" / "vllm").glob("metrics_*.txt")
        ),
        key=flags.version_key,
    )
    assert tables[-1] == VLLM_VERSION


@pytest.mark.parametrize("manifest", ["base/deployment.yaml", "base-multinode/leaderworkerset.yaml"])
def test_the_base_image_is_the_pinned_release(manifest):
    images = re.findall(
        r"image:\s*(vllm/vllm-openai:\S+)", (REPO_ROOT / manifest).read_text(encoding="utf-8")
    )
    assert images and set(images) == {f"vllm/vllm-openai:v{VLLM_VERSION}"}


def test_the_vllm_reference_has_a_version_neutral_name_and_states_the_release():
    reference = REPO_ROOT / "docs" / "reference"
    assert [p.name for p in reference.glob("*.md") if re.search(r"\d+\.\d+", p.name)] == []
    text = (reference / "vllm.md").read_text(encoding="utf-8")
    assert f"**Version.** vLLM **{VLLM_VERSION}**" in text


# -- the GPU classes --------------------------------------------------------------------------


def test_gpu_components_are_the_catalog_generated():
    generator = _generator()
    expected = generator.expected_components()
    assert sorted(expected) == sorted(f"gpu-{name}" for name in catalog.gpu_names())
    assert generator.differences(REPO_ROOT / "components", expected) == []


def test_generated_component_selects_and_requests_its_class():
    """What a component must say, read from the generated text (not from the templates)."""
    files = _generator().expected_components()["gpu-l40s"]
    patch = yaml.safe_load(files["patch-gpu.yaml"])
    pod = patch["spec"]["template"]["spec"]
    term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": catalog.GPU_LABEL_KEY, "operator": "In", "values": ["l40s"]}
    ]
    assert pod["containers"][0]["resources"] == {
        "requests": {"nvidia.com/gpu": 1},
        "limits": {"nvidia.com/gpu": 1},
    }
    lws = yaml.safe_load(files["patch-gpu-lws.yaml"])
    values = [op["value"] for op in lws if op["path"].endswith("/spec/affinity")]
    assert len(values) == 2  # leader and workers
    for value in values:
        expression = value["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert expression["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["l40s"]
    assert "EKS g6e.2xlarge" in files["README.md"] and "NVIDIA L40S 48 GB" in files["README.md"]


def test_the_generator_finds_a_stale_a_missing_and_an_extra_component(tmp_path):
    generator = _generator()
    components = tmp_path / "components"
    shutil.copytree(REPO_ROOT / "components", components)
    expected = generator.expected_components()
    (components / "gpu-l4" / "patch-gpu.yaml").write_text("stale\n", encoding="utf-8")
    shutil.rmtree(components / "gpu-t4")
    (components / "gpu-x999").mkdir()
    assert generator.differences(components, expected) == [
        "components/gpu-x999: no class 'x999' in the catalog",
        *[f"components/gpu-t4/{name}: missing" for name in sorted(expected["gpu-t4"])],
        "components/gpu-l4/patch-gpu.yaml: differs from the catalog",
    ]
    assert generator.main(["--check", "--components", str(components)]) == 1
    assert generator.main(["--components", str(components)]) == 0
    assert generator.differences(components, expected) == []
    assert not (components / "gpu-x999").exists()


def test_a_catalog_entry_without_node_pools_is_refused(tmp_path):
    generator = _generator()
    catalog_file = tmp_path / "gpus.yaml"
    catalog_file.write_text("gpus:\n  z1:\n    display: Z1 8 GB\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"gpus\.z1: missing node_pools"):
        generator.expected_components(catalog_file)


def test_new_model_help_lists_the_catalog_classes(cli):
    result = cli(["new-model", "--help"])
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    assert f"Pin the GPU class ({', '.join(catalog.gpu_names())})" in flat
