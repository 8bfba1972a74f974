"""KEDA's ``spec.fallback``: what the HPA is served when a trigger keeps failing.

kedacore/keda ``pkg/fallback/fallback.go`` (``GetMetricsWithFallback``, ``doFallback``): KEDA
counts, per metric, the consecutive failed reads (``status.health[metric].numberOfFailures``,
back to 0 on a good read).  With ``spec.fallback`` set and the count above
``failureThreshold``, the failed read is answered with ``replicas x target`` instead of an
error (for a Value target, ``replicas / ready pods x target``; no Ready pod: still an error),
so the HPA settles on ``replicas``.  ``behavior`` picks the replica count: ``static``
(``fallback.replicas``, the default), ``currentReplicas``, ``currentReplicasIfHigher``,
``currentReplicasIfLower``.  Without a fallback the error reaches the HPA, which then skips
that metric and never scales down on it (hpa.py).

A failed read in the simulation is a query whose result is empty while the trigger has
``ignoreNullValues: "false"`` (prometheus_scaler.go ``ExecutePromQuery``: "target may be lost,
the result is empty"); with the default ``true`` an empty result reads 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STATIC = "static"
BEHAVIORS = (STATIC, "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower")


class FallbackError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Fallback:
    failure_threshold: int
    replicas: int
    behavior: str = STATIC

    def replicas_for(self, current: int) -> int:
        if self.behavior == "currentReplicas":
            return current
        if self.behavior == "currentReplicasIfHigher":
            return max(current, self.replicas)
        if self.behavior == "currentReplicasIfLower":
            return min(current, self.replicas)
        return self.replicas

    def to_dict(self) -> dict[str, Any]:
        return {
            "failure_threshold": self.failure_threshold,
            "replicas": self.replicas,
            "behavior": self.behavior,
        }


def parse(raw: Any) -> Fallback | None:
    """``spec.fallback`` of a ScaledObject (None when absent)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise FallbackError("spec.fallback", "must be a mapping")
    values = {}
    for key in ("failureThreshold", "replicas"):
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FallbackError(f"spec.fallback.{key}", f"must be a whole number >= 0, got {value!r}")
        values[key] = value
    behavior = raw.get("behavior") or STATIC
    if behavior not in BEHAVIORS:
        raise FallbackError("spec.fallback.behavior", f"{behavior!r} is not one of {', '.join(BEHAVIORS)}")
    return Fallback(values["failureThreshold"], values["replicas"], str(behavior))


def parse_bool(text: Any, path: str, default: bool) -> bool:
    """A trigger metadata boolean as KEDA reads it (Go's strconv.ParseBool)."""
    if text is None:
        return default
    if isinstance(text, bool):
        return text
    value = str(text).strip()
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise FallbackError(path, f"{text!r} is not a boolean")


class Health:
    """KEDA's per-metric failure count and the value it serves the HPA."""

    def __init__(self, fallback: Fallback | None):
        self.fallback = fallback
        self.failures: dict[str, int] = {}
        self.falling_back: set[str] = set()

    def serve(
        self, trigger, value: float | None, current: int, ready_pods: int, value_type: bool
    ) -> float | None:
        """``value``: the scaler's reading (None: an error).  Returns what the HPA gets
        (None: the error)."""
        name = trigger.name
        if value is not None:
            self.failures[name] = 0
            self.falling_back.discard(name)
            return value
        self.failures[name] = self.failures.get(name, 0) + 1
        fb = self.fallback
        if fb is None or self.failures[name] <= fb.failure_threshold:
            return None
        replicas = float(fb.replicas_for(current))
        if value_type:
            if ready_pods == 0:
                return None  # doFallback: "readyReplicas is zero, cannot do fallback"
            replicas /= ready_pods
        self.falling_back.add(name)
        return trigger.target * replicas


__all__ = ["Fallback", "FallbackError", "Health", "parse", "parse_bool", "BEHAVIORS"]
