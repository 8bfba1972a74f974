"""``llmfleet calibrate OVERLAY RESULT.json``: record a measured replica capacity in the
overlay (``OVERLAY/capacity.yaml``) from the file ``vllm bench serve --save-result`` wrote."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from llmfleet.infra import exitcodes
from llmfleet.infra.errors import UsageError
from llmfleet.infra.output import write_output
from llmfleet.pipeline.config import load_config


def _write_atomically(path: Path, text: str) -> None:
    """The whole file or the old one, never half of it."""
    handle, tmp = tempfile.mkstemp(prefix=".capacity.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _version_from_image(image: str) -> str:
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
    tag = tag.split("@", 1)[0]
    return tag[1:] if tag.startswith("v") and tag[1:2].isdigit() else tag


@click.command("calibrate")
@click.argument("overlay")
@click.argument("result", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--replicas",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Ready replicas that served the run (the load test goes through the Service): the "
    "measured throughput is divided among them.",
)
@click.option(
    "--vllm-version",
    help="The server's vLLM version (default: the file's vllm_version metadata, else the image tag).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be recorded; write nothing.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to this file.")
def command(overlay, result, replicas, vllm_version, dry_run, output):
    """Record OVERLAY's measured capacity from RESULT, the JSON file `vllm bench serve
    --save-result` writes (components/load-test prints it in its log; docs/reference/calibration.md
    says how to get it out of the Job). The mean prompt and output lengths, the requests in
    flight and the output throughput per replica go to OVERLAY/capacity.yaml with the date, the
    vLLM version, the GPU class and shape, and the file's name and sha256. From then on
    simulate, cost and diff use the measurement instead of the calibrated model (an objective
    in capacity.yaml's `slo` is kept).

    Exit codes: 0 recorded, 2 bad input (the message names the file and key)."""
    from llmfleet.features.simulate import capacity as capacity_file
    from llmfleet.features.simulate.bench_result import BenchResultError, iso_date, read
    from llmfleet.features.simulate.overlay import OverlayInputError, inputs_for
    from llmfleet.pipeline.runner import iter_overlay_models

    config = load_config()
    directory = config.resolve_overlay_arg(overlay)
    try:
        bench = read(result)
    except BenchResultError as exc:
        raise UsageError(str(exc)) from None
    [(loaded, model)] = list(iter_overlay_models(config, directories=[directory]))
    if loaded.findings and not loaded.resources:
        raise UsageError(f"{overlay}: {loaded.findings[0].message}")
    try:
        runs = inputs_for(model, directory, basis="calibrated")
        existing = capacity_file.load(directory)
    except (OverlayInputError, capacity_file.CapacityFileError, ValueError) as exc:
        raise UsageError(f"{overlay}: {exc}") from None
    run = runs[0]
    if bench.model_id and run.model_id and bench.model_id != run.model_id:
        raise UsageError(
            f"{result}: model_id {bench.model_id!r} is not the model {overlay} serves ({run.model_id!r})"
        )
    if run.replica.batch_limit(bench.input_tokens, bench.output_tokens) < 1:
        raise UsageError(
            f"{result}: requests of {bench.input_tokens:.0f} + {bench.output_tokens:.0f} tokens do not fit "
            f"{overlay}'s KV cache ({run.replica.kv_tokens} tokens): measured on another configuration?"
        )
    measured = capacity_file.Measured(
        date=iso_date(bench.date) or bench.date,
        vllm_version=vllm_version or bench.vllm_version or _version_from_image(run.image) or "unknown",
        gpu=run.gpu,
        tp=run.tp,
        pp=run.pp,
        model=run.model_id,
        input_tokens=round(bench.input_tokens, 1),
        output_tokens=round(bench.output_tokens, 1),
        concurrency=max(1, round(bench.concurrency / replicas)),
        output_tok_s=round(bench.output_tok_s / replicas, 2),
        request_throughput=round(bench.request_throughput / replicas, 4),
        completed=bench.completed,
        source=f"{Path(bench.name).name} sha256:{bench.sha256} ({bench.concurrency_source}; {replicas} replica(s))",
        ttft_p99_ms=round(bench.ttft_p99_ms, 1) if bench.ttft_p99_ms is not None else None,
    )
    before, basis_before = capacity_file.replica_capacity(
        run.replica, bench.input_tokens, bench.output_tokens
    )
    after_replica = capacity_file.apply_measurement(run.replica, measured)
    after, basis_after = capacity_file.replica_capacity(
        after_replica, bench.input_tokens, bench.output_tokens
    )
    path = directory / capacity_file.CAPACITY_FILE
    text = capacity_file.render(measured, existing.slo if existing else None)
    lines = [
        f"calibrate   {overlay}: {Path(bench.name).name} ({bench.completed} requests, {bench.failed} failed, "
        f"{bench.duration_s:.0f} s, request rate {bench.request_rate or 'unknown'})",
        f"measured    {measured.output_tok_s:,.1f} output tok/s per replica at {measured.concurrency} in flight "
        f"({bench.concurrency_source}), {measured.input_tokens:g} in / {measured.output_tokens:g} out, "
        f"{measured.shape()}, vLLM {measured.vllm_version}",
        f"capacity    {before:.3f} rps per replica ({basis_before}) -> {after:.3f} rps ({basis_after}) "
        f"at a batch of {run.replica.batch_limit(bench.input_tokens, bench.output_tokens)}",
    ]
    if bench.failed:
        lines.append(
            f"note        {bench.failed} request(s) failed in the run: the throughput counts the others only"
        )
    lines.append(("would write " if dry_run else "wrote       ") + str(path))
    if not dry_run:
        try:
            _write_atomically(path, text)
        except OSError as exc:
            raise UsageError(f"{path}: cannot be written: {exc.strerror or exc}") from None
    write_output("\n".join(lines) + "\n", output)
    sys.exit(exitcodes.OK)
