"""What a simulation returns: the timeline, the summary figures, the flags, and a text report.

Flags (``Flag.id``; severity ``error`` makes :attr:`SimulationResult.ok` false):

* ``never-scales-out`` (error): the load needs more replicas than the starting ones, and the
  autoscaler never adds one (a threshold too high, a trigger that reads nothing, min == max);
* ``flapping`` (error): at least ``flap_min_reversals`` reversals of direction between scale
  events closer than ``flap_window_s`` (a replica given back and needed again: a cold start);
* ``max-replicas-queue-growing`` (error): at ``maxReplicaCount``, all Ready, and the waiting
  queue still grows for ``queue_growth_window_s``;
* ``slow-to-absorb`` (error): the offered load stays above what the Ready pods serve (an
  *overload* episode: the autoscaler has not caught up yet) for longer than the bound
  (``absorb_bound_s``, by default one pod start-up + 5 min);
* ``replica-never-ready`` (error): new pods never pass the startup probe;
* ``requests-rejected`` (error): requests arrived while no pod was Ready;
* ``requests-aborted`` (warning): scale-down drains cut requests at ``--shutdown-timeout``;
* ``trigger-not-simulated`` (warning): a trigger the replica model cannot evaluate (reads 0).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from llmfleet.features.simulate.slo import breaches, ttft_s

ERROR = "error"
WARNING = "warning"

#: Decimals the timeline keeps of the Ready pods' capacity, and the largest error that rounding
#: makes (an offered load within it of the capacity is not above it).
CAPACITY_DECIMALS = 6
CAPACITY_ROUNDING = 0.5 * 10**-CAPACITY_DECIMALS + 1e-12


@dataclass(frozen=True)
class ScaleEvent:
    time_s: float
    from_replicas: int
    to_replicas: int
    by: str  # "hpa" or "keda"
    reason: str


@dataclass(frozen=True)
class Flag:
    id: str
    severity: str
    message: str
    time_s: float | None = None


@dataclass(frozen=True)
class Episode:
    """A stretch of time of one kind: ``overload`` (offered load above what the Ready pods
    serve: it ends when the autoscaler has absorbed the load) or ``queue`` (waiting requests at
    or above the threshold)."""

    kind: str
    start_s: float
    end_s: float | None  # None: still going when the trace ends
    peak_waiting: float

    def duration_s(self, trace_end: float) -> float:
        return (self.end_s if self.end_s is not None else trace_end) - self.start_s


@dataclass
class Timeline:
    time_s: list = field(default_factory=list)
    offered_rps: list = field(default_factory=list)
    served_rps: list = field(default_factory=list)
    replicas: list = field(default_factory=list)  # the Deployment's spec.replicas
    ready: list = field(default_factory=list)
    starting: list = field(default_factory=list)
    draining: list = field(default_factory=list)
    waiting: list = field(default_factory=list)
    running: list = field(default_factory=list)
    capacity_rps: list = field(default_factory=list)  # what the Ready pods serve at most
    metrics: dict = field(default_factory=dict)  # trigger name -> value the HPA last saw

    def add(self, sim, now: float, served_rps: float) -> None:
        self.time_s.append(now)
        segment = sim.trace.at(now)
        self.offered_rps.append(segment.rps)
        self.served_rps.append(round(served_rps, 6))
        self.replicas.append(sim.replicas)
        states = [p.state for p in sim.pods]
        self.ready.append(states.count("ready"))
        self.starting.append(states.count("starting"))
        self.draining.append(states.count("draining"))
        self.waiting.append(round(sum(p.waiting for p in sim.pods), 6))
        self.running.append(round(sum(p.running for p in sim.pods), 6))
        per_pod = sim.replica.capacity_rps(segment.input_tokens, segment.output_tokens)
        self.capacity_rps.append(round(states.count("ready") * per_pod, CAPACITY_DECIMALS))
        for name, value in sim.last_values.items():
            self.metrics.setdefault(name, []).append(None if value is None else round(value, 6))


@dataclass
class SimulationResult:
    spec: dict
    replica: dict
    trace: dict
    timeline: Timeline
    events: list[ScaleEvent]
    episodes: list[Episode]
    flags: list[Flag]
    summary: dict

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.flags)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "summary": self.summary,
            "flags": [asdict(f) for f in self.flags],
            "events": [asdict(e) for e in self.events],
            "episodes": [asdict(e) for e in self.episodes],
            "spec": self.spec,
            "replica": self.replica,
            "trace": self.trace,
            "timeline": asdict(self.timeline),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def report(self) -> str:
        return format_report(self)


def _episodes(kind: str, timeline: Timeline, inside) -> list[Episode]:
    episodes = []
    start = None
    peak = 0.0
    for i, t in enumerate(timeline.time_s):
        waiting = timeline.waiting[i]
        if inside(i):
            if start is None:
                start, peak = t, waiting
            peak = max(peak, waiting)
        elif start is not None:
            episodes.append(Episode(kind, start, t, round(peak, 3)))
            start = None
    if start is not None:
        episodes.append(Episode(kind, start, None, round(peak, 3)))
    return episodes


def _reversals(events: list[ScaleEvent], window: float) -> list[float]:
    times = []
    for previous, current in zip(events, events[1:]):
        up_before = previous.to_replicas > previous.from_replicas
        up_now = current.to_replicas > current.from_replicas
        if up_before != up_now and current.time_s - previous.time_s <= window:
            times.append(current.time_s)
    return times


_BASIS_TEXT = {
    "roofline": "roofline estimate, an upper bound",
    "calibrated": "calibrated on published vLLM measurements",
    "measured": "measured by llmfleet calibrate",
}


def analyse(sim, timeline: Timeline) -> SimulationResult:
    """Summary and flags of a finished :class:`~llmfleet.features.simulate.engine.Simulation`."""
    options, replica, spec, trace = sim.options, sim.replica, sim.spec, sim.trace
    end = trace.duration_s
    flags: list[Flag] = []
    # The timeline keeps capacity rounded to 6 decimals (CAPACITY_DECIMALS); a load exactly at
    # what the Ready pods serve is not an overload, so the comparison allows that rounding.
    overloads = _episodes(
        "overload",
        timeline,
        lambda i: timeline.offered_rps[i] > timeline.capacity_rps[i] * (1 + 1e-9) + CAPACITY_ROUNDING,
    )
    queues = _episodes("queue", timeline, lambda i: timeline.waiting[i] >= options.absorb_queue_threshold)
    episodes = sorted(overloads + queues, key=lambda e: (e.start_s, e.kind))
    initial = timeline.replicas[0] if timeline.replicas else 0

    # never-scales-out: a segment needs more than the starting replicas serve.
    needs = [
        (s.start_s, s.rps, replica.capacity_rps(s.input_tokens, s.output_tokens))
        for s in trace.segments
        if s.rps > 0
    ]
    overloaded = [(t, rps, cap) for t, rps, cap in needs if rps > max(initial, 0) * cap + 1e-9]
    scaled_out = (
        any(e.to_replicas > max(e.from_replicas, initial) and e.by == "hpa" for e in sim.events)
        or max(timeline.replicas, default=0) > initial
    )
    if overloaded and not scaled_out:
        t, rps, cap = overloaded[0]
        needed = int(-(-rps // cap)) if cap > 0 else 0
        flags.append(
            Flag(
                "never-scales-out",
                ERROR,
                f"from t={t:g} s the load ({rps:.2f} rps) needs {needed} replicas "
                f"({cap:.2f} rps each), but the autoscaler never went above {initial} "
                f"(triggers: {_trigger_text(spec)}; maxReplicaCount {spec.max_replicas})",
                t,
            )
        )

    reversals = _reversals(sim.events, options.flap_window_s)
    if len(reversals) >= options.flap_min_reversals:
        flags.append(
            Flag(
                "flapping",
                ERROR,
                f"{len(reversals)} reversals of direction within {options.flap_window_s:g} s "
                f"of the previous scale event (first at t={reversals[0]:g} s): replicas are "
                "given back and needed again, each time a cold start",
                reversals[0],
            )
        )

    window = options.queue_growth_window_s
    run_start = None
    for i, t in enumerate(timeline.time_s):
        at_max = timeline.replicas[i] >= spec.max_replicas and timeline.ready[i] >= spec.max_replicas
        if not at_max:
            run_start = None
            continue
        if run_start is None or timeline.waiting[i] + 1e-9 < timeline.waiting[i - 1]:
            run_start = i  # a new run at max, or the queue shrank: start measuring again
        grew = timeline.waiting[i] - timeline.waiting[run_start]
        if (
            t - timeline.time_s[run_start] >= window
            and grew >= 1
            and timeline.waiting[i] >= options.absorb_queue_threshold
        ):
            flags.append(
                Flag(
                    "max-replicas-queue-growing",
                    ERROR,
                    f"at maxReplicaCount ({spec.max_replicas}, all Ready) the queue grew from "
                    f"{timeline.waiting[run_start]:.1f} to {timeline.waiting[i]:.1f} requests in "
                    f"{t - timeline.time_s[run_start]:g} s (t={t:g} s): the fleet cannot carry "
                    "this load",
                    t,
                )
            )
            break

    bound = options.absorb_bound_s
    if bound is None:
        bound = (replica.startup_s if replica.startup_s is not None else 600.0) + 300.0
    slow = [e for e in overloads if e.duration_s(end) > bound]
    if slow:
        e = slow[0]
        state = (
            f"absorbed after {e.duration_s(end):.0f} s"
            if e.end_s is not None
            else f"still not absorbed at the end of the trace, {e.duration_s(end):.0f} s later"
        )
        flags.append(
            Flag(
                "slow-to-absorb",
                ERROR,
                f"the load rose above what the Ready pods serve at t={e.start_s:g} s and was "
                f"{state} (peak {e.peak_waiting:.1f} waiting); the bound is {bound:.0f} s",
                e.start_s,
            )
        )

    if sim.pods_never_ready:
        flags.append(
            Flag(
                "replica-never-ready",
                ERROR,
                f"{sim.pods_never_ready} new pod(s) never became Ready: the load time exceeds "
                "the startup probe's window, so the container restarts forever",
            )
        )
    if sim.rejected > 1e-6:
        flags.append(
            Flag(
                "requests-rejected",
                ERROR,
                f"{sim.rejected:.1f} requests arrived while no pod was Ready "
                f"(first at t={sim.first_rejected_at:g} s)",
                sim.first_rejected_at,
            )
        )
    if sim.aborted > 1e-6:
        flags.append(
            Flag(
                "requests-aborted",
                WARNING,
                f"{sim.aborted:.1f} requests were still in flight when a draining pod reached "
                f"its {replica.drain_s:g} s shutdown timeout",
            )
        )
    for trigger in spec.triggers:
        if trigger.kind is None:
            flags.append(
                Flag(
                    "trigger-not-simulated",
                    WARNING,
                    f"trigger {trigger.name!r} reads 0 in the simulation: {trigger.unsupported_reason}",
                )
            )

    peak_i = max(range(len(timeline.waiting)), key=lambda i: timeline.waiting[i]) if timeline.waiting else 0
    gpu_hours = sim.gpu_seconds / 3600
    summary = {
        "duration_s": end,
        "requests_offered": round(sim.offered, 3),
        "requests_served": round(sim.served, 3),
        "requests_rejected": round(sim.rejected, 3),
        "requests_aborted": round(sim.aborted, 3),
        "peak_waiting": timeline.waiting[peak_i] if timeline.waiting else 0.0,
        "peak_waiting_at_s": timeline.time_s[peak_i] if timeline.time_s else 0.0,
        "wait_p50_s": sim.waits.percentile(0.50),
        "wait_p95_s": sim.waits.percentile(0.95),
        "wait_p99_s": sim.waits.percentile(0.99),
        "wait_max_s": round(sim.waits.max, 3),
        "time_to_absorb_s": max((e.duration_s(end) for e in overloads), default=0.0),
        "longest_queue_episode_s": max((e.duration_s(end) for e in queues), default=0.0),
        "absorb_bound_s": bound,
        "replicas_min": min(timeline.replicas, default=0),
        "replicas_max": max(timeline.replicas, default=0),
        "scale_events": len(sim.events),
        "gpu_hours": round(gpu_hours, 4),
        "cost": round(gpu_hours * replica.price_per_gpu_hour, 4),
        "replica_capacity_rps": round(
            replica.capacity_rps(trace.segments[0].input_tokens, trace.segments[0].output_tokens), 4
        ),
        "replica_batch_limit": replica.batch_limit(
            trace.segments[0].input_tokens, trace.segments[0].output_tokens
        ),
        "replica_startup_s": replica.startup_s,
        "replica_basis": getattr(replica, "basis", "roofline"),
    }
    first_input = trace.segments[0].input_tokens
    summary["ttft_p95_s"] = round(ttft_s(summary["wait_p95_s"], replica, first_input), 3)
    summary["ttft_p99_s"] = round(ttft_s(summary["wait_p99_s"], replica, first_input), 3)
    if options.slo is not None:
        summary["slo"] = options.slo.to_dict()
        for name, value, bound_s in breaches(summary, options.slo):
            flags.append(
                Flag(
                    "slo-breached",
                    ERROR,
                    f"{name.replace('_s', '')} is {value:,.0f} s, above the objective of "
                    f"{bound_s:,.0f} s ({options.slo.source})",
                )
            )
    return SimulationResult(
        spec=spec.to_dict(),
        replica=replica.to_dict(),
        trace=trace.to_dict(),
        timeline=timeline,
        events=list(sim.events),
        episodes=episodes,
        flags=flags,
        summary=summary,
    )


def _trigger_text(spec) -> str:
    parts = []
    for t in spec.triggers:
        kind = t.kind or "not simulated"
        parts.append(f"{t.name} {kind} {t.metric_type} {t.target:g}")
    return ", ".join(parts)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def format_report(result: SimulationResult) -> str:
    s = result.summary
    spec = result.spec
    lines = [
        f"simulation  {spec.get('name') or 'scaledobject'}: {result.trace['name']}, "
        f"{_duration(s['duration_s'])}",
        f"autoscaler  min {spec['min_replicas']}, max {spec['max_replicas']}, polling "
        f"{spec['polling_interval_s']} s, cooldown {spec['cooldown_period_s']} s, behavior "
        f"{'custom' if spec['behavior'] is not None else 'Kubernetes defaults'}",
    ]
    for t in spec["triggers"]:
        lines.append(
            f"trigger     {t['name']}: {t['kind'] or 'not simulated'} {t['metric_type']} "
            f"target {t['target']:g}" + (f" (activation {t['activation']:g})" if t["activation"] else "")
        )
    lines += [
        f"replica     {s['replica_capacity_rps']:.2f} rps at a batch of {s['replica_batch_limit']} "
        f"({_BASIS_TEXT.get(s.get('replica_basis', 'roofline'), s.get('replica_basis'))}), "
        f"ready {_duration(s['replica_startup_s'])} after creation",
        f"requests    {s['requests_offered']:.0f} offered, {s['requests_served']:.0f} served, "
        f"{s['requests_rejected']:.0f} rejected, {s['requests_aborted']:.0f} aborted",
        f"replicas    {s['replicas_min']}..{s['replicas_max']}, {s['scale_events']} scale event(s)",
        f"absorb      load above Ready capacity for {_duration(s['time_to_absorb_s'])} at most "
        f"(bound {_duration(s['absorb_bound_s'])})",
        f"queue       peak {s['peak_waiting']:.1f} waiting at t={s['peak_waiting_at_s']:g} s; "
        f"longest queue {_duration(s['longest_queue_episode_s'])}",
        f"wait        p50 {_duration(s['wait_p50_s'])}, p95 {_duration(s['wait_p95_s'])}, "
        f"p99 {_duration(s['wait_p99_s'])}, max {_duration(s['wait_max_s'])}",
        f"ttft        p95 {_duration(s['ttft_p95_s'])}, p99 {_duration(s['ttft_p99_s'])} (wait + prefill)",
    ]
    if "slo" in s:
        o = s["slo"]
        lines.append(
            f"slo         wait p95 <= {_duration(o['queue_wait_p95_s'])}, p99 <= {_duration(o['queue_wait_p99_s'])}; "
            f"ttft p95 <= {_duration(o['ttft_p95_s'])}, p99 <= {_duration(o['ttft_p99_s'])} ({o['source']})"
        )
        if o.get("reason"):
            lines.append(f"            why: {o['reason']}")
    lines += [
        f"cost        {s['gpu_hours']:.2f} GPU-hours, ${s['cost']:.2f}",
    ]
    if result.events:
        lines.append("events")
        for e in result.events[:40]:
            lines.append(f"  t={e.time_s:>7g} s  {e.from_replicas} -> {e.to_replicas}  ({e.by}: {e.reason})")
        if len(result.events) > 40:
            lines.append(f"  ... {len(result.events) - 40} more")
    if result.flags:
        lines.append("flags")
        for f in result.flags:
            lines.append(f"  {f.severity}: {f.id}: {f.message}")
    lines.append("result      " + ("ok" if result.ok else "FLAGGED"))
    return "\n".join(lines) + "\n"


__all__ = [
    "ScaleEvent",
    "Flag",
    "Episode",
    "Timeline",
    "SimulationResult",
    "analyse",
    "format_report",
    "ERROR",
    "WARNING",
]
