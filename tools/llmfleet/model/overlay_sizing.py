"""The sizing facts an overlay carries for a model outside the catalog.

new-model sizes a model from its config.json (parameters, layers, KV heads, head size,
dtype, quantization, context, sliding-window layers).  So that every later command --
``simulate``, ``cost``, ``diff`` and the ``gpu-fit`` rule -- sizes it exactly as new-model
did, the facts travel with the overlay: a JSON annotation, :data:`ANNOTATION`, on the
ConfigMap that holds serve.yaml (the kustomization's configMapGenerator writes it).  vLLM
never reads it; the catalog, when it knows the model, still wins."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from llmfleet.catalog import entries as catalog
from llmfleet.catalog.entries import ModelSpec

ANNOTATION = "llmfleet.io/model-sizing"
#: ModelSpec fields the annotation carries (id, gated and source come from elsewhere).
CARRIED = tuple(f.name for f in fields(ModelSpec) if f.name not in ("id", "gated", "source"))
REQUIRED = ("params", "layers", "hidden", "heads", "kv_heads", "head_dim", "context")


def encode(spec: ModelSpec) -> str:
    """The annotation's value: the sizing fields that are set, as compact sorted JSON."""
    values = {name: getattr(spec, name) for name in CARRIED}
    return json.dumps(
        {k: v for k, v in values.items() if v not in (None, "", 0) or k in REQUIRED},
        sort_keys=True,
        separators=(",", ":"),
    )


def decode(text: str, model_id: str, where: str) -> ModelSpec:
    """A ModelSpec from the annotation; ValueError naming the field otherwise."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: annotation {ANNOTATION} is not JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: annotation {ANNOTATION} is not a JSON object")
    unknown = sorted(set(raw) - set(CARRIED))
    if unknown:
        raise ValueError(f"{where}: annotation {ANNOTATION}: unknown field {unknown[0]!r}")
    for name in REQUIRED:
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{where}: annotation {ANNOTATION}: field {name!r} must be a positive number")
    values: dict[str, Any] = dict(raw)
    for name in ("layers", "hidden", "heads", "kv_heads", "head_dim", "context"):
        values[name] = int(values[name])
    return ModelSpec(id=model_id, source=f"{ANNOTATION} on {where}", **values)


def carried(server: Any) -> tuple[ModelSpec | None, str]:
    """The spec the server's overlay carries, and the problem when it carries a broken one."""
    resource = getattr(server, "config_resource", None)
    if resource is None:
        return None, ""
    annotations = ((resource.data.get("metadata") or {}).get("annotations")) or {}
    text = annotations.get(ANNOTATION) if isinstance(annotations, dict) else None
    if not text:
        return None, ""
    try:
        return decode(str(text), server.model_id, resource.ref), ""
    except (ValueError, TypeError) as exc:
        return None, str(exc)


def spec_for(server: Any) -> ModelSpec | None:
    """The model of a vLLM server: the catalog's entry, else what its overlay carries."""
    found = catalog.find_model(server.model_id)
    if found is not None:
        return found
    return carried(server)[0]
