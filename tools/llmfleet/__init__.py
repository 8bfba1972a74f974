"""llmfleet: render, validate and lint a Kustomize repository of vLLM deployments."""

from pathlib import Path

#: The package's data files (catalogs, schemas): one place that knows where they are.
DATA_DIR = Path(__file__).resolve().parent / "data"
#: The checkout this package runs from (tools/llmfleet -> the repository root); an
#: installed wheel has no repository, and callers check that what they need exists.
REPOSITORY_DIR = Path(__file__).resolve().parents[2]

__version__ = "0.1.0"
#: Where an internal error (exit code 4) should be reported.
ISSUES_URL = "https://github.com/example-org/llm-fleet/issues"
