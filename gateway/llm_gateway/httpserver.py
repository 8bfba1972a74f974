"""The client-facing HTTP/1.1 server: one :class:`ClientConnection` per TCP connection.

Parsing is httptools (llhttp, strict mode).  This module owns everything about the
connection itself, so that slow or hostile clients cannot hold resources:

* time limits: ``header_timeout`` to send the request line and headers (counted from the
  connection's first byte wait or the previous response's end), ``body_timeout`` for the
  whole body, ``idle_timeout`` between keep-alive requests;
* size limits: request line + headers (431), body (413, answered before the body is read
  when ``Content-Length`` says so);
* connection caps: per client address, and per process (from ``max_connections`` and
  the open-file limit).  At the process cap the oldest connection that has not yet sent
  a complete request (or is idle between requests) is closed to make room, so a flood
  of slow clients cannot lock out real ones;
* one request at a time per connection (a pipelined request closes the connection after
  the current response).

It knows nothing about models or keys: a complete request is handed to the
``dispatch(conn, request)`` callable of the application.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict
from collections.abc import Callable

import httptools

log = logging.getLogger("llm_gateway.http")

_REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Connection states.
NEW, HEADERS, BODY, BUSY, IDLE, CLOSED = range(6)


def reason(status: int) -> bytes:
    return _REASONS.get(status, "Unknown").encode()


class Request:
    __slots__ = ("method", "target", "headers", "body", "version", "keep_alive", "start", "peer")

    def __init__(self) -> None:
        self.method = b""
        self.target = bytearray()
        self.headers: list[tuple[bytes, bytes]] = []  # names lower-cased
        self.body = bytearray()
        self.version = "1.1"
        self.keep_alive = True
        self.start = 0.0
        self.peer = ""

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


class ServerLimits:
    """Time and size limits of the client side (from Settings)."""

    __slots__ = (
        "header_timeout",
        "body_timeout",
        "idle_timeout",
        "max_header_bytes",
        "max_body_bytes",
        "max_connections",
        "max_per_client",
    )

    def __init__(
        self,
        *,
        header_timeout: float,
        body_timeout: float,
        idle_timeout: float,
        max_header_bytes: int,
        max_body_bytes: int,
        max_connections: int,
        max_per_client: int,
    ) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.idle_timeout = idle_timeout
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.max_connections = max_connections
        self.max_per_client = max_per_client


def fd_budget(backend_connections: int) -> int:
    """How many client connections the open-file limit allows: what is left after the
    backend connections (at most half the limit) and 32 for listeners, logs and the like."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(8, soft - min(backend_connections, soft // 2) - 32)


