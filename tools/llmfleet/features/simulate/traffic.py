"""Traffic traces: requests per second over time, each with input and output token lengths.

A :class:`Trace` is a list of :class:`Segment` (start time, rate, lengths), each holding until
the next one starts; built-in shapes sample smooth curves every ``step_s`` seconds.

* :func:`constant`, :func:`ramp` (a ramp, a plateau, a quiet tail -- the load test's pattern),
  :func:`diurnal` (a cosine day), :func:`spike` (a base load, a step up, back down);
* :func:`from_csv`: a file with the header ``time_s,rps,input_tokens,output_tokens``;
* :func:`default_spike`: the spike every overlay is checked against (sized from its replica
  model and ScalingSpec).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from llmfleet.infra import bounded_read

DEFAULT_INPUT_TOKENS = 1024
DEFAULT_OUTPUT_TOKENS = 256
DEFAULT_STEP_S = 10
CSV_FIELDS = ("time_s", "rps", "input_tokens", "output_tokens")
#: The longest trace simulated (one day, the diurnal default): the simulation steps one second
#: at a time, so its run time grows with the duration (about 8 s for a day of overload).
MAX_DURATION_S = 86_400.0
#: The highest rate a trace may ask for (requests per second).
MAX_RPS = 1_000_000.0
#: The longest request a trace may describe (input or output tokens).
MAX_TOKENS = 10_000_000
#: The largest trace file read.
MAX_TRACE_BYTES = 64 * 1024 * 1024


class TraceError(ValueError):
    """A bad trace; for a CSV the message names the file, the line and the field."""


@dataclass(frozen=True)
class Segment:
    start_s: float
    rps: float
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Trace:
    segments: tuple[Segment, ...]
    duration_s: float
    name: str = "trace"

    def __post_init__(self):
        segments = tuple(self.segments)
        object.__setattr__(self, "segments", segments)
        if not segments:
            raise TraceError(f"{self.name}: a trace needs at least one segment")
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise TraceError(f"{self.name}: duration must be positive, got {self.duration_s!r}")
        if self.duration_s > MAX_DURATION_S:
            raise TraceError(
                f"{self.name}: {self.duration_s:g} s of traffic, longer than the {MAX_DURATION_S:g} s "
                "a simulation covers at most"
            )
        previous = -math.inf
        for i, seg in enumerate(segments):
            where = f"{self.name}: segment {i} (t={seg.start_s:g} s)"
            if not seg.start_s > previous:
                raise TraceError(f"{where}: start times must increase")
            if not (math.isfinite(seg.rps) and 0 <= seg.rps <= MAX_RPS):
                raise TraceError(f"{where}: rps must be between 0 and {MAX_RPS:g}, got {seg.rps!r}")
            if not (1 <= seg.input_tokens <= MAX_TOKENS and 1 <= seg.output_tokens <= MAX_TOKENS):
                raise TraceError(f"{where}: input and output tokens must be between 1 and {MAX_TOKENS:,}")
            previous = seg.start_s
        if segments[0].start_s != 0:
            raise TraceError(f"{self.name}: the first segment must start at 0 s")
        if segments[-1].start_s >= self.duration_s:
            raise TraceError(
                f"{self.name}: the last segment starts at or after the end ({self.duration_s:g} s)"
            )

    def at(self, t: float) -> Segment:
        lo, hi = 0, len(self.segments) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.segments[mid].start_s <= t:
                lo = mid
            else:
                hi = mid - 1
        return self.segments[lo]

    @property
    def peak_rps(self) -> float:
        return max(s.rps for s in self.segments)

    @property
    def max_request_tokens(self) -> int:
        return (
            max(s.input_tokens + s.output_tokens for s in self.segments if s.rps > 0)
            if any(s.rps > 0 for s in self.segments)
            else 0
        )

    def requests(self) -> float:
        total = 0.0
        for i, seg in enumerate(self.segments):
            end = self.segments[i + 1].start_s if i + 1 < len(self.segments) else self.duration_s
            total += seg.rps * (end - seg.start_s)
        return total

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "duration_s": self.duration_s,
            "segments": [[s.start_s, s.rps, s.input_tokens, s.output_tokens] for s in self.segments],
        }


def _sampled(
    name: str, duration_s: float, rate, input_tokens: int, output_tokens: int, step_s: float = DEFAULT_STEP_S
) -> Trace:
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise TraceError(f"{name}: duration must be positive")
    segments = []
    t = 0.0
    while t < duration_s:
        segments.append(Segment(t, max(0.0, float(rate(t))), int(input_tokens), int(output_tokens)))
        t += step_s
    return Trace(tuple(segments), float(duration_s), name)


def constant(
    rps: float,
    duration_s: float,
    input_tokens: int = DEFAULT_INPUT_TOKENS,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
) -> Trace:
    return Trace(
        (Segment(0.0, float(rps), input_tokens, output_tokens),), float(duration_s), f"constant {rps:g} rps"
    )


def ramp(
    start_rps: float,
    peak_rps: float,
    ramp_s: float,
    hold_s: float,
    tail_rps: float = 0.0,
    tail_s: float = 0.0,
    input_tokens: int = DEFAULT_INPUT_TOKENS,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    step_s: float = DEFAULT_STEP_S,
) -> Trace:
    """Linear ramp from ``start_rps`` to ``peak_rps`` over ``ramp_s``, a plateau of ``hold_s``,
    then a quiet tail of ``tail_s`` at ``tail_rps``."""
    if min(ramp_s, hold_s, tail_s) < 0:
        raise TraceError("ramp: durations must be >= 0")

    def rate(t):
        if t < ramp_s:
            return start_rps + (peak_rps - start_rps) * t / ramp_s
        if t < ramp_s + hold_s:
            return peak_rps
        return tail_rps

    return _sampled(
        f"ramp {start_rps:g}->{peak_rps:g} rps",
        ramp_s + hold_s + tail_s,
        rate,
        input_tokens,
        output_tokens,
        step_s,
    )


def diurnal(
    min_rps: float,
    max_rps: float,
    duration_s: float = 86400,
    period_s: float = 86400,
    peak_at_s: float = 14 * 3600,
    input_tokens: int = DEFAULT_INPUT_TOKENS,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    step_s: float = 60,
) -> Trace:
    """A cosine day: ``max_rps`` at ``peak_at_s`` (14:00 by default), ``min_rps`` half a period later."""
    if max_rps < min_rps:
        raise TraceError("diurnal: max_rps is below min_rps")

    def rate(t):
        return min_rps + (max_rps - min_rps) * (1 + math.cos(2 * math.pi * (t - peak_at_s) / period_s)) / 2

    return _sampled(
        f"diurnal {min_rps:g}..{max_rps:g} rps", duration_s, rate, input_tokens, output_tokens, step_s
    )


def spike(
    base_rps: float,
    spike_rps: float,
    before_s: float,
    spike_s: float,
    after_s: float,
    input_tokens: int = DEFAULT_INPUT_TOKENS,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
) -> Trace:
    """``base_rps`` for ``before_s``, a step to ``spike_rps`` for ``spike_s``, base again for ``after_s``."""
    if before_s <= 0 or spike_s <= 0 or after_s < 0:
        raise TraceError("spike: before_s and spike_s must be > 0, after_s >= 0")
    segments = [
        Segment(0.0, float(base_rps), input_tokens, output_tokens),
        Segment(float(before_s), float(spike_rps), input_tokens, output_tokens),
    ]
    if after_s > 0:
        segments.append(Segment(float(before_s + spike_s), float(base_rps), input_tokens, output_tokens))
    return Trace(
        tuple(segments), float(before_s + spike_s + after_s), f"spike {base_rps:g}->{spike_rps:g} rps"
    )


def from_csv(path: str | Path) -> Trace:
    """A trace from CSV rows ``time_s,rps,input_tokens,output_tokens`` (header required).

    Each row holds until the next row's time; the last one for as long as the interval before
    it (1 s when there is one row).  Errors name the file, the line and the field.
    """
    path = Path(path)
    try:
        # A FIFO, a device (/dev/zero) or a file over MAX_TRACE_BYTES is refused unread.
        text = bounded_read.read_text(path, MAX_TRACE_BYTES)
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except bounded_read.Refused as err:
        raise TraceError(str(err)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise TraceError(f"{path}: cannot read it: {err}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [f for f in CSV_FIELDS if f not in header]
    if missing:
        raise TraceError(
            f"{path}: line 1: header must name {', '.join(CSV_FIELDS)}; missing {', '.join(missing)}"
        )
    segments: list[Segment] = []
    for row in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        values = {}
        for name in CSV_FIELDS:
            raw = row.get(name, "")
            try:
                value = float(raw)
            except ValueError:
                raise TraceError(f"{path}: line {line}: field {name!r}: {raw!r} is not a number") from None
            if not math.isfinite(value) or value < 0:
                raise TraceError(
                    f"{path}: line {line}: field {name!r}: must be a finite number >= 0, got {raw!r}"
                )
            values[name] = value
        for name in ("input_tokens", "output_tokens"):
            if values[name] < 1 or values[name] != int(values[name]):
                raise TraceError(
                    f"{path}: line {line}: field {name!r}: must be a whole number >= 1, got {row[name]!r}"
                )
        if segments and values["time_s"] <= segments[-1].start_s:
            raise TraceError(
                f"{path}: line {line}: field 'time_s': {row['time_s']} is not after the "
                f"previous row's {segments[-1].start_s:g}"
            )
        if not segments and values["time_s"] != 0:
            raise TraceError(f"{path}: line {line}: field 'time_s': the first row must be at 0")
        segments.append(
            Segment(
                values["time_s"], values["rps"], int(values["input_tokens"]), int(values["output_tokens"])
            )
        )
    if not segments:
        raise TraceError(f"{path}: no data rows after the header")
    last_step = segments[-1].start_s - segments[-2].start_s if len(segments) > 1 else 1.0
    return Trace(tuple(segments), segments[-1].start_s + last_step, path.name)


def default_spike(
    replica, spec, input_tokens: int = DEFAULT_INPUT_TOKENS, output_tokens: int = DEFAULT_OUTPUT_TOKENS
) -> Trace:
    """The spike every overlay is checked against, sized from its own numbers:

    * lengths: ``input_tokens``/``output_tokens``, shrunk to fit max-model-len;
    * base load: half of what ``max(minReplicaCount, 1)`` replicas serve;
    * spike: 80 % of what ``maxReplicaCount`` replicas serve (a load the configuration is
      meant to carry), but at least twice the base;
    * 10 min of base, a spike long enough for a cold start and the control loops
      (``max(30 min, 3 x startup)``), then base again for ``max(30 min, 2 x the scale-down
      stabilization window + 10 min)`` to watch the scale-down.
    """
    from llmfleet.features.simulate.hpa import DEFAULT_DOWNSCALE_STABILIZATION_S
    from llmfleet.features.simulate.spec import resolve_behavior

    total = input_tokens + output_tokens
    if total > replica.max_model_len:
        scale = replica.max_model_len / total
        input_tokens = max(1, int(input_tokens * scale * 0.95))
        output_tokens = max(1, int(output_tokens * scale * 0.95))
    per_replica = replica.capacity_rps(input_tokens, output_tokens)
    base = 0.5 * max(spec.min_replicas, 1) * per_replica
    peak = max(0.8 * spec.max_replicas * per_replica, 2 * base)
    startup = replica.startup_s if replica.startup_s is not None else 600.0
    behavior = resolve_behavior(spec.behavior)
    window = DEFAULT_DOWNSCALE_STABILIZATION_S
    if behavior is not None and behavior.scale_down.stabilization_window_s is not None:
        window = behavior.scale_down.stabilization_window_s
    trace = spike(
        base,
        peak,
        before_s=600,
        spike_s=max(1800.0, 3 * startup),
        after_s=max(1800.0, 2 * window + 600),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )
    return Trace(trace.segments, trace.duration_s, f"default spike {base:.2f}->{peak:.2f} rps")


__all__ = [
    "Segment",
    "Trace",
    "TraceError",
    "constant",
    "ramp",
    "diurnal",
    "spike",
    "from_csv",
    "default_spike",
    "DEFAULT_INPUT_TOKENS",
    "DEFAULT_OUTPUT_TOKENS",
    "CSV_FIELDS",
]
