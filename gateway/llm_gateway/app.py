"""The gateway: one OpenAI-compatible endpoint in front of every vLLM backend.

Request flow for ``/v1/*``: refuse unsafe paths (404) -> check the client's Bearer key
(401) -> local answers for ``GET /v1/models[/{id}]`` -> for ``POST``, take ``model``
from the JSON body (orjson, the one parse) -> forward the unchanged body to that model's
backend with the gateway's own headers (proxy.py) -> relay the response as it arrives.
Everything else about connections (timeouts, limits) is httpserver.py's.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .auth import KeyStore, bearer_token, key_id
from .config import Route, Routes, Settings
from .endpoints import forwarded
from .errors import error_json
from .httpserver import ClientConnection, HttpServer, Request, ServerLimits
from .logs import write_access
from .metrics import UNKNOWN, Metrics, endpoint_label
from .paths import split_target
from .proxy import Exchange, Outcome, forward, forwarded_headers, start_on_idle_connection
from .upstream import Backend

log = logging.getLogger("llm_gateway")
access_log = logging.getLogger("llm_gateway.access")

#: Status used in logs and metrics when the client disconnected before the response
#: ended (nginx's convention).
CLIENT_CLOSED = 499

_REQUEST_ID_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
_JSON = b"application/json"


_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)


def _request_id(value: bytes | None) -> bytes:
    """A client's X-Request-Id is kept only if it looks like an id; otherwise a new one:
    a random per-process prefix and a counter (unique without a syscall per request)."""
    if value and len(value) <= 128 and all(c in _REQUEST_ID_CHARS for c in value):
        return value
    return b"%s%016x" % (_ID_PREFIX.encode(), next(_ID_COUNTER))


class Gateway:
    def __init__(
        self,
        routes: Routes,
        keys: KeyStore,
        settings: Settings,
        *,
        backend_api_key: str = "",
        metrics: Metrics | None = None,
        serve_metrics: bool | None = None,
    ) -> None:
        self.routes = routes
        self.keys = keys
        self.settings = settings
        self.metrics = metrics or Metrics(routes.names)
        #: /metrics on the main port only when there is no metrics port.
        self.serve_metrics = (settings.metrics_port == 0) if serve_metrics is None else serve_metrics
        self.started = int(time.time())
        self.shutting_down = False
        self.exchanges: set[Exchange] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.backends: dict[str, Backend] = {}
        self.targets: dict[str, tuple[Route, Backend, bytes]] = {}
        auth = b""
        if backend_api_key:
            auth = b"Authorization: Bearer " + backend_api_key.encode("latin-1") + b"\r\n"
        pool_limit = settings.pool_limit
        for name, route in routes.models.items():
            backend = self.backends.get(route.url)
            if backend is None:
                backend = self.backends[route.url] = Backend(
                    route.url,
                    limit=pool_limit,
                    idle_timeout=settings.backend_idle_timeout,
                    max_lifetime=settings.backend_max_lifetime,
                )
            self.targets[name] = (route, backend, auth if route.api_key else b"")
        self._models_body = orjson.dumps(
            {
                "object": "list",
                "data": [
                    {"id": n, "object": "model", "created": self.started, "owned_by": "vllm"}
                    for n in routes.names
                ],
            }
        )
        missing = [r.name for r in routes.models.values() if r.api_key and not backend_api_key]
        if missing:
            log.warning(
                "routes need a backend API key but none is configured",
                extra={"event": "backend_key_missing", "models": missing},
            )

    def limits(self) -> ServerLimits:
        s = self.settings
        return ServerLimits(
            header_timeout=s.header_timeout,
            body_timeout=s.body_timeout,
            idle_timeout=s.idle_timeout,
            max_header_bytes=s.max_header_bytes,
            max_body_bytes=s.max_body_bytes,
            max_connections=s.max_connections,
            max_per_client=s.max_connections_per_client,
        )

    def backend_connections(self) -> int:
        """The most backend connections this process may open."""
        return self.settings.pool_limit * len(self.backends)

    # ----------------------------------------------------------------- dispatch
    def dispatch(self, conn: ClientConnection, req: Request) -> None:
        """A complete request (called by the connection; must not block)."""
        target = bytes(req.target)
        path = target.split(b"?", 1)[0]
        if path == b"/healthz":
            if self.shutting_down:
                conn.respond(503, b'{"status":"shutting down"}')
            else:
                conn.respond(200, b'{"status":"ok","models":%d}' % len(self.routes.models))
            return
        if path == b"/metrics" and self.serve_metrics:
            conn.respond(
                200, generate_latest(self.metrics.registry), content_type=CONTENT_TYPE_LATEST.encode()
            )
            return
        if not (path == b"/v1" or path.startswith(b"/v1/")):
            conn.respond(404, error_json(404, "Not found.", code="unknown_url"))
            return
        self._v1(conn, req, target)

    def _v1(self, conn: ClientConnection, req: Request, target: bytes) -> None:
        request_id = _request_id(req.header(b"x-request-id"))
        method = req.method
        split = split_target(target, encoded_separators=True)
        if split is None or (method != b"GET" and split_target(target) is None):
            self._reject(
                conn,
                req,
                request_id,
                None,
                404,
                "unknown_url",
                "Invalid URL: the path must not contain '.', '..', empty or encoded-separator segments.",
            )
            return
        path, query = split
        key = bearer_token(req.header(b"authorization"))
        if key is None or not self.keys.check(key):
            message = (
                "Incorrect API key provided."
                if req.header(b"authorization")
                else "Missing API key: send it as 'Authorization: Bearer <key>'."
            )
            self._reject(conn, req, request_id, None, 401, "invalid_api_key", message)
            return
        kid = key_id(key)
        if method == b"GET" and path == b"/v1/models":
            self._finish(conn, req, request_id, kid, UNKNOWN, "", 200, None, body=self._models_body)
            return
        if method == b"GET" and path.startswith(b"/v1/models/"):
            from urllib.parse import unquote_to_bytes

            name = unquote_to_bytes(path[len(b"/v1/models/") :]).decode("utf-8", "replace")
            if name in self.targets:
                body = orjson.dumps(
                    {"id": name, "object": "model", "created": self.started, "owned_by": "vllm"}
                )
                self._finish(conn, req, request_id, kid, name, "", 200, None, body=body)
            else:
                self._finish_unknown_model(conn, req, request_id, kid, name)
            return
        if method != b"POST" or not forwarded(path):
            invalid = f"Invalid URL ({method.decode('latin-1')} {path.decode('latin-1')})"
            self._reject(conn, req, request_id, kid, 404, "unknown_url", invalid)
            return
        body = bytes(req.body)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = None
            self._reject(
                conn, req, request_id, kid, 400, "invalid_json", "The request body is not valid JSON."
            )
            return
        if not isinstance(payload, dict):
            self._reject(
                conn, req, request_id, kid, 400, "invalid_json", "The request body must be a JSON object."
            )
            return
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            self._reject(
                conn,
                req,
                request_id,
                kid,
                400,
                "missing_model",
                "You must provide a model parameter.",
                param="model",
            )
            return
        target_info = self.targets.get(model)
        if target_info is None:
            self._finish_unknown_model(conn, req, request_id, kid, model)
            return
        if self.shutting_down:
            shutdown = "The gateway is shutting down; retry the request."
            self._reject(conn, req, request_id, kid, 503, "gateway_shutdown", shutdown, model=model)
            return
        route, backend, auth = target_info
        upstream_target = path + (b"?" + query if query else b"")
        request = b"".join(
            (
                b"POST ",
                upstream_target,
                b" HTTP/1.1\r\nHost: ",
                backend.host_header,
                b"\r\n",
                forwarded_headers(req.headers),
                b"X-Request-Id: ",
                request_id,
                b"\r\nX-Forwarded-For: ",
                req.peer.encode("ascii", "replace"),
                b"\r\nX-Forwarded-Proto: http\r\nContent-Length: %d\r\n" % len(body),
                auth,
                b"\r\n",
                body,
            )
        )
        started = start_on_idle_connection(
            conn,
            backend,
            request,
            model=route.name,
            request_id=request_id,
            read_timeout=route.read_timeout,
            registry=self.exchanges,
        )
        task = asyncio.ensure_future(
            self._proxy(
                conn, req, request_id, kid, route, backend, request, payload.get("stream") is True, started
            )
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _proxy(
        self,
        conn: ClientConnection,
        req: Request,
        request_id: bytes,
        kid: str,
        route: Route,
        backend: Backend,
        request: bytes,
        stream: bool,
        started: Any = None,
    ) -> None:
        gauge = self.metrics.in_flight_child(route.name)
        gauge.inc()
        outcome: Outcome | None = None
        try:
            outcome = await forward(
                conn,
                backend,
                request,
                model=route.name,
                request_id=request_id,
                connect_timeout=route.connect_timeout,
                pool_timeout=route.pool_timeout,
                read_timeout=route.read_timeout,
                retries=self.settings.backend_retries,
                registry=self.exchanges,
                started=started,
                on_retry=lambda why: self.metrics.retries.labels(route.name, why).inc(),
            )
        except Exception as exc:  # never a traceback with request data in it
            log.error(
                "proxy failed",
                extra={"event": "internal_error", "error": type(exc).__name__, "model": route.name},
            )
            conn.respond(500, error_json(500, "Internal gateway error.", code="internal_error"))
        finally:
            gauge.dec()
            status = outcome.status if outcome else 500
            code = outcome.code if outcome else "internal_error"
            if code is None and status >= 400:
                code = "backend_error"
            ttfb = None if outcome is None or outcome.ttfb is None else outcome.ttfb - req.start
            sent = outcome.bytes_out if outcome and outcome.bytes_out is not None else conn.bytes_out
            self._log(
                req,
                request_id,
                kid,
                route.name,
                route.overlay,
                status,
                code,
                stream or bool(outcome and outcome.stream),
                ttfb,
                sent,
            )

    def _unknown_model(self, name: str) -> bytes:
        known = ", ".join(self.routes.names)
        if len(name) > 200:
            name = name[:200] + "..."
        return error_json(
            404,
            f"The model '{name}' does not exist. Known models: {known}.",
            code="model_not_found",
            param="model",
        )

    def _finish_unknown_model(
        self, conn: ClientConnection, req: Request, request_id: bytes, kid: str, name: str
    ) -> None:
        body = self._unknown_model(name)
        self._finish(conn, req, request_id, kid, UNKNOWN, "", 404, "model_not_found", body=body)

    def _reject(
        self,
        conn: ClientConnection,
        req: Request,
        request_id: bytes,
        kid: str | None,
        status: int,
        code: str,
        message: str,
        *,
        model: str = UNKNOWN,
        param: str | None = None,
    ) -> None:
        """Answer an OpenAI-style error locally and log it."""
        body = error_json(status, message, code=code, param=param)
        self._finish(conn, req, request_id, kid, model, "", status, code, body=body)

    def _finish(
        self,
        conn: ClientConnection,
        req: Request,
        request_id: bytes,
        kid: str | None,
        model: str,
        overlay: str,
        status: int,
        code: str | None,
        *,
        body: bytes,
    ) -> None:
        """Answer locally and log."""
        conn.respond(status, body, headers=[(b"X-Request-Id", request_id)])
        self._log(req, request_id, kid, model, overlay, status, code, False, None, len(body))

    def _log(
        self,
        req: Request,
        request_id: bytes,
        kid: str | None,
        model: str,
        overlay: str,
        status: int,
        code: str | None,
        stream: bool,
        ttfb: float | None,
        bytes_out: int,
    ) -> None:
        target = bytes(req.target).split(b"?", 1)[0]
        duration = asyncio.get_running_loop().time() - req.start
        path = target.decode("ascii", "replace")
        self.metrics.observe(model, endpoint_label(path), status, code, duration, ttfb)
        fields = {
            "event": "access",
            "request_id": request_id.decode("ascii"),
            "method": req.method.decode("latin-1"),
            "path": path if len(path) <= 256 else path[:256] + "...",
            "model": model,
            "backend": overlay,
            "status": status,
            "error_code": code,
            "stream": stream,
            "duration_ms": round(duration * 1000, 3),
            "ttfb_ms": None if ttfb is None else round(ttfb * 1000, 3),
            "bytes_in": len(req.body),
            "bytes_out": bytes_out,
            "client": req.peer,
            "key_id": kid,
        }
        if not write_access(fields):
            access_log.info("access", extra=fields)

    # ----------------------------------------------------------------- shutdown
    def begin_shutdown(self) -> None:
        self.shutting_down = True
        for backend in self.backends.values():
            backend.close()

    def end_in_flight(self) -> None:
        """The grace period is over: every open stream gets an SSE error event and ends."""
        for exchange in list(self.exchanges):
            exchange.shutdown()

    def close(self) -> None:
        for backend in self.backends.values():
            backend.close()


class MetricsApp:
    """The metrics port: ``GET /metrics`` only."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def dispatch(self, conn: ClientConnection, req: Request) -> None:
        path = bytes(req.target).split(b"?", 1)[0]
        if req.method == b"GET" and path == b"/metrics":
            conn.respond(200, generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST.encode())
        else:
            conn.respond(404, error_json(404, "Not found.", code="unknown_url"))


async def start(
    gateway: Gateway, host: str, port: int, *, reuse_port: bool = False, backlog: int = 1024
) -> tuple[asyncio.AbstractServer, HttpServer]:
    """Listen for clients; returns the asyncio server and the connection bookkeeping."""
    loop = asyncio.get_running_loop()
    http = HttpServer(gateway.dispatch, gateway.limits(), backend_connections=gateway.backend_connections())
    server = await loop.create_server(http, host, port, reuse_port=reuse_port or None, backlog=backlog)
    return server, http


async def start_metrics(app: MetricsApp, host: str, port: int) -> asyncio.AbstractServer:
    loop = asyncio.get_running_loop()
    limits = ServerLimits(
        header_timeout=10,
        body_timeout=10,
        idle_timeout=60,
        max_header_bytes=16384,
        max_body_bytes=0,
        max_connections=64,
        max_per_client=16,
    )
    return await loop.create_server(HttpServer(app.dispatch, limits), host, port)
