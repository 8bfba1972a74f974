"""Time and peak memory of ``llmfleet validate`` on hostile YAML (issue 25): each input in
its own process, so its peak RSS is its own.

    .venv/bin/python benchmarks/bench_yaml_bounds.py

Inputs: a merge-key bomb (``<<: [*a, *a]`` over 30 levels, under 1 KB), a billion-laughs
alias bomb, a 4 MB flow list, a 300 KB base-60 value, a 4,400-digit integer, a document
nesting 10,000 levels, and a 2.6 MB stream of 36,000 ordinary ConfigMaps for comparison.
Targets: every input answered within 10 s and 512 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"


def _merge_bomb() -> str:
    lines = ["a0: &a0 {k: v}"] + [f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}" for i in range(1, 31)]
    return HEAD + "data:\n" + "".join(f"  {line}\n" for line in lines)


def _laughs() -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    return HEAD + "data:\n" + "".join(f"  {line}\n" for line in lines)


INPUTS = {
    "merge-key bomb": _merge_bomb,
    "alias bomb": _laughs,
    "4 MB flow list": lambda: HEAD + "items: [" + ",".join(["1"] * 2_000_000) + "]\n",
    "300 KB base-60 value": lambda: HEAD + "data:\n  x: " + "1:" * 150_000 + "1\n",
    "4,400-digit integer": lambda: HEAD + "data:\n  x: " + "9" * 4400 + "\n",
    "10,000 levels": lambda: HEAD + "data: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "36,000 ConfigMaps": lambda: "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n  namespace: ns\ndata:\n  k: v{i}\n"
        for i in range(36_000)
    ),
}

CHILD = """
import resource, sys, time
from llmfleet.cli import main
start = time.perf_counter()
try:
    main(["validate", "--format", "json", "-o", sys.argv[2], sys.argv[1]], standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code
print(code, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main() -> int:
    python = str(REPO / ".venv" / "bin" / "python")
    print(f"{'input':<22} {'bytes':>10} {'exit':>5} {'seconds':>8} {'peak MiB':>9}  findings")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in INPUTS.items():
            path, report = Path(tmp) / "input.yaml", Path(tmp) / "report.json"
            path.write_text(make(), encoding="utf-8")
            report.unlink(missing_ok=True)
            started = time.perf_counter()
            proc = subprocess.run(
                [python, "-c", CHILD, str(path), str(report)],
                capture_output=True,
                text=True,
                cwd=tmp,
                timeout=120,
            )
            wall = time.perf_counter() - started
            fields = proc.stdout.split()
            code, peak = (fields[0], float(fields[2])) if len(fields) == 3 else ("?", 0.0)
            rules: dict[str, int] = {}
            if report.is_file():
                for finding in json.loads(report.read_text())["findings"]:
                    rules[finding["rule"]] = rules.get(finding["rule"], 0) + 1
            size = path.stat().st_size
            print(
                f"{name:<22} {size:>10,} {code:>5} {wall:>8.2f} {peak:>9.1f}  {rules or proc.stderr[-200:]}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
