#!/usr/bin/env python3
"""Benchmark: `llmfleet check` against bare rendering of the same kustomizations.

Measures, best of --repeat runs each:
  * bare: `kubectl kustomize` (or `kustomize build`) of every overlay and platform
    kustomization, one after another, the way a shell loop would render them;
  * bare-parallel: the same renders run --jobs at a time (what check itself does);
  * check: `llmfleet check` (render + schema validation + every lint rule + fleet rules).
for the repository's own overlays and for a generated fleet of --fleet overlays (copies of
the repository's overlays with their names and served model names changed).
Prints the wall times, the ratio check / bare, and check's peak memory.

Usage: .venv/bin/python benchmarks/bench_check.py [--fleet 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tools"))

from llmfleet.config import load_config  # noqa: E402
from llmfleet.render import find_renderer  # noqa: E402


def kustomizations(root: Path) -> list[Path]:
    config = load_config(root)
    return [*config.overlay_dirs(), *config.platform_dirs()]


def time_renders(dirs: list[Path], jobs: int) -> float:
    renderer = find_renderer()

    def one(directory: Path) -> None:
        subprocess.run(renderer.command(directory), check=True, capture_output=True)

    start = time.perf_counter()
    if jobs == 1:
        for d in dirs:
            one(d)
    else:
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, dirs))
    return time.perf_counter() - start


def time_check(root: Path) -> tuple[float, int, int]:
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "llmfleet"), "check", "--format", "json"], cwd=root,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"llmfleet check failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def make_fleet(root: Path, size: int) -> Path:
    """A copy of the repository with `size` overlays derived from the existing ones."""
    work = Path(tempfile.mkdtemp(prefix="llmfleet-bench-"))
    fleet = work / "repo"
    for folder in ("base", "components", "platform", "tools"):
        if (root / folder).exists() and folder != "tools":
            shutil.copytree(root / folder, fleet / folder)
    shutil.copy(root / "llmfleet.yaml", fleet / "llmfleet.yaml")
    config_text = (fleet / "llmfleet.yaml").read_text()
    shared = (root.parent / "shared").resolve()
    (fleet / "llmfleet.yaml").write_text(config_text.replace("../shared", str(shared)))
    sources = [d for d in (root / "overlays").iterdir() if (d / "kustomization.yaml").is_file()]
    (fleet / "overlays").mkdir()
    for i in range(size):
        src = sources[i % len(sources)]
        name = f"{src.name}-f{i:02d}"
        dst = fleet / "overlays" / name
        shutil.copytree(src, dst)
        for path in dst.rglob("*"):
            if path.is_file():
                text = path.read_text()
                text = text.replace(src.name, name)
                text = re.sub(r"^(served-model-name:\s*)(\S+)$", rf"\g<1>\g<2>-f{i:02d}", text, flags=re.M)
                path.write_text(text)
    return fleet


def measure(label: str, root: Path, repeat: int, jobs: int) -> None:
    dirs = kustomizations(root)
    bare = min(time_renders(dirs, 1) for _ in range(repeat))
    bare_par = min(time_renders(dirs, jobs) for _ in range(repeat))
    runs = [time_check(root) for _ in range(repeat)]
    check = min(r[0] for r in runs)
    rc = runs[0][1]
    rss_mib = max(r[2] for r in runs) / 1024
    print(f"{label}: {len(dirs)} kustomizations")
    print(f"  bare render, sequential      {bare:7.2f} s")
    print(f"  bare render, {jobs} at a time     {bare_par:7.2f} s")
    print(f"  llmfleet check (exit {rc})      {check:7.2f} s   peak RSS of children {rss_mib:.0f} MiB")
    print(f"  ratio check / bare sequential {check / bare:6.2f}x")
    print(f"  ratio check / bare parallel   {check / bare_par:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fleet", type=int, default=60, help="overlays in the generated fleet (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    args = parser.parse_args()
    jobs = (os.cpu_count() or 2) * 2
    print(f"machine: {os.cpu_count()} cores; renderer: {find_renderer().name}")
    measure("repository", REPO, args.repeat, jobs)
    if args.fleet:
        fleet = make_fleet(REPO, args.fleet)
        try:
            measure(f"generated fleet of {args.fleet}", fleet, args.repeat, jobs)
        finally:
            shutil.rmtree(fleet.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
