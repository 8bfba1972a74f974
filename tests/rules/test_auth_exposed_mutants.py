"""auth-exposed on an OpenShift Route: ``spec.to`` and every ``spec.alternateBackends`` entry
of kind Service (the default when ``kind`` is left out) that reaches vLLM pods without a key
is reported; a backend of another kind is not (issue 26, surviving mutants)."""

from __future__ import annotations

import pytest
from test_auth_exposed_table import pods

from rule_tables import findings, where

ROUTE = """---
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: r, namespace: llm}
spec:
  to: {kind: Service, name: absent}
  alternateBackends: [%s]
"""

TABLE = [
    # (case, alternate backend, reported)
    ("kind left out means Service", "{name: internal, weight: 10}", True),
    ("kind Service", "{kind: Service, name: internal}", True),
    ("another kind", "{kind: ServiceImport, name: internal}", False),
]


@pytest.mark.parametrize(("case", "backend", "reported"), TABLE, ids=[r[0] for r in TABLE])
def test_route_alternate_backends(case, backend, reported):
    found = where(findings("auth-exposed", pods() + ROUTE % backend))
    assert found == ([("error", "Route", "r", "/spec/alternateBackends/0/name")] if reported else [])
