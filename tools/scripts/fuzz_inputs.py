#!/usr/bin/env python3
"""Fuzz driver (a script, not a test): many inputs through the loader, every command's
arguments and the fleet model, each checked for what issue 25 asks of llmfleet.

For every input it records the exit code, the time and the process's peak RSS, and fails
the input when:

* the exit code is 4 (an internal error) or not one of 0, 1, 2 (3 when a tool is named);
* a planted secret value appears anywhere in the output, in any of the five formats (every
  YAML input carries Secrets whose values are planted in several shapes: mappings, scalars,
  lists, ``KEY=VALUE`` items, tags, ``!!int`` values);
* it takes longer than ``--max-seconds`` (a watchdog alarm) or the RSS goes over
  ``--max-rss-mb``.

Inputs (deterministic for a ``--seed``):

* ``loader``: YAML text, seeds mutated as text (bytes inserted, removed, flipped; lines
  duplicated, cut; odd scalars and tags spliced in; the pathological shapes of issue 25:
  merge-key bombs, long flow lists, long sexagesimal numbers, invalid dates, ``!!float abc``,
  5,000-digit integers, null keys), loaded by :func:`llmfleet.pipeline.manifests.load_bytes` and
  reported in every format;
* ``cli``: the same texts through ``llmfleet lint -`` / ``validate -`` in-process (click's
  CliRunner), in a random format;
* ``args``: random command lines for every command, with odd values (300-character names,
  link loops, devices, FIFOs, ``1e308``, ``nan``, ``-Infinity``, NUL-free binary text),
  in a scratch copy of the repository;
* ``fleet``: mutated rendered overlays through the fleet model (OverlayModel, the
  simulation's inputs and a short simulation).

Usage: ``python tools/scripts/fuzz_inputs.py --inputs 100000 --workers 2 --seed 1``; prints a
JSON summary (inputs, exit code histogram, max time, max RSS, failures) and writes every
failing input under ``--failures`` (default ``.llmfleet-cache/fuzz-failures``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FORMATS = ("text", "json", "github", "sarif", "junit")
#: Planted in every YAML input; none of them may appear in any output.
SECRETS = (
    "Sup3rS3cretPassw0rd",
    "Hunter2Sup3rSecret",
    "ScalarS3cretValue9",
    "ListS3cretValue77",
    "KvS3cretValue4242",
    "TagS3cretValue314",
)
SECRET_DOCS = (
    f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  DB_PASSWORD: {SECRETS[0]}\n",
    f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db2\nstringData:\n  DB_PASSWORD: !!int {SECRETS[1]}\n",
    f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db3\nstringData: {SECRETS[2]}\n",
    f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db4\nstringData: [{SECRETS[3]}]\n",
    f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db5\ndata:\n  - DB_PASSWORD={SECRETS[4]}\n",
    f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db6\nstringData:\n  DB_PASSWORD: !{SECRETS[5]}\n",
)
PATHOLOGICAL = (
    # merge-key bomb: each level merges the previous one twice
    "a0: &a0 {k: v}\n"
    + "".join(f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], x{i}: 1}}\n" for i in range(1, 30)),
    "l: [" + ",".join(["1"] * 20_000) + "]\n",
    "v: " + ":".join(["59"] * 5_000) + "\n",
    "released: 2024-02-30\n",
    "x: !!float abc\n",
    "x: !!bool maybe\n",
    "x: !!timestamp x\n",
    "x: " + "9" * 5000 + "\n",
    "x: !!int " + "9" * 5000 + "\n",
    "{a: 1, null: 2, ~: 3}\n",
    "? [a, b]\n: c\n",
    "a: &x [*x]\n",
    "- " * 5000 + "x\n",
    "[" * 5000 + "]" * 5000 + "\n",
    "\ufeffapiVersion: v1\nkind: ConfigMap\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + "n" * 300 + "}\n",
    "%YAML 1.1\n---\na: b\n",
    "%TAG ! tag:example.com,2000:\n--- !x\na: 1\n",
)
ODD_SCALARS = (
    "",
    "~",
    "null",
    ".nan",
    "-.inf",
    "1e400",
    "-1e400",
    "0x7fffffffffffffff",
    "9" * 50,
    "2001-02-30",
    "12:30:45:99",
    "!!int x",
    "!!float abc",
    "!!binary ###",
    "!custom val",
    "*undefined",
    "&anchor",
    "<<",
    "[",
    "{",
    "'",
    '"',
    "|",
    ">",
    "K" * 300,
    "ünïcödé",
    "\\x00",
    "--api-key=sk-abcdefghijklmnopqrstuvwx0123",
)
ODD_ARGS = (
    "a" * 300,
    "../../../../etc",
    "/dev/zero",
    "/dev/null",
    "/proc/self/fd/1",
    "loop1",
    "fifo",
    "zero-link.yaml",
    "",
    "-",
    "--",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-Infinity",
    "0",
    "-1",
    "99999999999999999999999999",
    "1.5",
    "abc",
    "ünï",
    "x.png",
    "/",
    "overlays",
    "mistral-7b-instruct-v0-3",
    "llama-3-1-8b-instruct",
    "spike",
    "diurnal",
    "constant",
    "HEAD",
    "HEAD~99",
    "l4",
    "fp8",
    "org/model",
    "Qwen/Qwen2.5-7B-Instruct",
)
COMMANDS = {
    "lint": ["--format", "-o", "--strict", "--disable", "--no-cache", "-j"],
    "validate": ["--format", "-o", "--validator", "--kubernetes-version", "--schema-location", "--offline"],
    "check": ["--format", "-o", "--changed-since", "--disable", "-j"],
    "build": ["-v"],
    "cost": ["--format", "--requests-per-day", "--plot", "--spot"],
    "simulate": ["--trace", "--rps", "--duration", "--absorb-bound", "--format", "--plot", "-o"],
    "diff": ["--base", "--format", "-o"],
    "affected": ["--base"],
    "gateway-routes": ["--check", "-o"],
    "new-model": [
        "--dry-run",
        "--name",
        "--gpu",
        "--tp",
        "--nodes",
        "--max-model-len",
        "--config-json",
        "--params",
    ],
    "rules": ["--format"],
}


# -- inputs -----------------------------------------------------------------------------------


def seed_texts() -> list[str]:
    """Single documents of the rendered overlays (from the render cache when warm) and the
    rule fixtures: small inputs, so that many run."""
    import yaml

    from llmfleet.pipeline.config import load_config
    from llmfleet.pipeline.render import find_renderer
    from llmfleet.pipeline.render_cache import RenderCache

    config = load_config(REPO_ROOT)
    cache = RenderCache(config.root, find_renderer())
    texts: list[str] = []
    for directory in config.overlay_dirs():
        rendered = cache.render(directory)
        if rendered.ok:
            texts += [yaml.safe_dump(d, sort_keys=False) for d in yaml.safe_load_all(rendered.text) if d]
    for path in sorted((REPO_ROOT / "tests" / "rules" / "fixtures").rglob("*.yaml"))[:400]:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            texts.append(path.read_text(encoding="utf-8"))
    return texts


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(0, 3)):
        choice = rng.random()
        if not text:
            break
        at = rng.randrange(len(text))
        if choice < 0.2:
            text = text[:at] + rng.choice(ODD_SCALARS) + text[at:]
        elif choice < 0.35:
            text = text[:at] + text[at + rng.randint(1, 40) :]
        elif choice < 0.5:
            text = (
                text[:at]
                + chr(
                    rng.choice([0x09, 0x0A, 0x20, 0x22, 0x27, 0x2D, 0x3A, 0x7B, 0x5B, 0x26, 0x2A, 0x21, 0xFF])
                )
                + text[at + 1 :]
            )
        elif choice < 0.65:
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            lines.insert(i, lines[rng.randrange(len(lines))])
            text = "\n".join(lines)
        elif choice < 0.8:
            # a value replaced: after a ": " on a random line
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            if ": " in lines[i]:
                key = lines[i].split(": ", 1)[0]
                lines[i] = f"{key}: {rng.choice(ODD_SCALARS)}"
            text = "\n".join(lines)
        elif choice < 0.97:
            text = text[: rng.randrange(len(text) + 1)]
        else:
            text = text + "\n---\n" + rng.choice(PATHOLOGICAL)
    return text


def yaml_input(rng: random.Random, seeds: list[str]) -> str:
    parts = [mutate(rng, rng.choice(seeds)) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.05:
        parts.append(rng.choice(PATHOLOGICAL))
    parts += rng.sample(SECRET_DOCS, rng.randint(1, 3))
    rng.shuffle(parts)
    return "\n---\n".join(p.rstrip("\n") for p in parts) + "\n"


def args_input(rng: random.Random) -> list[str]:
    command = rng.choice(sorted(COMMANDS))
    args = [command]
    for _ in range(rng.randint(0, 3)):
        option = rng.choice(COMMANDS[command])
        args.append(option)
        if rng.random() < 0.85:
            args.append(rng.choice(ODD_ARGS))
    if (
        command in ("lint", "validate", "check", "build", "cost", "simulate", "diff", "new-model")
        and rng.random() < 0.8
    ):
        args.append(rng.choice(ODD_ARGS))
    if command == "new-model" and "--dry-run" not in args:
        args.append("--dry-run")
    if command == "diff" and "--base" not in args:
        args += ["--base", "HEAD"]
    if command == "gateway-routes" and "--check" not in args:
        args.append("--check")
    return args


# -- checks ----------------------------------------------------------------------------------


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


class Watchdog(BaseException):
    """Not an Exception: llmfleet's handler of unexpected exceptions must not take it for an
    internal error (it is the input's time running out)."""


def _alarm(_signum, _frame):
    raise Watchdog()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_loader(text: str) -> tuple[int, str]:
    from llmfleet.model.secrets import secret_values
    from llmfleet.pipeline.manifests import load_bytes
    from llmfleet.pipeline.report import Report
    from llmfleet.pipeline.reporters import REPORTERS

    resources, findings = load_bytes(text.encode("utf-8", "surrogateescape"), "fuzz.yaml")
    report = Report("lint", findings=list(findings), inputs=["fuzz.yaml"])
    report.secrets |= secret_values(r.data for r in resources)
    out = "".join(REPORTERS[f](report) for f in FORMATS)
    return report.exit_code(), out


def run_cli(args: list[str], stdin: str | None = None) -> tuple[int, str]:
    from click.testing import CliRunner

    from llmfleet.cli import main

    result = CliRunner().invoke(main, args, input=stdin, catch_exceptions=True)
    out = (result.stdout or "") + (result.stderr or "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        if isinstance(result.exception, Watchdog):
            raise result.exception
        return 4, out + f"\nexception: {result.exception!r}"
    return result.exit_code, out


def run_fleet(text: str) -> tuple[int, str]:
    from llmfleet.features.simulate import SimulationOptions, simulate
    from llmfleet.features.simulate.overlay import OverlayInputError, inputs_for
    from llmfleet.features.simulate.traffic import TraceError, constant
    from llmfleet.model import OverlayModel
    from llmfleet.pipeline.config import ClusterSettings
    from llmfleet.pipeline.manifests import load_bytes

    resources, _ = load_bytes(text.encode("utf-8", "surrogateescape"), "fuzz.yaml")
    model = OverlayModel("fuzz", resources, ClusterSettings(), is_overlay=True)
    try:
        runs = inputs_for(model)
    except (OverlayInputError, ValueError) as exc:  # what `simulate` turns into exit 2
        return 2, str(exc)
    out = []
    for run in runs:
        try:
            result = simulate(run.spec, run.replica, constant(1.0, 600.0), SimulationOptions())
        except TraceError as exc:
            return 2, str(exc)
        out.append(result.report())
    return 0, "\n".join(out)


# -- the worker ------------------------------------------------------------------------------


def scratch_repo() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="llmfleet-fuzz-"))
    repo = folder / "repo"
    repo.mkdir()
    for name in ("base", "base-multinode", "components", "overlays", "platform", "argocd", "schemas"):
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, repo / name)
    shutil.copy(REPO_ROOT / "llmfleet.yaml", repo / "llmfleet.yaml")
    (repo / "loop1").symlink_to("loop2")
    (repo / "loop2").symlink_to("loop1")
    os.mkfifo(repo / "fifo")
    (repo / "zero-link.yaml").symlink_to("/dev/zero")
    (repo / "x.png").write_bytes(bytes(range(256)))
    import subprocess

    for command in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=f", "-c", "user.email=f@x", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", *command], cwd=repo, check=True, capture_output=True)
    return repo


