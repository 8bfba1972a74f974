"""tools/scripts/mutation_sample.py: the same fraction of every module, the same pick for a seed."""

from __future__ import annotations

import importlib.util
import json
import sys

from llmfleet_testlib import REPO_ROOT


def sample_module():
    path = REPO_ROOT / "tools" / "scripts" / "mutation_sample.py"
    spec = importlib.util.spec_from_file_location("mutation_sample", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_meta(root, relative: str, names: list[str]) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"exit_code_by_key": dict.fromkeys(names)}))


def names(module: str, count: int) -> list[str]:
    return [f"llmfleet.{module}.x_f__mutmut_{i}" for i in range(1, count + 1)]


def test_every_module_gets_its_share_rounded_up(tmp_path):
    write_meta(tmp_path, "src/llmfleet/model/a.py.meta", names("model.a", 100))
    write_meta(tmp_path, "src/llmfleet/model/b.py.meta", names("model.b", 3))
    module = sample_module()
    picked = module.sample(module.mutants_by_module(tmp_path), 0.1, "1")
    assert sum(1 for n in picked if n.startswith("llmfleet.model.a.")) == 10
    assert sum(1 for n in picked if n.startswith("llmfleet.model.b.")) == 1  # ceil(0.3)
    assert len(set(picked)) == len(picked)


def test_a_seed_picks_the_same_mutants_and_another_seed_others(tmp_path):
    write_meta(tmp_path, "src/llmfleet/model/a.py.meta", names("model.a", 200))
    module = sample_module()
    modules = module.mutants_by_module(tmp_path)
    first = module.sample(modules, 0.1, "1")
    assert module.sample(modules, 0.1, "1") == first
    assert module.sample(modules, 0.1, "2") != first
    # adding another module does not change this module's pick
    write_meta(tmp_path, "src/llmfleet/model/b.py.meta", names("model.b", 50))
    again = [n for n in module.sample(module.mutants_by_module(tmp_path), 0.1, "1") if ".model.a." in n]
    assert again == first


def test_bad_fraction_and_no_mutants_are_usage_errors(tmp_path, capsys):
    module = sample_module()
    assert module.main(["--mutants", str(tmp_path), "--fraction", "0"]) == 2
    assert "not in (0, 1]" in capsys.readouterr().err
    assert module.main(["--mutants", str(tmp_path / "none"), "--fraction", "0.1"]) == 2
    assert "no mutants" in capsys.readouterr().err
