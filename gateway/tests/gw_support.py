"""Test support for gateway/tests: fake OpenAI-compatible backends, the real gateway on
loopback, and the fixtures ``backends`` and ``gateway``.

There is deliberately no conftest.py here: pytest imports every conftest.py in this
repository as the module ``conftest``, and tests/ imports helpers from its own.  Test
modules import the fixtures from this module instead.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

GATEWAY_DIR = Path(__file__).resolve().parents[1]
if str(GATEWAY_DIR) not in sys.path:
    sys.path.insert(0, str(GATEWAY_DIR))  # the llm_gateway package

from llm_gateway.app import Gateway, start  # noqa: E402
from llm_gateway.auth import KeyStore  # noqa: E402
from llm_gateway.config import Settings, load_routes  # noqa: E402
from llm_gateway.httpserver import HttpServer  # noqa: E402

CLIENT_KEY = "sk-test-client-key-1"
OTHER_CLIENT_KEY = "sk-test-client-key-2"
BACKEND_KEY = "backend-secret-key"
MODEL_A = "org/model-a"
MODEL_B = "org/model-b"
MODEL_DOWN = "org/model-down"
MODEL_SLOW = "org/model-slow"
EVENT_TIMEOUT = 10.0  # upper bound for any wait on an event in the tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Reject(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


async def raw_request(
    port: int, data: bytes, *, host: str = "127.0.0.1", local: str | None = None, timeout: float = 5.0
) -> tuple[int, dict, bytes]:
    """Send raw bytes (clients normalise what these tests must send as is) and read one
    response: (status, headers with lower-case names, body); status 0 if the connection
    closed without an answer."""
    reader, writer = await asyncio.open_connection(host, port, local_addr=(local, 0) if local else None)
    try:
        writer.write(data)
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            return 0, {}, b""
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return status, headers, body
    finally:
        writer.close()


@dataclass
class FakeBackend:
    """An OpenAI-compatible backend that records what it receives.

    Streaming requests send their first chunk, then wait for ``release`` before sending
    the rest, so a test can check that the first chunk got through before the backend
    finished.  ``cancelled`` is set when the request's handler is cancelled because the
    connection was closed.
    """

    name: str
    requests: list[dict] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    first_sent: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    received: asyncio.Event = field(default_factory=asyncio.Event)
    hang: asyncio.Event = field(default_factory=asyncio.Event)  # set: never answer
    fail_mid_stream: bool = False
    reject_status: int = 0  # answer every request with this status (e.g. 401)
    drip_interval: float = 0.0
    drip_count: int = 0
    port: int = 0
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        @web.middleware
        async def reject(request: web.Request, handler):
            try:
                return await handler(request)
            except _Reject as exc:
                return web.json_response(
                    {"error": "Unauthorized"},
                    status=exc.status,
                    headers={"Server": "fake-vllm", "Keep-Alive": "timeout=5"},
                )

        app = web.Application(middlewares=[reject])
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/completions", self.completions)
        app.router.add_post("/v1/embeddings", self.embeddings)
        return app

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app(), handler_cancellation=True, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _record(self, request: web.Request) -> dict:
        body = await request.json()
        self.requests.append({"path": request.path, "headers": request.headers.copy(), "body": body})
        self.received.set()
        if self.reject_status:
            raise _Reject(self.reject_status)
        if self.hang.is_set():
            try:
                await asyncio.Event().wait()  # until the connection closes
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return body

    def _chunk(self, i: int, text: str, finish: str | None = None) -> bytes:
        data = {
            "id": f"chatcmpl-{self.name}",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": self.name,
            "choices": [{"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": f"chatcmpl-{self.name}",
                    "object": "chat.completion",
                    "created": 1,
                    "model": self.name,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": f"hello from {self.name}"},
                        }
                    ],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        try:
            await resp.prepare(request)
            await resp.write(self._chunk(0, "first "))
            self.first_sent.set()
            if self.drip_interval:
                # Chunks spaced below the read timeout, lasting longer than it in total.
                for i in range(self.drip_count):
                    await asyncio.sleep(self.drip_interval)
                    await resp.write(self._chunk(i + 1, "."))
                self.release.set()
            await asyncio.wait_for(self.release.wait(), EVENT_TIMEOUT)
            if self.fail_mid_stream:
                request.transport.close()  # type: ignore[union-attr]
                return resp
            for i, word in enumerate(["second ", "third"], start=1):
                await resp.write(self._chunk(i, word))
            await resp.write(self._chunk(3, "", "stop"))
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            self.finished.set()
            return resp
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def completions(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(
            {
                "id": "cmpl-1",
                "object": "text_completion",
                "created": 1,
                "model": self.name,
                "choices": [
                    {
                        "index": 0,
                        "text": f"completion from {self.name}",
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
            }
        )

    async def embeddings(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(
            {
                "object": "list",
                "model": self.name,
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )


@dataclass
class GatewayHandle:
    url: str
    gw: Gateway
    server: asyncio.AbstractServer
    http: HttpServer
    backends: dict[str, FakeBackend]
    settings: Settings

    @property
    def base_url(self) -> str:
        return self.url + "/v1"


def write_config(tmp_path: Path, a: FakeBackend, b: FakeBackend, slow: FakeBackend) -> tuple[Path, Path]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(f"""\
# test routes
defaults:
  connect_timeout: 2
  read_timeout: 30
