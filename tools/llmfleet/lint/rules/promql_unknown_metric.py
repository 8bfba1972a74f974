"""promql-unknown-metric: queries must use metrics that vLLM 0.33.0 exports, by their exposed name.

The catalog (``llmfleet/vllm/metrics.py``) is docs/reference/vllm-0.33.md §1.2-1.4:
counters are exposed with ``_total`` (and ``_created``), histograms as ``_bucket``/``_sum``/
``_count``.  Renamed and removed metrics break dashboards, alerts and autoscalers silently: a
selector of a missing series returns nothing, so the alert never fires and KEDA reads 0
(§1.5, §5.4): ``vllm:gpu_cache_usage_perc`` → ``vllm:kv_cache_usage_perc`` (removed 0.12),
``vllm:time_per_output_token_seconds`` → ``vllm:inter_token_latency_seconds``,
``vllm:request_latency_seconds`` never existed (→ ``vllm:e2e_request_latency_seconds``, §1.6).
``histogram_quantile`` over a vLLM series that is not a ``_bucket`` (a gauge, a counter, a
histogram's ``_sum``/``_count``) is an error too (docs/reference/vllm-0.33.md §6 "Metrics and alerts").
Grafana dashboards held in ConfigMaps are checked as well ("Dashboards need updating", §1.5),
with Grafana's interval variables (``$__rate_interval``…) read as a duration.
The query is walked as a PromQL AST (promql-parser); selectors by ``__name__`` count too.
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
import itertools

from llmfleet.lint.rules._common import dashboard_queries, prometheus_queries
from llmfleet.vllm import VLLM_VERSION, metrics, promql


@rule(id="promql-unknown-metric", severity=Severity.ERROR,
      description="A query uses a vllm: metric that vLLM 0.33.0 does not export (removed, "
                  "renamed, never existed, or a counter without _total)",
      remediation="Use the name in the message (see the vLLM 0.33 catalog in "
                  "tools/llmfleet/vllm/metrics.py).",
      category="monitor")
def check(ctx):
    """Passing::

        expr: histogram_quantile(0.99, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket[5m])))

    Failing (``/spec/groups/0/rules/0/expr``)::

        expr: vllm:gpu_cache_usage_perc > 0.9
    """
    for res, path, query in itertools.chain(prometheus_queries(ctx), dashboard_queries(ctx)):
        if not isinstance(query, str):
            continue
        try:
            expr = promql.parse(query)
            selectors = promql.selectors(expr)
        except Exception:
            continue  # promql-syntax reports it
        reported = set()
        for selector in selectors:
            name = selector.name
            if not metrics.is_vllm_metric(name) or name in reported:
                continue
            reported.add(name)
            found = metrics.lookup(name)
            if found.status == "ok":
                continue
            if found.status == "removed":
                message = f"{name} is not exported by vLLM {VLLM_VERSION}; use {found.hint}"
            elif found.status in ("no-total", "histogram-base"):
                message = f"{name} is not an exposed series; use {found.hint}"
            else:
                message = (f"{name} is not a vLLM {VLLM_VERSION} metric (not in docs/reference/vllm-0.33.md §1.2-1.4): "
                           "the selector matches nothing")
            yield Problem(res, path, message)
        quantiled = set()
        for selector in promql.histogram_quantile_inputs(expr):
            name = selector.name
            if not metrics.is_vllm_metric(name) or name in quantiled:
                continue
            found = metrics.lookup(name)
            if found.status == "ok" and not name.endswith("_bucket"):
                quantiled.add(name)
                what = "a histogram's " + name.rsplit("_", 1)[-1] if found.kind == metrics.HISTOGRAM \
                    else f"a {found.kind or 'non-histogram'}"
                yield Problem(res, path,
                              f"histogram_quantile over {name}, which is {what} series, not _bucket: "
                              "the result is meaningless (docs/reference/vllm-0.33.md §6)")
