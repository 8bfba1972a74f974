"""How a change moves the simulated response of an overlay to the default spike.

``llmfleet diff`` runs the autoscaling simulation (llmfleet.features.simulate) on both sides of each
changed overlay with ONE trace: the default spike of the base revision (the load the
configuration under review was meant to carry), so that the figures compare configurations,
not traffic.  An overlay that is new gets its own default spike.  Compared: the peak of
waiting requests, the time the offered load stays above what the Ready pods serve (time to
absorb) and the GPU-hours of the trace, with the simulation's error flags of each side.

A side that cannot be simulated (no ScaledObject, a model or GPU class outside the catalog,
a build failure) says why instead of figures; the diff itself is never stopped by it.

Each side's replica is its measured capacity (capacity.yaml at that revision), else the
calibrated model, and each side is judged against its own latency objective (capacity.yaml's
``slo``, else the interactive default); ``llmfleet diff`` exits 1 when the working tree's side
breaches it (``slo-breached`` among its flags).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llmfleet.model import ClusterSettings, OverlayModel
from llmfleet.model.k8s import Resource


@dataclass(frozen=True)
class SpikeOutcome:
    peak_waiting: float
    time_to_absorb_s: float
    gpu_hours: float
    errors: tuple[str, ...]  # ids of the simulation's error flags
    wait_p99_s: float = 0.0
    basis: str = ""  # measured, calibrated or roofline


@dataclass
class SpikeComparison:
    trace: str = ""  # e.g. "default spike of the base: 0.56->3.59 rps, 70 min"
    before: SpikeOutcome | None = None
    after: SpikeOutcome | None = None
    before_note: str = ""  # why a side has no figures
    after_note: str = ""
    #: The working tree's capacity.yaml cannot be read: the objective cannot be judged, and
    #: `llmfleet diff` exits 2 (a broken file must not pass where a breach would fail).
    after_invalid: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        return self.before is not None or self.after is not None

    @property
    def breaches_slo(self) -> bool:
        """The working tree's side misses its latency objective."""
        return self.after is not None and "slo-breached" in self.after.errors


def _inputs(objects: list[dict], cluster: ClusterSettings | None, directory: Path | None):
    from llmfleet.features.simulate.overlay import inputs_for

    resources = [Resource(o, "<rendered>", i) for i, o in enumerate(objects)]
    return inputs_for(OverlayModel("", resources, cluster), directory)


def _run(inputs, trace, cluster: ClusterSettings | None) -> SpikeOutcome:
    from llmfleet.features.simulate import HpaSettings, SimulationOptions, simulate
    from llmfleet.features.simulate.result import ERROR

    hpa = HpaSettings.for_kubernetes(cluster.kubernetes_version if cluster else None)
    result = simulate(inputs.spec, inputs.replica, trace, SimulationOptions(hpa=hpa, slo=inputs.slo))
    s = result.summary
    return SpikeOutcome(
        float(s["peak_waiting"]),
        float(s["time_to_absorb_s"]),
        float(s["gpu_hours"]),
        tuple(sorted({f.id for f in result.flags if f.severity == ERROR})),
        float(s["wait_p99_s"]),
        inputs.replica.basis,
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"


def compare_spike(
    before: list[dict] | None,
    after: list[dict] | None,
    cluster: ClusterSettings | None = None,
    before_dir: Path | None = None,
    after_dir: Path | None = None,
) -> SpikeComparison:
    """``before``/``after``: the rendered objects of each side, None where the overlay does
    not exist (or does not build); ``*_dir``: each side's overlay folder (its capacity.yaml)."""
    from llmfleet.features.simulate import default_spike
    from llmfleet.features.simulate.overlay import CapacityInputError

    out = SpikeComparison()
    sides: dict[str, object] = {}
    folders = {"before": before_dir, "after": after_dir}
    for name, objects in (("before", before), ("after", after)):
        if objects is None:
            continue
        try:
            sides[name] = _inputs(objects, cluster, folders[name])[0]
        except ValueError as exc:  # OverlayInputError, or a sizing outside its domain
            setattr(out, f"{name}_note", str(exc))
            if name == "after" and isinstance(exc, CapacityInputError):
                out.after_invalid = str(exc)
    source = "before" if "before" in sides else "after" if "after" in sides else None
    if source is None:
        return out
    model_inputs = sides[source]
    try:
        trace = default_spike(model_inputs.replica, model_inputs.spec)  # type: ignore[attr-defined]
    except ValueError as exc:
        setattr(out, f"{source}_note", f"no default spike: {exc}")
        return out
    peak = max(seg.rps for seg in trace.segments)
    base = min(seg.rps for seg in trace.segments)
    whose = "the base" if source == "before" else "this overlay"
    out.trace = f"default spike of {whose}: {base:.2f}->{peak:.2f} rps, {_minutes(trace.duration_s)}"
    for name, inputs in sides.items():
        try:
            setattr(out, name, _run(inputs, trace, cluster))
        except ValueError as exc:
            setattr(out, f"{name}_note", f"cannot be simulated: {exc}")
    return out


def _pair(before: float | None, after: float | None, fmt) -> str:
    if before is None:
        return fmt(after) if after is not None else "n/a"
    if after is None:
        return f"{fmt(before)} → n/a"
    return fmt(after) + " (unchanged)" if fmt(before) == fmt(after) else f"{fmt(before)} → {fmt(after)}"


def figures(c: SpikeComparison) -> dict[str, str]:
    b, a = c.before, c.after
    flags_b = ", ".join(b.errors) if b and b.errors else "none"
    flags_a = ", ".join(a.errors) if a and a.errors else "none"
    return {
        "peak queue": _pair(
            b.peak_waiting if b else None, a.peak_waiting if a else None, lambda x: f"{x:,.0f} waiting"
        ),
        "time to absorb": _pair(
            b.time_to_absorb_s if b else None, a.time_to_absorb_s if a else None, _minutes
        ),
        "GPU-hours": _pair(b.gpu_hours if b else None, a.gpu_hours if a else None, lambda x: f"{x:,.2f}"),
        "p99 wait": _pair(b.wait_p99_s if b else None, a.wait_p99_s if a else None, _minutes),
        "flags": flags_a if b is None else (flags_a if flags_a == flags_b else f"{flags_b} → {flags_a}"),
    }


def text_lines(c: SpikeComparison) -> list[str]:
    lines = []
    if c.shown:
        f = figures(c)
        lines.append(
            f"  simulated {c.trace}: peak queue {f['peak queue']}; time to absorb "
            f"{f['time to absorb']}; GPU-hours {f['GPU-hours']}; p99 wait {f['p99 wait']}; "
            f"flagged {f['flags']}" + (f" ({c.after.basis} capacity)" if c.after else "")
        )
    for label, note in (("base", c.before_note), ("working tree", c.after_note)):
        if note:
            lines.append(f"  not simulated at {label}: {note}")
    return lines
