"""vllm-service-links: a Service named ``vllm`` breaks every vLLM pod in its namespace.

With ``enableServiceLinks`` on (the default), Kubernetes injects ``<SERVICE>_PORT`` variables
for every Service of the namespace; a Service named ``vllm`` yields
``VLLM_PORT=tcp://10.x.x.x:8000``, and vLLM reads ``VLLM_PORT`` as its internal port and
fails at startup ("VLLM_PORT '…' appears to be a URI", src vllm/envs.py ``get_vllm_port``;
docs/reference/vllm-0.33.md §5.5, vllm#15613, #34199).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import vllm_workloads


@rule(id="vllm-service-links", severity=Severity.ERROR,
      description="A Service named `vllm` in the namespace of vLLM pods that keep "
                  "enableServiceLinks on",
      remediation="Rename the Service (for example to the model name) or set "
                  "enableServiceLinks: false in the pod spec.",
      category="vllm")
def check(ctx):
    """Passing::

        kind: Service
        metadata: {name: llama-3-1-8b-instruct}

    Failing (``/spec/template/spec``)::

        kind: Service
        metadata: {name: vllm}      # same namespace, pods without enableServiceLinks: false
    """
    services = [s for s in ctx.of_kind("Service") if s.name == "vllm"]
    if not services:
        return
    seen = set()
    for workload, _settings in vllm_workloads(ctx):
        if id(workload) in seen:
            continue
        seen.add(id(workload))
        if workload.spec.get("enableServiceLinks") is False:
            continue
        if any(s.namespace == workload.namespace for s in services):
            yield Problem(workload.resource, workload.spec_path,
                          "a Service named 'vllm' is in this namespace and the pod keeps "
                          "enableServiceLinks on: Kubernetes sets VLLM_PORT=tcp://…, which vLLM "
                          "reads as its own port and fails")
