"""From a rendered overlay's fleet model to the simulation's inputs: each ScaledObject whose
target runs a vLLM API server, its ScalingSpec, and the ReplicaModel of that server from the
sizing (catalogued model and GPU class), the cold-load estimate and the startup probe."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import sizing
from llmfleet.features.simulate import calibration
from llmfleet.features.simulate import capacity as capacity_file
from llmfleet.features.simulate.adapters import replica_from_sizing
from llmfleet.features.simulate.replica import ReplicaModel
from llmfleet.features.simulate.slo import Slo
from llmfleet.features.simulate.spec import ScalingSpec
from llmfleet.model import OverlayModel, overlay_sizing
from llmfleet.model.vllm.startup import cold_load


class OverlayInputError(ValueError):
    """The overlay cannot be simulated; the message says why."""


class CapacityInputError(OverlayInputError):
    """The overlay's capacity.yaml cannot be read (bad input, never a reason to skip the
    simulation: ``llmfleet diff`` exits 2 on it rather than leaving the objective unjudged)."""


@dataclass(frozen=True)
class Inputs:
    name: str  # the ScaledObject's name
    spec: ScalingSpec
    replica: ReplicaModel
    slo: Slo = field(default_factory=Slo)
    #: Why a measurement in capacity.yaml was not used ("" when there is none or it was).
    basis_note: str = ""
    model_id: str = ""
    gpu: str = ""
    tp: int = 1
    pp: int = 1
    image: str = ""


def inputs_for(model: OverlayModel, directory: Path | None = None, *, basis: str = "best") -> list[Inputs]:
    """``directory``: the overlay's folder, where capacity.yaml may record a measurement and
    the SLO.  ``basis``: "best" (measured, else calibrated), "calibrated" or "roofline"."""
    try:
        record = capacity_file.load(directory)
    except capacity_file.CapacityFileError as err:
        raise CapacityInputError(str(err)) from None
    found: list[Inputs] = []
    problems: list[str] = []
    for scaler in model.scaled_objects:
        servers = [s for s in model.api_servers if s.workload is scaler.target]
        if not servers:
            problems.append(f"{scaler.resource.ref}: its target runs no vLLM server in this overlay")
            continue
        server = servers[0]
        spec_model = overlay_sizing.spec_for(server)
        gpu = catalog.find_gpu(model.node_selection(server.template).gpu_class or "")
        tp, pp = server.tensor_parallel, server.pipeline_parallel
        if spec_model is None or gpu is None or not tp or not pp:
            problems.append(
                f"{scaler.resource.ref}: the sizing needs a catalogued model (or the llmfleet.io/model-sizing annotation new-model writes) and GPU class "
                f"(model {server.model_id or 'unknown'!r}, GPU class "
                f"{model.node_selection(server.template).gpu_class or 'unknown'!r})"
            )
            continue
        length = server.int_value("max-model-len", spec_model.context) or spec_model.context
        quantization = server.value("quantization") or spec_model.quantization
        size = sizing.size(
            spec_model,
            gpu,
            tp,
            quantization,
            str(server.value("kv-cache-dtype") or "auto"),
            float(server.value("gpu-memory-utilization", sizing.DEFAULT_GPU_MEMORY_UTILIZATION)),
            pp,
        )
        load = cold_load(server.model_id, quantization, server.nodes or 1)
        replica = replica_from_sizing(
            size,
            length,
            load_s=load.seconds,
            startup_probe=server.container.probe("startupProbe"),
            readiness_probe=server.container.probe("readinessProbe"),
            max_num_seqs=server.int_value("max-num-seqs"),
            drain_s=server.int_value("shutdown-timeout", 0) or 0,
            name=model.name,
        )
        note = ""
        if basis != capacity_file.ROOFLINE:
            replica = calibration.calibrate(
                replica,
                layers=spec_model.layers,
                tp=tp,
                pp=pp,
                speedup=calibration.fp8_speedup(gpu.name, size.quantization),
                factors=calibration.stored_factors(),
            )
        if basis == "best" and record is not None and record.measured is not None:
            note = capacity_file.matches(record.measured, gpu.name, tp, pp, server.model_id or "") or ""
            if not note:
                replica = capacity_file.apply_measurement(replica, record.measured)
            else:
                note = f"{record.path.name} not used: {note}"
        found.append(
            Inputs(
                scaler.resource.name,
                ScalingSpec.from_scaled_object(scaler.resource.data),
                replica,
                record.slo if record is not None else Slo(),
                note,
                server.model_id or "",
                gpu.name,
                tp,
                pp,
                server.container.image,
            )
        )
    if not found:
        raise OverlayInputError("; ".join(problems) or "no ScaledObject in the overlay")
    return found
