"""promtool-rules: ``promtool check rules`` on every PrometheusRule's groups.

promtool reads plain rule files only (the maintainers declined CRD support, prometheus#5767,
#9195); the pipeline writes each PrometheusRule's ``spec`` (which has ``groups:`` at its top)
to a temporary file, runs one promtool process for all of them, and attaches the results to
the model before this check reads them (docs/reference/tooling.md §6).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from llmfleet.model.monitoring import rule_groups, rule_groups_key
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

_RULE_REF = re.compile(r'group "(?P<group>[^"]*)", rule (?P<rule>\d+)')
TOOL = "promtool"


@rule(
    id="promtool-rules",
    severity=Severity.ERROR,
    description="promtool check rules rejects a PrometheusRule (duplicate rules, bad labels or "
    "annotations templates, durations, expressions)",
    remediation="Run `promtool check rules` on the PrometheusRule's spec (the message quotes "
    "it) and fix what it names.",
    rationale="Prometheus loads a rule file whole or not at all: promtool is the parser "
    "Prometheus itself uses (docs/reference/tooling.md §6).",
    category="monitor",
    tool=TOOL,
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        spec:
          groups: [{name: vllm, rules: [{alert: Queue, expr: 'vllm:num_requests_waiting > 10', for: 5m}]}]

    Failing (``/spec/groups/0/rules/0``)::

        spec:
          groups: [{name: vllm, rules: [{alert: Queue, expr: 'vllm:num_requests_waiting > 10',
                                         for: five minutes}]}]
    """
    results = model.tool_results.get(TOOL, {})
    parse_failures = {(id(ref.resource), ref.path) for ref in model.queries if ref.query.error}
    for res in model.of_kind("PrometheusRule"):
        groups = rule_groups(res)
        if not groups:
            continue
        result = results.get(rule_groups_key(groups))
        if result is None or result[0]:
            continue
        names = {str(g.get("name")) if isinstance(g, dict) else "": gi for gi, g in enumerate(groups)}
        for line in result[1].splitlines():
            line = line.strip()
            if not line or line.startswith(("Checking", "FAILED")):
                continue
            message = line.replace("<PrometheusRule spec>: ", "").replace("<PrometheusRule spec>:", "")
            path = "/spec/groups"
            match = _RULE_REF.search(line)
            if match and match.group("group") in names:
                path = f"/spec/groups/{names[match.group('group')]}/rules/{int(match.group('rule')) - 1}"
            if "could not parse expression" in message and (id(res), path + "/expr") in parse_failures:
                continue  # promql-syntax already reports this expression
            yield Problem(res, path, f"promtool check rules: {message}")
