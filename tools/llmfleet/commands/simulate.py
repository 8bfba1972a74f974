"""``llmfleet simulate OVERLAY``: replay a traffic trace against the overlay's KEDA
ScaledObject (KEDA's and the HPA's rules) and a replica model from the sizing."""

from __future__ import annotations

import sys

import click

from llmfleet.features.simulate.traffic import MAX_DURATION_S, MAX_RPS, TraceError
from llmfleet.infra import exitcodes
from llmfleet.infra.errors import UsageError
from llmfleet.infra.output import output_target, write_output
from llmfleet.pipeline.config import load_config

SHAPES = ("spike", "ramp", "diurnal", "constant")


def build_trace(shape: str, replica, spec, rps: float | None, duration: float | None):
    from llmfleet.features.simulate import constant, default_spike, diurnal, from_csv, ramp

    if shape not in SHAPES:
        return from_csv(shape)
    if shape == "spike" and rps is None and duration is None:
        return default_spike(replica, spec)
    from llmfleet.features.simulate.traffic import DEFAULT_INPUT_TOKENS, DEFAULT_OUTPUT_TOKENS

    capacity = replica.capacity_rps(DEFAULT_INPUT_TOKENS, DEFAULT_OUTPUT_TOKENS)
    peak = rps if rps is not None else max(capacity * spec.max_replicas * 0.8, 0.1)
    length = duration if duration is not None else 3600.0
    if shape == "spike":
        from llmfleet.features.simulate import spike

        return spike(peak * 0.1, peak, length * 0.2, length * 0.4, length * 0.4)
    if shape == "ramp":
        return ramp(peak * 0.05, peak, length * 0.4, length * 0.4, 0.0, length * 0.2)
    if shape == "diurnal":
        return diurnal(peak * 0.1, peak, duration or 86400.0)
    return constant(peak, length)


@click.command("simulate")
@click.argument("overlay")
@click.option(
    "--trace",
    "shape",
    default="spike",
    show_default=True,
    metavar="SHAPE|FILE",
    help="spike (default: the overlay's own default spike), ramp, diurnal, constant, or a "
    "CSV file with time_s,rps,input_tokens,output_tokens.",
)
@click.option(
    "--rps", type=click.FloatRange(min=0, min_open=True, max=MAX_RPS), help="Peak requests per second."
)
@click.option(
    "--duration",
    type=click.FloatRange(min=60, max=MAX_DURATION_S),
    help="Seconds of traffic (at most a day).",
)
@click.option(
    "--absorb-bound",
    type=click.FloatRange(min=1, max=MAX_DURATION_S),
    metavar="SECONDS",
    help="Flag a spike not absorbed within this many seconds (default: one pod start-up + 5 min).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write a PNG of replicas and queue over time (needs matplotlib).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to this file.")
def command(overlay, shape, rps, duration, absorb_bound, fmt, plot, output):
    """Simulate how OVERLAY's autoscaling follows a traffic trace: replicas, queue depth and
    waiting time over the trace, GPU-hours and cost, and flags (never scales out, flaps, hits
    maxReplicaCount while the queue grows, slow to absorb a spike, the latency objective
    breached). A replica's speed is the measured one (OVERLAY/capacity.yaml, from `llmfleet
    calibrate`), else the model calibrated on published vLLM measurements; the report says
    which. The objective is capacity.yaml's `slo`, else p95/p99 wait <= 1/5 min.

    Exit codes: 0 no problem flagged, 1 a problem flagged, 2 bad input."""
    from llmfleet.features.simulate import HpaSettings, SimulationOptions, simulate
    from llmfleet.features.simulate.overlay import OverlayInputError, inputs_for
    from llmfleet.pipeline.runner import iter_overlay_models

    config = load_config()
    if plot:
        plot = str(output_target(plot, "--plot"))
    directory = config.resolve_overlay_arg(overlay)
    [(loaded, model)] = list(iter_overlay_models(config, directories=[directory]))
    if loaded.findings and not loaded.resources:
        raise UsageError(f"{overlay}: {loaded.findings[0].message}")
    try:
        runs = inputs_for(model, directory)
    except (OverlayInputError, ValueError) as exc:
        raise UsageError(f"{overlay}: {exc}") from None
    reports, documents, ok = [], [], True
    for run in runs:
        try:
            trace = build_trace(shape, run.replica, run.spec, rps, duration)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        options = SimulationOptions(
            hpa=HpaSettings.for_kubernetes(model.cluster.kubernetes_version),
            absorb_bound_s=absorb_bound,
            slo=run.slo,
        )
        try:
            result = simulate(run.spec, run.replica, trace, options)
        except TraceError as exc:  # the trace does not fit the overlay (max-model-len, too much work)
            raise UsageError(str(exc)) from None
        ok = ok and result.ok
        reports.append(result.report() + (f"note        {run.basis_note}\n" if run.basis_note else ""))
        documents.append(result.to_dict())
        if plot:
            from llmfleet.features.simulate import plot as draw

            try:
                draw(result, plot)
            except Exception as exc:  # PlotError: matplotlib missing or the file not writable
                raise UsageError(f"--plot {plot}: {exc}") from None
    if fmt == "json":
        import json

        text = json.dumps(documents[0] if len(documents) == 1 else documents, indent=2) + "\n"
    else:
        text = "\n".join(reports) + ("" if reports and reports[-1].endswith("\n") else "\n")
    write_output(text, output)
    sys.exit(exitcodes.OK if ok else exitcodes.FINDINGS)