models:
  - name: {MODEL_A}
    url: {a.url}
    overlay: model-a
    api_key: false
  - name: {MODEL_B}
    url: {b.url}
    overlay: model-b
    api_key: true
  - name: {MODEL_DOWN}
    url: http://127.0.0.1:{free_port()}
    overlay: model-down
  - name: {MODEL_SLOW}
    url: {slow.url}
    overlay: model-slow
    read_timeout: 0.3
""")
    keys = tmp_path / "keys"
    keys.write_text(f"# client keys\n{CLIENT_KEY}\n\n{OTHER_CLIENT_KEY}\n")
    return routes, keys


async def wait_event(event: asyncio.Event, what: str, timeout: float = EVENT_TIMEOUT) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        pytest.fail(f"timed out after {timeout} s waiting for: {what}")


@pytest_asyncio.fixture
async def backends():
    made = {}
    for name in (MODEL_A, MODEL_B, MODEL_SLOW):
        backend = FakeBackend(name)
        await backend.start()
        made[name] = backend
    yield made
    for backend in made.values():
        backend.release.set()
        await backend.stop()


async def start_gateway(
    routes_file: Path, keys_file: Path, backends: dict[str, FakeBackend], **overrides
) -> GatewayHandle:
    """The real gateway (one worker, in this process) on a random loopback port."""
    values: dict = {
        "routes_file": str(routes_file),
        "api_keys_file": str(keys_file),
        "host": "127.0.0.1",
        "port": 0,
        "metrics_port": 0,
        "max_body_bytes": 64 * 1024,
        "shutdown_grace": 5,
    }
    values.update(overrides)
    settings = Settings(**values)
    gw = Gateway(load_routes(routes_file), KeyStore(str(keys_file)), settings, backend_api_key=BACKEND_KEY)
    server, http = await start(gw, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return GatewayHandle(f"http://127.0.0.1:{port}", gw, server, http, backends, settings)


async def stop_gateway(handle: GatewayHandle) -> None:
    handle.server.close()
    handle.gw.begin_shutdown()
    for conn in list(handle.http.connections):
        conn.abort()
    for task in list(handle.gw.tasks):
        task.cancel()
    if handle.gw.tasks:
        await asyncio.wait(set(handle.gw.tasks), timeout=5)
    handle.gw.close()


@pytest_asyncio.fixture
async def gateway(tmp_path, backends):
    routes_file, keys_file = write_config(
        tmp_path, backends[MODEL_A], backends[MODEL_B], backends[MODEL_SLOW]
    )
    handle = await start_gateway(routes_file, keys_file, backends)
    yield handle
    for backend in backends.values():
        backend.release.set()
    await stop_gateway(handle)
