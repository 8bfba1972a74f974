#!/usr/bin/env python3
"""List the Prometheus metric families a vLLM wheel defines, without importing it.

vLLM cannot be imported here (it needs torch and a GPU platform), so this reads every module of
the package with :mod:`ast` and collects each call that builds a metric:
``prometheus_client.Gauge/Counter/Histogram/Info(...)`` or vLLM's wrappers
(``self._gauge_cls(...)``, ``self._counter_cls(...)``, ``self._histogram_cls(...)``,
``make_per_engine(...)`` is not a constructor and is ignored) whose ``name`` (keyword or first
argument) is a string, or a local variable holding a string, that starts with ``vllm:``.

For each family it writes the name as Prometheus exposes it (prometheus_client adds ``_total`` to
a counter: ``vllm:prompt_tokens`` is scraped as ``vllm:prompt_tokens_total``; a histogram is
scraped as ``<name>_bucket``/``_sum``/``_count``), its type, the module that defines it and, when
the constructor call sits under ``if`` statements, their conditions (``self.show_hidden_metrics``
marks a family that is hidden unless ``--show-hidden-metrics-for-version`` is given).

Which logger runs: ``vllm/v1/metrics/loggers.py`` is the V1 engine (the default from 0.8.0, the
only engine once V0 was removed); ``vllm/engine/metrics.py`` is the V0 engine (still shipped in
0.8.5 ... 0.10.x, used only with VLLM_USE_V1=0).  Other modules (speculative decoding, KV
connectors, MFU counters) add families only when those features are on.

Usage::

    python tools/scripts/extract_vllm_metrics.py WHEEL_OR_SOURCE_TREE > tools/llmfleet/model/vllm/metrics_0_33_0.txt
    python tools/scripts/extract_vllm_metrics.py --pypi 0.8.5 0.33.0 --out tools/llmfleet/model/vllm
    python tools/scripts/extract_vllm_metrics.py --history tools/llmfleet/model/vllm   # markdown diff

Output: a header, then ``<exposed name> <type> <module> [if <condition>; ...]`` per family, sorted.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import vllm_wheel
from vllm_wheel import Source

CONSTRUCTORS = {
    "Gauge": "gauge",
    "Counter": "counter",
    "Histogram": "histogram",
    "Info": "info",
    "_gauge_cls": "gauge",
    "_counter_cls": "counter",
    "_histogram_cls": "histogram",
}
V0_LOGGER = "vllm/engine/metrics.py"
V1_LOGGER = "vllm/v1/metrics/loggers.py"


def callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def exposed(name: str, kind: str) -> str:
    if kind == "counter":
        return name if name.endswith("_total") else name + "_total"
    return name


class Collector(ast.NodeVisitor):
    """Walks one module, keeping the enclosing ``if`` conditions and local string variables."""

    def __init__(self, module: str):
        self.module = module
        self.conditions: list[str] = []
        self.strings: list[dict[str, str]] = [{}]
        self.found: list[tuple[str, str, str, int, tuple[str, ...]]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.strings.append({})
        saved, self.conditions = self.conditions, []
        self.generic_visit(node)
        self.conditions = saved
        self.strings.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        self.visit(node.test)
        self.conditions.append(test)
        for child in node.body:
            self.visit(child)
        self.conditions[-1] = f"not ({test})"
        for child in node.orelse:
            self.visit(child)
        self.conditions.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.strings[-1][target.id] = node.value.value
        self.generic_visit(node)

    def resolve(self, value: ast.AST) -> str | None:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        if isinstance(value, ast.Name):
            for scope in reversed(self.strings):
                if value.id in scope:
                    return scope[value.id]
        return None

    def visit_Call(self, node: ast.Call) -> None:
        kind = CONSTRUCTORS.get(callee(node))
        if kind:
            candidates = [kw.value for kw in node.keywords if kw.arg == "name"] + node.args[:1]
            for candidate in candidates:
                name = self.resolve(candidate)
                if name and name.startswith("vllm:"):
                    self.found.append((name, kind, self.module, node.lineno, tuple(self.conditions)))
                    break
        self.generic_visit(node)


def extract(source: Source) -> list[tuple[str, str, str, int, tuple[str, ...]]]:
    found = []
    for module in source.names():
        text = source.read(module)
        if '"vllm:' not in text and "'vllm:" not in text:
            continue
        collector = Collector(module)
        collector.visit(ast.parse(text))
        found.extend(collector.found)
    return found


def render(path: Path) -> str:
    source = Source(path)
    version = source.version()
    digest = source.digest()
    rows: dict[tuple[str, str, str], set[str]] = {}
    for name, kind, module, _line, conditions in extract(source):
        key = (exposed(name, kind), kind, module)
        rows.setdefault(key, set())
        if conditions:
            rows[key].add("; ".join(" ".join(c.split()) for c in conditions))
        else:
            rows[key].add("")
    lines = [
        f"# Prometheus metric families defined by vLLM {version}.",
        "# Generated by tools/scripts/extract_vllm_metrics.py from the PyPI wheel",
        f"# {path.name} (sha256 {digest}),",
        f"# obtained with `pip download vllm=={version} --no-deps`; do not edit by hand.",
        f"# {V1_LOGGER}: the V1 engine's PrometheusStatLogger; {V0_LOGGER}: the V0 engine",
        "# (only with VLLM_USE_V1=0, where the wheel still has it); other modules: features",
        "# (speculative decoding, KV connectors, MFU) that add families only when turned on.",
        "# Format: '<name as exposed> <type> <module>' then, if the constructor is under `if`",
        "# statements, ' if <condition>' (alternatives joined by ' | ').  Counters are listed",
        "# with the _total prometheus_client adds; histograms by their base name (scraped as",
        "# _bucket, _sum, _count).  'self.show_hidden_metrics' = hidden unless",
        "# --show-hidden-metrics-for-version is given.",
    ]
    for (name, kind, module), conditions in sorted(rows.items()):
        cond = " | ".join(sorted(c for c in conditions if c))
        always = "" in conditions
        suffix = "" if always or not cond else f" if {cond}"
        lines.append(f"{name} {kind} {module}{suffix}")
    return "\n".join(lines) + "\n"


def data_file_name(version: str) -> str:
    return "metrics_" + version.replace(".", "_") + ".txt"


def read_table(path: Path, module: str = V1_LOGGER) -> tuple[str, dict[str, str]]:
    """Version and ``{name: condition}`` of the families ``module`` defines."""
    version, families = "", {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# Prometheus metric families defined by vLLM "):
            version = line.rsplit(" ", 1)[1].rstrip(".")
        elif line and not line.startswith("#"):
            parts = line.split(" ", 3)
            if parts[2] == module:
                families[parts[0]] = parts[3] if len(parts) > 3 else ""
    return version, families


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def history(folder: Path) -> str:
    tables = sorted((read_table(p) for p in folder.glob("metrics_*.txt")), key=lambda t: version_key(t[0]))
    out = [
        f"| release | families added to {V1_LOGGER} | families gone | hidden (show_hidden_metrics) |",
        "|---|---|---|---|",
    ]
    previous: dict[str, str] = {}
    for version, families in tables:
        added = " ".join(f"`{n}`" for n in sorted(set(families) - set(previous))) or "—"
        gone = " ".join(f"`{n}`" for n in sorted(set(previous) - set(families))) or "—"
        hidden = (
            " ".join(
                f"`{n}`"
                for n, c in sorted(families.items())
                if "show_hidden_metrics" in c and "not (" not in c
            )
            or "—"
        )
        out.append(f"| {version} | {added if previous else '(first table)'} | {gone} | {hidden} |")
        previous = families
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(vllm_wheel.main(sys.argv, __doc__ or "", render, history, data_file_name))
