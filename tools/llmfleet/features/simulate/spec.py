"""What the autoscaler is told: a KEDA ScaledObject reduced to the numbers the simulation needs.

:class:`ScalingSpec` holds KEDA's fields (``minReplicaCount`` ... ``cooldownPeriod``), the HPA
``behavior`` exactly as the ``autoscaling/v2`` API spells it (a dict, passed through by KEDA
from ``spec.advanced.horizontalPodAutoscalerConfig.behavior``), and one :class:`Trigger` per
Prometheus trigger.  :meth:`ScalingSpec.from_scaled_object` reads a rendered ScaledObject;
:func:`classify_query` tells which vLLM quantity a trigger's query measures.

Defaults are KEDA's and Kubernetes' (docs/reference/autoscaling.md):
``minReplicaCount`` 0, ``maxReplicaCount`` 100, ``pollingInterval`` 30 s, ``cooldownPeriod``
300 s, ``initialCooldownPeriod`` 0 s; a trigger's ``metricType`` AverageValue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmfleet.features.simulate.fallback import Fallback, FallbackError, parse_bool
from llmfleet.features.simulate.fallback import parse as parse_fallback
from llmfleet.model.k8s import parse_quantity as _k8s_quantity
from llmfleet.model.scaling import (
    KEDA_DEFAULT_COOLDOWN_S,
    KEDA_DEFAULT_MAX,
    KEDA_DEFAULT_MIN,
    KEDA_DEFAULT_POLLING_S,
)

#: Metric kinds the simulation can compute from its replica model (the vLLM series named).
QUEUE = "queue"  # sum(vllm:num_requests_waiting)
RUNNING = "running"  # sum(vllm:num_requests_running)
KV_CACHE_USAGE = "kv_cache_usage"  # avg(vllm:kv_cache_usage_perc), a 0..1 fraction
#: sum(vllm:kv_cache_usage_perc): with an AverageValue target the HPA divides it by the
#: replicas, so its target is the average usage per replica (base/scaledobject.yaml's trigger)
KV_CACHE_USAGE_SUM = "kv_cache_usage_sum"
REQUEST_RATE = "request_rate"  # sum(rate(vllm:request_success_total[w]))
METRIC_KINDS = (QUEUE, RUNNING, KV_CACHE_USAGE, KV_CACHE_USAGE_SUM, REQUEST_RATE)

AVERAGE_VALUE = "AverageValue"
VALUE = "Value"

KEDA_DEFAULT_INITIAL_COOLDOWN_S = 0
#: rate() window assumed when a request-rate trigger's range cannot be read.
DEFAULT_RATE_WINDOW_S = 120

POLICY_TYPES = ("Pods", "Percent")
SELECT_POLICIES = ("Max", "Min", "Disabled")
#: HPAScalingRules.stabilizationWindowSeconds upper bound (autoscaling/v2 validation).
MAX_STABILIZATION_S = 3600
#: HPAScalingPolicy.periodSeconds bounds (autoscaling/v2 validation).
MAX_POLICY_PERIOD_S = 1800


class SpecError(ValueError):
    """A ScalingSpec that Kubernetes or KEDA would reject; ``path`` names the field."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Trigger:
    """One KEDA prometheus trigger, as the simulation evaluates it.

    ``kind`` is one of :data:`METRIC_KINDS`, or None when the query measures something the
    replica model does not produce (the trigger is then reported and reads 0, as KEDA reads
    an empty result with ``ignoreNullValues``).
    """

    name: str
    kind: str | None
    target: float
    metric_type: str = AVERAGE_VALUE
    activation: float = 0.0
    rate_window_s: float = DEFAULT_RATE_WINDOW_S
    use_cached_metrics: bool = False
    query: str = ""
    unsupported_reason: str = ""
    #: metadata.ignoreNullValues (default true): an empty query result reads 0; false: it is
    #: an error (fallback.py).
    ignore_null_values: bool = True

    def __post_init__(self):
        where = f"trigger {self.name!r}"
        if self.kind is not None and self.kind not in METRIC_KINDS:
            raise SpecError(where, f"metric kind {self.kind!r} is not one of {', '.join(METRIC_KINDS)}")
        if not (isinstance(self.target, (int, float)) and math.isfinite(self.target) and self.target > 0):
            raise SpecError(f"{where} threshold", f"must be a positive number, got {self.target!r}")
        if self.metric_type not in (AVERAGE_VALUE, VALUE):
            raise SpecError(
                f"{where} metricType",
                f"{self.metric_type!r}: a Prometheus trigger takes AverageValue or Value",
            )
        if not (math.isfinite(self.activation) and self.activation >= 0):
            raise SpecError(f"{where} activationThreshold", f"must be >= 0, got {self.activation!r}")
        if not self.rate_window_s > 0:
            raise SpecError(f"{where} query", "the rate() window must be positive")


