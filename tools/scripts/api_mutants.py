#!/usr/bin/env python3
"""One-defect mutants of the rendered fleet, and how often ``llmfleet validate`` agrees with
the API server's verdict on them.

Renders every overlay and platform kustomization, applies each operator of
``api_mutant_table.OPERATORS`` to every object it fits (one change per mutant), writes the
mutants and their ground truth (the verdict each operator records, taken from the upstream
validation code) to ``--out`` before llmfleet looks at them, then validates each mutant as a
single-object input with llmfleet's validator (in-process: schemas, API rules, CRD rules,
Pod Security) and reports the agreement.  A mutant whose hash falls in the held-out fifth is
reported apart: the operators were tuned on the other four fifths only.

    .venv/bin/python tools/scripts/api_mutants.py --out /tmp/mutants [--json]

Exit codes: 0 done, 1 llmfleet rejects a mutant the server accepts (or agrees on less than
``--min-agreement``), 2 bad arguments or a render failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_mutant_table

from llmfleet.infra.findings import Severity
from llmfleet.pipeline.config import load_config
from llmfleet.pipeline.manifests import load_text
from llmfleet.pipeline.render import render
from llmfleet.pipeline.runner import Options, Validator

REPO = Path(__file__).resolve().parents[2]


def rendered_objects(config) -> list[dict]:
    objects = []
    for folder in [*config.overlay_dirs(), *config.platform_dirs()]:
        result = render(folder)
        if not result.ok:
            raise SystemExit(f"api_mutants: {folder} does not render: {result.error}")
        objects += [d for d in yaml.safe_load_all(result.text) if isinstance(d, dict)]
    return objects


def held_out(mutant_id: str) -> bool:
    return int(hashlib.sha256(mutant_id.encode()).hexdigest(), 16) % 5 == 0


def write_corpus(out: Path, mutants: list[tuple[str, api_mutant_table.Operator, dict]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    truth = {}
    for mutant_id, operator, data in mutants:
        (out / f"{mutant_id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        truth[mutant_id] = {
            "operator": operator.id,
            "verdict": operator.verdict,
            "why": operator.why,
            "held_out": held_out(mutant_id),
        }
    (out / "ground-truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True), encoding="utf-8")


def llmfleet_verdicts(
    config, folder: Path, mutant_ids: list[str]
) -> dict[str, tuple[str, list[str], list[str]]]:
    """llmfleet's verdict on each mutant file of ``folder``, validated alone: ("reject" or
    "accept", the rules that reported errors, the first messages)."""
    validator = Validator(config, Options(validator="jsonschema", offline=True, cache=False))
    verdicts = {}
    for mutant_id in mutant_ids:
        text = (folder / f"{mutant_id}.yaml").read_text(encoding="utf-8")
        resources, load_findings = load_text(text, f"{mutant_id}.yaml")
        errors = [f for f in load_findings + validator(resources) if f.severity == Severity.ERROR]
        verdicts[mutant_id] = (
            "reject" if errors else "accept",
            sorted({f.rule for f in errors}),
            [f.message for f in errors][:3],
        )
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for the mutants and ground-truth.json"
    )
    parser.add_argument("--min-agreement", type=float, default=0.98)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    config = load_config(REPO)
    objects = rendered_objects(config)
    mutants = []
    for operator, index, data in api_mutant_table.mutants(objects):
        name = (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else ""
        mutant_id = f"{operator.id}--{index:03d}-{str(data.get('kind', '')).lower()}"
        mutants.append((mutant_id, operator, data))
        del name
    write_corpus(args.out, mutants)  # the ground truth is on disk before llmfleet runs

    verdicts = llmfleet_verdicts(config, args.out, [m[0] for m in mutants])
    (args.out / "llmfleet-verdicts.json").write_text(
        json.dumps({m: v[0] for m, v in verdicts.items()}, indent=0, sort_keys=True), encoding="utf-8"
    )
    counts = {"all": [0, 0], "held-out": [0, 0]}
    false_rejects, misses = [], []
    for mutant_id, operator, _ in mutants:
        predicted, rules, messages = verdicts[mutant_id]
        agree = predicted == operator.verdict
        for key in ("all", "held-out") if held_out(mutant_id) else ("all",):
            counts[key][0] += agree
            counts[key][1] += 1
        if not agree:
            (false_rejects if predicted == "reject" else misses).append(
                {"mutant": mutant_id, "rules": rules, "messages": messages}
            )
    figures = {
        "objects": len(objects),
        "mutants": len(mutants),
        "operators": len(api_mutant_table.OPERATORS),
        "agreement": counts["all"][0] / max(counts["all"][1], 1),
        "held_out_mutants": counts["held-out"][1],
        "held_out_agreement": counts["held-out"][0] / max(counts["held-out"][1], 1),
        "rejected_what_server_accepts": false_rejects,
        "accepted_what_server_rejects": misses,
    }
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(
            f"{figures['mutants']} mutants of {figures['objects']} objects ({figures['operators']} operators): "
            f"agreement {figures['agreement']:.2%}; held-out {figures['held_out_mutants']}: "
            f"{figures['held_out_agreement']:.2%}"
        )
        for item in false_rejects:
            print(f"  rejects what the server accepts: {item['mutant']} {item['rules']} {item['messages']}")
        for item in misses:
            print(f"  accepts what the server rejects: {item['mutant']}")
    ok = not false_rejects and figures["agreement"] >= args.min_agreement
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
