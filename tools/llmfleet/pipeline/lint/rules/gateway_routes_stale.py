"""gateway-routes-stale: the committed gateway routing table must match the overlays.

The model gateway routes by ``platform/gateway/routes.yaml`` (``gateway.routes-file``), which
``llmfleet gateway-routes`` derives from every overlay's fleet model: served model names,
the Service that selects each vLLM server and its port, and whether the server wants an API
key.  The pipeline reads the committed file; this check compares it with what the overlays
render now.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.routes import diff_routes, render_routes_file, routes_of
from llmfleet.pipeline.lint.api import FleetModel, Options, Problem, Severity, rule


@rule(
    id="gateway-routes-stale",
    severity=Severity.ERROR,
    scope="fleet",
    description="The committed gateway routing table differs from what the overlays render",
    remediation="Run `llmfleet gateway-routes` and commit the routes file "
    "(gateway.routes-file in llmfleet.yaml).",
    rationale="The gateway routes by this table: a model missing from it is unreachable, and "
    "a stale URL sends requests to a Service that no longer exists.",
    category="gateway",
)
def check(fleet: FleetModel, options: Options) -> Iterator[Problem]:
    """Passing: ``routes.yaml`` lists exactly the served model names, Service URLs and API-key
    settings of every overlay::

        models:
        - {name: meta-llama/Llama-3.1-8B-Instruct, overlay: llama-3-1-8b-instruct,
           url: "http://llama-3-1-8b-instruct-server.inference.svc.cluster.local:8000", api_key: true}

    Failing (file ``platform/gateway/routes.yaml``): a new overlay serving
    ``Qwen/Qwen2.5-7B-Instruct`` is not in the table::

        model 'Qwen/Qwen2.5-7B-Instruct' is missing (expected url http://qwen...:8000)
    """
    relative = fleet.routes_file
    if not relative:
        return
    try:
        expected = render_routes_file(routes_of(fleet.overlays))
    except ValueError as exc:
        yield Problem(None, "", f"cannot derive the gateway routes: {exc}", file=relative)
        return
    if fleet.committed_routes is None:
        yield Problem(None, "", f"{relative} does not exist; run `llmfleet gateway-routes`", file=relative)
        return
    for difference in diff_routes(fleet.committed_routes, expected):
        yield Problem(None, "", f"{difference}; run `llmfleet gateway-routes`", file=relative)
