"""tools/scripts/mutation_report.py: mutmut's exit codes per mutant, counted per module."""

from __future__ import annotations

import importlib.util
import json
import sys

from llmfleet_testlib import REPO_ROOT


def report_module():
    path = REPO_ROOT / "tools" / "scripts" / "mutation_report.py"
    spec = importlib.util.spec_from_file_location("mutation_report", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def write_meta(root, relative: str, codes: dict) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"exit_code_by_key": codes}))


def test_counts_and_ratio_per_module(tmp_path):
    mutants = tmp_path / "mutants"
    write_meta(
        mutants,
        "src/llmfleet/pipeline/redact.py.meta",
        {
            "llmfleet.pipeline.redact.x_a__mutmut_1": 1,  # killed
            "llmfleet.pipeline.redact.x_a__mutmut_2": 3,  # killed (pytest internal error)
            "llmfleet.pipeline.redact.x_a__mutmut_3": 36,  # timeout: counts as killed
            "llmfleet.pipeline.redact.x_a__mutmut_4": 0,  # survived
            "llmfleet.pipeline.redact.x_a__mutmut_5": 33,  # no tests
            "llmfleet.pipeline.redact.x_a__mutmut_6": None,  # not run
        },
    )
    write_meta(
        mutants, "src/llmfleet/catalog/sizing.py.meta", {"llmfleet.catalog.sizing.x_b__mutmut_1": None}
    )
    module = report_module()
    results = {r.module: r for r in module.collect(mutants)}
    redact = results["llmfleet.pipeline.redact"]
    assert (redact.killed, redact.timeout, redact.not_run, redact.run) == (2, 1, 1, 5)
    assert redact.survivors == ["llmfleet.pipeline.redact.x_a__mutmut_4"]
    assert redact.untested == ["llmfleet.pipeline.redact.x_a__mutmut_5"]
    assert redact.ratio == 3 / 5
    assert results["llmfleet.catalog.sizing"].ratio is None
    text = module.render(list(results.values()))
    assert "Overall: 3 of 5 mutants run killed (60.0%)." in text
    assert "| `llmfleet.pipeline.redact` | 5 | 2 | 1 | 1 | 1 | 1 | 60.0% |" in text
    assert "- `llmfleet.pipeline.redact.x_a__mutmut_4` (survived)" in text
    assert "| `llmfleet.catalog.sizing` | 0 | 0 | 0 | 0 | 0 | 1 | - |" in text


def test_no_results_is_a_usage_error(tmp_path, capsys):
    assert report_module().main(["--mutants", str(tmp_path / "none"), "--out", str(tmp_path / "out.md")]) == 2
    assert "no mutmut results" in capsys.readouterr().err
    assert not (tmp_path / "out.md").exists()


def test_a_sample_counts_only_its_mutants_and_gives_intervals(tmp_path):
    mutants = tmp_path / "mutants"
    write_meta(
        mutants,
        "src/llmfleet/model/promql.py.meta",
        {f"llmfleet.model.promql.x_a__mutmut_{i}": (1 if i <= 8 else 0) for i in range(1, 13)},
    )
    names = tmp_path / "sample.txt"
    # the sample holds 8 killed and 2 surviving mutants; the other two survivors are outside it
    names.write_text("\n".join(f"llmfleet.model.promql.x_a__mutmut_{i}" for i in range(1, 11)))
    module = report_module()
    out = tmp_path / "out.md"
    assert (
        module.main(
            ["--mutants", str(mutants), "--names", str(names), "--sample", "0.1 (seed 1)", "--out", str(out)]
        )
        == 0
    )
    text = out.read_text()
    assert "Overall: 8 of 10 mutants run killed (80.0%)." in text
    assert "A seeded sample of 0.1 (seed 1)" in text
    low, high = module.wilson_interval(8, 10)
    # the Wilson interval of 8/10 at 95%, worked out by hand: 0.490 to 0.943
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)
    assert f"| `model/` | 10 | 8 | 80.0% | {100 * low:.1f}%–{100 * high:.1f}% |" in text
    assert "x_a__mutmut_11" not in text


def test_wilson_interval_edges():
    module = report_module()
    assert module.wilson_interval(0, 0) == (0.0, 1.0)
    low, high = module.wilson_interval(50, 50)
    assert high == 1.0 and 0.92 < low < 0.93
    low, high = module.wilson_interval(0, 50)
    assert low == 0.0 and 0.07 < high < 0.08
