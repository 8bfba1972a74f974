#!/usr/bin/env python3
"""Measure `llmfleet lint` on the real-world corpus against the ground truth in expected.yaml.

Each corpus file is linted on its own, as a user linting their own manifest would (``llmfleet
lint --format json FILE`` from an empty working folder, so no project ``llmfleet.yaml`` applies).
Every finding at error or warning is judged:

* right: it names a real problem of the file (same object, a class its rule stands for); a
  finding at error on a problem marked ``max_severity: warning`` is right for recall but counted
  as a false error;
* wrong: it lands on something expected.yaml lists as fine, or on nothing listed at all;
* not judged: rules outside this measure (``NOT_JUDGED``), and findings on what expected.yaml
  lists as ``unjudged`` (a question the manifest does not settle), reported apart.

Precision = right findings / judged findings; recall = real problems caught by at least one
finding / real problems (also for the major ones).  A run that does not end with exit 0 or 1 and
a JSON report is an input error of the linter, counted as a false error of the file.

Usage: python tests/corpus/evaluate.py [--json] [--llmfleet CMD] [FILE...]
Importable: ``evaluate(files=None) -> Report``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shlex
import subprocess
from concurrent.futures import ThreadPoolExecutor
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected.yaml"

#: Which problem classes each rule stands for.  Rules that do not exist yet are listed with the
#: classes the issue (issue 12) assigns to them, so that they count as soon as they land.
RULE_CLASSES: dict[str, set[str]] = {
    "gpu-toleration": {"gpu-toleration-missing", "gpu-toleration-wrong-key"},
    "gpu-node-selection": {"gpu-node-selection-missing"},
    "gpu-request-limit": {"gpu-request-limit-mismatch"},
    "gpu-shm": {"no-shm-for-tp"},
    "gpu-parallelism": {"tp-mismatch-gpus"},
    "gpu-missing": {"gpu-missing"},
    "gpu-fit": {"model-does-not-fit", "context-does-not-fit"},
    "probe-startup": {"no-startup-probe", "startup-window-too-short", "liveness-kills-during-load"},
    "probe-liveness": {"liveness-kills-during-load", "liveness-too-aggressive"},
    "probe-target": {"probe-wrong-target"},
    "vllm-deprecated-entrypoint": {"deprecated-entrypoint", "removed-entrypoint"},
    "vllm-removed-flag": {"removed-flag", "unknown-flag"},
    "vllm-image-unpinned": {"image-unpinned"},
    "vllm-serve-repeated": {"serve-repeated"},
    "vllm-service-links": {"service-links-vllm-port"},
    "vllm-metrics-disabled": {"metrics-disabled"},
    "vllm-config-false": {"config-false-ignored"},
    "secret-literal": {"secret-literal", "secret-in-manifest"},
    "model-cache": {"no-model-cache"},
    "shutdown-drain": {"no-drain-timeout"},
    "shutdown-prestop": {"no-prestop"},
    "shutdown-grace": {"grace-too-short"},
    "auth-exposed": {"exposed-without-auth"},
    "scaler-query-scope": {"keda-query-multi-series"},
    "scaler-target": {"scale-target-missing"},
    "scaler-bounds": {"scaler-bounds"},
    "scaler-replicas": {"scaler-replicas"},
    "scaler-name-length": {"scaler-name-too-long"},
    "monitor-selector": {"monitor-selects-nothing"},
    "promql-syntax": {"promql-syntax"},
    "promql-unknown-metric": {"unknown-metric"},
    "alert-namespace": {"alert-namespace"},
    "input-error": {"yaml-error"},
    # issue 23
    "scaler-recreate": {"recreate-autoscaled"},
    "scaler-averaged-query": {"keda-averaged-query"},
    "gated-model-token": {"gated-no-token"},
    "gpu-visible-devices": {"cuda-visible-devices-beyond-request"},
    "service-reference": {"unresolved-service-reference"},
    "server-image-unpinned": {"image-unpinned"},
    "instance-parallelism": {"tp-mismatch-gpus"},
    "yaml-syntax": {"yaml-error"},
    "volume-rwo-shared": {"rwo-volume-shared", "rwo-rolling-update"},
    "image-floating-tag": {"image-unpinned"},
    "gpu-privileged": {"gpu-isolation-bypass"},
    "object-name-invalid": {"invalid-name"},
    "toleration-all": {"tolerate-all"},
    "image-placeholder": {"image-placeholder"},
    "server-loopback": {"server-loopback", "listens-on-loopback"},
}

#: Rules this measure does not judge, and why (they are counted apart).
NOT_JUDGED: dict[str, str] = {
    "pod-security": "hardening policy that depends on the cluster's Pod Security level",
    "alert-coverage": "judges a fleet's monitoring, which a single workload manifest does not carry",
    "fleet-*": "compare the overlays of this repository",
    "gateway-routes-stale": "compares this repository's gateway table",
}

JUDGED_SEVERITIES = ("error", "warning")


@dataclass
class Judged:
    file: str
    rule: str
    severity: str
    object: str
    message: str
    verdict: str            # "right", "wrong", "false-error", "not-judged"
    matched: str = ""       # the class it was matched to, or why it is wrong


@dataclass
class Report:
    files: int = 0
    findings: list[Judged] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)   # with "caught" and "file"
    input_errors: list[str] = field(default_factory=list)

    @property
    def judged(self) -> list[Judged]:
        return [f for f in self.findings if f.verdict != "not-judged"]

    @property
    def right(self) -> list[Judged]:
        return [f for f in self.judged if f.verdict == "right"]

    @property
    def false_errors(self) -> list[Judged]:
        return [f for f in self.judged if f.verdict == "false-error"]

    @property
    def wrong(self) -> list[Judged]:
        return [f for f in self.judged if f.verdict in ("wrong", "false-error")]

    def recall(self, severity: str | None = None) -> tuple[int, int]:
        pool = [p for p in self.problems if severity is None or p["severity"] == severity]
        return sum(1 for p in pool if p["caught"]), len(pool)

    @property
    def precision(self) -> tuple[int, int]:
        return len(self.right), len(self.judged)

    def files_failing_only_on_false_errors(self) -> list[str]:
        """Files where the linter fails (an error finding) and every error is a false one."""
        out = []
        for name in sorted({f.file for f in self.findings}):
            errors = [f for f in self.judged if f.file == name and f.severity == "error"]
            if errors and all(f.verdict == "false-error" for f in errors):
                out.append(name)
        return out

    def summary(self) -> dict[str, Any]:
        right, judged = self.precision
        caught, total = self.recall()
        major_caught, major_total = self.recall("major")
        return {
            "files": self.files,
            "findings_judged": judged,
            "findings_right": right,
            "precision": round(right / judged, 3) if judged else None,
            "false_errors": len(self.false_errors),
            "files_failing_only_on_false_errors": len(self.files_failing_only_on_false_errors()),
            "problems": total,
            "problems_caught": caught,
            "recall": round(caught / total, 3) if total else None,
            "major_problems": major_total,
            "major_caught": major_caught,
            "major_recall": round(major_caught / major_total, 3) if major_total else None,
            "not_judged_findings": len(self.findings) - judged,
            "input_errors": len(self.input_errors),
        }


def load_expected(path: Path = EXPECTED) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ValueError(f"{path}: expected a mapping with a 'files' mapping")
    return data


def not_judged(rule: str) -> bool:
    return any(fnmatch.fnmatchcase(rule, pattern) for pattern in NOT_JUDGED)


def run_lint(path: Path, command: list[str]) -> tuple[list[dict[str, Any]] | None, str]:
    """The findings of one file, or None and the reason when the linter did not report."""
    with tempfile.TemporaryDirectory(prefix="llmfleet-corpus-") as cwd:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMFLEET_")}
        proc = subprocess.run([*command, "lint", "--format", "json", str(path)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=300)
    if proc.returncode not in (0, 1):
        return None, f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:300]}"
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        return None, f"no JSON report ({exc})"
    return list(report.get("findings", [])), ""


def object_of(finding: dict[str, Any]) -> str:
    return f"{finding.get('kind', '')}/{finding.get('name', '')}"


def judge_file(name: str, entry: dict[str, Any], findings: list[dict[str, Any]] | None,
               reason: str, report: Report) -> None:
    problems = [dict(p, file=name, caught=False) for p in entry.get("problems") or []]
    fine = entry.get("fine") or []
    unjudged = entry.get("unjudged") or []
    if findings is None:
        report.input_errors.append(f"{name}: {reason}")
        report.findings.append(Judged(name, "input-error", "error", "", reason, "false-error",
                                      "the linter failed on the file"))
        report.problems.extend(problems)
        return
    for finding in findings:
        rule, severity = str(finding.get("rule", "")), str(finding.get("severity", ""))
        obj, message = object_of(finding), str(finding.get("message", ""))
        if severity not in JUDGED_SEVERITIES:
            continue
        if not_judged(rule):
            report.findings.append(Judged(name, rule, severity, obj, message, "not-judged"))
            continue
        classes = RULE_CLASSES.get(rule, set())
        hits = [p for p in problems if p["object"] == obj and p["class"] in classes]
        if hits:
            for problem in hits:
                problem["caught"] = True
            too_loud = severity == "error" and all(p.get("max_severity") == "warning" for p in hits)
            report.findings.append(Judged(name, rule, severity, obj, message,
                                          "false-error" if too_loud else "right", hits[0]["class"]))
            continue
        if any(u["object"] == obj and u["class"] in classes for u in unjudged):
            report.findings.append(Judged(name, rule, severity, obj, message, "not-judged",
                                          "unjudged in expected.yaml"))
            continue
        fine_hit = next((f for f in fine if f["object"] == obj and f["class"] in classes), None)
        why = (f"fine: {fine_hit['class']}: {fine_hit['why']}" if fine_hit
               else "no real problem of this class on this object")
        report.findings.append(Judged(name, rule, severity, obj, message,
                                      "false-error" if severity == "error" else "wrong", why))
    report.problems.extend(problems)


def evaluate(files: list[str] | None = None, command: list[str] | None = None,
             expected: Path = EXPECTED) -> Report:
    return evaluate_data(load_expected(expected), expected.parent, files, command, str(expected))


def evaluate_data(data: dict[str, Any], folder: Path, files: list[str] | None = None,
                  command: list[str] | None = None, source: str = "") -> Report:
    """Lint and judge the files of ``folder`` that the ground truth ``data`` lists."""
    command = command or [sys.executable, "-m", "llmfleet"]
    report = Report()
    selected = [(name, entry) for name, entry in sorted(data["files"].items()) if not files or name in files]
    for name, _ in selected:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{source or folder}: lists {name}, which is not in {folder}")
    # One linter process per file, as many at once as there are cores; judged in file order.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda item: run_lint(folder / item[0], command), selected))
    for (name, entry), (findings, reason) in zip(selected, results):
        judge_file(name, entry or {}, findings, reason, report)
        report.files += 1
    return report


def class_table(report: Report) -> list[tuple[str, int, int, int, int]]:
    """Per class: (class, real problems, caught, wrong findings that claimed it, false errors)."""
    rows: dict[str, list[int]] = {}
    for problem in report.problems:
        row = rows.setdefault(problem["class"], [0, 0, 0, 0])
        row[0] += 1
        row[1] += problem["caught"]
    known = set().union(*RULE_CLASSES.values())
    for finding in report.wrong:
        if finding.matched.startswith("fine:"):
            cls = finding.matched.split(":")[1].strip()
        elif finding.matched in known:        # a real problem, reported too loudly
            cls = finding.matched
        else:                                 # nothing listed on that object
            cls = "(" + finding.rule + ")"
        row = rows.setdefault(cls, [0, 0, 0, 0])
        row[2] += 1
        row[3] += finding.verdict == "false-error"
    return sorted(((c, *r) for c, r in rows.items()), key=lambda r: (-r[1], r[0]))  # type: ignore[misc]


def print_report(report: Report) -> None:
    s = report.summary()
    print(f"files: {s['files']}")
    print(f"precision: {s['findings_right']}/{s['findings_judged']} judged findings right"
          f" ({s['precision']}); not judged: {s['not_judged_findings']}")
    print(f"recall: {s['problems_caught']}/{s['problems']} real problems caught ({s['recall']});"
          f" major: {s['major_caught']}/{s['major_problems']} ({s['major_recall']})")
    print(f"false errors: {s['false_errors']} (files that fail only because of them:"
          f" {s['files_failing_only_on_false_errors']}); linter input errors: {s['input_errors']}")
    print("\nper class: real / caught / wrong findings / of which errors")
    for cls, total, caught, wrong, errors in class_table(report):
        print(f"  {cls:34} {total:3} {caught:3} {wrong:3} {errors:3}")
    print("\nfalse errors:")
    for f in report.false_errors:
        print(f"  {f.file}: {f.rule} on {f.object}: {f.matched}")
    print("\nmissed major problems:")
    for p in report.problems:
        if p["severity"] == "major" and not p["caught"]:
            print(f"  {p['file']}: {p['class']} on {p['object']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="corpus file names (default: all)")
    parser.add_argument("--json", action="store_true", help="print the summary and verdicts as JSON")
    parser.add_argument("--llmfleet", default="", help="command that runs llmfleet "
                        "(default: this Python's `-m llmfleet`)")
    args = parser.parse_args(argv)
    command = shlex.split(args.llmfleet) if args.llmfleet else None
    report = evaluate(args.files or None, command)
    if args.json:
        print(json.dumps({"summary": report.summary(),
                          "findings": [vars(f) for f in report.findings],
                          "problems": report.problems}, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