def worker(job: tuple[int, int, int, float, float, str]) -> dict:
    index, count, seed, max_seconds, max_rss_mb, failures_dir = job
    rng = random.Random(seed * 1_000_003 + index)
    os.environ["LLMFLEET_OFFLINE"] = "1"
    repo = scratch_repo()
    os.chdir(repo)
    os.environ["LLMFLEET_ROOT"] = str(repo)
    seeds = seed_texts()
    signal.signal(signal.SIGALRM, _alarm)
    stats: dict = {
        "inputs": 0,
        "exit_codes": Counter(),
        "kinds": Counter(),
        "seconds": Counter(),
        "max_time_s": 0.0,
        "slowest": "",
        "failures": [],
        "leaks": 0,
        "timeouts": 0,
        "internal": 0,
    }
    failures = Path(failures_dir)
    for n in range(count):
        roll = rng.random()
        kind = "loader" if roll < 0.72 else "cli" if roll < 0.92 else "args" if roll < 0.96 else "fleet"
        text = yaml_input(rng, seeds) if kind != "args" else ""
        args = args_input(rng) if kind == "args" else []
        if kind == "cli":
            command = rng.choice(["lint", "validate"])
            args = [command, "-", "--format", rng.choice(FORMATS)]
            if command == "validate":
                args += ["--validator", "jsonschema", "--offline"]
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, max_seconds)
        try:
            if kind == "loader":
                code, out = run_loader(text)
            elif kind == "fleet":
                code, out = run_fleet(text)
            else:
                code, out = run_cli(args, text if kind == "cli" else None)
        except Watchdog:
            code, out = -1, "timeout"
        except Exception as exc:
            from llmfleet.pipeline.redact import scrub_internal

            # As the command line would show it (llmfleet.cli.internal_error).
            code, out = 4, f"{type(exc).__name__}: {scrub_internal(str(exc))}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.perf_counter() - started
        stats["inputs"] += 1
        stats["kinds"][kind] += 1
        stats["seconds"][kind] += took
        stats["exit_codes"][str(code)] += 1
        if took > stats["max_time_s"]:
            stats["max_time_s"], stats["slowest"] = took, f"{kind} {args} {text[:120]!r}"
        problems = []
        if code == -1:
            stats["timeouts"] += 1
            problems.append("timeout")
        if code == 4:
            stats["internal"] += 1
            problems.append("exit 4")
        if code not in (-1, 0, 1, 2, 3, 4):
            problems.append(f"exit {code}")
        secret_hits = leaked(out)
        if secret_hits:
            stats["leaks"] += 1
            problems.append(f"leaked {secret_hits}")
        if peak_rss_mb() > max_rss_mb:
            problems.append(f"rss {peak_rss_mb():.0f} MB")
        if (n + 1) % PROGRESS_EVERY == 0 or n + 1 == count:
            _write_progress(failures, index, stats)
        if problems:
            name = f"w{index}-{n}-{kind}"
            record = {"problems": problems, "kind": kind, "args": args, "took_s": took, "output": out[-2000:]}
            failures.mkdir(parents=True, exist_ok=True)
            (failures / f"{name}.json").write_text(json.dumps(record, indent=2))
            (failures / f"{name}.yaml").write_text(text, errors="surrogateescape")
            stats["failures"].append(f"{name}: {'; '.join(problems)}")
    stats["peak_rss_mb"] = peak_rss_mb()
    shutil.rmtree(repo.parent, ignore_errors=True)
    return stats