@dataclass(frozen=True)
class ScalingSpec:
    """A ScaledObject's scaling settings (KEDA's field names in the comments)."""

    triggers: tuple[Trigger, ...]
    min_replicas: int = KEDA_DEFAULT_MIN  # minReplicaCount
    max_replicas: int = KEDA_DEFAULT_MAX  # maxReplicaCount
    polling_interval_s: int = KEDA_DEFAULT_POLLING_S  # pollingInterval
    cooldown_period_s: int = KEDA_DEFAULT_COOLDOWN_S  # cooldownPeriod
    initial_cooldown_period_s: int = KEDA_DEFAULT_INITIAL_COOLDOWN_S  # initialCooldownPeriod
    idle_replicas: int | None = None  # idleReplicaCount
    #: advanced.horizontalPodAutoscalerConfig.behavior, as in autoscaling/v2 (None: absent).
    behavior: Mapping[str, Any] | None = None
    name: str = ""
    fallback: Fallback | None = None  # spec.fallback

    def __post_init__(self):
        object.__setattr__(self, "triggers", tuple(self.triggers))
        if not self.triggers:
            raise SpecError("spec.triggers", "a ScaledObject needs at least one trigger")
        for path, value, low in (
            ("spec.minReplicaCount", self.min_replicas, 0),
            ("spec.maxReplicaCount", self.max_replicas, 1),
            ("spec.pollingInterval", self.polling_interval_s, 1),
            ("spec.cooldownPeriod", self.cooldown_period_s, 0),
            ("spec.initialCooldownPeriod", self.initial_cooldown_period_s, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SpecError(path, f"must be a whole number >= {low}, got {value!r}")
        if self.min_replicas > self.max_replicas:
            raise SpecError(
                "spec.minReplicaCount", f"{self.min_replicas} is above maxReplicaCount {self.max_replicas}"
            )
        if self.idle_replicas is not None and (
            not isinstance(self.idle_replicas, int) or not 0 <= self.idle_replicas < self.min_replicas
        ):
            raise SpecError(
                "spec.idleReplicaCount",
                f"{self.idle_replicas!r} must be >= 0 and below minReplicaCount {self.min_replicas}",
            )
        names = [t.name for t in self.triggers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SpecError("spec.triggers", f"duplicate trigger name(s) {', '.join(duplicates)}")
        if self.behavior is not None:
            validate_behavior(self.behavior)

    @property
    def hpa_min_replicas(self) -> int:
        """The HPA's minReplicas: KEDA gives it max(minReplicaCount, 1) (GetHPAMinReplicas)."""
        return self.min_replicas if self.min_replicas > 0 else 1

    @classmethod
    def from_scaled_object(cls, obj: Mapping[str, Any], classify=None) -> ScalingSpec:
        """The ScalingSpec of a rendered ``keda.sh/v1alpha1`` ScaledObject (a dict).

        ``classify(query) -> (kind | None, rate_window_s, reason)`` maps a Prometheus query to
        a metric kind; :func:`classify_query` by default.  Non-Prometheus triggers are kept
        as unsupported (they read 0).  A field of the wrong type is a :class:`SpecError`
        naming it.
        """
        classify = classify or classify_query
        spec = obj.get("spec") if isinstance(obj, Mapping) else None
        if not isinstance(spec, Mapping):
            raise SpecError("spec", "the ScaledObject has no spec")
        name = str((obj.get("metadata") or {}).get("name") or "")
        raw_triggers = spec.get("triggers")
        if not isinstance(raw_triggers, list) or not raw_triggers:
            raise SpecError("spec.triggers", "a ScaledObject needs at least one trigger")
        triggers = []
        for i, raw in enumerate(raw_triggers):
            triggers.append(_trigger(raw, i, classify))
        advanced = spec.get("advanced") or {}
        hpa_config = (
            advanced.get("horizontalPodAutoscalerConfig") or {} if isinstance(advanced, Mapping) else {}
        )
        behavior = hpa_config.get("behavior") if isinstance(hpa_config, Mapping) else None
        try:
            fallback = parse_fallback(spec.get("fallback"))
        except FallbackError as err:
            raise SpecError(err.path, err.message) from None
        return cls(
            triggers=tuple(triggers),
            min_replicas=_int(spec, "minReplicaCount", KEDA_DEFAULT_MIN),
            max_replicas=_int(spec, "maxReplicaCount", KEDA_DEFAULT_MAX),
            polling_interval_s=_int(spec, "pollingInterval", KEDA_DEFAULT_POLLING_S),
            cooldown_period_s=_int(spec, "cooldownPeriod", KEDA_DEFAULT_COOLDOWN_S),
            initial_cooldown_period_s=_int(spec, "initialCooldownPeriod", KEDA_DEFAULT_INITIAL_COOLDOWN_S),
            idle_replicas=_int(spec, "idleReplicaCount", None),
            behavior=behavior,
            name=name,
            fallback=fallback,
        )

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "polling_interval_s": self.polling_interval_s,
            "cooldown_period_s": self.cooldown_period_s,
            "initial_cooldown_period_s": self.initial_cooldown_period_s,
            "idle_replicas": self.idle_replicas,
            "behavior": _plain(self.behavior),
            "fallback": self.fallback.to_dict() if self.fallback else None,
            "triggers": [
                {
                    "name": t.name,
                    "kind": t.kind,
                    "target": t.target,
                    "metric_type": t.metric_type,
                    "activation": t.activation,
                    "rate_window_s": t.rate_window_s,
                    "use_cached_metrics": t.use_cached_metrics,
                    "query": t.query,
                    "unsupported_reason": t.unsupported_reason,
                    "ignore_null_values": t.ignore_null_values,
                }
                for t in self.triggers
            ],
        }


def _plain(value):
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _int(spec: Mapping, key: str, default):
    value = spec.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"spec.{key}", f"must be a whole number, got {value!r}")
    return value


def _number(text: Any, path: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise SpecError(path, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise SpecError(path, f"{text!r} is not a finite number")
    return value


def _trigger(raw: Any, index: int, classify) -> Trigger:
    path = f"spec.triggers[{index}]"
    if not isinstance(raw, Mapping):
        raise SpecError(path, "a trigger must be a mapping")
    name = str(raw.get("name") or f"trigger-{index}")
    metric_type = raw.get("metricType") or AVERAGE_VALUE
    use_cached = bool(raw.get("useCachedMetrics", False))
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise SpecError(f"{path}.metadata", "must be a mapping")
    if raw.get("type") != "prometheus":
        # Not simulated: kept so the report names it; it reads 0 like an empty query result.
        return Trigger(
            name=name,
            kind=None,
            target=1.0,
            metric_type=metric_type if metric_type in (AVERAGE_VALUE, VALUE) else AVERAGE_VALUE,
            use_cached_metrics=use_cached,
            unsupported_reason=f"trigger type {raw.get('type')!r} is not simulated",
        )
    if "threshold" not in metadata:
        raise SpecError(f"{path}.metadata.threshold", "required by the prometheus scaler")
    query = str(metadata.get("query") or "")
    if not query:
        raise SpecError(f"{path}.metadata.query", "required by the prometheus scaler")
    target = _number(metadata["threshold"], f"{path}.metadata.threshold")
    activation = _number(metadata.get("activationThreshold", 0), f"{path}.metadata.activationThreshold")
    kind, window, reason = classify(query)
    try:
        ignore_null = parse_bool(metadata.get("ignoreNullValues"), f"{path}.metadata.ignoreNullValues", True)
    except FallbackError as err:
        raise SpecError(err.path, err.message) from None
    try:
        return Trigger(
            name=name,
            kind=kind,
            target=target,
            metric_type=metric_type,
            activation=activation,
            rate_window_s=window or DEFAULT_RATE_WINDOW_S,
            use_cached_metrics=use_cached,
            query=query,
            unsupported_reason=reason or "",
            ignore_null_values=ignore_null,
        )
    except SpecError as err:
        raise SpecError(path, err.message) from None


# --- PromQL -> metric kind ---------------------------------------------------------------

_GAUGES = {
    "vllm:num_requests_waiting": ("sum", QUEUE),
    "vllm:num_requests_running": ("sum", RUNNING),
    "vllm:kv_cache_usage_perc": ("avg", KV_CACHE_USAGE),
}
_RATE_FUNCTIONS = ("rate", "irate")


def classify_query(query: str) -> tuple[str | None, float | None, str]:
    """``(kind, rate window in s, reason)`` for a trigger query: ``sum(vllm:num_requests_waiting{…})``
    is QUEUE, ``sum(vllm:num_requests_running{…})`` RUNNING, ``avg(vllm:kv_cache_usage_perc{…})``
    KV_CACHE_USAGE, ``sum(rate(vllm:request_success_total{…}[w]))`` REQUEST_RATE; anything else
    ``(None, None, why)``.  Label matchers are not interpreted: the simulation is of one model."""
    import promql_parser

    from llmfleet.model.promql import parse_query

    parsed = parse_query(query)
    if not parsed.ok:
        return None, None, f"the query does not parse: {parsed.error}"
    expr = parsed.top_aggregation
    op = str(getattr(expr, "op", "") or "").rsplit(".", 1)[-1].lower()
    if expr is None or op not in ("sum", "avg"):
        return None, None, "not a sum(...) or avg(...) of one vLLM series"
    modifier = getattr(expr, "modifier", None)
    if modifier is not None and list(getattr(modifier, "labels", []) or []):
        return None, None, "grouped (by/without): KEDA needs a single series"
    inner = expr.expr
    if isinstance(inner, promql_parser.VectorSelector):
        found = _GAUGES.get(str(inner.name))
        if found is None:
            return None, None, f"{inner.name} is not a vLLM series the replica model produces"
        aggregation, kind = found
        if kind == KV_CACHE_USAGE and op == "sum":
            return KV_CACHE_USAGE_SUM, None, ""
        if aggregation != op:
            return None, None, f"{op}({inner.name}) is not simulated (use {aggregation})"
        return kind, None, ""
    if isinstance(inner, promql_parser.Call) and inner.func.name in _RATE_FUNCTIONS and op == "sum":
        arg = inner.args[0] if inner.args else None
        if (
            isinstance(arg, promql_parser.MatrixSelector)
            and arg.vector_selector.name == "vllm:request_success_total"
        ):
            return REQUEST_RATE, arg.range.total_seconds(), ""
    return None, None, "not a vLLM queue, running, KV-cache or request-rate query"


# --- HPA behavior (autoscaling/v2) ---------------------------------------------------------


def validate_behavior(behavior: Mapping[str, Any]) -> None:
    """Raise SpecError for a behavior the API server would reject (the fields used here)."""
    if not isinstance(behavior, Mapping):
        raise SpecError("behavior", "must be a mapping")
    for direction in ("scaleUp", "scaleDown"):
        rules = behavior.get(direction)
        if rules is None:
            continue
        path = f"behavior.{direction}"
        if not isinstance(rules, Mapping):
            raise SpecError(path, "must be a mapping")
        window = rules.get("stabilizationWindowSeconds")
        if window is not None and (
            isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= MAX_STABILIZATION_S
        ):
            raise SpecError(
                f"{path}.stabilizationWindowSeconds",
                f"must be a whole number 0..{MAX_STABILIZATION_S}, got {window!r}",
            )
        select = rules.get("selectPolicy")
        if select is not None and select not in SELECT_POLICIES:
            raise SpecError(f"{path}.selectPolicy", f"{select!r} is not one of {', '.join(SELECT_POLICIES)}")
        policies = rules.get("policies")
        if policies is not None:
            if not isinstance(policies, list) or not policies:
                raise SpecError(f"{path}.policies", "must be a non-empty list when set")
            for i, policy in enumerate(policies):
                ppath = f"{path}.policies[{i}]"
                if not isinstance(policy, Mapping):
                    raise SpecError(ppath, "must be a mapping")
                if policy.get("type") not in POLICY_TYPES:
                    raise SpecError(f"{ppath}.type", f"{policy.get('type')!r} is not Pods or Percent")
                value = policy.get("value")
                if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                    raise SpecError(f"{ppath}.value", f"must be a whole number > 0, got {value!r}")
                period = policy.get("periodSeconds")
                if (
                    isinstance(period, bool)
                    or not isinstance(period, int)
                    or not 0 < period <= MAX_POLICY_PERIOD_S
                ):
                    raise SpecError(
                        f"{ppath}.periodSeconds",
                        f"must be a whole number 1..{MAX_POLICY_PERIOD_S}, got {period!r}",
                    )
        if rules.get("tolerance") is not None:
            tolerance = parse_quantity(rules["tolerance"], f"{path}.tolerance")
            if tolerance < 0:
                raise SpecError(f"{path}.tolerance", "must be >= 0")


def parse_quantity(value: Any, path: str) -> float:
    """A Kubernetes quantity as a float ("0.05", "50m", 0.1); SpecError naming ``path``
    when it is not one (llmfleet.model.k8s reads quantities)."""
    number = _k8s_quantity(value)
    if number is None or not number.is_finite():
        raise SpecError(path, f"{value!r} is not a quantity")
    return float(number)


@dataclass(frozen=True)
class ScalingPolicy:
    type: str
    value: int
    period_s: int


@dataclass(frozen=True)
class ScalingRules:
    """HPAScalingRules after the API server's defaulting (GenerateHPAScale{Up,Down}Rules)."""

    stabilization_window_s: int | None
    select_policy: str
    policies: tuple[ScalingPolicy, ...]
    tolerance: float | None = None

    @property
    def longest_period_s(self) -> int:
        return max((p.period_s for p in self.policies), default=0)


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


#: pkg/apis/autoscaling/v2/defaults.go: scale up 0 s window, Max of 4 Pods / 100 % per 15 s.
DEFAULT_SCALE_UP = ScalingRules(0, "Max", (ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)))
#: Scale down: window nil (the controller's --horizontal-pod-autoscaler-downscale-stabilization,
#: 300 s), Max of 100 % per 15 s.
DEFAULT_SCALE_DOWN = ScalingRules(None, "Max", (ScalingPolicy("Percent", 100, 15),))


def _rules(raw: Mapping[str, Any] | None, default: ScalingRules, path: str) -> ScalingRules:
    if raw is None:
        return default
    policies = default.policies
    if raw.get("policies") is not None:
        policies = tuple(
            ScalingPolicy(p["type"], int(p["value"]), int(p["periodSeconds"])) for p in raw["policies"]
        )
    window = raw.get("stabilizationWindowSeconds", default.stabilization_window_s)
    tolerance = raw.get("tolerance")
    return ScalingRules(
        stabilization_window_s=window,
        select_policy=raw.get("selectPolicy") or default.select_policy,
        policies=policies,
        tolerance=parse_quantity(tolerance, f"{path}.tolerance") if tolerance is not None else None,
    )


def resolve_behavior(behavior: Mapping[str, Any] | None) -> Behavior | None:
    """The behavior with the API defaults filled in, field by field (copyHPAScalingRules);
    None when the HPA has no behavior (the controller's legacy path then applies)."""
    if behavior is None:
        return None
    validate_behavior(behavior)
    return Behavior(
        scale_up=_rules(behavior.get("scaleUp"), DEFAULT_SCALE_UP, "behavior.scaleUp"),
        scale_down=_rules(behavior.get("scaleDown"), DEFAULT_SCALE_DOWN, "behavior.scaleDown"),
    )


__all__ = [
    "AVERAGE_VALUE",
    "VALUE",
    "QUEUE",
    "RUNNING",
    "KV_CACHE_USAGE",
    "KV_CACHE_USAGE_SUM",
    "REQUEST_RATE",
    "METRIC_KINDS",
    "SpecError",
    "Trigger",
    "ScalingSpec",
    "classify_query",
    "Behavior",
    "ScalingRules",
    "ScalingPolicy",
    "resolve_behavior",
    "validate_behavior",
    "parse_quantity",
    "DEFAULT_SCALE_UP",
    "DEFAULT_SCALE_DOWN",
]
