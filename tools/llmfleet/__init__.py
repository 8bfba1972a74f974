"""llmfleet: render, validate and lint a Kustomize repository of vLLM deployments."""

__version__ = "0.1.0"
