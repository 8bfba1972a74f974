"""What one replica of an overlay serves, and on what basis: measured, calibrated or roofline.

``overlays/<name>/capacity.yaml`` (written by ``llmfleet calibrate``, never rendered: it is not
in the kustomization) may carry

* ``measured``: a ``vllm bench serve`` run against this overlay -- the date, vLLM version,
  GPU class and shape, the run's mean lengths, its concurrency and output throughput, and
  where the numbers come from;
* ``slo``: the overlay's latency objective (:mod:`llmfleet.features.simulate.slo`).

Every command reads a replica's speed through :func:`with_basis` (or :func:`replica_capacity`):
the measurement when there is one for the same GPU class and shape, else the calibrated model
(:mod:`llmfleet.features.simulate.calibration`), and it says which.  A measurement scales the calibrated
model's step time so that it gives the measured throughput at the measured batch and lengths.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from llmfleet.features.simulate.replica import ReplicaModel
from llmfleet.features.simulate.slo import Slo, SloError
from llmfleet.kube import safe_yaml

CAPACITY_FILE = "capacity.yaml"
MEASURED, CALIBRATED, ROOFLINE = "measured", "calibrated", "roofline"


class CapacityFileError(ValueError):
    """capacity.yaml is unreadable or wrong; the message names the file and field."""


@dataclass(frozen=True)
class Measured:
    date: str
    vllm_version: str
    gpu: str
    tp: int
    pp: int
    model: str
    input_tokens: float  # mean prompt tokens of the run
    output_tokens: float  # mean generated tokens of the run
    concurrency: int  # the most requests the client kept in flight
    output_tok_s: float
    request_throughput: float
    completed: int
    source: str  # the result file's name and sha256
    ttft_p99_ms: float | None = None

    def shape(self) -> str:
        return f"{self.tp * self.pp} x {self.gpu} (tp {self.tp}, pp {self.pp})"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


_FIELDS = {
    "date": str,
    "vllm_version": str,
    "gpu": str,
    "tp": int,
    "pp": int,
    "model": str,
    "input_tokens": float,
    "output_tokens": float,
    "concurrency": int,
    "output_tok_s": float,
    "request_throughput": float,
    "completed": int,
    "source": str,
}


@dataclass(frozen=True)
class CapacityRecord:
    path: Path
    measured: Measured | None
    slo: Slo


def _measured(raw: Any, where: str) -> Measured | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CapacityFileError(f"{where}: measured must be a mapping")
    values: dict[str, Any] = {}
    for name, kind in _FIELDS.items():
        if name not in raw:
            raise CapacityFileError(f"{where}: measured.{name} is missing")
        value = raw[name]
        if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise CapacityFileError(f"{where}: measured.{name} must be a number, got {value!r}")
        values[name] = kind(value)
    for name in ("tp", "pp", "input_tokens", "output_tokens", "concurrency", "output_tok_s", "completed"):
        if not (math.isfinite(values[name]) and values[name] > 0):
            raise CapacityFileError(f"{where}: measured.{name} must be > 0, got {values[name]!r}")
    ttft = raw.get("ttft_p99_ms")
    if ttft is not None and (isinstance(ttft, bool) or not isinstance(ttft, (int, float))):
        raise CapacityFileError(f"{where}: measured.ttft_p99_ms must be a number")
    return Measured(**values, ttft_p99_ms=None if ttft is None else float(ttft))


def load(directory: Path | None) -> CapacityRecord | None:
    """The overlay's capacity record, None when it has no capacity.yaml."""
    if directory is None:
        return None
    path = Path(directory) / CAPACITY_FILE
    if not path.is_file():
        return None
    try:
        data = safe_yaml.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CapacityFileError(f"{path}: cannot be read: {err}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CapacityFileError(f"{path}: must be a mapping with `measured` and/or `slo`")
    unknown = sorted(set(data) - {"measured", "slo"})
    if unknown:
        raise CapacityFileError(f"{path}: {unknown[0]}: unknown key (known: measured, slo)")
    try:
        slo = Slo.from_mapping(data.get("slo"), str(path))
    except SloError as err:
        raise CapacityFileError(str(err)) from None
    return CapacityRecord(path, _measured(data.get("measured"), str(path)), slo)


def render(measured: Measured | None, slo: Slo | None) -> str:
    """The text of a capacity.yaml (what ``llmfleet calibrate`` writes)."""
    header = (
        "# Measured capacity of this overlay, written by `llmfleet calibrate` from a\n"
        "# `vllm bench serve --save-result` file (docs/reference/calibration.md). Not part of\n"
        "# the kustomization: llmfleet reads it; simulate, cost and diff use `measured` before\n"
        "# the calibrated model, and judge the simulation against `slo`.\n"
    )
    body: dict[str, Any] = {}
    if measured is not None:
        body["measured"] = measured.to_dict()
    if slo is not None and slo.source != "default (interactive)":
        body["slo"] = {
            k: v for k, v in slo.to_dict().items() if k != "source" and not (k == "reason" and not v)
        }
    import yaml

    return header + yaml.safe_dump(body, sort_keys=False, default_flow_style=False)


def apply_measurement(replica: ReplicaModel, measured: Measured) -> ReplicaModel:
    """``replica`` (calibrated) rescaled so that it serves what was measured."""
    batch = min(measured.concurrency, replica.batch_limit(measured.input_tokens, measured.output_tokens))
    if batch < 1:
        return replica
    modelled = (
        replica.throughput(batch, measured.input_tokens, measured.output_tokens) * measured.output_tokens
    )
    scale = modelled / measured.output_tok_s  # > 1: the replica is slower than modelled
    return replace(replica, time_scale=replica.time_scale * scale, basis=MEASURED)


def matches(measured: Measured, gpu: str, tp: int, pp: int, model_id: str) -> str | None:
    """Why the measurement does not describe this replica (None: it does)."""
    if measured.gpu != gpu or measured.tp != tp or measured.pp != pp:
        return f"measured on {measured.shape()}, the overlay runs {tp * pp} x {gpu} (tp {tp}, pp {pp})"
    if measured.model and model_id and measured.model != model_id:
        return f"measured with model {measured.model!r}, the overlay serves {model_id!r}"
    return None


def replica_capacity(replica: ReplicaModel, input_tokens: float, output_tokens: float) -> tuple[float, str]:
    """``(requests per second one replica serves at its batch limit, basis)``."""
    return replica.capacity_rps(input_tokens, output_tokens), replica.basis


__all__ = [
    "CapacityRecord",
    "CapacityFileError",
    "Measured",
    "load",
    "render",
    "apply_measurement",
    "matches",
    "replica_capacity",
    "CAPACITY_FILE",
    "MEASURED",
    "CALIBRATED",
    "ROOFLINE",
]
