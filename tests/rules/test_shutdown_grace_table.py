"""shutdown-grace, edge by edge: the grace period must cover preStop sleep + --shutdown-timeout
+ margin (10 s by default), the default grace period being 30 s."""

from __future__ import annotations

import pytest

from rule_tables import findings, rules, where

D = "/spec/template/spec"


def deployment(args: str, grace: int | None = None, lifecycle: str = "") -> str:
    grace_field = f"terminationGracePeriodSeconds: {grace}, " if grace is not None else ""
    lifecycle_field = f", lifecycle: {lifecycle}" if lifecycle else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: d}}
spec:
  template:
    spec:
      {{{grace_field}containers: [{{name: vllm, image: vllm/vllm-openai:v0.33.0, args: [{args}]{lifecycle_field}}}]}}
"""


SLEEP_15 = "{preStop: {sleep: {seconds: 15}}}"
EXEC_SLEEP_15 = '{preStop: {exec: {command: [/bin/sh, -c, "sleep 15s"]}}}'

TABLE = [
    # (case, args, grace, lifecycle, (severity, pointer) or None): inside the margin vLLM may
    # still finish its teardown (a warning); below preStop + drain the drain is cut (an error)
    ("exactly enough: 15 + 45 + 10 = 70", 'm, --shutdown-timeout, "45"', 70, SLEEP_15, None),
    (
        "one second short, inside the margin",
        'm, --shutdown-timeout, "45"',
        69,
        SLEEP_15,
        ("warning", f"{D}/terminationGracePeriodSeconds"),
    ),
    (
        "sleep through exec counts",
        'm, --shutdown-timeout, "45"',
        69,
        EXEC_SLEEP_15,
        ("warning", f"{D}/terminationGracePeriodSeconds"),
    ),
    (
        "below preStop + drain: the drain is cut",
        'm, --shutdown-timeout, "45"',
        59,
        SLEEP_15,
        ("error", f"{D}/terminationGracePeriodSeconds"),
    ),
    ("default 30 s holds 20 + 10", 'm, --shutdown-timeout, "20"', None, "", None),
    ("default 30 s is within the margin of 21 + 10", 'm, --shutdown-timeout, "21"', None, "", ("warning", D)),
    ("default 30 s is short of a 31 s drain", 'm, --shutdown-timeout, "31"', None, "", ("error", D)),
    ("nothing to fit: no sleep, no drain", "m", 0, "", None),
    (
        "a sleep alone must fit: 25 + 0 + 10 > 30",
        "m",
        None,
        "{preStop: {sleep: {seconds: 25}}}",
        ("warning", D),
    ),
    ("a sleep longer than the grace", "m", None, "{preStop: {sleep: {seconds: 35}}}", ("error", D)),
    ("a negative drain counts as none: 15 + 0 + 10", 'm, --shutdown-timeout, "-5"', 25, SLEEP_15, None),
    ("an unreadable drain is not judged", "m, --shutdown-timeout, $(DRAIN)", 1, SLEEP_15, None),
]


@pytest.mark.parametrize(
    ("case", "args", "grace", "lifecycle", "expected"), TABLE, ids=[row[0] for row in TABLE]
)
def test_shutdown_grace_table(case, args, grace, lifecycle, expected):
    found = where(findings("shutdown-grace", deployment(args, grace, lifecycle)))
    assert found == ([(expected[0], "Deployment", "d", expected[1])] if expected else [])


def test_the_message_shows_the_sum_and_the_default():
    (row,) = findings("shutdown-grace", deployment('m, --shutdown-timeout, "21"'))
    assert row[4] == (
        "terminationGracePeriodSeconds is 30 s (the default), shorter than preStop sleep 0 s + "
        "--shutdown-timeout 21 s + 10 s margin = 31 s: the kubelet kills vLLM if its teardown "
        "takes longer than the rest"
    )


@pytest.mark.parametrize(
    ("margin", "grace", "reported"), [(0, 60, False), (0, 59, True), (20, 79, True), (20, 80, False)]
)
def test_the_margin_option(margin, grace, reported):
    ruleset = rules({"shutdown-grace": {"margin-seconds": margin}})
    found = findings("shutdown-grace", deployment('m, --shutdown-timeout, "45"', grace, SLEEP_15), ruleset)
    assert bool(found) == reported
    if reported:
        assert f"+ {margin} s margin = {15 + 45 + margin} s" in found[0][4]
