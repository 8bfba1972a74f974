"""Reading the file ``vllm bench serve --save-result`` writes (vLLM 0.33.0
``vllm/benchmarks/serve.py``: the setup keys of ``main``, the result dict of ``benchmark()``
and the ``mean_/median_/pNN_<metric>_ms`` keys of ``process_one_metric``;
docs/reference/calibration.md lists them).  Older ``benchmarks/benchmark_serving.py`` files
carry the same core keys and are read too.

With ``--append-result`` the file holds one JSON object per line: the last one is read.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Keys every result file has, from vLLM 0.5 to 0.33.
REQUIRED = (
    "completed",
    "duration",
    "total_input_tokens",
    "total_output_tokens",
    "output_throughput",
    "request_throughput",
)
MAX_BYTES = 64 * 1024 * 1024


class BenchResultError(ValueError):
    """The file is not a result vLLM wrote; the message names the file and the key."""


@dataclass(frozen=True)
class BenchResult:
    name: str
    sha256: str
    date: str  # vLLM's "%Y%m%d-%H%M%S"
    model_id: str
    completed: int
    failed: int
    duration_s: float
    input_tokens: float  # mean per request
    output_tokens: float  # mean per request
    output_tok_s: float
    request_throughput: float
    concurrency: int  # requests in flight, see mean_in_flight()
    concurrency_source: str
    vllm_version: str
    ttft_p99_ms: float | None
    request_rate: str


def _number(data: dict, key: str, where: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BenchResultError(f"{where}: {key!r} must be a number, got {value!r}")
    return float(value)


def _in_flight(data: dict, where: str) -> tuple[int, str]:
    """Requests the replica ran at once, on average: Little's law (request throughput x mean
    end-to-end latency) when the file has ``mean_e2el_ms`` (vLLM 0.33 with e2el among the
    percentile metrics) or ``mean_latency_ms`` (older files); else the most in flight
    (``max_concurrent_requests``), the client's ``max_concurrency``, or every prompt at once."""
    throughput = _number(data, "request_throughput", where)
    for key in ("mean_e2el_ms", "mean_latency_ms"):
        if isinstance(data.get(key), (int, float)) and data[key] > 0:
            return max(1, round(throughput * data[key] / 1000.0)), f"request_throughput x {key}"
    for key in ("max_concurrent_requests", "max_concurrency", "num_prompts"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value, key
    raise BenchResultError(
        f"{where}: no mean_e2el_ms, max_concurrent_requests, max_concurrency or num_prompts"
    )


def _last_line(lines: list[str]) -> Any:
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return None


def parse(text: str, name: str, sha256: str = "") -> BenchResult:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise BenchResultError(f"{name}: empty")
    try:
        data = json.loads(text)  # one run, on one line or pretty-printed
    except json.JSONDecodeError as err:
        # `--append-result` files hold one JSON object a line: the last is the latest run
        data = _last_line(lines) if len(lines) > 1 else None
        if data is None:
            raise BenchResultError(f"{name}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict):
        raise BenchResultError(f"{name}: must hold a JSON object, got {type(data).__name__}")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise BenchResultError(
            f"{name}: {missing[0]!r} is missing: not a `vllm bench serve --save-result` file"
        )
    completed = _number(data, "completed", name)
    if completed < 1:
        raise BenchResultError(f"{name}: 'completed' is {completed:g}: no request finished")
    output_tok_s = _number(data, "output_throughput", name)
    if output_tok_s <= 0:
        raise BenchResultError(f"{name}: 'output_throughput' must be > 0")
    concurrency, source = _in_flight(data, name)
    ttft = data.get("p99_ttft_ms")
    return BenchResult(
        name=name,
        sha256=sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest(),
        date=str(data.get("date") or ""),
        model_id=str(data.get("model_id") or ""),
        completed=int(completed),
        failed=int(data.get("failed") or 0) if isinstance(data.get("failed"), int) else 0,
        duration_s=_number(data, "duration", name),
        input_tokens=_number(data, "total_input_tokens", name) / completed,
        output_tokens=_number(data, "total_output_tokens", name) / completed,
        output_tok_s=output_tok_s,
        request_throughput=_number(data, "request_throughput", name),
        concurrency=concurrency,
        concurrency_source=source,
        vllm_version=str(data.get("vllm_version") or ""),
        ttft_p99_ms=float(ttft) if isinstance(ttft, (int, float)) and not isinstance(ttft, bool) else None,
        request_rate=str(data.get("request_rate", "")),
    )


def read(path: Path) -> BenchResult:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise BenchResultError(f"{path}: cannot be read: {err.strerror or err}") from None
    if len(raw) > MAX_BYTES:
        raise BenchResultError(f"{path}: {len(raw):,} bytes, more than a result file's {MAX_BYTES:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BenchResultError(f"{path}: not UTF-8 text") from None
    return parse(text, str(path), hashlib.sha256(raw).hexdigest())


def iso_date(vllm_date: str) -> str:
    """vLLM's "20261207-101500" as "2026-12-07" ("" when it is not that format)."""
    if len(vllm_date) >= 8 and vllm_date[:8].isdigit():
        return f"{vllm_date[:4]}-{vllm_date[4:6]}-{vllm_date[6:8]}"
    return ""


__all__ = ["BenchResult", "BenchResultError", "parse", "read", "iso_date", "REQUIRED"]
