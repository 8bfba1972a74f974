"""Ray Serve applications of a KubeRay RayService: the models its LLM deployments load.

``spec.serveConfigV2`` is a YAML string (Ray Serve's config file).  Ray Serve LLM apps
(``ray.serve.llm:build_openai_app``) list ``llm_configs``, each with
``model_loading_config.model_source`` (where the weights come from: a Hugging Face id, a
path or a bucket) and ``model_id`` (the served name; the source defaults to it).  vLLM runs
inside the Ray workers and downloads a Hugging Face model into their Hugging Face cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmfleet.kube import safe_yaml
from llmfleet.model.k8s import Resource


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("model_loading_config"), dict):
            yield node["model_loading_config"]
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def serve_models(resource: Resource) -> list[str]:
    """Model sources of the Ray Serve LLM apps of a RayService (empty when none, or when the
    serve config is not YAML)."""
    text = resource.spec.get("serveConfigV2")
    if not isinstance(text, str):
        return []
    try:
        config = safe_yaml.load(text)
    except safe_yaml.UnsafeYAML:
        return []
    found = []
    for loading in _walk(config):
        source = loading.get("model_source") or loading.get("model_id")
        if isinstance(source, str) and source.strip():
            found.append(source.strip())
    return list(dict.fromkeys(found))
