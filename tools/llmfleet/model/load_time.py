"""How long an LLM server plausibly takes to answer after a cold start, scaled with the
model's size, for judging probes (not for planning them: :mod:`llmfleet.model.vllm.startup`
gives the generous window that ``new-model`` writes).

    typical load ≈ 120 s + 4 s × GiB of weights one node reads           (weights on a volume)
                 120 s + 10 s × GiB                                    (downloaded at every start)

120 s covers process start, engine initialisation and CUDA-graph capture of a small model;
4 s a GiB reading and sharding the weights from a volume, 10 s a GiB when they are downloaded
from the Hub (~100 MB/s) at every start because no persistent cache keeps them (with one, an
interrupted download resumes, so a restart loop ends).  An 8 B bf16 model (15 GiB) gives
≈ 180 s from a volume and ≈ 270 s downloaded, OPT-1.3B ≈ 130-145 s, a 70 B bf16 model 11-24
minutes; the windows ``new-model`` plans (:mod:`llmfleet.model.vllm.startup`) are longer.
A probe window below half the typical load (or below the 120 s floor) restarts the server in
a loop: an error.  Between that and the typical load, it is a warning.  When the size is not
known (a path such as /mnt/models, a placeholder) only the floor is certain: shorter windows
are errors, windows under 600 s warnings, and the message says what was assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmfleet.model.vllm.params import estimate
from llmfleet.model.vllm.startup import GIB, bytes_per_parameter

BASE_S = 120
READ_PER_GIB_S = 4
DOWNLOAD_PER_GIB_S = 10
UNKNOWN_TYPICAL_S = 600


@dataclass(frozen=True)
class LoadTime:
    typical_s: int
    certain_s: int  # below this a window surely restarts the server during the load
    known: bool
    why: str


def expected_load(
    model_ids: list[str], quantization: str | None = None, nodes: int = 1, downloads: bool = False
) -> LoadTime:
    """The load of the first of ``model_ids`` whose size is known (the model argument, then
    the served name), else the unknown-size floor."""
    for model_id in model_ids:
        size = estimate(model_id) if model_id else None
        if size is None or size.total_b is None:
            continue
        gib = size.total_b * 1e9 * bytes_per_parameter(model_id, quantization) / GIB / max(nodes, 1)
        per_gib = DOWNLOAD_PER_GIB_S if downloads else READ_PER_GIB_S
        typical = int(round(BASE_S + per_gib * gib))
        where = "the catalog" if size.source == "catalog" else "its name"
        return LoadTime(
            typical,
            max(BASE_S, typical // 2),
            True,
            f"assumed {model_id} ≈ {size.total_b:g} B parameters (from {where}), {gib:.1f} GiB "
            f"per node{', downloaded at every start' if downloads else ''}: {BASE_S} s + "
            f"{per_gib} s/GiB ≈ {typical} s",
        )
    shown = next((m for m in model_ids if m), "")
    return LoadTime(
        UNKNOWN_TYPICAL_S,
        BASE_S,
        False,
        f"model size unknown ({shown or 'no model named'}): assumed at least {BASE_S} s, "
        f"typically {UNKNOWN_TYPICAL_S} s",
    )