#: A worker writes its figures so far every this many inputs (``--summarize`` reads them).
PROGRESS_EVERY = 250


def _write_progress(failures: Path, index: int, stats: dict) -> None:
    progress = failures.parent / f"progress-w{index}.json"
    progress.parent.mkdir(parents=True, exist_ok=True)
    tmp = progress.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(stats, peak_rss_mb=peak_rss_mb()), default=dict))
    os.replace(tmp, progress)


def summarize(folder: Path) -> dict:
    """The figures of a run so far, from its workers' progress files."""
    results = [json.loads(p.read_text()) for p in sorted(folder.glob("progress-w*.json"))]
    for r in results:
        for key in ("exit_codes", "kinds", "seconds"):
            r[key] = Counter(r[key])
    return merge(results)


def merge(results: list[dict]) -> dict:
    total: dict = {
        "inputs": 0,
        "exit_codes": Counter(),
        "kinds": Counter(),
        "seconds": Counter(),
        "max_time_s": 0.0,
        "slowest": "",
        "failures": [],
        "leaks": 0,
        "timeouts": 0,
        "internal": 0,
        "peak_rss_mb": 0.0,
    }
    for r in results:
        total["inputs"] += r["inputs"]
        total["exit_codes"].update(r["exit_codes"])
        total["kinds"].update(r["kinds"])
        total["seconds"].update(r["seconds"])
        total["leaks"] += r["leaks"]
        total["timeouts"] += r["timeouts"]
        total["internal"] += r["internal"]
        total["failures"] += r["failures"]
        total["peak_rss_mb"] = max(total["peak_rss_mb"], r["peak_rss_mb"])
        if r["max_time_s"] > total["max_time_s"]:
            total["max_time_s"], total["slowest"] = r["max_time_s"], r["slowest"]
    total["exit_codes"] = dict(sorted(total["exit_codes"].items()))
    total["kinds"] = dict(total["kinds"])
    total["seconds"] = {k: round(v, 1) for k, v in total["seconds"].items()}
    return total


