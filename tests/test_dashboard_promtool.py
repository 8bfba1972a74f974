"""The Grafana dashboard's queries, checked with promtool, and its GPU panels' join evaluated.

* every ``expr`` of platform/dashboards/vllm.json (Grafana variables replaced: ``$model_name``
  by ``.+``, ``$__rate_interval`` by ``5m``) becomes a recording rule; ``promtool check rules``
  must accept them all;
* the DCGM series they use are fields the DCGM exporter exports by default
  (tests/promtool/dcgm-exporter-counters.txt, from NVIDIA/dcgm-exporter's default-counters.csv);
* ``promtool test rules`` evaluates the GPU panels on series shaped like the exporter's: one
  model pod scraped with ``honorLabels: true`` (labels pod/namespace), one with the GPU
  Operator's default ``honorLabels: false`` (exported_pod/exported_namespace), a 4-GPU pod, a
  pod of another namespace and an idle GPU, which must not show.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import promql_parser
import pytest
import yaml

from llmfleet_testlib import REPO_ROOT

DASHBOARD = REPO_ROOT / "platform" / "dashboards" / "vllm.json"
COUNTERS = REPO_ROOT / "tests" / "promtool" / "dcgm-exporter-counters.txt"
VARIABLES = {
    "$__rate_interval": "5m",
    "${__rate_interval}": "5m",
    "$__interval": "1m",
    "$model_name": ".+",
    "${model_name}": ".+",
}
GPU_PANELS = ("GPU utilization", "GPU memory used", "GPU power")


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        reason = "promtool not found (apt-get install prometheus; make system-tools)"
        if os.environ.get("CI"):
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)
    return path


def substitute(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def panels() -> list[dict]:
    return json.loads(DASHBOARD.read_text())["panels"]


def exprs() -> list[tuple[str, str, str]]:
    return [(p["title"], t["refId"], substitute(t["expr"])) for p in panels() for t in p.get("targets", [])]


def selectors(expr) -> set[str]:
    names = set()

    def walk(node):
        kind = type(node).__name__
        if kind == "VectorSelector":
            names.add(node.name)
        elif kind == "MatrixSelector":
            walk(node.vector_selector)
        for attr in ("expr", "lhs", "rhs", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, (str, int, float)):
                walk(child)
        for arg in getattr(node, "args", None) or []:
            walk(arg)

    walk(expr)
    return names


def test_dashboard_has_gpu_panels():
    titles = [p["title"] for p in panels()]
    assert all(t in titles for t in GPU_PANELS)
    assert len({p["id"] for p in panels()}) == len(panels())


def test_every_query_passes_promtool_check_rules(tmp_path):
    rules = [{"record": f"dashboard:panel_{i}", "expr": expr} for i, (_, _, expr) in enumerate(exprs())]
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, sort_keys=False))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_dcgm_metric_names_exist_in_the_exporter():
    known = {
        line.strip()
        for line in COUNTERS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE"} <= known
    used = set()
    for _title, _ref, expr in exprs():
        used |= {n for n in selectors(promql_parser.parse(expr)) if n.startswith("DCGM_")}
    assert used, "no DCGM metric in the dashboard"
    assert used <= known, f"not exported by dcgm-exporter: {sorted(used - known)}"


def gpu_expr(title: str) -> str:
    [expr] = [e for t, _, e in exprs() if t == title]
    return expr


def test_gpu_panels_join_the_model_pods(tmp_path):
    model = "meta-llama/Llama-3.1-8B-Instruct"
    big = "meta-llama/Llama-3.1-70B-Instruct"
    dcgm = "gpu-operator"

    def honored(metric, pod, gpu, value, namespace="inference"):
        return {
            "series": f'{metric}{{gpu="{gpu}",pod="{pod}",namespace="{namespace}",container="vllm",'
            f'job="nvidia-dcgm-exporter",instance="10.0.0.1:9400"}}',
            "values": f"{value}x10",
        }

    def exported(metric, pod, gpu, value):
        return {
            "series": f'{metric}{{gpu="{gpu}",exported_pod="{pod}",exported_namespace="inference",'
            f'exported_container="vllm",pod="nvidia-dcgm-exporter-abcde",namespace="{dcgm}",'
            f'job="nvidia-dcgm-exporter",instance="10.0.0.2:9400"}}',
            "values": f"{value}x10",
        }

    def idle(metric, value):  # a GPU no pod holds: the exporter's own target labels only
        return {
            "series": f'{metric}{{gpu="3",pod="nvidia-dcgm-exporter-xyz",namespace="{dcgm}",'
            f'job="nvidia-dcgm-exporter",instance="10.0.0.1:9400"}}',
            "values": f"{value}x10",
        }

    series = []
    for metric, a, b, c in (
        ("DCGM_FI_DEV_GPU_UTIL", 80, 60, 90),
        ("DCGM_FI_DEV_FB_USED", 20000, 21000, 70000),
        ("DCGM_FI_DEV_POWER_USAGE", 70, 65, 300),
    ):
        series += [
            honored(metric, "small-server-a", "0", a),
            exported(metric, "small-server-b", "0", b),
            honored(metric, "other-team-pod", "1", 99, namespace="research"),
            idle(metric, 5),
        ]
        series += [honored(metric, "big-server-a", str(g), c + g) for g in range(4)]
    for pod, name in (("small-server-a", model), ("small-server-b", model), ("big-server-a", big)):
        series.append(
            {
                "series": f'vllm:num_requests_running{{model_name="{name}",engine="0",pod="{pod}",'
                f'namespace="inference",container="vllm",job="inference/x"}}',
                "values": "3x10",
            }
        )
    series.append(
        {
            "series": 'vllm:num_requests_running{model_name="x",pod="other-team-pod",namespace="research"}',
            "values": "1x10",
        }
    )

    def sample(pod, name, value):
        return {"labels": f'{{model_name="{name}",namespace="inference",pod="{pod}"}}', "value": value}

    tests = [
        # Utilization: average over the pod's GPUs (the 4-GPU pod: 90..93 -> 91.5).
        {
            "expr": gpu_expr("GPU utilization"),
            "eval_time": "5m",
            "exp_samples": [
                sample("small-server-a", model, 80),
                sample("small-server-b", model, 60),
                sample("big-server-a", big, 91.5),
            ],
        },
        # Memory: MiB summed over the pod's GPUs, in bytes.
        {
            "expr": gpu_expr("GPU memory used"),
            "eval_time": "5m",
            "exp_samples": [
                sample("small-server-a", model, 20000 * 1048576),
                sample("small-server-b", model, 21000 * 1048576),
                sample("big-server-a", big, (4 * 70000 + 6) * 1048576),
            ],
        },
        # Power: watts summed over the pod's GPUs.
        {
            "expr": gpu_expr("GPU power"),
            "eval_time": "5m",
            "exp_samples": [
                sample("small-server-a", model, 70),
                sample("small-server-b", model, 65),
                sample("big-server-a", big, 4 * 300 + 6),
            ],
        },
    ]
    (tmp_path / "empty-rules.yaml").write_text("groups: []\n")
    test_file = tmp_path / "gpu-panels.test.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": ["empty-rules.yaml"],
                "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}],
            },
            sort_keys=False,
        )
    )
    result = subprocess.run(
        [promtool(), "test", "rules", test_file.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