class HttpServer:
    """Connection bookkeeping shared by the connections of one listener."""

    def __init__(
        self,
        dispatch: Callable[[ClientConnection, Request], None],
        limits: ServerLimits,
        *,
        backend_connections: int = 0,
    ) -> None:
        self.dispatch = dispatch
        self.limits = limits
        self.max_connections = min(limits.max_connections, fd_budget(backend_connections))
        self.loop = asyncio.get_running_loop()
        self.connections: set[ClientConnection] = set()
        #: Connections that could be closed to make room: waiting for a request's
        #: headers, or idle between requests. Insertion order = oldest first.
        self.evictable: OrderedDict[ClientConnection, None] = OrderedDict()
        self.per_client: dict[str, int] = {}
        self.shutting_down = False
        self.refused = 0
        self.evicted = 0

    def __call__(self) -> ClientConnection:
        return ClientConnection(self)

    def admit(self, conn: ClientConnection) -> bool:
        peer = conn.peer
        count = self.per_client.get(peer, 0)
        if count >= self.limits.max_per_client or self.shutting_down:
            self.refused += 1
            return False
        if len(self.connections) >= self.max_connections:
            if not self.evictable:
                self.refused += 1
                return False
            victim, _ = self.evictable.popitem(last=False)
            self.evicted += 1
            victim.abort()
        self.per_client[peer] = count + 1
        self.connections.add(conn)
        return True

    def forget(self, conn: ClientConnection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            self.evictable.pop(conn, None)
            count = self.per_client.get(conn.peer, 1) - 1
            if count > 0:
                self.per_client[conn.peer] = count
            else:
                self.per_client.pop(conn.peer, None)

    def start_shutdown(self) -> None:
        """No more requests: close connections that have none in progress."""
        self.shutting_down = True
        for conn in list(self.connections):
            if conn.state != BUSY:
                conn.abort()


class ClientConnection(asyncio.Protocol):
    """One client connection.  The application writes the response with
    :meth:`start_response`, :meth:`write` and :meth:`end_response` (or :meth:`respond`
    for a complete one), and gets ``on_client_gone`` when the client disconnects."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.parser = httptools.HttpRequestParser(self)
        self.state = NEW
        self.request: Request | None = None
        self.header_bytes = 0
        #: Raw bytes received of the request head being read: the limit holds before the
        #: parser has seen a complete line.
        self.head_received = 0
        #: One timer per connection, re-armed lazily: state changes only move
        #: ``deadline`` (no timer churn per request); the timer, when it fires, acts if
        #: the deadline has passed and otherwise waits for it.
        self.timer: asyncio.TimerHandle | None = None
        self.timer_when = 0.0
        self.deadline: float | None = None
        self.paused = False  # our writes are paused (client not reading)
        self.on_pause: Callable[[], None] | None = None
        self.on_resume: Callable[[], None] | None = None
        self.bytes_out = 0
        self.on_client_gone: Callable[[], None] | None = None
        self.chunked = False  # the current response uses chunked framing
        self.keep_alive = True
        self.pipelined = False
        self.requests_served = 0

    # --------------------------------------------------------------- transport events
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if isinstance(peer, tuple) else str(peer or "")
        if not self.server.admit(self):
            self.state = CLOSED
            transport.abort()
            return
        self.server.evictable[self] = None
        self._arm(self.server.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = CLOSED
        self._disarm()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.server.forget(self)
        gone = self.on_client_gone
        self.on_client_gone = None
        self.on_pause = self.on_resume = None
        if gone is not None:
            gone()

    def data_received(self, data: bytes) -> None:
        if self.state == CLOSED:
            return  # lingering after an error answer: discard
        limit = self.server.limits.max_header_bytes
        while data and self.state != CLOSED:
            if self.state == BODY:
                piece, data = data, b""
            else:
                # A request head (or, while BUSY, a pipelined one) is being received:
                # count its raw bytes before the parser buffers them, since httptools
                # keeps an unterminated header line whole until its end arrives.
                room = limit - self.head_received
                if room <= 0:
                    if self.state == BUSY:
                        self.pipelined = True  # closed after the response anyway
                        return
                    self._reject(431, "Request line or headers too large.", "request_too_large")
                    return
                piece, data = data[:room], data[room:]
                self.head_received += len(piece)
            self._feed(piece)

    def _feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _TooLarge):
                self._reject(431, "Request line or headers too large.", "request_too_large")
            elif not isinstance(cause, _Stop):
                log.error(
                    "request handling failed",
                    extra={"event": "internal_error", "error": type(cause).__name__},
                )
                self._reject(500, "Internal gateway error.", "internal_error")
        except httptools.HttpParserUpgrade:
            # Only after an answer (on_headers_complete refuses upgrade requests): what
            # follows is another protocol; never a second response.
            if self.state == BUSY:
                self.pipelined = True
            elif self.state != CLOSED:
                self.abort()
        except httptools.HttpParserError as exc:
            if self.state == BUSY:
                self.pipelined = True  # garbage after a request: close after the response
                return
            # The class only: a parser message could be mistaken for content.
            log.info(
                "malformed request",
                extra={"event": "bad_request", "error": type(exc).__name__, "client": self.peer},
            )
            self._reject(400, "Malformed HTTP request.", "bad_request")

    def pause_writing(self) -> None:
        self.paused = True
        if self.on_pause is not None:
            self.on_pause()

    def resume_writing(self) -> None:
        self.paused = False
        if self.on_resume is not None:
            self.on_resume()

    def eof_received(self) -> bool | None:
        # The client closed its side: treat it as gone (as aiohttp and nginx's
        # proxy_ignore_client_abort off do), so the backend stops generating.
        return None

    # --------------------------------------------------------------- parser callbacks
    def on_message_begin(self) -> None:
        if self.state == BUSY:
            self.pipelined = True
            return
        if self.state == IDLE:
            self._arm(self.server.limits.header_timeout)
        self.state = HEADERS
        self.header_bytes = 0
        req = self.request = Request()
        self.bytes_out = 0
        req.start = self.loop.time()
        req.peer = self.peer

    def on_url(self, url: bytes) -> None:
        if self.state != HEADERS or self.request is None:
            return
        self.header_bytes += len(url)
        if self.header_bytes > self.server.limits.max_header_bytes:
            raise _TooLarge()
        self.request.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.state != HEADERS or self.request is None:
            return
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > self.server.limits.max_header_bytes or len(self.request.headers) >= 128:
            raise _TooLarge()
        self.request.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        if self.state != HEADERS or self.request is None:
            return
        req = self.request
        p = self.parser
        req.method = p.get_method()
        req.version = p.get_http_version()
        req.keep_alive = p.should_keep_alive()
        self.state = BODY
        self.head_received = 0
        self.server.evictable.pop(self, None)
        limits = self.server.limits
        if _asks_upgrade(req):
            # Refused here, while nothing has been answered: llhttp reports the upgrade
            # only after the message, and hands the body to the other protocol.
            self._reject(400, "Protocol upgrades are not supported.", "bad_request")
            raise _Stop()
        length = req.header(b"content-length")
        if length is not None and length.isdigit() and int(length) > limits.max_body_bytes:
            self._reject(
                413,
                f"Request body too large: the limit is {limits.max_body_bytes} bytes.",
                "request_too_large",
            )
            raise _Stop()
        expect = req.header(b"expect")
        if expect is not None and expect.lower() == b"100-continue" and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._arm(limits.body_timeout)

    def on_body(self, body: bytes) -> None:
        if self.state != BODY or self.request is None:
            return
        req_body = self.request.body
        req_body += body
        if len(req_body) > self.server.limits.max_body_bytes:
            limit = self.server.limits.max_body_bytes
            self._reject(413, f"Request body too large: the limit is {limit} bytes.", "request_too_large")
            raise _Stop()

    def on_message_complete(self) -> None:
        if self.state != BODY or self.request is None:
            return
        self._disarm()
        self.state = BUSY
        self.head_received = 0
        self.keep_alive = self.request.keep_alive and not self.server.shutting_down
        self.server.dispatch(self, self.request)

    # --------------------------------------------------------------- responses
    def start_response(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]] | bytes,
        *,
        length: int | None,
        first: bytes = b"",
    ) -> None:
        """Send the status line and headers; ``length`` None means a body of unknown
        length (chunked for HTTP/1.1, close-delimited for HTTP/1.0).  ``headers`` is a
        list of pairs or pre-serialised ``Name: value\\r\\n`` lines."""
        if self.state != BUSY or self.transport is None:
            return
        keep = self.keep_alive and not self.pipelined and not self.server.shutting_down
        http11 = self.request is None or self.request.version != "1.0"
        parts = [b"HTTP/1.1 %d %s\r\n" % (status, reason(status))]
        if isinstance(headers, bytes):
            parts.append(headers)
        else:
            for name, value in headers:
                parts.append(b"%s: %s\r\n" % (name, value))
        if length is not None:
            parts.append(b"Content-Length: %d\r\n" % length)
            self.chunked = False
        elif http11:
            parts.append(b"Transfer-Encoding: chunked\r\n")
            self.chunked = True
        else:
            self.chunked = False
            keep = False
        if not keep:
            parts.append(b"Connection: close\r\n")
        elif not http11:
            parts.append(b"Connection: keep-alive\r\n")
        self.keep_alive = keep
        parts.append(b"\r\n")
        if first and self.request is not None and self.request.method == b"HEAD":
            first = b""
            self.chunked = False
        if first:
            self.bytes_out += len(first)
            parts.append(b"%x\r\n%b\r\n" % (len(first), first) if self.chunked else first)
        self.transport.write(b"".join(parts))

    def write(self, data: bytes) -> None:
        """A piece of the body (framed for the client when chunked)."""
        transport = self.transport
        if data and transport is not None and self.state == BUSY:
            self.bytes_out += len(data)
            if self.chunked:
                transport.write(b"%x\r\n%b\r\n" % (len(data), data))
            else:
                transport.write(data)

    def end_response(self, *, complete: bool = True) -> None:
        """Finish the response.  ``complete=False`` closes the connection without the
        terminating chunk, so the client sees a truncated body, never a short one."""
        if self.state != BUSY or self.transport is None:
            return
        self.on_client_gone = None
        self.on_pause = self.on_resume = None
        self.requests_served += 1
        if not complete:
            # A reset, never a clean close: with a close-delimited body (HTTP/1.0) a
            # FIN would look like the end of a complete response.
            self.state = CLOSED
            self.transport.abort()
            return
        if self.chunked:
            self.transport.write(b"0\r\n\r\n")
        if not self.keep_alive or self.pipelined or self.server.shutting_down:
            self.state = CLOSED
            self.transport.close()
            return
        self.state = IDLE
        self.request = None
        self.server.evictable[self] = None
        self._arm(self.server.limits.idle_timeout)

    def respond(
        self,
        status: int,
        body: bytes,
        *,
        content_type: bytes = b"application/json",
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.start_response(
            status, [(b"Content-Type", content_type), *(headers or ())], length=len(body), first=body
        )
        self.end_response()

    def abort(self) -> None:
        self.state = CLOSED
        if self.transport is not None:
            self.transport.abort()

    # --------------------------------------------------------------- internals
    def _reject(self, status: int, message: str, code: str, *, linger: bool = True) -> None:
        """Answer an error found while reading the request, then close: after a short
        linger that reads and discards what the client is still sending, so that the
        close does not reset the connection before the client has read the answer."""
        from .errors import error_json

        self._disarm()
        if self.transport is None or self.state == CLOSED:
            return
        self.state = BUSY
        self.keep_alive = False
        self.on_client_gone = None
        body = error_json(status, message, code=code)
        self.start_response(status, [(b"Content-Type", b"application/json")], length=len(body), first=body)
        self.state = CLOSED
        self.server.evictable.pop(self, None)
        if not linger:
            self.transport.close()
            return
        try:
            self.transport.write_eof()
        except (OSError, RuntimeError):
            self.transport.abort()
            return
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(2.0, self.abort)

    def _arm(self, timeout: float) -> None:
        deadline = self.loop.time() + timeout
        self.deadline = deadline
        if self.timer is None or self.timer_when > deadline:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = self.loop.call_at(deadline, self._expired)
            self.timer_when = deadline

    def _disarm(self) -> None:
        self.deadline = None

    def _expired(self) -> None:
        self.timer = None
        deadline = self.deadline
        if deadline is None or self.state in (BUSY, CLOSED):
            return
        if self.loop.time() < deadline:
            self.timer = self.loop.call_at(deadline, self._expired)
            self.timer_when = deadline
            return
        if self.state in (NEW, IDLE):
            self.abort()  # silent: nothing was asked
        elif self.state in (HEADERS, BODY):
            log.info(
                "client too slow",
                extra={
                    "event": "client_timeout",
                    "client": self.peer,
                    "phase": "headers" if self.state == HEADERS else "body",
                },
            )
            self._reject(408, "Request not received in time.", "request_timeout", linger=False)


def _asks_upgrade(req: Request) -> bool:
    """A request llhttp treats as switching protocols (RFC 9110 section 7.8): CONNECT, or
    an Upgrade header named in Connection."""
    if req.method == b"CONNECT":
        return True
    connection = req.header(b"connection")
    tokens = {t.strip().lower() for t in connection.split(b",")} if connection else set()
    return b"upgrade" in tokens and req.header(b"upgrade") is not None


class _TooLarge(Exception):
    """Raised from a parser callback: headers over the limit (turned into 431)."""


class _Stop(Exception):
    """Raised from a parser callback after the response was sent: stop parsing."""
