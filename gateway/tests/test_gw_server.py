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

from gw_support import (
    CLIENT_KEY,
    MODEL_A,
    MODEL_B,
    MODEL_SLOW,
    free_port,
    wait_event,
    write_config,
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


async def start_gateway(tmp_path, backends, grace: float, extra_env=None, preexec_fn=None) -> Proc:
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
        sys.executable,
        "-m",
        "llm_gateway",
        env=env,
        cwd=str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        preexec_fn=preexec_fn,
    )
    return Proc(proc, port)


async def open_stream(session: aiohttp.ClientSession, port: int):
    r = await session.post(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        headers={"Authorization": f"Bearer {CLIENT_KEY}"},
        json={"model": MODEL_A, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
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
    gw = await start_gateway(
        tmp_path, backends, grace=1, extra_env={"GATEWAY_API_KEYS_FILE": str(tmp_path / "missing")}
    )
    try:
        line = await gw.wait_for_event("config_error")
        assert "API keys file" in line["msg"]
        assert await asyncio.wait_for(gw.proc.wait(), 10) == 2
    finally:
        if gw.proc.returncode is None:
            gw.proc.kill()
            await gw.proc.wait()


SECRET = "sk-SECRET-do-not-log-7f3a"


async def test_malformed_requests_never_put_keys_or_bodies_in_logs(tmp_path, backends):
    from gw_support import raw_request

    gw = await start_gateway(tmp_path, backends, grace=1)
    try:
        await gw.wait_for_event("start")
        s = SECRET.encode()
        cases = [
            # control byte, over-long value, non-UTF-8 in Authorization
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s + b"\x01\r\n\r\n",
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + s * 3000
            + b"\r\n\r\n",
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff"
            + s
            + b"\r\nContent-Length: 2\r\n\r\n{}",
            # broken chunked framing with prompt text after it
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + s
            + b'\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{"prompt": "'
            + s
            + b'"}\r\n',
            # obs-folded header, bare LF, header without colon, bad request line
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n " + s + b"\r\n\r\n",
            b"POST /v1/chat/completions HTTP/1.1\nAuthorization: Bearer " + s + b"\n\n",
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + s + b"\r\n\r\n",
            b"POST /v1/" + s + b"\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
            # Content-Length and Transfer-Encoding together, body not JSON
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + s,
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + CLIENT_KEY.encode()
            + b"\r\nContent-Length: %d\r\n\r\n" % (len(s) + 2)
            + b"{"
            + s
            + b"}",
            b"GET /v1/../metrics?k=" + s + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        statuses = []
        for data in cases:
            status, _, body = await raw_request(gw.port, data)
            statuses.append(status)
            assert SECRET not in body.decode("latin-1")
        assert all(400 <= st < 500 for st in statuses), statuses
        gw.proc.send_signal(signal.SIGTERM)
        await gw.wait_for_event("stop")
        rest = await asyncio.wait_for(gw.proc.stdout.read(), 10)  # type: ignore[union-attr]
        output = json.dumps(gw.lines) + rest.decode("utf-8", "replace")
        assert SECRET not in output
        assert SECRET[:12] not in output
        access = [line for line in gw.lines if line.get("event") == "access"]
        assert (401, "invalid_api_key") in [(a["status"], a["error_code"]) for a in access]
    finally:
        if gw.proc.returncode is None:
            gw.proc.kill()
            await gw.proc.wait()


async def test_shutdown_ends_open_streams_at_the_grace_period_with_an_sse_error(tmp_path, backends):
    grace = 1.5
    gw = await start_gateway(tmp_path, backends, grace=grace)
    try:
        await gw.wait_for_event("start")
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as s:
            r = await open_stream(s, gw.port)  # the backend never finishes this stream
            t0 = loop.time()
            gw.proc.send_signal(signal.SIGTERM)
            rest = await asyncio.wait_for(r.read(), 10)
            elapsed = loop.time() - t0
            r.release()
        assert grace - 0.05 <= elapsed < grace + 0.5, elapsed
        event = rest.decode().strip().split("\n\n")[-1]
        assert event.startswith("data: ")
        err = json.loads(event[6:])["error"]
        assert err["code"] == "gateway_shutdown" and err["type"] == "server_error"
        assert await asyncio.wait_for(gw.proc.wait(), 5) == 0
        assert loop.time() - t0 < grace + 1.0
        await wait_event(backends[MODEL_A].cancelled, "backend to see the stream cancelled")
    finally:
        if gw.proc.returncode is None:
            gw.proc.kill()
            await gw.proc.wait()


def _low_fd_limit(limit: int):
    import resource

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


async def _slow_clients(port: int, count: int, host: str = "127.0.0.1") -> list:
    """Connections that send part of a request's headers and then nothing."""
    writers = []
    for _ in range(count):
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            continue
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthor")
        writers.append((reader, writer))
    await asyncio.sleep(0.2)
    return writers


async def _normal_request(port: int, local: str) -> int:
    from gw_support import raw_request

    body = json.dumps({"model": MODEL_A, "input": "x"}).encode()
    status, _, _ = await raw_request(
        port,
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + CLIENT_KEY.encode()
        + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body,
        local=local,
        timeout=3,
    )
    return status


async def test_hundreds_of_slow_clients_with_a_low_fd_limit(tmp_path, backends):
    """300 connections that never finish their headers, open-file limit 256: the gateway
    closes the oldest unfinished ones to make room and keeps answering real requests."""
    gw = await start_gateway(
        tmp_path,
        backends,
        grace=1,
        extra_env={"GATEWAY_HEADER_TIMEOUT": "30", "GATEWAY_MAX_CONNECTIONS_PER_CLIENT": "1000"},
        preexec_fn=_low_fd_limit(256),
    )
    writers = []
    try:
        start = await gw.wait_for_event("start")
        assert start["max_connections"] < 256
        writers = await _slow_clients(gw.port, 300)
        for _ in range(20):
            assert await _normal_request(gw.port, "127.0.0.2") == 200
        # Slow clients were cut to make room, oldest first: the newest are still open.
        room = start["max_connections"]
        assert room >= 64
        closed = [await _is_closed(w) for w in writers]
        assert all(closed[: 300 - room])
        assert not any(closed[-(room - 20) :])
    finally:
        for _, w in writers:
            w.close()
        if gw.proc.returncode is None:
            gw.proc.kill()
            await gw.proc.wait()


async def _is_closed(pair) -> bool:
    """Closed by the gateway without an answer (refused or evicted)."""
    reader, _ = pair
    try:
        data = await asyncio.wait_for(reader.read(1), 0.01)
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return data == b""


async def test_per_client_cap_and_header_and_idle_timeouts(tmp_path, backends):
    from gw_support import raw_request

    gw = await start_gateway(
        tmp_path,
        backends,
        grace=1,
        extra_env={
            "GATEWAY_HEADER_TIMEOUT": "1.5",
            "GATEWAY_IDLE_TIMEOUT": "0.5",
            "GATEWAY_MAX_CONNECTIONS_PER_CLIENT": "20",
        },
    )
    writers = []
    try:
        await gw.wait_for_event("start")
        writers = await _slow_clients(gw.port, 60)
        await asyncio.sleep(0.1)
        open_ = [w for w in writers if not await _is_closed(w)]
        assert len(open_) == 20  # the cap for 127.0.0.1
        assert await _normal_request(gw.port, "127.0.0.3") == 200  # other addresses unaffected
        # Header timeout: the slow ones get 408 and are closed.
        answers = [await asyncio.wait_for(reader.read(), 3) for reader, _ in open_]
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers[:2]
        assert await _normal_request(gw.port, "127.0.0.1") == 200  # the cap freed up
        # Idle keep-alive timeout.
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        rest = await asyncio.wait_for(reader.read(), 3)
        assert rest.endswith(b"}") and 0.3 < loop.time() - t0 < 1.5
        writer.close()
        assert raw_request  # imported for the helpers above
    finally:
        for _, w in writers:
            w.close()
        if gw.proc.returncode is None:
            gw.proc.kill()
            await gw.proc.wait()


async def test_several_workers_share_the_port_and_sum_their_metrics(tmp_path, backends):
    metrics_port = free_port()
    gw = await start_gateway(
        tmp_path,
        backends,
        grace=1,
        extra_env={"GATEWAY_WORKERS": "2", "GATEWAY_METRICS_PORT": str(metrics_port)},
    )
    try:
        await gw.wait_for_event("supervisor_start")
        starts = [await gw.wait_for_event("start") for _ in range(2)]
        assert sorted(s["worker"] for s in starts) == [0, 1]
        for i in range(40):
            assert await _normal_request(gw.port, f"127.0.0.{2 + i % 20}") == 200
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                text = await r.text()
        assert (
            'llm_gateway_requests_total{endpoint="embeddings",model="org/model-a",status="200"} 40.0'
        ) in text
        gw.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(gw.proc.wait(), 10) == 0
    finally:
        if gw.proc.returncode is None:
            gw.proc.kill()
            await gw.proc.wait()
