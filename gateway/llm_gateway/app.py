"""The gateway: one OpenAI-compatible endpoint in front of every vLLM backend.

Request flow for ``/v1/*``: check the client's Bearer key -> read the body (size-limited)
-> take ``model`` from the JSON body -> forward the *unchanged* body to that model's
backend -> pass the response through byte for byte as it arrives (SSE streams are never
buffered).  If the client goes away, the handler is cancelled (``handler_cancellation``)
and the upstream connection is closed, which makes vLLM abort the generation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .auth import KeyStore, bearer_token, key_id
from .config import Routes, Settings
from .errors import ERROR_CODE, error_response, sse_error_event
from .metrics import Metrics, UNKNOWN, endpoint_label

log = logging.getLogger("llm_gateway")
access_log = logging.getLogger("llm_gateway.access")

# Application keys.
GATEWAY = web.AppKey("gateway", "Gateway")


class RequestState:
    """What the middleware needs to know about a proxied request (for logs/metrics)."""

    __slots__ = ("start", "request_id", "model", "overlay", "stream", "ttfb", "bytes_in",
                 "bytes_out", "final_status", "error_code")

    def __init__(self, start: float, request_id: str) -> None:
        self.start = start
        self.request_id = request_id
        self.model = UNKNOWN
        self.overlay = ""
        self.stream = False
        self.ttfb: float | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.final_status: int | None = None  # overrides the response status (mid-stream)
        self.error_code: str | None = None


STATE = web.RequestKey("llm_gateway_state", RequestState)

#: Status used in logs and metrics when the client disconnected before the response ended
#: (nginx's convention).
CLIENT_CLOSED = 499

_HOP_BY_HOP = frozenset(h.lower() for h in (
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
    "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
))
_DROP_REQUEST = _HOP_BY_HOP | {"authorization", "x-forwarded-for", "x-forwarded-proto"}
_DROP_RESPONSE = _HOP_BY_HOP | {"server", "date"}

#: A client-sent X-Request-Id is kept (and forwarded) only if it looks like an id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_UPSTREAM_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class Gateway:
    def __init__(self, routes: Routes, keys: KeyStore, settings: Settings, *,
                 backend_api_key: str = "", metrics: Metrics | None = None) -> None:
        self.routes = routes
        self.keys = keys
        self.settings = settings
        self.backend_api_key = backend_api_key
        self.metrics = metrics or Metrics(routes.names)
        self.session: aiohttp.ClientSession | None = None
        self.started = int(time.time())
        self.shutting_down = False
        self._models_body = json.dumps({
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": self.started, "owned_by": "vllm"}
                for name in routes.names
            ],
        }).encode()
        missing = [r.name for r in routes.models.values() if r.api_key and not backend_api_key]
        if missing:
            log.warning("routes need a backend API key but none is configured",
                        extra={"event": "backend_key_missing", "models": missing})

    # ----------------------------------------------------------------- lifecycle
    async def on_startup(self, app: web.Application) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.settings.pool_limit,
            limit_per_host=self.settings.pool_limit_per_host,
            keepalive_timeout=30,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # bytes pass through unchanged, with Content-Encoding
            skip_auto_headers=("Accept-Encoding", "User-Agent"),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def on_shutdown(self, app: web.Application) -> None:
        # Listening sockets are already closed; in-flight requests still run and are
        # awaited (up to shutdown_timeout) after this returns.
        self.shutting_down = True
        log.info("shutting down: no new connections, finishing in-flight requests",
                 extra={"event": "shutdown", "grace_seconds": self.settings.shutdown_grace})

    async def on_cleanup(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    # ----------------------------------------------------------------- middleware
    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Authentication, access log and metrics for ``/v1/*``."""
        if not request.path.startswith("/v1/") and request.path != "/v1":
            return await handler(request)
        start = time.perf_counter()
        request_id = request.headers.get("X-Request-Id", "")
        if not _REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        st = request[STATE] = RequestState(start, request_id)
        endpoint = endpoint_label(request.path)
        m = self.metrics
        status = 500
        code: str | None = None
        key: str | None = None
        resp: web.StreamResponse | None = None
        try:
            key = bearer_token(request.headers.get("Authorization"))
            if key is None or not self.keys.check(key):
                resp = error_response(
                    401,
                    "Incorrect API key provided." if key else
                    "Missing API key: send it as 'Authorization: Bearer <key>'.",
                    code="invalid_api_key")
            else:
                resp = await handler(request)
            status = st.final_status or resp.status
            code = resp.get(ERROR_CODE) or st.error_code
            if code is None and status >= 400:
                code = "backend_error"
            if not resp.prepared:
                resp.headers["X-Request-Id"] = request_id
            return resp
        except asyncio.CancelledError:
            status, code = CLIENT_CLOSED, "client_disconnected"
            raise
        except web.HTTPException as exc:
            status = exc.status
            raise
        except Exception:
            status, code = 500, "internal_error"
            log.exception("unhandled error", extra={"event": "error", "request_id": request_id})
            resp = error_response(500, "Internal gateway error.", code="internal_error")
            return resp
        finally:
            if st.final_status == CLIENT_CLOSED:
                status, code = CLIENT_CLOSED, "client_disconnected"
            model = st.model
            duration = time.perf_counter() - start
            m.requests.labels(model, endpoint, str(status)).inc()
            m.latency.labels(model, endpoint).observe(duration)
            if code is not None or status >= 400:
                m.errors.labels(model, str(status), code or "error").inc()
            ttfb = st.ttfb
            if ttfb is not None:
                m.ttfb.labels(model, endpoint).observe(ttfb)
            access_log.info("access", extra={
                "event": "access",
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "model": model,
                "backend": st.overlay,
                "status": status,
                "error_code": code,
                "stream": st.stream,
                "duration_ms": round(duration * 1000, 3),
                "ttfb_ms": None if ttfb is None else round(ttfb * 1000, 3),
                "bytes_in": st.bytes_in,
                "bytes_out": st.bytes_out,
                "client": request.remote,
                "key_id": key_id(key) if key else None,
            })

    # ----------------------------------------------------------------- handlers
    async def healthz(self, request: web.Request) -> web.Response:
        if self.shutting_down:
            return web.json_response({"status": "shutting down"}, status=503)
        return web.json_response({"status": "ok", "models": len(self.routes.models)})

    async def metrics_handler(self, request: web.Request) -> web.Response:
        resp = web.Response(body=generate_latest(self.metrics.registry))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    async def list_models(self, request: web.Request) -> web.Response:
        return web.Response(body=self._models_body, content_type="application/json")

    async def get_model(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        route = self.routes.models.get(name)
        if route is None:
            return self._unknown_model(name)
        request[STATE].model = name
        return web.json_response(
            {"id": name, "object": "model", "created": self.started, "owned_by": "vllm"})

    async def not_found(self, request: web.Request) -> web.Response:
        return error_response(404, f"Invalid URL ({request.method} {request.path})",
                              code="unknown_url")

    def _unknown_model(self, name: str) -> web.Response:
        known = ", ".join(self.routes.names)
        if len(name) > 200:
            name = name[:200] + "..."
        return error_response(
            404, f"The model '{name}' does not exist. Known models: {known}.",
            code="model_not_found", param="model")

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        max_body = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > max_body:
            return self._too_large(max_body)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(max_body)
        st = request[STATE]
        st.bytes_in = len(body)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return error_response(400, "The request body is not valid JSON.", code="invalid_json")
        if not isinstance(payload, dict):
            return error_response(400, "The request body must be a JSON object.", code="invalid_json")
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            return error_response(400, "You must provide a model parameter.",
                                  code="missing_model", param="model")
        route = self.routes.models.get(model)
        if route is None:
            return self._unknown_model(model)
        st.model = model
        st.overlay = route.overlay
        st.stream = payload.get("stream") is True
        gauge = self.metrics.in_flight.labels(model)
        gauge.inc()
        try:
            return await self._forward(request, route, body)
        finally:
            gauge.dec()

    def _too_large(self, max_body: int) -> web.Response:
        return error_response(413, f"Request body too large: the limit is {max_body} bytes.",
                              code="request_too_large")

    async def _forward(self, request: web.Request, route: Any, body: bytes) -> web.StreamResponse:
        """Send the request to the backend and stream its response back.

        Read timeout: ``route.read_timeout`` seconds without a byte from the backend, for
        the response headers and between body chunks.  It is one ``asyncio.timeout``
        whose deadline moves forward lazily (only when it is more than a tenth of the
        timeout behind ``now + read_timeout``), rather than aiohttp's ``sock_read``, which
        re-arms a timer for every chunk; the effective limit is 0.9-1.0 x read_timeout.
        """
        st = request[STATE]
        loop = asyncio.get_running_loop()
        read_timeout = route.read_timeout
        slack = read_timeout / 10
        state: dict[str, Any] = {"resp": None, "sse": False}
        try:
            async with asyncio.timeout(read_timeout) as deadline:
                return await self._exchange(request, route, body, st, loop, deadline, slack, state)
        except TimeoutError:
            resp = state["resp"]
            if resp is None or not resp.prepared:
                return error_response(
                    504, f"The backend for model '{route.name}' sent nothing for "
                         f"{read_timeout:g} s.", code="backend_timeout")
            # Timed out mid-response: the status line has gone out already.
            st.error_code, st.final_status = "backend_timeout", 504
            log.warning("backend timed out mid-response", extra={
                "event": "backend_timeout", "model": route.name, "request_id": st.request_id})
            await self._end_broken_stream(request, resp, state["sse"], "backend_timeout",
                                          f"The backend sent nothing for {read_timeout:g} s.")
            return resp

    async def _end_broken_stream(self, request: web.Request, resp: web.StreamResponse,
                                 sse: bool, code: str, message: str) -> None:
        """End a response whose backend failed after the headers were sent: an SSE error
        event then a normal end for event streams; otherwise close the connection without
        the terminating chunk, so the client sees a truncated body, not a complete one."""
        try:
            if sse:
                await resp.write(sse_error_event(message, code))
                await resp.write_eof()
            elif request.transport is not None:
                request.transport.close()
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass

    async def _exchange(self, request: web.Request, route: Any, body: bytes, st: RequestState,
                        loop: asyncio.AbstractEventLoop, deadline: asyncio.Timeout,
                        slack: float, state: dict[str, Any]) -> web.StreamResponse:
        assert self.session is not None, "gateway not started"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST}
        headers["X-Request-Id"] = st.request_id
        peer = request.remote
        if peer:
            prior = request.headers.get("X-Forwarded-For")
            headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
        if route.api_key and self.backend_api_key:
            headers["Authorization"] = f"Bearer {self.backend_api_key}"
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=route.pool_timeout + route.connect_timeout,  # pool wait + connect
            sock_connect=route.connect_timeout,
            sock_read=None,  # see _forward
        )
        url = route.url + request.rel_url.raw_path_qs
        try:
            upstream = await self.session.request(
                request.method, url, data=body, headers=headers, timeout=timeout,
                allow_redirects=False)
        except _UPSTREAM_ERRORS as exc:
            log.warning("backend unreachable", extra={
                "event": "backend_unavailable", "model": route.name, "backend": route.overlay,
                "error": f"{type(exc).__name__}: {exc}", "request_id": st.request_id})
            return error_response(
                503, f"The backend for model '{route.name}' is unavailable; try again later.",
                code="backend_unavailable", headers={"Retry-After": "1"})

        finished = False
        read_timeout = route.read_timeout
        try:
            resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in _DROP_RESPONSE:
                    resp.headers.add(name, value)
            resp.headers["X-Request-Id"] = st.request_id
            sse = upstream.headers.get("Content-Type", "").startswith("text/event-stream")
            if sse:
                resp.headers["X-Accel-Buffering"] = "no"
            length = upstream.headers.get("Content-Length")
            if length is not None and "Transfer-Encoding" not in upstream.headers:
                resp.content_length = int(length)
            state["resp"], state["sse"] = resp, sse
            try:
                await resp.prepare(request)
                sent = 0
                try:
                    async for chunk in upstream.content.iter_any():
                        now = loop.time()
                        if sent == 0:
                            st.ttfb = time.perf_counter() - st.start
                        if now + read_timeout - deadline.when() > slack:  # type: ignore[operator]
                            deadline.reschedule(now + read_timeout)
                        try:
                            await resp.write(chunk)
                        except (ConnectionResetError, aiohttp.ClientConnectionResetError) as exc:
                            raise _ClientGone() from exc
                        sent += len(chunk)
                except _UPSTREAM_ERRORS as exc:
                    st.error_code, st.final_status = "backend_stream_error", 502
                    log.warning("backend failed mid-response", extra={
                        "event": "backend_stream_error", "model": route.name,
                        "error": f"{type(exc).__name__}: {exc}", "request_id": st.request_id})
                    await self._end_broken_stream(
                        request, resp, sse, "backend_stream_error",
                        "The backend failed while streaming the response.")
                    return resp
                finally:
                    st.bytes_out = sent
                await resp.write_eof()
            except (_ClientGone, ConnectionResetError, aiohttp.ClientConnectionResetError):
                # The client went away (a write failed before the handler was cancelled).
                st.final_status = CLIENT_CLOSED
                return resp
            finished = True
            return resp
        finally:
            if finished:
                upstream.release()
            else:
                # Client gone, cancelled, timed out or failed: drop the upstream connection
                # so the backend sees the disconnect and aborts the generation.
                upstream.close()


