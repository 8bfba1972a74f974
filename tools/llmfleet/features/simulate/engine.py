"""The simulation loop: traffic into replicas, replicas into metrics, metrics into KEDA and the
HPA, their decisions back into pods -- one second at a time.

The model, from the client to the controller:

* **Arrivals** of the trace's rate are split evenly over the Ready pods (the Service spreads
  connections); with no Ready pod they are *rejected* (a Service without endpoints).
* **Each pod** keeps its own FIFO queue (vLLM's waiting requests) and a running batch, as a
  fluid: requests are admitted while the KV cache and ``max_num_seqs`` have room for
  ``input + output`` tokens, and leave at the throughput ``X(batch)`` (measured, calibrated
  or roofline: ``ReplicaModel.basis``) of
  :class:`~llmfleet.features.simulate.replica.ReplicaModel`.  A request's waiting time is the time from
  its arrival to its admission.
* **Prometheus** scrapes every Ready or draining pod each ``scrape_interval_s`` (the
  PodMonitor's 15 s): ``vllm:num_requests_waiting``, ``vllm:num_requests_running``,
  ``vllm:kv_cache_usage_perc`` and the ``vllm:request_success_total`` counter.  A query sees
  the latest scrape; ``rate()`` is the counter's slope over the trigger's window.
* **KEDA** polls each ``pollingInterval`` (activation, scale to and from zero; cached metrics);
  the **HPA** reconciles each ``sync_period_s`` with the values KEDA serves.
* **Pods** created by a scale-up become Ready after ``ReplicaModel.startup_s`` (never when it is
  None); a scale-down removes not-yet-Ready pods first, then the newest Ready ones, which stop
  receiving requests and finish their queue for up to ``drain_s`` (the rest is *aborted*).
* **Cost**: every pod that exists (starting, Ready or draining) holds its GPUs.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from llmfleet.features.simulate.hpa import HorizontalController, HpaSettings
from llmfleet.features.simulate.keda import KedaOperator
from llmfleet.features.simulate.replica import ReplicaModel
from llmfleet.features.simulate.result import ScaleEvent, SimulationResult, Timeline, analyse
from llmfleet.features.simulate.slo import Slo
from llmfleet.features.simulate.spec import (
    KV_CACHE_USAGE,
    KV_CACHE_USAGE_SUM,
    QUEUE,
    REQUEST_RATE,
    RUNNING,
    ScalingSpec,
)
from llmfleet.features.simulate.traffic import Trace, TraceError

EPSILON = 1e-9
#: The most work one simulation does: maxReplicaCount x seconds of traffic (the loop steps
#: each pod each second).  A day at 4 replicas, or an hour at 110: about 10 s at most.
MAX_REPLICA_SECONDS = 400_000


@dataclass(frozen=True)
class SimulationOptions:
    """How the simulation runs and what it flags."""

    hpa: HpaSettings = field(default_factory=HpaSettings)
    scrape_interval_s: int = 15  # the PodMonitor's interval (base/podmonitor.yaml)
    sample_interval_s: int = 15  # timeline resolution
    #: Replicas at t=0, all Ready (None: KEDA's minReplicaCount, the steady state of idle).
    initial_replicas: int | None = None
    #: A spike counts as absorbed when the fleet's waiting queue is back below this many requests.
    absorb_queue_threshold: float = 1.0
    #: Bound on the time to absorb a spike (None: one replica start-up + 5 min).
    absorb_bound_s: float | None = None
    #: Scale events in opposite directions closer than this count as a reversal ...
    flap_window_s: float = 600.0
    #: ... and this many reversals flag the configuration as flapping.
    flap_min_reversals: int = 2
    #: How long the queue must grow at maxReplicaCount before it is flagged.
    queue_growth_window_s: float = 60.0
    #: The latency objective; a breach is an error flag (None: not judged).
    slo: Slo | None = None

    def __post_init__(self):
        for name in ("scrape_interval_s", "sample_interval_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SimulationOptions.{name}: must be a whole number >= 1, got {value!r}")
        if self.initial_replicas is not None and self.initial_replicas < 0:
            raise ValueError("SimulationOptions.initial_replicas: must be >= 0")
        if self.flap_min_reversals < 1:
            raise ValueError("SimulationOptions.flap_min_reversals: must be >= 1")


class Pod:
    __slots__ = (
        "id",
        "created",
        "ready_at",
        "state",
        "queue",
        "queued",
        "running",
        "tokens",
        "sum_in",
        "sum_out",
        "completed",
        "drain_until",
    )

    def __init__(self, pod_id: int, created: float, ready_at: float | None, ready: bool = False):
        self.id = pod_id
        self.created = created
        self.ready_at = ready_at
        self.state = "ready" if ready else "starting"
        self.queue: deque = deque()  # [arrival time, amount, input tokens, output tokens]
        # The sum of the queue's amounts, kept as it changes: summing a queue that grows by
        # one entry a second at every scrape made a long overloaded trace quadratic.
        self.queued = 0.0
        self.running = 0.0  # sequences in the batch
        self.tokens = 0.0  # KV tokens reserved by the batch (input + output each)
        self.sum_in = 0.0  # sum of input tokens over the batch
        self.sum_out = 0.0  # sum of output tokens over the batch
        self.completed = 0.0  # vllm:request_success_total
        self.drain_until: float | None = None

    @property
    def waiting(self) -> float:
        return self.queued if self.queue else 0.0

    def kv_usage(self, replica: ReplicaModel) -> float:
        # A running sequence holds its prompt and, on average, half of its output.
        return min(1.0, (self.sum_in + self.sum_out / 2) / replica.kv_tokens)


class _WaitHistogram:
    """Waiting times of admitted requests, weighted by the (fluid) amount admitted."""

    def __init__(self):
        self.bins: dict[int, float] = {}
        self.total = 0.0
        self.max = 0.0

    def add(self, wait_s: float, amount: float) -> None:
        key = int(math.floor(wait_s + 1e-9))
        self.bins[key] = self.bins.get(key, 0.0) + amount
        self.total += amount
        self.max = max(self.max, wait_s)

    def percentile(self, q: float) -> float:
        if self.total <= 0:
            return 0.0
        goal = q * self.total
        seen = 0.0
        for key in sorted(self.bins):
            seen += self.bins[key]
            if seen >= goal - EPSILON:
                return float(key)
        return float(max(self.bins))


class Simulation:
    def __init__(
        self, spec: ScalingSpec, replica: ReplicaModel, trace: Trace, options: SimulationOptions | None = None
    ):
        self.spec = spec
        self.replica = replica
        self.trace = trace
        self.options = options or SimulationOptions()
        self._check_inputs()
        self.hpa = HorizontalController(spec, self.options.hpa)
        self.keda = KedaOperator(spec)
        self.pods: list[Pod] = []
        self._next_id = 0
        self.replicas = 0
        self.scrapes: deque = deque()  # (time, {pod id: (waiting, running, kv, completed)})
        self.events: list[ScaleEvent] = []
        self.decisions: list = []
        self.waits = _WaitHistogram()
        self.offered = self.served = self.rejected = self.aborted = 0.0
        self.first_rejected_at: float | None = None
        self.gpu_seconds = 0.0
        self.pods_never_ready = 0
        self.last_values: dict[str, float | None] = {t.name: None for t in spec.triggers}

    def _check_inputs(self) -> None:
        work = self.spec.max_replicas * self.trace.duration_s
        if work > MAX_REPLICA_SECONDS:
            raise TraceError(
                f"{self.trace.name}: maxReplicaCount {self.spec.max_replicas:,} x {self.trace.duration_s:g} s "
                f"of traffic is more than the {MAX_REPLICA_SECONDS:,} replica-seconds a simulation covers: "
                "shorten the trace or lower maxReplicaCount"
            )
        too_long = [
            s
            for s in self.trace.segments
            if s.rps > 0 and s.input_tokens + s.output_tokens > self.replica.max_model_len
        ]
        if too_long:
            s = too_long[0]
            raise TraceError(
                f"{self.trace.name}: at t={s.start_s:g} s requests of {s.input_tokens} + "
                f"{s.output_tokens} tokens exceed max-model-len {self.replica.max_model_len} "
                "(vLLM rejects them)"
            )
        no_room = [
            s
            for s in self.trace.segments
            if s.rps > 0 and self.replica.batch_limit(s.input_tokens, s.output_tokens) < 1
        ]
        if no_room:
            s = no_room[0]
            raise TraceError(
                f"{self.trace.name}: at t={s.start_s:g} s one request of {s.input_tokens} + "
                f"{s.output_tokens} tokens does not fit the KV cache "
                f"({self.replica.kv_tokens} tokens)"
            )

    # -- pods ----------------------------------------------------------------------------------
    def _new_pod(self, now: float, ready: bool) -> Pod:
        startup = self.replica.startup_s
        ready_at = now if ready else (None if startup is None else now + startup)
        pod = Pod(self._next_id, now, ready_at, ready)
        self._next_id += 1
        if not ready and ready_at is None:
            self.pods_never_ready += 1
        return pod

    def _active(self) -> list[Pod]:
        return [p for p in self.pods if p.state != "draining"]

    def scale_to(self, now: float, replicas: int, by: str, reason: str) -> None:
        previous = self.replicas
        if replicas == previous:
            return
        self.replicas = replicas
        self.events.append(ScaleEvent(now, previous, replicas, by, reason))
        active = self._active()
        if replicas > len(active):
            for _ in range(replicas - len(active)):
                self.pods.append(self._new_pod(now, ready=False))
            return
        # ReplicaSet victims: pods not Ready first, then the most recently Ready.
        victims = sorted(active, key=lambda p: (p.state == "ready", -(p.ready_at or p.created), -p.id))
        for pod in victims[: len(active) - replicas]:
            if pod.state == "starting":
                self.pods.remove(pod)
            else:
                pod.state = "draining"
                pod.drain_until = now + self.replica.drain_s

    # -- serving -------------------------------------------------------------------------------
    def _arrive(self, now: float, dt: float) -> None:
        seg = self.trace.at(now)
        amount = seg.rps * dt
        if amount <= 0:
            return
        self.offered += amount
        ready = [p for p in self.pods if p.state == "ready"]
        if not ready:
            self.rejected += amount
            if self.first_rejected_at is None:
                self.first_rejected_at = now
            return
        share = amount / len(ready)
        for pod in ready:
            queue = pod.queue
            if (
                queue
                and queue[-1][0] == now
                and queue[-1][2] == seg.input_tokens
                and queue[-1][3] == seg.output_tokens
            ):
                queue[-1][1] += share
            else:
                queue.append([now, share, seg.input_tokens, seg.output_tokens])
            pod.queued += share

    def _serve(self, pod: Pod, now: float, dt: float) -> None:
        replica = self.replica
        queue = pod.queue
        while queue:
            arrival, amount, lin, lout = queue[0]
            per_request = lin + lout
            # Whole sequences only: a cohort of this length fills the batch up to batch_limit().
            seats = min(
                replica.batch_limit(lin, lout) - pod.running, (replica.kv_tokens - pod.tokens) / per_request
            )
            if seats <= EPSILON:
                break
            take = min(amount, seats)
            self.waits.add(now - arrival, take)
            pod.running += take
            pod.tokens += take * per_request
            pod.sum_in += take * lin
            pod.sum_out += take * lout
            pod.queued = max(0.0, pod.queued - take)
            if take >= amount - EPSILON:
                queue.popleft()
                if not queue:
                    pod.queued = 0.0
            else:
                queue[0][1] = amount - take
                break
        if pod.running <= EPSILON:
            pod.running = pod.tokens = pod.sum_in = pod.sum_out = 0.0
            return
        lin = pod.sum_in / pod.running
        lout = pod.sum_out / pod.running
        done = min(pod.running, replica.throughput(pod.running, lin, lout) * dt)
        keep = 1 - done / pod.running
        pod.running *= keep
        pod.tokens *= keep
        pod.sum_in *= keep
        pod.sum_out *= keep
        pod.completed += done
        self.served += done

    # -- metrics -------------------------------------------------------------------------------
    def _scrape(self, now: float) -> None:
        snapshot = {
            p.id: (p.waiting, p.running, p.kv_usage(self.replica), p.completed)
            for p in self.pods
            if p.state in ("ready", "draining")
        }
        self.scrapes.append((now, snapshot))
        horizon = (
            max([t.rate_window_s for t in self.spec.triggers] + [0]) + 2 * self.options.scrape_interval_s
        )
        while self.scrapes and self.scrapes[0][0] < now - horizon:
            self.scrapes.popleft()

    def query(self, trigger, now: float) -> float | None:
        """The trigger's reading as KEDA's Prometheus scaler makes it: an empty result (no pod
        scraped) is 0 with ignoreNullValues and an error (None) without it."""
        empty = 0.0 if trigger.ignore_null_values else None
        if trigger.kind is None:
            return 0.0
        if not self.scrapes:
            return empty
        latest_t, latest = self.scrapes[-1]
        if not latest:
            return empty
        if trigger.kind == QUEUE:
            return sum(v[0] for v in latest.values())
        if trigger.kind == RUNNING:
            return sum(v[1] for v in latest.values())
        if trigger.kind == KV_CACHE_USAGE:
            return sum(v[2] for v in latest.values()) / len(latest)
        if trigger.kind == KV_CACHE_USAGE_SUM:
            return sum(v[2] for v in latest.values())
        if trigger.kind == REQUEST_RATE:
            window_start = now - trigger.rate_window_s
            total, series = 0.0, 0
            for pod_id in latest:
                samples = [
                    (t, snap[pod_id][3]) for t, snap in self.scrapes if t > window_start and pod_id in snap
                ]
                if len(samples) >= 2 and samples[-1][0] > samples[0][0]:
                    total += (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0])
                    series += 1
            return total if series else empty
        return 0.0

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> SimulationResult:
        options = self.options
        initial = options.initial_replicas if options.initial_replicas is not None else self.spec.min_replicas
        initial = min(initial, self.spec.max_replicas)
        self.replicas = initial
        self.pods = [self._new_pod(0.0, ready=True) for _ in range(initial)]
        timeline = Timeline()
        interval_served = 0.0
        sync = options.hpa.sync_period_s
        polling = self.spec.polling_interval_s
        duration = int(math.ceil(self.trace.duration_s))
        dt = 1.0
        for tick in range(duration):
            now = float(tick)
            for pod in self.pods:
                if pod.state == "starting" and pod.ready_at is not None and pod.ready_at <= now:
                    pod.state = "ready"
            self._arrive(now, dt)
            served_before = self.served
            for pod in self.pods:
                if pod.state != "starting":
                    self._serve(pod, now, dt)
            interval_served += self.served - served_before
            for pod in [p for p in self.pods if p.state == "draining"]:
                if pod.running <= EPSILON and not pod.queue:
                    self.pods.remove(pod)
                elif pod.drain_until is not None and now + dt >= pod.drain_until:
                    self.aborted += pod.running + pod.waiting
                    self.pods.remove(pod)
            self.gpu_seconds += len(self.pods) * self.replica.gpus * dt
            if tick % options.scrape_interval_s == 0:
                self._scrape(now)
            if tick % polling == 0:
                live = [self.query(t, now) for t in self.spec.triggers]
                action = self.keda.poll(now, self.replicas, live)
                if action is not None:
                    self.scale_to(now, action.replicas, "keda", action.reason)
            if tick % sync == 0:
                ready = sum(1 for p in self.pods if p.state == "ready")
                values = [
                    self.keda.hpa_value(t, self.query(t, now), self.replicas, ready)
                    for t in self.spec.triggers
                ]
                for trigger, value in zip(self.spec.triggers, values):
                    self.last_values[trigger.name] = value
                status = len(self._active())
                decision = self.hpa.reconcile(now, self.replicas, status, ready, values)
                self.decisions.append(decision)
                if decision.rescaled:
                    self.scale_to(now, decision.desired, "hpa", decision.reason)
            if tick % options.sample_interval_s == 0:
                timeline.add(self, now, interval_served / options.sample_interval_s if tick else 0.0)
                interval_served = 0.0
        return analyse(self, timeline)


def simulate(
    spec: ScalingSpec, replica: ReplicaModel, trace: Trace, options: SimulationOptions | None = None
) -> SimulationResult:
    """Replay ``trace`` against ``spec`` (KEDA + HPA) and ``replica``; see the module docstring."""
    return Simulation(spec, replica, trace, options).run()


__all__ = ["SimulationOptions", "Simulation", "simulate"]
