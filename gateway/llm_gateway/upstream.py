"""Backend connections: one :class:`Backend` (a connection pool) per backend URL, and
:class:`UpstreamConnection`, the asyncio protocol of one HTTP/1.1 connection to it.

Responses are parsed with httptools; body pieces go to whatever the current exchange
set as ``sink`` (see proxy.py), which in the streaming phase writes them straight to the
client's transport: no task switch and no copy per chunk.

Drain safety (vLLM keeps its listener open while it drains and aborts new requests):
a connection is reused only while younger than ``max_lifetime`` and idle for less than
``idle_timeout``; both default below the models' preStop sleep, so a connection opened
to a pod before it left the Service endpoints never carries a new request once that pod
has received SIGTERM.  ``acquire(fresh=True)`` always opens a new connection (retries).
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httptools


class PoolTimeout(Exception):
    """No connection slot became free in time."""


class Backend:
    """Connection pool for one backend (scheme, host, port)."""

    def __init__(self, url: str, *, limit: int, idle_timeout: float, max_lifetime: float) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.hostname or ""
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        default_port = 443 if self.tls else 80
        netloc = self.host if self.port == default_port else f"{self.host}:{self.port}"
        if ":" in self.host:  # IPv6 literal
            netloc = f"[{self.host}]" if self.port == default_port else f"[{self.host}]:{self.port}"
        self.host_header = netloc.encode("ascii")
        self.ssl_context = ssl_module.create_default_context() if self.tls else None
        self.limit = limit
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.idle: list[UpstreamConnection] = []  # most recently released last
        self.open = 0  # connections open or being opened
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.closed = False
        self._sweeper: asyncio.TimerHandle | None = None
        self.created = 0  # connections opened, for tests and metrics
        self.reused = 0

    def take_idle(self) -> UpstreamConnection | None:
        """A pooled connection that may carry a new request, or None (no waiting)."""
        if not self.idle:
            return None
        now = self.idle[-1].loop.time()
        while self.idle:
            conn = self.idle.pop()
            if conn.reusable(now):
                self.reused += 1
                conn.in_use = True
                return conn
            conn.close()
        return None

    async def acquire(
        self, *, fresh: bool, connect_timeout: float, pool_timeout: float
    ) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + pool_timeout
        while True:
            if not fresh:
                now = loop.time()
                while self.idle:
                    conn = self.idle.pop()
                    if conn.reusable(now):
                        self.reused += 1
                        conn.in_use = True
                        return conn
                    conn.close()
            if self.open < self.limit:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise PoolTimeout()
            waiter = loop.create_future()
            self.waiters.append(waiter)
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                raise PoolTimeout() from None
            finally:
                if not waiter.done():
                    waiter.cancel()
        self.open += 1
        try:
            async with asyncio.timeout(connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: UpstreamConnection(self),
                    self.host,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.host if self.tls else None,
                )
        except BaseException:
            self.open -= 1
            self._wake()
            raise
        self.created += 1
        conn.in_use = True
        return conn

    def release(self, conn: UpstreamConnection, *, reuse: bool) -> None:
        """Back to the pool if it may carry another request, else closed."""
        loop_time = conn.loop.time()
        if reuse and not conn.closed and not self.closed and loop_time - conn.born < self.max_lifetime:
            conn.released_at = loop_time
            conn.sink = None
            conn.out = None
            conn.on_lost = None
            conn.on_headers = None
            conn.on_complete = None
            conn.in_use = False
            self.idle.append(conn)
            if self._sweeper is None:
                self._sweeper = conn.loop.call_later(self.idle_timeout / 2 + 0.05, self._sweep)
            self._wake()
        else:
            conn.close()

    def _sweep(self) -> None:
        """Close pooled connections past their idle time or lifetime."""
        self._sweeper = None
        if not self.idle:
            return
        now = self.idle[0].loop.time()
        keep = []
        for conn in self.idle:
            if conn.reusable(now):
                keep.append(conn)
            else:
                conn.close()
        self.idle = keep
        if keep:
            self._sweeper = keep[0].loop.call_later(self.idle_timeout / 2 + 0.05, self._sweep)

    def _lost(self, conn: UpstreamConnection) -> None:
        self.open -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        self._wake()

    def _wake(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        self.closed = True
        for conn in self.idle:
            conn.close()
        self.idle.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None


class UpstreamConnection(asyncio.Protocol):
    """One connection to a backend.  The exchange using it sets ``on_headers``,
    ``sink`` (body pieces), ``on_complete`` and ``on_lost``."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.born = self.loop.time()
        self.released_at = self.born
        self.closed = False
        self.received_any = False  # a byte of the current response arrived
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.on_headers: Callable[[], None] | None = None
        self.sink: Callable[[bytes], Any] | None = None
        self.on_complete: Callable[[bool], None] | None = None
        self.on_lost: Callable[[Exception | None], None] | None = None
        self.last_rx = self.born
        self.in_use = False
        #: Relay target once the response is committed: the client's transport, whether
        #: to frame pieces as chunks, and the bytes written (see on_body).
        self.out: asyncio.Transport | None = None
        self.out_chunked = False
        self.out_bytes = 0
        #: Read timeout of the current exchange: one timer per connection, re-armed
        #: lazily from ``last_rx`` (no timer created or cancelled per request or chunk).
        self.watch_timeout = 0.0
        self.watcher: Callable[[], None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_when = 0.0

    def reusable(self, now: float) -> bool:
        return (
            not self.closed
            and now - self.born < self.backend.max_lifetime
            and now - self.released_at < self.backend.idle_timeout
        )

    def send(self, data: bytes) -> None:
        """Start an exchange: reset the per-response state and write the request."""
        self.received_any = False
        self.status = 0
        self.headers = []
        self.out = None
        self.out_bytes = 0
        self.last_rx = self.loop.time()
        assert self.transport is not None
        self.transport.write(data)

    def watch(self, timeout: float, on_timeout: Callable[[], None]) -> None:
        """Call ``on_timeout`` once nothing has been received for ``timeout`` seconds."""
        self.watch_timeout = timeout
        self.watcher = on_timeout
        due = self.last_rx + timeout
        if self.timer is None or self.timer_when > due:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = self.loop.call_at(due, self._tick)
            self.timer_when = due

    def unwatch(self) -> None:
        self.watcher = None

    def _tick(self) -> None:
        self.timer = None
        watcher = self.watcher
        if watcher is None or self.closed:
            return
        due = self.last_rx + self.watch_timeout
        if self.loop.time() >= due:
            self.watcher = None
            watcher()
        else:
            self.timer = self.loop.call_at(due, self._tick)
            self.timer_when = due

    def close(self) -> None:
        """Close (FIN, not RST: the backend sees a client disconnect and aborts the
        generation, as vLLM does for a closed connection)."""
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    # ------------------------------------------------------------- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.backend._lost(self)
        on_lost = self.on_lost
        self.on_lost = None
        if on_lost is not None:
            on_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.in_use:  # bytes nobody asked for on a pooled connection
            self.close()
            return
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else None
            on_lost = self.on_lost
            self.on_lost = None
            self.close()
            if on_lost is not None:
                on_lost(cause or exc)
        except httptools.HttpParserUpgrade as exc:
            on_lost = self.on_lost
            self.on_lost = None
            self.close()
            if on_lost is not None:
                on_lost(exc)

    def eof_received(self) -> bool | None:
        return None  # close; connection_lost reports an unfinished response

    # ------------------------------------------------------------- parser callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if self.status < 200:  # 1xx interim response: wait for the real one
            self.headers = []
            return
        if self.on_headers is not None:
            self.on_headers()

    def on_body(self, body: bytes) -> None:
        self.last_rx = self.loop.time()
        out = self.out
        if out is not None:  # the streaming phase: straight to the client's socket
            self.out_bytes += len(body)
            out.write(b"%x\r\n%b\r\n" % (len(body), body) if self.out_chunked else body)
            return
        sink = self.sink
        if sink is not None:
            sink(body)

    def on_message_complete(self) -> None:
        if self.status < 200:
            return
        on_complete = self.on_complete
        self.on_complete = None
        self.on_lost = None
        self.sink = None
        self.out = None
        if on_complete is not None:
            on_complete(self.parser.should_keep_alive())
