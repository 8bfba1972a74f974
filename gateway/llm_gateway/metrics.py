"""Prometheus metrics.  The ``model`` label only takes the names in the routes file or
``unknown``; ``endpoint`` only takes the values of :data:`ENDPOINTS` or ``other``."""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)


def multiprocess_dir() -> str | None:
    """Set by the supervisor when there are several worker processes: each worker writes
    its values there and the supervisor serves the sum (prometheus_client multiprocess)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


UNKNOWN = "unknown"

#: Request path -> endpoint label.
ENDPOINTS = {
    "/v1/chat/completions": "chat_completions",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
    "/v1/models": "models",
    "/v1/responses": "responses",
    "/v1/rerank": "rerank",
    "/v1/score": "score",
    "/v1/audio/transcriptions": "audio_transcriptions",
    "/v1/audio/translations": "audio_translations",
    "/v1/moderations": "moderations",
    "/v1/tokenize": "tokenize",
    "/v1/detokenize": "detokenize",
}

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_TTFB_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def endpoint_label(path: str) -> str:
    if path.startswith("/v1/models"):
        return "models"
    return ENDPOINTS.get(path, "other")


class Metrics:
    def __init__(
        self,
        known_models: list[str],
        registry: CollectorRegistry | None = None,
        *,
        process_metrics: bool = False,
    ) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        if process_metrics:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self.known = frozenset(known_models)
        self.requests = Counter(
            "llm_gateway_requests",
            "Requests handled, by model, endpoint and HTTP status.",
            ["model", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "llm_gateway_request_duration_seconds",
            "Time from request received to response finished (whole stream), by model and endpoint.",
            ["model", "endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ttfb = Histogram(
            "llm_gateway_upstream_first_byte_seconds",
            "Time from request received to the first body byte from the backend.",
            ["model", "endpoint"],
            buckets=_TTFB_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "llm_gateway_requests_in_flight",
            "Requests being proxied now, by model.",
            ["model"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.retries = Counter(
            "llm_gateway_backend_retries",
            "Requests retried on a fresh backend connection before their first byte, by model and reason.",
            ["model", "reason"],
            registry=self.registry,
        )
        self.errors = Counter(
            "llm_gateway_errors",
            "Failed requests by model, HTTP status and error code (gateway error codes, "
            "'backend_error' for a backend 4xx/5xx, 'client_disconnected').",
            ["model", "status", "code"],
            registry=self.registry,
        )
        # Pre-create the in-flight series so dashboards see 0 rather than nothing.
        for name in self.known:
            self.in_flight.labels(name)
        self._children: dict[tuple, tuple] = {}
        self._in_flight: dict[str, object] = {}

    def in_flight_child(self, model: str):
        child = self._in_flight.get(model)
        if child is None:
            child = self._in_flight[model] = self.in_flight.labels(model)
        return child

    def observe(
        self, model: str, endpoint: str, status: int, code: str | None, duration: float, ttfb: float | None
    ) -> None:
        """Record one finished request (label children cached: no lookups per request)."""
        key = (model, endpoint, status, code)
        children = self._children.get(key)
        if children is None:
            error = None
            if code is not None or status >= 400:
                error = self.errors.labels(model, str(status), code or "error")
            children = (
                self.requests.labels(model, endpoint, str(status)),
                self.latency.labels(model, endpoint),
                self.ttfb.labels(model, endpoint),
                error,
            )
            if len(self._children) < 10000:
                self._children[key] = children
        children[0].inc()
        children[1].observe(duration)
        if ttfb is not None:
            children[2].observe(ttfb)
        if children[3] is not None:
            children[3].inc()

    def model_label(self, model: object) -> str:
        return model if isinstance(model, str) and model in self.known else UNKNOWN
