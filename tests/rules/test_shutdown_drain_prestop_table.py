"""shutdown-drain and shutdown-prestop, edge by edge: vLLM needs a positive --shutdown-timeout
(0, its default, aborts in-flight requests on SIGTERM; the option exists from 0.18.0 on) and
a preStop sleep of at least a second (sleep.seconds, or exec running sleep N)."""

from __future__ import annotations

import pytest

from rule_tables import findings, where

C0 = "/spec/template/spec/containers/0"


def deployment(args: str = "[m]", tag: str = "v0.33.0", lifecycle: str = "") -> str:
    extra = f", lifecycle: {lifecycle}" if lifecycle else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: d, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: d}}}}
  template:
    metadata: {{labels: {{app: d}}}}
    spec:
      containers: [{{name: vllm, image: "vllm/vllm-openai:{tag}", args: {args}{extra}}}]
"""


DRAIN = [
    ("a positive timeout", '[m, --shutdown-timeout, "30"]', "v0.33.0", None),
    ("the = form", '[m, "--shutdown-timeout=30"]', "v0.33.0", None),
    ("missing", "[m]", "v0.33.0", f"{C0}/args"),
    ("zero", '[m, --shutdown-timeout, "0"]', "v0.33.0", f"{C0}/args/1"),
    ("negative", '[m, --shutdown-timeout, "-1"]', "v0.33.0", f"{C0}/args/1"),
    ("not a number", "[m, --shutdown-timeout, soon]", "v0.33.0", f"{C0}/args/1"),
    ("a variable is not judged", "[m, --shutdown-timeout, $(DRAIN)]", "v0.33.0", None),
    ("0.17.0 has no such option", "[m]", "v0.17.0", None),
    ("0.18.0 has it", "[m]", "v0.18.0", f"{C0}/args"),
]


@pytest.mark.parametrize(("case", "args", "tag", "pointer"), DRAIN, ids=[r[0] for r in DRAIN])
def test_shutdown_drain_table(case, args, tag, pointer):
    found = where(findings("shutdown-drain", deployment(args, tag)))
    assert found == ([("warning", "Deployment", "d", pointer)] if pointer else [])


PRESTOP = [
    ("sleep 15", "{preStop: {sleep: {seconds: 15}}}", None),
    ("sleep 1", "{preStop: {sleep: {seconds: 1}}}", None),
    ("sleep 0", "{preStop: {sleep: {seconds: 0}}}", f"{C0}/lifecycle/preStop/sleep/seconds"),
    ("exec sleep", '{preStop: {exec: {command: [/bin/sh, -c, "sleep 15"]}}}', None),
    ("exec sleep with a unit", '{preStop: {exec: {command: [sleep, "15s"]}}}', None),
    ("exec without sleep", "{preStop: {exec: {command: [/bin/true]}}}", f"{C0}/lifecycle/preStop"),
    ("no lifecycle", "", C0),
]


@pytest.mark.parametrize(("case", "lifecycle", "pointer"), PRESTOP, ids=[r[0] for r in PRESTOP])
def test_shutdown_prestop_table(case, lifecycle, pointer):
    found = where(findings("shutdown-prestop", deployment(lifecycle=lifecycle)))
    assert found == ([("warning", "Deployment", "d", pointer)] if pointer else [])
