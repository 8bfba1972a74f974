"""llmfleet: render, validate and lint a Kustomize repository of vLLM deployments."""

__version__ = "0.1.0"
#: Where an internal error (exit code 4) should be reported.
ISSUES_URL = "https://github.com/example-org/llm-fleet/issues"
