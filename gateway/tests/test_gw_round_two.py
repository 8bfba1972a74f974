"""Issue 25's gateway cases: the request-head limit counts bytes of an unterminated line,
an upgrade request gets one response, answers a retry cannot change say so to the OpenAI
SDK, and only the client endpoints of vLLM are forwarded.  The memory of 64 concurrent
unterminated heads is measured by gateway/bench_head_limit.py."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

import gw_support  # noqa: F401 (puts llm_gateway on sys.path)
from gw_support import CLIENT_KEY, MODEL_A, MODEL_B, MODEL_SLOW, raw_request
from llm_gateway.endpoints import CLIENT_ENDPOINTS


def _port(gateway) -> int:
    return int(gateway.url.rsplit(":", 1)[1])


async def _read_all(reader: asyncio.StreamReader, timeout: float = 5.0) -> bytes:
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), timeout):
            data += chunk
    except (ConnectionError, TimeoutError):
        pass
    return data


async def _unterminated_head(port: int, size: int) -> tuple[bytes, int]:
    """Send a request line and one header line of ``size`` bytes that never ends; the
    gateway's answer and how many bytes it accepted before answering."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    try:
        writer.write(b"GET /v1/models HTTP/1.1\r\nHost: gw\r\nX-Long: ")
        piece = b"a" * 4096
        while sent < size:
            writer.write(piece)
            sent += len(piece)
            try:
                await asyncio.wait_for(writer.drain(), 2)
            except (ConnectionError, TimeoutError):
                break
        return await _read_all(reader), sent
    finally:
        writer.close()


@pytest.mark.asyncio
async def test_unterminated_header_line_is_431_at_the_limit(gateway):
    limit = gateway.settings.max_header_bytes
    answer, _ = await _unterminated_head(_port(gateway), limit * 4)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1


@pytest.mark.asyncio
async def test_64_concurrent_unterminated_heads_all_431_and_others_served(gateway):
    limit = gateway.settings.max_header_bytes
    results = await asyncio.gather(*(_unterminated_head(_port(gateway), limit * 3) for _ in range(64)))
    assert all(answer.startswith(b"HTTP/1.1 431 ") for answer, _ in results)
    for connection in gateway.http.connections:
        assert connection.head_received <= limit
    status, _, body = await raw_request(
        _port(gateway),
        b"GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + CLIENT_KEY.encode() + b"\r\n\r\n",
    )
    assert status == 200 and MODEL_A in body.decode()


@pytest.mark.asyncio
async def test_head_just_under_the_limit_is_served(gateway):
    limit = gateway.settings.max_header_bytes
    head = b"GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + CLIENT_KEY.encode() + b"\r\n"
    filler = b"X-Fill: " + b"a" * (limit - len(head) - 20) + b"\r\n\r\n"
    assert len(head + filler) < limit
    status, _, _ = await raw_request(_port(gateway), head + filler)
    assert status == 200


@pytest.mark.asyncio
@pytest.mark.parametrize("method", [b"GET /v1/models", b"POST /v1/chat/completions"])
async def test_connection_upgrade_gets_exactly_one_response(gateway, method):
    body = json.dumps({"model": MODEL_A, "messages": []}).encode() if method.startswith(b"POST") else b""
    request = (
        method
        + b" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "
        + CLIENT_KEY.encode()
        + b"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
        + b"\x81\x05hello"  # what an upgraded client would send next
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(gateway))
    writer.write(request)
    await writer.drain()
    answer = await _read_all(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b"Protocol upgrades are not supported" in answer
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert gateway.backends[MODEL_A].requests == []


@pytest.mark.asyncio
async def test_backend_auth_failure_is_not_retried_by_the_sdk(gateway):
    backend = gateway.backends[MODEL_B]
    backend.reject_status = 401
    client = openai.AsyncOpenAI(base_url=gateway.base_url, api_key=CLIENT_KEY, max_retries=3)
    with pytest.raises(openai.InternalServerError) as caught:
        await client.chat.completions.create(model=MODEL_B, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(backend.requests) == 1
    await client.close()


@pytest.mark.asyncio
async def test_gateway_read_timeout_is_not_retried_by_the_sdk(gateway):
    backend = gateway.backends[MODEL_SLOW]
    backend.hang.set()
    client = openai.AsyncOpenAI(base_url=gateway.base_url, api_key=CLIENT_KEY, max_retries=3)
    with pytest.raises(openai.APIStatusError) as caught:
        await client.chat.completions.create(model=MODEL_SLOW, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 504
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(backend.requests) == 1
    await client.close()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    [
        b"/v1/load_lora_adapter",
        b"/v1/unload_lora_adapter",
        b"/v1/chat/completions/render",
        b"/v1/responses/abc/cancel",
        b"/v1/whatever",
    ],
)
async def test_only_client_endpoints_are_forwarded(gateway, path):
    body = json.dumps({"model": MODEL_A, "lora_name": "x", "lora_path": "/tmp/x"}).encode()
    request = (
        (b"POST " + path + b" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + CLIENT_KEY.encode())
        + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
    )
    status, _, answer = await raw_request(_port(gateway), request)
    assert status == 404 and json.loads(answer)["error"]["code"] == "unknown_url"
    assert gateway.backends[MODEL_A].requests == []


@pytest.mark.asyncio
async def test_client_endpoints_are_still_forwarded(gateway):
    assert b"/v1/chat/completions" in CLIENT_ENDPOINTS and b"/v1/load_lora_adapter" not in CLIENT_ENDPOINTS
    client = openai.AsyncOpenAI(base_url=gateway.base_url, api_key=CLIENT_KEY, max_retries=0)
    reply = await client.completions.create(model=MODEL_A, prompt="hi")
    assert reply.choices[0].text == f"completion from {MODEL_A}"
    await client.close()


@pytest.mark.parametrize("value", ["2024-02-30", "!!int Hunter2Sup3rSecret", "!!float abc", "!!timestamp x"])
def test_routes_file_value_errors_are_config_errors(tmp_path, value):
    from llm_gateway.config import ConfigError, load_routes

    routes = tmp_path / "routes.yaml"
    routes.write_text(f"released: {value}\nmodels: []\n")
    with pytest.raises(ConfigError) as caught:
        load_routes(routes)
    assert str(routes) in str(caught.value) and "Hunter2" not in str(caught.value)
