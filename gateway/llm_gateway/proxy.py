"""One proxied request: send it to the backend, choose what the client gets, relay.

Until the first byte goes to the client, a failure is invisible and the request is
retried (``backend_retries`` times, on a *fresh* connection): the connection was reset,
refused or closed before a response, or the backend answered what vLLM answers to a new
request while it drains (status 200 whose choices all finish with ``"abort"`` and
nothing generated; as an SSE stream: a role-only first event, then that event).  To see
that answer, a 200 event stream is held back until its first event that carries content
or a finish reason (with vLLM both come in the same engine step, so nothing waits), and
a small 200 JSON body until it is complete.  After the first byte nothing is retried.

Once the response headers are chosen, the backend connection's body pieces are written
directly to the client's transport (``sink``), with flow control in both directions:
a client that does not read pauses reading from the backend.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from .errors import error_json, sse_error_event
from .httpserver import BUSY
from .upstream import Backend, PoolTimeout, UpstreamConnection

if TYPE_CHECKING:
    from .httpserver import ClientConnection

log = logging.getLogger("llm_gateway")

#: Largest response held back to look for vLLM's drain-time abort answer.
PEEK_LIMIT = 64 * 1024
#: On answers a retry cannot change (the backend refusing the gateway's key, the backend
#: silent for the route's read timeout): the OpenAI SDKs retry every 5xx unless this
#: header says "false" (openai-python _base_client.py _should_retry; docs/reference/gateway.md).
NO_RETRY = (b"x-should-retry", b"false")

# Exchange events.
HEADERS, DECIDED, COMPLETE, LOST, TIMEOUT, CLIENT_GONE, SHUTDOWN = (
    "headers",
    "decided",
    "complete",
    "lost",
    "timeout",
    "client_gone",
    "shutdown",
)
PASS, HOLD, ABORT = 0, 1, 2

_HOP_BY_HOP = frozenset(
    (
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    )
)
#: Client request headers never forwarded: hop-by-hop ones, the ones the gateway sets
#: itself, credentials meant for the gateway, and client-supplied forwarding claims.
DROP_REQUEST = _HOP_BY_HOP | frozenset(
    (
        b"host",
        b"content-length",
        b"expect",
        b"authorization",
        b"cookie",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
        b"x-forwarded-server",
        b"x-real-ip",
        b"x-request-id",
        b"x-client-ip",
        b"true-client-ip",
        b"accept-encoding",
        b"via",
    )
)
DROP_RESPONSE = _HOP_BY_HOP | frozenset((b"content-length", b"server", b"x-request-id", b"set-cookie"))

_CONTENT_KEYS = (
    "content",
    "tool_calls",
    "reasoning",
    "reasoning_content",
    "function_call",
    "refusal",
    "audio",
)


def forwarded_headers(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The client's end-to-end headers, serialised for the backend request."""
    drop = DROP_REQUEST
    connection = [v for k, v in headers if k == b"connection"]
    if connection:
        drop = drop | {t.strip().lower() for v in connection for t in v.split(b",")}
    out = []
    for name, value in headers:
        if name in drop or b"\r" in value or b"\n" in value:
            continue
        out.append(b"%s: %s\r\n" % (name, value))
    return b"".join(out)


def _choice_state(choices: Any) -> int:
    """PASS, HOLD or ABORT for the ``choices`` of one chunk or response."""
    if not isinstance(choices, list):
        return PASS
    if not choices:
        return HOLD  # usage-only chunk
    produced = aborted = False
    for choice in choices:
        if not isinstance(choice, dict):
            return PASS
        reason = choice.get("finish_reason")
        delta = choice.get("delta")
        if delta is None:
            delta = choice.get("message")
        if isinstance(delta, dict) and any(delta.get(k) for k in _CONTENT_KEYS):
            produced = True
        if choice.get("text"):
            produced = True
        if reason == "abort":
            aborted = True
        elif reason is not None:
            return PASS
    if aborted:
        return PASS if produced else ABORT
    return PASS if produced else HOLD


