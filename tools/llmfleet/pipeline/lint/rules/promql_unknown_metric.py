"""promql-unknown-metric: queries must use metrics that vLLM 0.33.0 exports, by their exposed name.

The catalog (``llmfleet/vllm/metrics.py``) is docs/reference/vllm.md §1.2-1.4:
counters are exposed with ``_total`` (and ``_created``), histograms as ``_bucket``/``_sum``/
``_count``.  Renamed and removed metrics break dashboards, alerts and autoscalers silently: a
selector of a missing series returns nothing, so the alert never fires and KEDA reads 0
(§1.5, §5.4): ``vllm:gpu_cache_usage_perc`` → ``vllm:kv_cache_usage_perc`` (removed 0.12),
``vllm:time_per_output_token_seconds`` → ``vllm:inter_token_latency_seconds``,
``vllm:request_latency_seconds`` never existed (→ ``vllm:e2e_request_latency_seconds``, §1.6).
``histogram_quantile`` over a vLLM series that is not a ``_bucket`` (a gauge, a counter, a
histogram's ``_sum``/``_count``) is an error too (docs/reference/vllm.md §6 "Metrics and alerts").
Grafana dashboards held in ConfigMaps are checked as well ("Dashboards need updating", §1.5),
with Grafana's interval variables (``$__rate_interval``…) read as a duration.
The query is walked as a PromQL AST (promql-parser); selectors by ``__name__`` count too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from llmfleet.model.promql import histogram_quantile_inputs
from llmfleet.model.vllm import VLLM_VERSION, metrics
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="promql-unknown-metric",
    severity=Severity.ERROR,
    description="A query uses a vllm: metric that vLLM 0.33.0 does not export (removed, "
    "renamed, never existed, or a counter without _total)",
    remediation="Use the name in the message (the vLLM 0.33 catalog: tools/llmfleet/model/vllm/metrics.py).",
    rationale="A selector on a metric that does not exist returns nothing: an alert that can "
    "never fire, a scaler that never scales, a blank panel "
    "(docs/reference/vllm.md §1.2-1.6).",
    category="monitor",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        expr: histogram_quantile(0.99, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket[5m])))

    Failing (``/spec/groups/0/rules/0/expr``)::

        expr: vllm:gpu_cache_usage_perc > 0.9
    """
    releases = [None if server.release_unknown else server.version for server in model.servers]
    for ref in itertools.chain(model.queries, model.dashboard_queries):
        query = ref.query
        if not query.ok:
            continue  # promql-syntax reports it
        reported = set()
        for selector in query.selectors:
            name = selector.name
            if not metrics.is_vllm_metric(name) or name in reported:
                continue
            reported.add(name)
            found = metrics.lookup(name)
            if found.status == "ok":
                continue
            severity = None
            if found.status == "removed":
                verdict = _removed(found.base, releases, model.is_overlay)
                if verdict is None:
                    continue  # every vLLM of the input still exports it
                severity, judged = verdict
                message = f"{name} is not exported by vLLM {judged}; use {found.hint}"
            elif found.status in ("no-total", "histogram-base"):
                message = f"{name} is not an exposed series; use {found.hint}"
            else:
                message = (
                    f"{name} is not a vLLM {VLLM_VERSION} metric (not in "
                    "docs/reference/vllm.md §1.2-1.4): the selector matches nothing"
                )
            yield Problem(ref.resource, ref.path, message, severity)
        quantiled = set()
        for selector in histogram_quantile_inputs(query.ast):
            name = selector.name
            if not metrics.is_vllm_metric(name) or name in quantiled:
                continue
            found = metrics.lookup(name)
            if found.status == "ok" and not name.endswith("_bucket"):
                quantiled.add(name)
                what = (
                    "a histogram's " + name.rsplit("_", 1)[-1]
                    if found.kind == metrics.HISTOGRAM
                    else f"a {found.kind or 'non-histogram'}"
                )
                yield Problem(
                    ref.resource,
                    ref.path,
                    f"histogram_quantile over {name}, which is {what} series, not _bucket: "
                    "the result is meaningless (docs/reference/vllm.md §6)",
                )


def _removed(base: str, releases: list[str | None], own: bool) -> tuple[Severity | None, str] | None:
    """How sure it is that a removed metric is missing, as (severity, the release judged).

    An error when every vLLM server of the input runs a release that no longer exports it (or,
    with no server in the input, for this repository's overlays, the pinned release); a warning
    when a foreign input holds no vLLM server to tell the release, or some of its servers run an
    older or unknown one; nothing when every server still exports it.  A name that never
    existed is an error whatever the release."""
    removed_in = metrics.REMOVED_IN.get(base)
    if removed_in is None:
        return None, VLLM_VERSION
    if not releases:
        if own:
            return None, VLLM_VERSION
        return (
            Severity.WARNING,
            f"{removed_in} or later (the input holds no vLLM server that tells the release)",
        )
    known = [r for r in releases if r]
    still = [r for r in known if metrics.exported_by(base, r)]
    if known and len(still) == len(releases):
        return None
    if still or len(known) < len(releases):
        return (
            Severity.WARNING,
            f"{removed_in} or later (some vLLM servers of the input run an older or unknown release)",
        )
    return None, ", ".join(sorted(set(known)))