def run(
    inputs: int, workers: int, seed: int, max_seconds: float, max_rss_mb: float, failures_dir: str
) -> dict:
    per = [inputs // workers + (1 if i < inputs % workers else 0) for i in range(workers)]
    jobs = [(i, per[i], seed, max_seconds, max_rss_mb, failures_dir) for i in range(workers)]
    if workers == 1:
        results = [worker(jobs[0])]
    else:
        # Each worker is its own process: its peak RSS is the peak of its inputs.
        with multiprocessing.get_context("spawn").Pool(workers, maxtasksperchild=1) as pool:
            results = pool.map(worker, jobs)
    return merge(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--max-rss-mb", type=float, default=512.0)
    parser.add_argument("--failures", default=str(REPO_ROOT / ".llmfleet-cache" / "fuzz" / "failures"))
    parser.add_argument(
        "--summarize", metavar="DIR", help="Print the figures so far of a run writing into DIR."
    )
    options = parser.parse_args(argv)
    if options.summarize:
        summary = summarize(Path(options.summarize))
        print(json.dumps(dict(summary, failures=summary["failures"][:50]), indent=2))
        return 0
    started = time.monotonic()
    summary = run(
        options.inputs,
        options.workers,
        options.seed,
        options.max_seconds,
        options.max_rss_mb,
        options.failures,
    )
    summary["wall_s"] = round(time.monotonic() - started, 1)
    shown = dict(summary, failures=summary["failures"][:50], failure_count=len(summary["failures"]))
    print(json.dumps(shown, indent=2))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
