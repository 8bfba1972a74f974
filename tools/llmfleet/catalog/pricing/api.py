"""Hosted-API prices by model size class (``llmfleet/data/api_prices.yaml``): the price a
self-hosted model is compared with is that of a hosted model of its size."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from llmfleet import DATA_DIR
from llmfleet.kube import safe_yaml

DATA_FILE = DATA_DIR / "api_prices.yaml"


@dataclass(frozen=True)
class ApiClass:
    name: str
    max_params_b: float | None
    input: float  # USD per million input tokens
    output: float  # USD per million output tokens
    reference: str
    source_url: str
    read: str


@lru_cache(maxsize=1)
def classes() -> tuple[ApiClass, ...]:
    raw = safe_yaml.load(DATA_FILE.read_text(encoding="utf-8"))
    source = raw.get("source") or {}
    out = []
    for entry in raw.get("classes") or []:
        bound = entry.get("max_params_b")
        out.append(
            ApiClass(
                str(entry["name"]),
                None if bound is None else float(bound),
                float(entry["input"]),
                float(entry["output"]),
                str(entry["reference"]),
                str(source.get("url", "")),
                str(source.get("read", "")),
            )
        )
    return tuple(out)


def for_params(params: float) -> ApiClass:
    """The class of a model of ``params`` parameters (total, all experts of an MoE)."""
    billions = params / 1e9
    table = classes()
    for entry in table:
        if entry.max_params_b is None or billions <= entry.max_params_b:
            return entry
    return table[-1]
