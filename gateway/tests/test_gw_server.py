"""The gateway as a process (``python -m llm_gateway``): startup, SIGTERM, config errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from gw_support import (  # noqa: F401 (fixture: backends)
    CLIENT_KEY, MODEL_A, MODEL_B, MODEL_SLOW, backends, free_port, wait_event, write_config,
)

pytestmark = pytest.mark.asyncio

GATEWAY_DIR = Path(__file__).resolve().parents[1]


class Proc:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port
        self.lines: list[dict] = []

    async def wait_for_event(self, event: str, timeout: float = 20) -> dict:
        async def read() -> dict:
            while True:
                raw = await self.proc.stdout.readline()  # type: ignore[union-attr]
                if not raw:
                    raise AssertionError(f"gateway exited before logging {event!r}: {self.lines}")
                line = json.loads(raw)
                self.lines.append(line)
                if line.get("event") == event:
                    return line
        return await asyncio.wait_for(read(), timeout)


async def start_gateway(tmp_path, backends, grace: float, extra_env=None) -> Proc:
    routes, keys = write_config(tmp_path, backends[MODEL_A], backends[MODEL_B], backends[MODEL_SLOW])
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(GATEWAY_DIR),
        "GATEWAY_ROUTES_FILE": str(routes),
        "GATEWAY_API_KEYS_FILE": str(keys),
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_SHUTDOWN_GRACE": str(grace),
        "GATEWAY_WORKERS": "1",
        "GATEWAY_METRICS_PORT": str(free_port()),
        **(extra_env or {}),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "llm_gateway", env=env, cwd=str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    return Proc(proc, port)


async def open_stream(session: aiohttp.ClientSession, port: int):
    r = await session.post(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        headers={"Authorization": f"Bearer {CLIENT_KEY}"},
        json={"model": MODEL_A, "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status == 200
    first = await asyncio.wait_for(r.content.readuntil(b"\n\n"), 5)
    assert b"first " in first
    return r


async def test_sigterm_finishes_in_flight_stream_then_exits(tmp_path, backends):
    gw = await start_gateway(tmp_path, backends, grace=10)
    try:
        start = await gw.wait_for_event("start")
        assert start["models"]
        async with aiohttp.ClientSession() as s:
            r = await open_stream(s, gw.port)
            gw.proc.send_signal(signal.SIGTERM)
            await gw.wait_for_event("shutdown")
            # The listener is closed: no new connections ...
            with pytest.raises(OSError):
                await asyncio.open_connection("127.0.0.1", gw.port)
            # ... but the in-flight stream runs to its end.
            backends[MODEL_A].release.set()
            rest = await asyncio.wait_for(r.read(), 10)
            assert rest.endswith(b"data: [DONE]\n\n")
            r.release()
        await gw.wait_for_event("stop")
        assert await asyncio.wait_for(gw.proc.wait(), 10) == 0
        access = [line for line in gw.lines if line.get("event") == "access"]
        assert [(a["model"], a["status"], a["stream"]) for a in access] == [(MODEL_A, 200, True)]
        assert "hi" not in json.dumps(access)  # no prompt contents in logs
    finally:
        if gw.proc.returncode is None:
            gw.proc.kill()
            await gw.proc.wait()


async def test_sigterm_grace_period_bounds_shutdown(tmp_path, backends):
    gw = await start_gateway(tmp_path, backends, grace=0.5)
    try:
        await gw.wait_for_event("start")
        async with aiohttp.ClientSession() as s:
            r = await open_stream(s, gw.port)
            gw.proc.send_signal(signal.SIGTERM)
            # The backend never releases the stream: after the grace period the gateway
            # cancels it, which closes the upstream connection, and exits.
            assert await asyncio.wait_for(gw.proc.wait(), 10) == 0
            await wait_event(backends[MODEL_A].cancelled, "backend to see the stream cancelled")
            r.close()
    finally:
        if gw.proc.returncode is None:
            gw.proc.kill()
            await gw.proc.wait()


async def test_config_error_exits_2(tmp_path, backends):
    gw = await start_gateway(tmp_path, backends, grace=1,
                             extra_env={"GATEWAY_API_KEYS_FILE": str(tmp_path / "missing")})
    try:
        line = await gw.wait_for_event("config_error")
        assert "API keys file" in line["msg"]
        assert await asyncio.wait_for(gw.proc.wait(), 10) == 2
    finally:
        if gw.proc.returncode is None:
            gw.proc.kill()
            await gw.proc.wait()
