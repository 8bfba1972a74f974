"""Fixtures: two fake OpenAI-compatible backends and the real gateway, all on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest_asyncio
from aiohttp import web

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # llm_gateway
sys.path.insert(0, str(HERE))  # gw_support

from gw_support import (  # noqa: E402
    BACKEND_KEY, MODEL_A, MODEL_B, MODEL_SLOW, FakeBackend, GatewayHandle, write_config,
)
from llm_gateway.app import create_app, make_runner  # noqa: E402
from llm_gateway.auth import KeyStore  # noqa: E402
from llm_gateway.config import Settings, load_routes  # noqa: E402


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


@pytest_asyncio.fixture
async def gateway(tmp_path, backends):
    routes_file, keys_file = write_config(tmp_path, backends[MODEL_A], backends[MODEL_B],
                                          backends[MODEL_SLOW])
    settings = Settings(routes_file=str(routes_file), api_keys_file=str(keys_file),
                        host="127.0.0.1", port=0, max_body_bytes=64 * 1024, shutdown_grace=5)
    app = create_app(load_routes(routes_file), KeyStore(str(keys_file)), settings,
                     backend_api_key=BACKEND_KEY)
    runner = make_runner(app, settings)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    handle = GatewayHandle(f"http://127.0.0.1:{port}", runner, app, backends, settings)
    yield handle
    for backend in backends.values():
        backend.release.set()
    await runner.cleanup()
