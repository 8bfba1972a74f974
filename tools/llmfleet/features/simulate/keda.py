"""KEDA's own part of scaling a ScaledObject: activation (0 <-> N) and the metric cache.

KEDA (kedacore/keda v2.20, pkg/scaling/executor/scale_scaledobjects.go ``RequestScale``) polls
every trigger each ``pollingInterval``.  The ScaledObject is *active* when any trigger's value
is strictly above its ``activationThreshold`` (prometheus_scaler.go ``GetMetricsAndActivity``).
Then:

* active and 0 replicas (or idle): scale to ``max(minReplicaCount, 1)`` and record the time;
* active otherwise: record the time (``LastActiveTime``), leave the count to the HPA;
* inactive, ``minReplicaCount`` 0 (or ``idleReplicaCount`` set) and replicas above that: scale
  to 0 (or idle) once ``LastActiveTime + cooldownPeriod`` has passed (with no activity yet,
  ``initialCooldownPeriod`` after creation);
* inactive with replicas below ``minReplicaCount`` (no idle count): scale to the minimum.

Inactive while a scaler answers with an error (``isError``), KEDA changes nothing (no scale to
zero, idle or minimum) unless ``fallback.replicas`` is 0.  The failed reads the HPA makes go
through ``fallback`` (:mod:`llmfleet.features.simulate.fallback`).

Between 1 and N the HPA decides (:mod:`llmfleet.features.simulate.hpa`); the HPA is disabled at 0.
The HPA reads each metric through KEDA's metrics server, which queries the scaler at that
moment, unless the trigger has ``useCachedMetrics``: then it serves the value of the last poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmfleet.features.simulate.fallback import Health
from llmfleet.features.simulate.spec import VALUE, ScalingSpec


@dataclass(frozen=True)
class KedaAction:
    time: float
    previous: int
    replicas: int
    reason: str


@dataclass
class KedaOperator:
    spec: ScalingSpec
    created_at: float = 0.0
    last_active: float | None = None
    cached: dict = field(default_factory=dict)  # trigger name -> value at the last poll

    def __post_init__(self):
        self.health = Health(self.spec.fallback)

    def poll(self, now: float, current: int, values) -> KedaAction | None:
        """One scale loop: ``values`` per trigger (None: query failed).  Returns the replica
        change KEDA makes itself, or None."""
        spec = self.spec
        for trigger, value in zip(spec.triggers, values):
            if trigger.use_cached_metrics:
                self.cached[trigger.name] = value
        active = any(
            value is not None and value > trigger.activation for trigger, value in zip(spec.triggers, values)
        )
        minimum = spec.min_replicas
        idle = spec.idle_replicas
        # isError: a scaler answered with an error (an empty result without ignoreNullValues).
        # Inactive with an error, KEDA leaves the count alone (no scale to zero or to the
        # minimum) unless a fallback of 0 replicas is set (scale_scaledobjects.go RequestScale).
        error = any(value is None for value in values)
        fallback = spec.fallback
        if not active and error and (fallback is None or fallback.replicas != 0):
            return None
        if active:
            if (idle is not None and current < minimum) or current == 0:
                target = minimum if minimum > 0 else 1
                self.last_active = now
                return KedaAction(
                    now, current, target, "activated: a trigger is above its activationThreshold"
                )
            self.last_active = now
            return None
        if (idle is not None and current > idle) or (current > 0 and minimum == 0):
            target = idle if idle is not None else minimum
            if self.last_active is None:
                due = self.created_at + spec.initial_cooldown_period_s < now
            else:
                due = self.last_active + spec.cooldown_period_s < now
            if due:
                return KedaAction(now, current, target, "deactivated: no trigger active for cooldownPeriod")
            return None
        if idle is None and current < minimum:
            return KedaAction(now, current, minimum, "below minReplicaCount")
        return None

    def served_value(self, trigger, live_value):
        """The scaler's reading the metrics server uses for ``trigger``: live, or the last
        poll's with useCachedMetrics."""
        if trigger.use_cached_metrics:
            return self.cached.get(trigger.name, live_value)
        return live_value

    def hpa_value(self, trigger, live_value, current: int, ready_pods: int):
        """What the HPA receives for ``trigger``: the reading, the error (None), or the
        fallback metric once the trigger has failed more than ``failureThreshold`` times."""
        value = self.served_value(trigger, live_value)
        return self.health.serve(trigger, value, current, ready_pods, trigger.metric_type == VALUE)


__all__ = ["KedaOperator", "KedaAction"]