def classify_event(event: bytes) -> int:
    data = b"".join(line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:"))
    if not data:
        return HOLD  # comment or keep-alive
    if data == b"[DONE]":
        return PASS
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return PASS
    return _choice_state(obj.get("choices")) if isinstance(obj, dict) else PASS


def is_abort_json(body: bytes) -> bool:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(obj, dict) and _choice_state(obj.get("choices")) == ABORT


class Outcome:
    """What happened, for the access log and the metrics."""

    __slots__ = ("status", "code", "retry", "ttfb", "stream", "committed", "bytes_out")

    def __init__(self) -> None:
        self.bytes_out: int | None = None
        self.status = 0
        self.code: str | None = None
        self.retry = False
        self.ttfb: float | None = None
        self.stream = False
        self.committed = False


class Exchange:
    """One attempt of a request on one backend connection."""

    def __init__(
        self,
        client: ClientConnection,
        up: UpstreamConnection,
        *,
        read_timeout: float,
        request_id: bytes,
        model: str,
    ) -> None:
        self.client = client
        self.up = up
        self.loop = up.loop
        self.read_timeout = read_timeout
        self.request_id = request_id
        self.model = model
        self.fut: asyncio.Future[str] | None = None
        self.held = bytearray()
        self.scan = 0
        self.verdict = HOLD
        self.complete = False
        self.keep_alive = False
        self.sse = False
        self.committed = False
        self.done = False
        self.pending: list[str] = []
        self.peek = False
        self.length: int | None = None
        self.outcome = Outcome()

    # ------------------------------------------------------------- events
    def _signal(self, event: str) -> None:
        fut = self.fut
        if fut is not None and not fut.done():
            fut.set_result(event)
        else:
            self.pending.append(event)

    def _on_headers(self) -> None:
        """Status and headers are in: decide now (synchronously) whether the body is
        held back, because body pieces may follow in the same read."""
        up = self.up
        ctype = b""
        encoded = False
        for name, value in up.headers:
            lname = name.lower()
            if lname == b"content-type":
                ctype = value
            elif lname == b"content-length" and value.isdigit():
                self.length = int(value)
            elif lname == b"content-encoding":
                encoded = True
        self.sse = ctype.startswith(b"text/event-stream")
        self.peek = (
            up.status == 200
            and not encoded
            and (
                self.sse
                or (
                    ctype.startswith(b"application/json")
                    and self.length is not None
                    and self.length <= PEEK_LIMIT
                )
            )
        )
        up.sink = self._hold
        if not self.peek and up.status not in (401, 403):
            # Nothing to decide: the response goes out from this callback, without
            # waiting for the request's task to run (less latency, less work).
            self._commit()
        self._signal(HEADERS)

    def _on_lost(self, exc: BaseException | None) -> None:
        self._signal(LOST)

    def _on_complete(self, keep_alive: bool) -> None:
        self.complete = True
        self.keep_alive = keep_alive
        if not self.committed and self.peek and not self.sse and not is_abort_json(bytes(self.held)):
            self._commit()  # a small JSON answer that is not the drain-time abort
        if self.committed:
            self._finish_relay()
        else:
            self._signal(COMPLETE)

    def _client_gone(self) -> None:
        self.up.out = None
        self.up.close()
        self._signal(CLIENT_GONE)

    def _timed_out(self) -> None:
        """Nothing from the backend for read_timeout seconds (UpstreamConnection.watch)."""
        if self.done:
            return
        self._signal(TIMEOUT)
        if self.committed:
            self._end_broken("backend_timeout", f"The backend sent nothing for {self.read_timeout:g} s.")

    def _hold(self, body: bytes) -> None:
        self.held += body
        if self.verdict != HOLD or not self.peek:
            return
        if len(self.held) > PEEK_LIMIT:
            self.verdict = PASS
        elif self.sse:
            while True:
                end = self.held.find(b"\n\n", self.scan)
                sep = 2
                if end < 0:
                    end = self.held.find(b"\r\n\r\n", self.scan)
                    sep = 4
                    if end < 0:
                        return
                event = bytes(self.held[self.scan : end]).replace(b"\r\n", b"\n")
                self.scan = end + sep
                verdict = classify_event(event)
                if verdict != HOLD:
                    self.verdict = verdict
                    break
        else:
            return  # JSON: decided on completion
        if self.verdict == PASS and not self.committed:
            self._commit()  # from this callback: no task switch before the first byte
        self._signal(DECIDED)

    def shutdown(self) -> None:
        """The grace period is over: end this request now."""
        if self.done:
            return
        if self.committed:
            self._end_broken(
                "gateway_shutdown", "The gateway is shutting down; retry the request.", status=503
            )
        self._signal(SHUTDOWN)

    # ------------------------------------------------------------- the exchange
    async def wait(self) -> str:
        if self.pending:
            return self.pending.pop(0)
        self.fut = self.loop.create_future()
        try:
            return await self.fut
        finally:
            self.fut = None

    def start(self, request: bytes, outcome: Outcome) -> None:
        """Send the request (synchronously: from the client's read callback when a
        pooled connection is free, so the request leaves without a loop turn)."""
        self.outcome = outcome
        up = self.up
        up.on_headers = self._on_headers
        up.on_lost = self._on_lost
        up.on_complete = self._on_complete
        up.sink = None
        self.client.on_client_gone = self._client_gone
        up.send(request)
        up.watch(self.read_timeout, self._timed_out)

    async def run(self, request: bytes | None, outcome: Outcome) -> None:
        """Run the exchange to its end (``request`` None: already started)."""
        if request is not None:
            self.start(request, outcome)
        up, client = self.up, self.client
        try:
            event = await self.wait()
            if event == LOST:
                outcome.retry = True
                return
            if event != HEADERS:
                return self._early_end(event, outcome)
            status = up.status
            if status in (401, 403):
                log.error(
                    "the backend refused the gateway's backend key: check the "
                    "vllm-api-key Secret and the route's api_key",
                    extra={
                        "event": "backend_auth_failed",
                        "model": self.model,
                        "backend_status": status,
                        "config_error": True,
                    },
                )
                up.close()
                outcome.status, outcome.code = 502, "backend_auth_failed"
                client.respond(
                    502,
                    error_json(
                        502,
                        f"The backend for model '{self.model}' refused the gateway's "
                        "credentials (a gateway configuration error).",
                        code="backend_auth_failed",
                    ),
                    headers=[NO_RETRY],
                )
                return
            outcome.stream = self.sse
            while not self.committed and not self.complete and self.verdict == HOLD:
                event = await self.wait()
                if event == LOST:
                    outcome.retry = True
                    return
                if event not in (DECIDED, COMPLETE, HEADERS):
                    return self._early_end(event, outcome)
            if not self.committed:
                if self.sse:
                    abort = self.verdict == ABORT
                else:
                    abort = self.peek and is_abort_json(bytes(self.held))
                if abort:
                    up.close()
                    outcome.retry = True
                    outcome.code = "backend_draining"
                    return
                self._commit()
            while not self.done:
                event = await self.wait()
                if event == TIMEOUT:
                    outcome.status, outcome.code = 504, "backend_timeout"
                    log.warning(
                        "backend timed out mid-response",
                        extra={"event": "backend_timeout", "model": self.model},
                    )
                elif event == LOST:
                    outcome.status, outcome.code = 502, "backend_stream_error"
                    log.warning(
                        "backend failed mid-response",
                        extra={"event": "backend_stream_error", "model": self.model},
                    )
                    self._end_broken(
                        "backend_stream_error", "The backend failed while streaming the response."
                    )
                elif event == CLIENT_GONE:
                    outcome.status, outcome.code = 499, "client_disconnected"
                    self.done = True
                elif event == SHUTDOWN:
                    outcome.status, outcome.code = 503, "gateway_shutdown"
        except asyncio.CancelledError:
            up.close()
            raise
        finally:
            self.done = True
            up.unwatch()
            if client.on_client_gone == self._client_gone:
                client.on_client_gone = None
            if self.complete and self.committed:
                up.backend.release(up, reuse=self.keep_alive)
            else:
                up.on_lost = None
                up.close()

    def _early_end(self, event: str, outcome: Outcome) -> None:
        """An event before anything was sent to the client."""
        if event == TIMEOUT:
            outcome.status, outcome.code = 504, "backend_timeout"
            self.client.respond(
                504,
                error_json(
                    504,
                    f"The backend for model '{self.model}' sent nothing for {self.read_timeout:g} s.",
                    code="backend_timeout",
                ),
                headers=[NO_RETRY],
            )
        elif event == CLIENT_GONE:
            outcome.status, outcome.code = 499, "client_disconnected"
        elif event == SHUTDOWN:
            outcome.status, outcome.code = 503, "gateway_shutdown"
            self.client.respond(
                503,
                error_json(503, "The gateway is shutting down; retry the request.", code="gateway_shutdown"),
                headers=[(b"Retry-After", b"1")],
            )

    def _commit(self) -> None:
        """Send the response headers and what was held back; relay the rest."""
        client, up, outcome = self.client, self.up, self.outcome
        status, headers, length = up.status, up.headers, self.length
        out = [b"%s: %s\r\n" % (n, v) for n, v in headers if n.lower() not in DROP_RESPONSE]
        out.append(b"X-Request-Id: %s\r\n" % self.request_id)
        if self.sse:
            out.append(b"X-Accel-Buffering: no\r\n")
        held = bytes(self.held)
        self.held = bytearray()
        self.committed = True
        outcome.committed = True
        outcome.status = status
        outcome.stream = self.sse
        outcome.ttfb = self.loop.time()
        client.start_response(status, b"".join(out), length=length, first=held)
        if self.complete:
            self._finish_relay()
            return
        up.sink = client.write
        if client.transport is not None and client.state == BUSY:
            up.out, up.out_chunked = client.transport, client.chunked
        transport = up.transport
        if transport is not None:
            client.on_pause = transport.pause_reading
            client.on_resume = transport.resume_reading
            if client.paused:
                transport.pause_reading()

    def _finish_relay(self) -> None:
        self.done = True
        self._take_out()
        self.client.end_response()
        self._signal(COMPLETE)

    def _take_out(self) -> None:
        """Stop relaying directly; count what was relayed."""
        up = self.up
        up.out = None
        self.client.bytes_out += up.out_bytes
        up.out_bytes = 0
        # Read now: the connection may carry the client's next request before the
        # request's task logs this one.
        self.outcome.bytes_out = self.client.bytes_out

    def _end_broken(self, code: str, message: str, status: int = 502) -> None:
        """End a response whose backend failed after the headers went out: an SSE error
        event and a normal end for event streams, else a truncated body."""
        if self.done:
            return
        self.done = True
        self._take_out()
        self.up.sink = None
        client = self.client
        if self.sse:
            client.write(sse_error_event(message, code, status))
            self.outcome.bytes_out = client.bytes_out
            client.end_response()
        else:
            client.end_response(complete=False)


def start_on_idle_connection(
    client: ClientConnection,
    backend: Backend,
    request: bytes,
    *,
    model: str,
    request_id: bytes,
    read_timeout: float,
    registry: set[Exchange],
) -> tuple[Exchange, Outcome] | None:
    """The first attempt, started at once on a pooled connection if one is free."""
    up = backend.take_idle()
    if up is None:
        return None
    exchange = Exchange(client, up, read_timeout=read_timeout, request_id=request_id, model=model)
    outcome = Outcome()
    registry.add(exchange)
    exchange.start(request, outcome)
    return exchange, outcome


async def forward(
    client: ClientConnection,
    backend: Backend,
    request: bytes,
    *,
    model: str,
    request_id: bytes,
    connect_timeout: float,
    pool_timeout: float,
    read_timeout: float,
    retries: int,
    registry: set[Exchange],
    on_retry: Callable[[str], None] | None = None,
    started: tuple[Exchange, Outcome] | None = None,
) -> Outcome:
    """Send ``request`` (serialised) to ``backend`` and relay the answer to ``client``
    (``started``: the first attempt, already sent by start_on_idle_connection)."""
    outcome = Outcome()
    for attempt in range(retries + 1):
        last = attempt == retries
        if attempt == 0 and started is not None:
            exchange, outcome = started
            try:
                await exchange.run(None, outcome)
            finally:
                registry.discard(exchange)
            if not outcome.retry:
                return outcome
            if last:
                return _give_up(client, model, outcome)
            _log_retry(model, outcome.code or "connection_closed", attempt, on_retry)
            continue
        outcome = Outcome()
        try:
            up = await backend.acquire(
                fresh=attempt > 0, connect_timeout=connect_timeout, pool_timeout=pool_timeout
            )
        except PoolTimeout:
            _unavailable(client, model, outcome, "no free backend connection")
            return outcome
        except (OSError, TimeoutError) as exc:
            if not last and isinstance(exc, ConnectionError):
                _log_retry(model, "connection_refused", attempt, on_retry)
                continue
            _unavailable(client, model, outcome, type(exc).__name__)
            return outcome
        if client.state != BUSY:  # the client left while we connected
            backend.release(up, reuse=True)
            outcome.status, outcome.code = 499, "client_disconnected"
            return outcome
        exchange = Exchange(client, up, read_timeout=read_timeout, request_id=request_id, model=model)
        registry.add(exchange)
        try:
            await exchange.run(request, outcome)
        finally:
            registry.discard(exchange)
        if not outcome.retry:
            return outcome
        if last:
            return _give_up(client, model, outcome)
        _log_retry(model, outcome.code or "connection_closed", attempt, on_retry)
    return outcome


def _give_up(client: ClientConnection, model: str, outcome: Outcome) -> Outcome:
    """The last attempt failed before the first byte as well."""
    if outcome.code == "backend_draining":
        _unavailable(client, model, outcome, "backend draining")
    else:
        _answer_unavailable(
            client, outcome, 502, f"The backend for model '{model}' closed the connection before answering."
        )
    return outcome


def _log_retry(model: str, why: str, attempt: int, on_retry: Callable[[str], None] | None) -> None:
    log.info(
        "retrying on a fresh backend connection",
        extra={"event": "backend_retry", "model": model, "reason": why, "attempt": attempt + 1},
    )
    if on_retry is not None:
        on_retry(why)


def _unavailable(client: ClientConnection, model: str, outcome: Outcome, why: str) -> None:
    log.warning("backend unavailable", extra={"event": "backend_unavailable", "model": model, "error": why})
    _answer_unavailable(
        client, outcome, 503, f"The backend for model '{model}' is unavailable; try again later."
    )


def _answer_unavailable(client: ClientConnection, outcome: Outcome, status: int, message: str) -> None:
    """A final backend_unavailable answer (no retry left), with Retry-After."""
    outcome.retry = False
    outcome.status, outcome.code = status, "backend_unavailable"
    client.respond(
        status, error_json(status, message, code="backend_unavailable"), headers=[(b"Retry-After", b"1")]
    )
