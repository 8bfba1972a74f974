#!/usr/bin/env python3
"""Benchmark: a large valid input, 36,000 ConfigMaps in one 2.6 MB file (--count to change).

Runs side by side, each in its own process, best of --repeat runs, with the process's peak
resident memory (from ``wait4``):

  * reference: PyYAML's libyaml loader alone (``yaml.load_all`` with CSafeLoader), the
    floor for reading the file in Python;
  * llmfleet loader: ``llmfleet.pipeline.manifests.load_bytes`` (per-document splitting, alias and
    depth limits, line maps, resources);
  * llmfleet lint / validate: the whole command on the file (offline, in-process jsonschema).

Prints the size, the wall times, the ratio to the reference and the peak memory, and checks
that every ConfigMap was loaded (exit 1 otherwise).

Usage: .venv/bin/python benchmarks/bench_large_input.py [--count 36000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REFERENCE = """
import sys, yaml
docs = [d for d in yaml.load_all(open(sys.argv[1], encoding="utf-8"), Loader=yaml.CSafeLoader) if d]
print(len(docs))
"""
LOADER = """
import sys
from llmfleet.pipeline.manifests import load_bytes
resources, problems = load_bytes(open(sys.argv[1], "rb").read(), sys.argv[1])
print(len(resources) if not problems else f"problems: {problems[:3]}")
"""


def configmaps(count: int) -> str:
    """The same file as tests/test_input_limits.py::test_36000_configmaps_load_whole."""
    return "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i:05d}}}\ndata: {{k: v}}\n"
        for i in range(count)
    )


def run_measured(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str, int]:
    """Wall seconds, peak resident memory (KiB, from wait4 of that one process), stdout and
    exit status of ``argv``."""
    read, write = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: stdout to the pipe, then exec
        os.chdir(cwd)
        os.dup2(write, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(read)
        os.execve(argv[0], argv, env)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    _, status, usage = os.wait4(pid, 0)
    return (
        time.perf_counter() - start,
        usage.ru_maxrss,
        b"".join(chunks).decode(),
        os.waitstatus_to_exitcode(status),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=36_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    llmfleet = str(Path(python).parent / "llmfleet")
    with tempfile.TemporaryDirectory(prefix="llmfleet-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "configmaps.yaml"
        path.write_text(configmaps(args.count))
        size = path.stat().st_size
        print(f"input: {args.count:,} ConfigMaps, {size / 1e6:.2f} MB ({path.name})")
        cases = {
            "reference (yaml.load_all, CSafeLoader)": [python, "-c", REFERENCE, str(path)],
            "llmfleet loader (load_bytes)": [python, "-c", LOADER, str(path)],
            "llmfleet lint FILE": [llmfleet, "lint", str(path)],
            "llmfleet validate FILE": [llmfleet, "validate", "--offline", str(path)],
        }
        failed = False
        base = None
        print(f"{'':42} {'best s':>8} {'x ref':>7} {'peak RSS':>10}")
        for label, argv in cases.items():
            best = None
            for _ in range(args.repeat):
                result = run_measured(argv, folder, {**os.environ, "LLMFLEET_OFFLINE": "1"})
                if best is None or result[0] < best[0]:
                    best = result
            assert best is not None
            seconds, rss_kib, out, code = best
            base = base or seconds
            loaded = out.strip().splitlines()[-1] if out.strip() else ""
            ok = (
                (loaded == str(args.count))
                if "lint" not in label and "validate" not in label
                else (code == 0 and f"{args.count} object(s)" in loaded)
            )
            failed |= not ok
            print(
                f"{label:42} {seconds:8.2f} {seconds / base:7.1f} {rss_kib / 1024:8.0f} MB"
                + ("" if ok else f"   NOT ALL LOADED: {loaded[:200]} (exit {code})")
            )
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
