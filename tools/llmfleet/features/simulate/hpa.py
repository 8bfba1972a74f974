"""The Horizontal Pod Autoscaler controller's decision for one HPA, as Kubernetes computes it.

Followed line by line (docs/reference/autoscaling.md has the file paths and versions):

* ``replica_calculator.go`` -- ``GetExternalPerPodMetricReplicas`` (target type AverageValue:
  usage ratio = usage / (target x status replicas); inside the tolerance keep the status
  replicas, else ``ceil(usage / target)``) and ``GetExternalMetricReplicas`` (type Value:
  ratio = usage / target; inside the tolerance keep the current replicas, else
  ``ceil(ratio x ready pods)``); ``Tolerances.isWithin``: ``1 - down <= ratio <= 1 + up``.
* ``horizontal.go`` -- ``computeReplicasForMetrics`` (the largest proposal; no scale-down when
  a metric is invalid), ``reconcileAutoscaler`` (current above max -> max, below min -> min,
  0 -> disabled), ``normalizeDesiredReplicas`` (no behavior: max recommendation over the
  downscale window, scale-up limit ``max(2 x current, 4)``), ``normalizeDesiredReplicasWithBehaviors``
  (``stabilizeRecommendationWithBehaviors``, ``convertDesiredReplicasWithBehaviorRate``,
  ``calculateScaleUpLimitWithScalingRules``, ``calculateScaleDownLimitWithBehaviors``,
  ``storeScaleEvent``), with the same strict/non-strict time comparisons.

Metric values reach the HPA as KEDA writes them: ``%.3f`` quantities (``GenerateMetricInMili``),
negative and NaN as 0, compared in milli-units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from llmfleet.features.simulate.spec import (
    AVERAGE_VALUE,
    Behavior,
    ScalingRules,
    ScalingSpec,
    resolve_behavior,
)

#: kube-controller-manager defaults (pkg/controller/podautoscaler/config/v1alpha1/defaults.go).
DEFAULT_SYNC_PERIOD_S = 15
DEFAULT_TOLERANCE = 0.1
DEFAULT_DOWNSCALE_STABILIZATION_S = 300
#: horizontal.go scaleUpLimitFactor / scaleUpLimitMinimum (the no-behavior path).
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0


@dataclass(frozen=True)
class HpaSettings:
    """kube-controller-manager flags that shape every HPA."""

    sync_period_s: int = DEFAULT_SYNC_PERIOD_S  # --horizontal-pod-autoscaler-sync-period
    tolerance: float = DEFAULT_TOLERANCE  # --horizontal-pod-autoscaler-tolerance
    downscale_stabilization_s: int = DEFAULT_DOWNSCALE_STABILIZATION_S  # ...-downscale-stabilization
    #: Feature gate HPAConfigurableTolerance: honour behavior.scaleUp/scaleDown.tolerance.
    #: Alpha (off by default) in 1.33 and 1.34, beta (on by default) from 1.35:
    #: :func:`configurable_tolerance_default` gives the default of a cluster version.
    configurable_tolerance: bool = True

    @classmethod
    def for_kubernetes(cls, version: str | None, **kwargs) -> HpaSettings:
        """The controller defaults of a cluster running Kubernetes ``version`` ("1.33.0")."""
        return cls(configurable_tolerance=configurable_tolerance_default(version), **kwargs)


#: pkg/features/kube_features.go: HPAConfigurableTolerance alpha in 1.33, beta in 1.35.
TOLERANCE_GATE_ALPHA = (1, 33)
TOLERANCE_GATE_BETA = (1, 35)


def configurable_tolerance_default(version: str | None) -> bool:
    """Whether the HPAConfigurableTolerance gate is on by default in Kubernetes ``version``
    (x.y.z or "master"; None or "" counts as the newest, like "master")."""
    text = str(version or "master").strip().lstrip("v")
    if text == "master":
        return True
    try:
        major, minor = (int(part) for part in text.split(".")[:2])
    except ValueError:
        raise ValueError(f"Kubernetes version {version!r}: expected x.y.z or master") from None
    return (major, minor) >= TOLERANCE_GATE_BETA


def to_milli(value: float | None) -> int:
    """A metric value as the HPA sees it: KEDA formats it with %.3f, the HPA reads MilliValue."""
    if value is None or not math.isfinite(value) or value < 0:
        return 0
    return int(round(float(f"{value:.3f}") * 1000))


def within(ratio: float, down: float, up: float) -> bool:
    """Tolerances.isWithin (NaN is never within)."""
    return (1.0 - down) <= ratio <= (1.0 + up)


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0:
        return math.nan if numerator == 0 else math.inf
    return numerator / denominator


def average_value_replicas(
    usage: float,
    target: float,
    status_replicas: int,
    down: float = DEFAULT_TOLERANCE,
    up: float = DEFAULT_TOLERANCE,
) -> int:
    """GetExternalPerPodMetricReplicas: the proposal of an AverageValue target."""
    usage_m, target_m = to_milli(usage), to_milli(target)
    ratio = _ratio(usage_m, target_m * status_replicas)
    if within(ratio, down, up):
        return status_replicas
    return int(math.ceil(usage_m / target_m))


def value_replicas(
    usage: float,
    target: float,
    current_replicas: int,
    ready_pods: int,
    down: float = DEFAULT_TOLERANCE,
    up: float = DEFAULT_TOLERANCE,
) -> int:
    """GetExternalMetricReplicas / getUsageRatioReplicaCount: the proposal of a Value target.
    With pods but none Ready it is ``ceil(ratio x 0) = 0``, as upstream (the HPA then keeps
    the count when another metric is higher, or scales down to minReplicas)."""
    ratio = _ratio(to_milli(usage), to_milli(target))
    if current_replicas == 0:
        return int(math.ceil(ratio))
    if within(ratio, down, up):
        return current_replicas
    return int(math.ceil(ratio * ready_pods))


def _changes_in_period(events: list[tuple[float, int]], now: float, period_s: int) -> int:
    """getReplicasChangePerPeriod: events strictly after now - period."""
    cutoff = now - period_s
    return sum(change for ts, change in events if ts > cutoff)


def scale_up_limit(current: int, up_events, down_events, rules: ScalingRules, now: float) -> int:
    """calculateScaleUpLimitWithScalingRules."""
    if rules.select_policy == "Disabled":
        return current
    pick = min if rules.select_policy == "Min" else max
    result = None
    for policy in rules.policies:
        start = (
            current
            - _changes_in_period(up_events, now, policy.period_s)
            + _changes_in_period(down_events, now, policy.period_s)
        )
        if policy.type == "Pods":
            proposed = start + policy.value
        else:
            proposed = int(math.ceil(start * (1 + policy.value / 100)))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def scale_down_limit(current: int, up_events, down_events, rules: ScalingRules, now: float) -> int:
    """calculateScaleDownLimitWithBehaviors (Max = the largest change = the lowest count)."""
    if rules.select_policy == "Disabled":
        return current
    pick = max if rules.select_policy == "Min" else min
    result = None
    for policy in rules.policies:
        start = (
            current
            - _changes_in_period(up_events, now, policy.period_s)
            + _changes_in_period(down_events, now, policy.period_s)
        )
        if policy.type == "Pods":
            proposed = start - policy.value
        else:
            proposed = int(start * (1 - policy.value / 100))  # Go's int32(float) truncates
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


@dataclass(frozen=True)
class Proposal:
    trigger: str
    value: float | None  # the metric value KEDA served (None: not available)
    replicas: int | None  # the proposal (None: invalid metric)


@dataclass(frozen=True)
class Decision:
    """One reconcile: the replica count the HPA writes (== current when it does not scale)."""

    time: float
    current: int
    desired: int
    proposals: tuple[Proposal, ...] = ()
    metric_desired: int | None = None  # the largest proposal, before stabilization and limits
    stabilized: int | None = None  # after the stabilization window(s)
    reason: str = ""  # why: the rescale reason and the limiting condition

    @property
    def rescaled(self) -> bool:
        return self.desired != self.current


@dataclass
class HorizontalController:
    """The state the controller keeps per HPA (recommendations, scale events) and its reconcile."""

    spec: ScalingSpec
    settings: HpaSettings = field(default_factory=HpaSettings)
    recommendations: list = field(default_factory=list)  # [(time, replicas)]
    scale_up_events: list = field(default_factory=list)  # [(time, replicas added)]
    scale_down_events: list = field(default_factory=list)  # [(time, replicas removed)]

    def __post_init__(self):
        self.behavior: Behavior | None = resolve_behavior(self.spec.behavior)
        self._initialized = False

    @property
    def min_replicas(self) -> int:
        return self.spec.hpa_min_replicas

    @property
    def max_replicas(self) -> int:
        return self.spec.max_replicas

    def tolerances(self) -> tuple[float, float]:
        down = up = self.settings.tolerance
        if self.behavior is not None and self.settings.configurable_tolerance:
            if self.behavior.scale_down.tolerance is not None:
                down = self.behavior.scale_down.tolerance
            if self.behavior.scale_up.tolerance is not None:
                up = self.behavior.scale_up.tolerance
        return down, up

    def propose(self, values, current: int, status_replicas: int, ready_pods: int) -> tuple[Proposal, ...]:
        down, up = self.tolerances()
        out = []
        for trigger, value in zip(self.spec.triggers, values):
            if value is None:
                out.append(Proposal(trigger.name, None, None))
            elif trigger.metric_type == AVERAGE_VALUE:
                out.append(
                    Proposal(
                        trigger.name,
                        value,
                        average_value_replicas(value, trigger.target, status_replicas, down, up),
                    )
                )
            else:
                if status_replicas == 0 and current != 0:
                    # getReadyPodsCount: "no pods returned by selector" only when there is no pod
                    # at all; pods that exist but are not Ready count 0 and propose ceil(ratio x 0).
                    out.append(Proposal(trigger.name, value, None))
                else:
                    out.append(
                        Proposal(
                            trigger.name,
                            value,
                            value_replicas(value, trigger.target, current, ready_pods, down, up),
                        )
                    )
        return tuple(out)

    def reconcile(self, now: float, current: int, status_replicas: int, ready_pods: int, values) -> Decision:
        """``values``: one metric value per trigger (None when KEDA could not serve it)."""
        if not self._initialized:  # recordInitialRecommendation
            self.recommendations.append((now, current))
            self._initialized = True
        if current == 0:
            return Decision(now, 0, 0, reason="ScalingDisabled")
        if current > self.max_replicas:
            return self._commit(
                Decision(
                    now,
                    current,
                    self.max_replicas,
                    reason="Current number of replicas above Spec.MaxReplicas",
                )
            )
        if current < self.min_replicas:
            return self._commit(
                Decision(
                    now,
                    current,
                    self.min_replicas,
                    reason="Current number of replicas below Spec.MinReplicas",
                )
            )
        proposals = self.propose(values, current, status_replicas, ready_pods)
        valid = [p.replicas for p in proposals if p.replicas is not None]
        invalid = len(proposals) - len(valid)
        metric_desired = 0
        for replicas in valid:
            if metric_desired == 0 or replicas > metric_desired:
                metric_desired = replicas
        if invalid >= len(proposals) or (invalid > 0 and metric_desired < current):
            return Decision(now, current, current, proposals, reason="FailedGetExternalMetric")
        desired = max(0, metric_desired)
        if self.behavior is None:
            stabilized = self._stabilize_legacy(now, desired)
            final, limit = self._limit_legacy(current, stabilized)
        else:
            stabilized = self._stabilize(now, current, desired)
            final, limit = self._limit(now, current, stabilized)
        # The event's reason as the controller words it (rescaleReason), plus the limit hit.
        winner = next((p.trigger for p in proposals if p.replicas == metric_desired), "")
        if stabilized > current:
            reason = f"{winner} above target"
        elif stabilized < current:
            reason = "All metrics below target"
        else:
            reason = "within tolerance or stabilized"
        if limit != "DesiredWithinRange":
            reason += f" ({limit})"
        return self._commit(Decision(now, current, final, proposals, metric_desired, stabilized, reason))

    # -- no behavior (normalizeDesiredReplicas) ---------------------------------------------
    def _stabilize_legacy(self, now: float, prenormalized: int) -> int:
        cutoff = now - self.settings.downscale_stabilization_s
        best = prenormalized
        kept = []
        for ts, rec in self.recommendations:
            if ts < cutoff:  # rec.timestamp.Before(cutoff): replaced, ignored
                continue
            kept.append((ts, rec))
            best = max(best, rec)
        kept.append((now, prenormalized))
        self.recommendations = kept
        return best

    def _limit_legacy(self, current: int, desired: int) -> tuple[int, str]:
        limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
        if self.max_replicas > limit:
            maximum, reason = limit, "ScaleUpLimit"
        else:
            maximum, reason = self.max_replicas, "TooManyReplicas"
        if desired < self.min_replicas:
            return self.min_replicas, "TooFewReplicas"
        if desired > maximum:
            return maximum, reason
        return desired, "DesiredWithinRange"

    # -- behavior (normalizeDesiredReplicasWithBehaviors) -----------------------------------
    def _rules(self) -> Behavior:
        assert self.behavior is not None, "only called on the behavior path"
        return self.behavior

    def _down_window(self) -> int:
        window = self._rules().scale_down.stabilization_window_s
        return self.settings.downscale_stabilization_s if window is None else window

    def _stabilize(self, now: float, current: int, prenormalized: int) -> int:
        up_window = self._rules().scale_up.stabilization_window_s or 0
        up_cutoff = now - up_window
        down_cutoff = now - self._down_window()
        up_rec = down_rec = prenormalized
        kept = []
        for ts, rec in self.recommendations:
            if ts > up_cutoff:
                up_rec = min(rec, up_rec)
            if ts > down_cutoff:
                down_rec = max(rec, down_rec)
            if not (ts < up_cutoff and ts < down_cutoff):
                kept.append((ts, rec))
        kept.append((now, prenormalized))
        self.recommendations = kept
        recommendation = current
        if recommendation < up_rec:
            recommendation = up_rec
        if recommendation > down_rec:
            recommendation = down_rec
        return recommendation

    def _limit(self, now: float, current: int, desired: int) -> tuple[int, str]:
        if desired > current:
            limit = scale_up_limit(
                current, self.scale_up_events, self.scale_down_events, self._rules().scale_up, now
            )
            limit = max(limit, current)
            if self.max_replicas > limit:
                maximum, reason = limit, "ScaleUpLimit"
            else:
                maximum, reason = self.max_replicas, "TooManyReplicas"
            if desired > maximum:
                return maximum, reason
        elif desired < current:
            limit = scale_down_limit(
                current, self.scale_up_events, self.scale_down_events, self._rules().scale_down, now
            )
            limit = min(limit, current)
            if self.min_replicas < limit:
                minimum, reason = limit, "ScaleDownLimit"
            else:
                minimum, reason = self.min_replicas, "TooFewReplicas"
            if desired < minimum:
                return minimum, reason
        return desired, "DesiredWithinRange"

    def _commit(self, decision: Decision) -> Decision:
        if decision.rescaled and self.behavior is not None:
            now = decision.time
            if decision.desired > decision.current:
                self.scale_up_events = store_scale_event(
                    self.scale_up_events,
                    now,
                    decision.desired - decision.current,
                    self.behavior.scale_up.longest_period_s,
                )
            else:
                self.scale_down_events = store_scale_event(
                    self.scale_down_events,
                    now,
                    decision.current - decision.desired,
                    self.behavior.scale_down.longest_period_s,
                )
        return decision


def store_scale_event(events: list, now: float, change: int, longest_period_s: int) -> list:
    """storeScaleEvent: events Before(now - the direction's longest policy period) are only
    marked outdated (markScaleEventsOutdated); the new event REPLACES the last outdated one
    found, or is appended.  The others stay, and getReplicasChangePerPeriod counts every
    stored event newer than a policy's own period -- so a scale-down policy with a longer
    period than the scale-up ones still sees the pods a ramp added."""
    cutoff = now - longest_period_s
    kept = list(events)
    outdated = [i for i, (ts, _) in enumerate(kept) if ts < cutoff]
    if outdated:
        kept[outdated[-1]] = (now, change)
    else:
        kept.append((now, change))
    return kept


__all__ = [
    "HpaSettings",
    "HorizontalController",
    "Decision",
    "Proposal",
    "average_value_replicas",
    "value_replicas",
    "scale_up_limit",
    "scale_down_limit",
    "store_scale_event",
    "configurable_tolerance_default",
    "within",
    "to_milli",
    "DEFAULT_SYNC_PERIOD_S",
    "DEFAULT_TOLERANCE",
    "DEFAULT_DOWNSCALE_STABILIZATION_S",
]
