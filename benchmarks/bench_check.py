#!/usr/bin/env python3
"""Benchmark: `llmfleet check` against bare rendering of the same kustomizations.

Measures, best of --repeat runs each:
  * bare: `kubectl kustomize` (or `kustomize build`) of every overlay and platform
    kustomization, one after another, the way a shell loop would render them;
  * bare-parallel: the same renders run --jobs at a time (what check itself does);
  * check, cold: `llmfleet check` (render + schema validation + every lint rule + fleet
    rules) with an empty cache folder (LLMFLEET_CACHE_DIR: no cached render, compiled schema
    or promtool result), offline (LLMFLEET_OFFLINE=1: the vendored schemas, no download);
  * check, warm: a second `check` with nothing changed, on the cache the cold run filled.
for the repository's own overlays (the default: well under two minutes) and, with
--fleet N, also for a generated fleet of N overlays (copies of the repository's overlays with
their names and served model names changed; a few minutes for 60 on two cores).
Prints the wall times, the ratio check / bare, and check's peak memory.

Exit status: 0, or 1 when a `check` it timed exited non-zero; the findings that made it
fail are printed (the timings are still shown: every rule ran).  A generated fleet is many
copies of the same models, so fleet-wide rules such as fleet-quota (the GPU ResourceQuota
cannot hold 60 overlays at max scale) can fail there by construction.

llmfleet's own modules are compiled to bytecode first (as pip does when it installs a
package), so that PYTHONDONTWRITEBYTECODE=1 in the environment does not time the compiler.

Usage: .venv/bin/python benchmarks/bench_check.py [--fleet 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tools"))

from llmfleet.pipeline.config import load_config  # noqa: E402
from llmfleet.pipeline.render import find_renderer  # noqa: E402


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


@dataclass
class CheckRun:
    seconds: float
    returncode: int
    peak_rss_kib: int
    stdout: str
    stderr: str


def time_check(root: Path, cache: Path) -> CheckRun:
    start = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "llmfleet"), "check", "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "LLMFLEET_OFFLINE": "1", "LLMFLEET_CACHE_DIR": str(cache)},
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"llmfleet check failed in {root} (exit {proc.returncode}):\n{proc.stderr}")
    return CheckRun(
        elapsed,
        proc.returncode,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        proc.stdout,
        proc.stderr,
    )


def explain_failure(label: str, run: CheckRun, limit: int = 10) -> None:
    """Why `check` exited 1: its error findings, grouped by rule, the first few in full."""
    try:
        findings = [f for f in json.loads(run.stdout)["findings"] if f["severity"] == "error"]
    except (ValueError, KeyError):
        print(f"  check exited {run.returncode}; its output was not the JSON report:\n{run.stderr}")
        return
    by_rule: dict[str, int] = {}
    for finding in findings:
        by_rule[finding["rule"]] = by_rule.get(finding["rule"], 0) + 1
    print(
        f"  check exited {run.returncode} on {label}: {len(findings)} error(s) by rule: "
        + ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items()))
    )
    for finding in findings[:limit]:
        where = finding.get("overlay") or finding.get("file") or ""
        print(f"    {finding['rule']}: {where}: {finding['message'][:200]}")
    if len(findings) > limit:
        print(f"    ... and {len(findings) - limit} more")


def make_fleet(root: Path, size: int) -> Path:
    """A copy of the repository with `size` overlays derived from the existing ones."""
    work = Path(tempfile.mkdtemp(prefix="llmfleet-bench-"))
    fleet = work / "repo"
    # Every folder the overlays build on (base/, base-multinode/, components/) and platform/.
    for folder in sorted(p.name for p in root.glob("base*") if p.is_dir()) + ["components", "platform"]:
        if (root / folder).exists():
            shutil.copytree(root / folder, fleet / folder)
    shutil.copy(root / "llmfleet.yaml", fleet / "llmfleet.yaml")
    shutil.copytree(root / "schemas" / "crds", fleet / "schemas" / "crds")  # the vendored CRDs
    sources = sorted(d for d in (root / "overlays").iterdir() if (d / "kustomization.yaml").is_file())
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
                # A model of its own: the served name in serve.yaml and in the annotation the
                # PromQL selectors are built from (base/transformers).
                text = re.sub(r"^(served-model-name:\s*)(\S+)$", rf"\g<1>\g<2>-f{i:02d}", text, flags=re.M)
                text = re.sub(
                    r"^(\s*llmfleet\.io/served-model-name:\s*)(\S+)$",
                    rf"\g<1>\g<2>-f{i:02d}",
                    text,
                    flags=re.M,
                )
                path.write_text(text)
    # Room in the GPU quota for the whole fleet at max scale, and the gateway routing table
    # regenerated for it: the check of a correct fleet is what is timed.
    quota = fleet / "platform" / "resource-quota.yaml"
    if quota.is_file():
        quota.write_text(
            re.sub(r'(requests\.nvidia\.com/gpu:\s*)"?\d+"?', r'\g<1>"100000"', quota.read_text())
        )
    routes = subprocess.run(
        [str(BIN / "llmfleet"), "gateway-routes"], cwd=fleet, capture_output=True, text=True
    )
    if routes.returncode:
        shutil.rmtree(work, ignore_errors=True)
        sys.exit(f"bench: llmfleet gateway-routes failed in the generated fleet:\n{routes.stderr}")
    return fleet


def measure(label: str, root: Path, repeat: int, jobs: int) -> int:
    """Print the figures; return check's exit code (explained when non-zero)."""
    dirs = kustomizations(root)
    bare = min(time_renders(dirs, 1) for _ in range(repeat))
    bare_par = min(time_renders(dirs, jobs) for _ in range(repeat))
    cold_runs: list[CheckRun] = []
    warm_runs: list[CheckRun] = []
    for _ in range(repeat):
        cache = Path(tempfile.mkdtemp(prefix="llmfleet-bench-cache-"))
        try:
            cold_runs.append(time_check(root, cache))
            warm_runs.append(time_check(root, cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    runs = cold_runs + warm_runs
    cold = min(r.seconds for r in cold_runs)
    warm = min(r.seconds for r in warm_runs)
    rc = max(r.returncode for r in runs)
    rss_mib = max(r.peak_rss_kib for r in runs) / 1024
    print(f"{label}: {len(dirs)} kustomizations")
    print(f"  bare render, sequential        {bare:7.2f} s")
    print(f"  bare render, {jobs} at a time       {bare_par:7.2f} s")
    print(f"  llmfleet check, cold (exit {rc}) {cold:7.2f} s   peak RSS of children {rss_mib:.0f} MiB")
    print(f"  llmfleet check, warm (exit {rc}) {warm:7.2f} s")
    print(f"  ratio cold check / bare sequential {cold / bare:6.2f}x   (target <= 1.25x)")
    print(f"  ratio warm check / bare sequential {warm / bare:6.2f}x   (target <= 0.50x)")
    print(f"  ratio cold check / bare parallel   {cold / bare_par:6.2f}x")
    if rc:
        explain_failure(label, next(r for r in runs if r.returncode))
    return rc


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--fleet",
        type=int,
        default=0,
        help="also time a generated fleet of this many overlays (default 0: only "
        "the repository; 60 takes a few minutes on two cores)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    args = parser.parse_args()
    if args.fleet < 0 or args.repeat < 1:
        parser.error("--fleet must be >= 0 and --repeat >= 1")
    jobs = (os.cpu_count() or 2) * 2
    # llmfleet's modules compiled to bytecode, as pip leaves an installed package: with
    # PYTHONDONTWRITEBYTECODE=1 in the environment, every run would compile ~200 modules.
    import compileall

    compileall.compile_dir(str(REPO / "tools" / "llmfleet"), quiet=1)
    print(f"machine: {os.cpu_count()} cores; renderer: {find_renderer().name}; llmfleet bytecode compiled")
    failed = measure("repository", REPO, args.repeat, jobs)
    if args.fleet:
        fleet = make_fleet(REPO, args.fleet)
        try:
            failed |= measure(f"generated fleet of {args.fleet}", fleet, args.repeat, jobs)
        finally:
            shutil.rmtree(fleet.parent, ignore_errors=True)
    if failed:
        print("bench: a timed `llmfleet check` exited non-zero (why: above); exit 1", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
