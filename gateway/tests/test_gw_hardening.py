"""Findings of the outside review, in process: path traversal, keys, backend credentials,
header sanitising, the metrics port."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

import gw_support  # noqa: F401 (puts llm_gateway on sys.path)
from gw_support import (
    BACKEND_KEY,
    CLIENT_KEY,
    MODEL_A,
    MODEL_B,
    raw_request,
    start_gateway,
    stop_gateway,
    write_config,
)
from llm_gateway.paths import split_target

TRAVERSALS = [
    b"/v1/../metrics",
    b"/v1/%2e%2e/x",
    b"/v1/chat/../../x",
    b"/v1/%2E%2E/health",
    b"/v1/.%2e/health",
    b"/v1/%2e./health",
    b"/v1/%252e%252e/health",
    b"/v1/./chat/completions",
    b"/v1/chat/completions/..",
    b"/v1/chat/completions/.",
    b"/v1/..%2fhealth",
    b"/v1/..%2Fhealth",
    b"/v1/chat%2f..%2f..%2fhealth",
    b"/v1/..%5chealth",
    b"/v1//chat/completions",
    b"/v1/%2e%2e%2f%2e%2e%2fhealth",
    b"/v1/chat\\..\\health",
    b"/v1/%25252e%25252e/health",
    b"/v1/..;/health",
]


def post(path: bytes, body: bytes, key: str = CLIENT_KEY, extra: bytes = b"") -> bytes:
    return (
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "
        + key.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        + extra
        + b"\r\n"
        + body
    )


@pytest.mark.parametrize("path", [p.decode() for p in TRAVERSALS])
def test_split_target_refuses_dot_segments(path):
    assert split_target(path.encode()) is None


@pytest.mark.parametrize(
    "target, expected",
    [
        (b"/v1/chat/completions", (b"/v1/chat/completions", b"")),
        (b"/v1/completions?x=1&y=%2e%2e", (b"/v1/completions", b"x=1&y=%2e%2e")),
        (b"/v1/models/org%2Fmodel", None),
        (b"/v1/a.b/c..d/...", (b"/v1/a.b/c..d/...", b"")),
        (b"http://evil/v1/chat/completions", None),
        (b"*", None),
    ],
)
def test_split_target_keeps_plain_paths(target, expected):
    assert split_target(target) == expected


@pytest.mark.asyncio
async def test_traversal_is_404_before_routing(gateway):
    port = int(gateway.url.rsplit(":", 1)[1])
    body = json.dumps({"model": MODEL_A, "messages": []}).encode()
    for path in TRAVERSALS:
        status, headers, raw = await raw_request(port, post(path, body))
        assert status == 404, path
        err = json.loads(raw)["error"]
        assert err["code"] == "unknown_url" and err["type"] == "invalid_request_error", path
        # Without a key as well: the path is refused before anything else.
        status, _, _ = await raw_request(port, post(path, body, key="wrong"))
        assert status == 404, path
    assert gateway.backends[MODEL_A].requests == []


@pytest.mark.asyncio
async def test_upstream_path_is_the_validated_one(gateway):
    port = int(gateway.url.rsplit(":", 1)[1])
    body = json.dumps({"model": MODEL_A, "input": "x"}).encode()
    status, _, _ = await raw_request(port, post(b"/v1/embeddings?a=b", body))
    assert status == 200
    assert gateway.backends[MODEL_A].requests[-1]["path"] == "/v1/embeddings"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "auth",
    [
        b"Bearer \xff\xfe" + CLIENT_KEY.encode(),  # not UTF-8
        b"Bearer " + CLIENT_KEY.encode() + b"\xc3\xa9",  # UTF-8 but not ASCII
        b"Bearer " + b"k" * 5000,  # over-long
        b"Bearer\t" + CLIENT_KEY.encode() + b"\x01",  # control byte (refused by the parser: 400)
        b"Basic " + CLIENT_KEY.encode(),
    ],
)
async def test_bad_authorization_bytes_are_401_with_an_access_line(gateway, caplog, auth):
    caplog.set_level(logging.INFO, logger="llm_gateway")
    port = int(gateway.url.rsplit(":", 1)[1])
    body = json.dumps({"model": MODEL_A}).encode()
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: "
        + auth
        + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
    )
    status, headers, raw = await raw_request(port, request)
    if b"\x01" in auth:
        assert status == 400
        return
    assert status == 401
    assert json.loads(raw)["error"]["code"] == "invalid_api_key"
    access = [r for r in caplog.records if r.name == "llm_gateway.access"]
    assert [(r.status, r.error_code) for r in access] == [(401, "invalid_api_key")]
    assert gateway.backends[MODEL_A].requests == []


@pytest.mark.asyncio
async def test_backend_rejecting_the_gateway_key_is_502(gateway, caplog):
    caplog.set_level(logging.INFO, logger="llm_gateway")
    gateway.backends[MODEL_B].reject_status = 401
    async with aiohttp.ClientSession() as s:
        for status in (401, 403):
            gateway.backends[MODEL_B].reject_status = status
            async with s.post(
                f"{gateway.base_url}/chat/completions",
                headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                json={"model": MODEL_B, "messages": []},
            ) as r:
                assert r.status == 502
                err = (await r.json())["error"]
                assert err["code"] == "backend_auth_failed" and err["type"] == "server_error"
    errors = [r for r in caplog.records if getattr(r, "event", "") == "backend_auth_failed"]
    assert len(errors) == 2 and all(r.levelno == logging.ERROR and r.config_error for r in errors)
    assert BACKEND_KEY not in caplog.text


@pytest.mark.asyncio
async def test_forwarding_and_hop_by_hop_headers_are_replaced(gateway):
    port = int(gateway.url.rsplit(":", 1)[1])
    body = json.dumps({"model": MODEL_B, "messages": []}).encode()
    extra = (
        b"X-Real-IP: 6.6.6.6\r\nForwarded: for=6.6.6.6;host=evil\r\n"
        b"X-Forwarded-Host: evil\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
        b"X-Forwarded-Port: 1\r\nCookie: session=secret\r\nProxy-Authorization: Basic x\r\n"
        b"Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\nKeep-Alive: 300\r\n"
        b"Via: 1.1 evil\r\nX-Keep: kept\r\n"
    )
    status, headers, _ = await raw_request(port, post(b"/v1/chat/completions", body, extra=extra))
    assert status == 200
    assert "server" not in headers and "keep-alive" not in headers
    got = gateway.backends[MODEL_B].requests[-1]["headers"]
    for name in (
        "X-Real-IP",
        "Forwarded",
        "X-Forwarded-Host",
        "X-Forwarded-Port",
        "Cookie",
        "Proxy-Authorization",
        "X-Hop",
        "TE",
        "Keep-Alive",
        "Via",
    ):
        assert name not in got, name
    assert got.getall("X-Forwarded-For") == ["127.0.0.1"]
    assert got["X-Forwarded-Proto"] == "http"
    assert got["X-Keep"] == "kept"
    assert got["Authorization"] == f"Bearer {BACKEND_KEY}"
    assert got["Host"] == f"127.0.0.1:{gateway.backends[MODEL_B].port}"


@pytest.mark.asyncio
async def test_metrics_port_separate_from_the_api(tmp_path, backends):
    from llm_gateway.app import MetricsApp, start_metrics

    routes, keys = write_config(tmp_path, backends[MODEL_A], backends[MODEL_B], backends["org/model-slow"])
    handle = await start_gateway(routes, keys, backends, metrics_port=1)  # any non-zero
    metrics_server = await start_metrics(MetricsApp(handle.gw.metrics.registry), "127.0.0.1", 0)
    mport = metrics_server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{handle.url}/metrics") as r:
                assert r.status == 404  # not on the client-facing port
            async with s.post(
                f"{handle.base_url}/embeddings",
                headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                json={"model": MODEL_A, "input": "x"},
            ) as r:
                assert r.status == 200
            async with s.get(f"http://127.0.0.1:{mport}/metrics") as r:
                assert r.status == 200
                text = await r.text()
            async with s.get(f"http://127.0.0.1:{mport}/v1/models") as r:
                assert r.status == 404
    finally:
        metrics_server.close()
        await stop_gateway(handle)
    assert ('llm_gateway_requests_total{endpoint="embeddings",model="org/model-a",status="200"} 1.0') in text


class OneShotBackend:
    """Answers the first request on each connection; a second request on the same
    connection is read and the connection closed without an answer (the keep-alive
    race: the backend closed a pooled connection just as the gateway reused it)."""

    def __init__(self) -> None:
        self.requests = 0
        self.server = None
        self.port = 0

    async def start(self) -> None:
        async def handle(reader, writer):
            served = 0
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                    await reader.readexactly(length)
                    self.requests += 1
                    if served:
                        writer.transport.abort()
                        return
                    served += 1
                    body = b'{"object":"list","data":[]}'
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]


@pytest.mark.asyncio
async def test_connection_closed_before_an_answer_is_retried_on_a_fresh_one(tmp_path):
    backend = OneShotBackend()
    await backend.start()
    routes = tmp_path / "routes.yaml"
    routes.write_text(f"models:\n  - name: m\n    url: http://127.0.0.1:{backend.port}\n")
    keys = tmp_path / "keys"
    keys.write_text(CLIENT_KEY + "\n")
    handle = await start_gateway(routes, keys, {})
    try:
        async with aiohttp.ClientSession() as s:
            for _ in range(3):
                async with s.post(
                    f"{handle.base_url}/embeddings",
                    headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                    json={"model": "m", "input": "x"},
                ) as r:
                    assert r.status == 200
    finally:
        await stop_gateway(handle)
        backend.server.close()
    retried = handle.gw.metrics.registry.get_sample_value(
        "llm_gateway_backend_retries_total", {"model": "m", "reason": "connection_closed"}
    )
    assert retried == 2  # requests 2 and 3 each met a dead pooled connection once
    assert backend.requests == 5


@pytest.mark.asyncio
async def test_refused_connection_is_retried_once_then_503(tmp_path):
    from gw_support import free_port

    routes = tmp_path / "routes.yaml"
    routes.write_text(f"models:\n  - name: m\n    url: http://127.0.0.1:{free_port()}\n")
    keys = tmp_path / "keys"
    keys.write_text(CLIENT_KEY + "\n")
    handle = await start_gateway(routes, keys, {})
    try:
        async with aiohttp.ClientSession() as s:
            async with s.post(
                f"{handle.base_url}/embeddings",
                headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                json={"model": "m", "input": "x"},
            ) as r:
                assert r.status == 503
                assert (await r.json())["error"]["code"] == "backend_unavailable"
                assert r.headers["Retry-After"] == "1"
    finally:
        await stop_gateway(handle)
    retried = handle.gw.metrics.registry.get_sample_value(
        "llm_gateway_backend_retries_total", {"model": "m", "reason": "connection_refused"}
    )
    assert retried == 1


@pytest.mark.asyncio
async def test_no_retry_after_the_first_byte(gateway):
    backend = gateway.backends[MODEL_A]
    backend.fail_mid_stream = True
    backend.release.set()
    async with aiohttp.ClientSession() as s:
        async with s.post(
            f"{gateway.base_url}/chat/completions",
            headers={"Authorization": f"Bearer {CLIENT_KEY}"},
            json={"model": MODEL_A, "stream": True},
        ) as r:
            body = await r.read()
    assert b'"code":"backend_stream_error"' in body
    assert len(backend.requests) == 1