class _ClientGone(Exception):
    pass


def create_app(routes: Routes, keys: KeyStore, settings: Settings, *,
               backend_api_key: str = "", metrics: Metrics | None = None) -> web.Application:
    gw = Gateway(routes, keys, settings, backend_api_key=backend_api_key, metrics=metrics)
    # client_max_size is a backstop; proxy() answers 413 in OpenAI format itself.
    app = web.Application(middlewares=[gw.middleware], client_max_size=settings.max_body_bytes)
    app[GATEWAY] = gw
    app.on_startup.append(gw.on_startup)
    app.on_shutdown.append(gw.on_shutdown)
    app.on_cleanup.append(gw.on_cleanup)
    app.router.add_get("/healthz", gw.healthz)
    app.router.add_get("/metrics", gw.metrics_handler)
    app.router.add_get("/v1/models", gw.list_models)
    app.router.add_get("/v1/models/{model:.+}", gw.get_model)
    app.router.add_post("/v1/{tail:.+}", gw.proxy)
    app.router.add_route("*", "/v1/{tail:.*}", gw.not_found)
    return app


def make_runner(app: web.Application, settings: Settings, **kwargs: Any) -> web.AppRunner:
    """An AppRunner configured as in production: handler cancellation on client
    disconnect, our own access log, and the shutdown grace period."""
    return web.AppRunner(
        app,
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=settings.shutdown_grace,
        **kwargs,
    )
