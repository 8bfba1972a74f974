"""End-to-end tests: the real gateway on loopback, two fake backends, the official
``openai`` client (and plain aiohttp where the client would hide the wire format)."""

from __future__ import annotations

import asyncio

import aiohttp
import openai
import pytest
from openai import AsyncOpenAI

from gw_support import (
    BACKEND_KEY,
    CLIENT_KEY,
    MODEL_A,
    MODEL_B,
    MODEL_DOWN,
    MODEL_SLOW,
    OTHER_CLIENT_KEY,
    wait_event,
)

pytestmark = pytest.mark.asyncio


def client(gw, key: str = CLIENT_KEY) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=gw.base_url, api_key=key, max_retries=0, timeout=20)


def assert_openai_error(body: dict, code: str) -> dict:
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["code"] == code
    assert isinstance(err["message"], str) and err["message"]
    return err


async def test_chat_completion_routed_to_each_model(gateway):
    async with client(gateway) as c:
        for model in (MODEL_A, MODEL_B):
            out = await c.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
            assert out.model == model
            assert out.choices[0].message.content == f"hello from {model}"
    a, b = gateway.backends[MODEL_A], gateway.backends[MODEL_B]
    assert [r["body"]["model"] for r in a.requests] == [MODEL_A]
    assert [r["body"]["model"] for r in b.requests] == [MODEL_B]
    # The client's key never reaches a backend; the backend key only where api_key: true.
    assert "Authorization" not in a.requests[0]["headers"]
    assert b.requests[0]["headers"]["Authorization"] == f"Bearer {BACKEND_KEY}"
    for r in a.requests + b.requests:
        assert CLIENT_KEY not in str(r["headers"])
        assert r["headers"].get("X-Request-Id")


async def test_completions_and_embeddings_routed(gateway):
    async with client(gateway, OTHER_CLIENT_KEY) as c:
        comp = await c.completions.create(model=MODEL_B, prompt="x")
        assert comp.choices[0].text == f"completion from {MODEL_B}"
        emb = await c.embeddings.create(model=MODEL_A, input="x")
        assert emb.data[0].embedding == [0.1, 0.2, 0.3]
    assert [r["path"] for r in gateway.backends[MODEL_B].requests] == ["/v1/completions"]
    assert [r["path"] for r in gateway.backends[MODEL_A].requests] == ["/v1/embeddings"]


async def test_stream_first_chunk_arrives_before_backend_finishes(gateway):
    backend = gateway.backends[MODEL_A]
    async with client(gateway) as c:
        stream = await c.chat.completions.create(
            model=MODEL_A, messages=[{"role": "user", "content": "hi"}], stream=True
        )
        # The backend holds the rest of the stream until `release` is set, which only
        # happens below: a buffering gateway would time out here.
        first = await asyncio.wait_for(stream.__anext__(), 5)
        assert first.choices[0].delta.content == "first "
        assert not backend.finished.is_set()
        backend.release.set()
        rest = [chunk async for chunk in stream]
    text = "first " + "".join(ch.choices[0].delta.content or "" for ch in rest)
    assert text == "first second third"
    assert rest[-1].choices[0].finish_reason == "stop"
    await wait_event(backend.finished, "backend to finish")


async def test_sse_bytes_pass_through_unchanged(gateway):
    backend = gateway.backends[MODEL_B]
    backend.release.set()
    async with aiohttp.ClientSession() as s:
        async with s.post(
            f"{gateway.base_url}/chat/completions",
            headers={"Authorization": f"Bearer {CLIENT_KEY}"},
            json={"model": MODEL_B, "stream": True, "messages": []},
        ) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/event-stream")
            body = await r.read()
    expected = b"".join(
        [
            backend._chunk(0, "first "),
            backend._chunk(1, "second "),
            backend._chunk(2, "third"),
            backend._chunk(3, "", "stop"),
            b"data: [DONE]\n\n",
        ]
    )
    assert body == expected


async def test_models_lists_every_route(gateway):
    async with client(gateway) as c:
        page = await c.models.list()
        ids = [m.id for m in page.data]
        assert ids == sorted([MODEL_A, MODEL_B, MODEL_DOWN, MODEL_SLOW])
        assert all(m.object == "model" and m.owned_by for m in page.data)
        one = await c.models.retrieve(MODEL_B)
        assert one.id == MODEL_B
        with pytest.raises(openai.NotFoundError):
            await c.models.retrieve("nope/nope")


async def test_unknown_model_is_404_listing_known_models(gateway):
    async with client(gateway) as c:
        with pytest.raises(openai.NotFoundError) as exc:
            await c.chat.completions.create(model="nope/nope", messages=[])
    assert exc.value.status_code == 404
    err = assert_openai_error(exc.value.response.json(), "model_not_found")
    assert err["param"] == "model"
    assert err["type"] == "invalid_request_error"
    assert MODEL_A in err["message"] and MODEL_B in err["message"]
    assert not gateway.backends[MODEL_A].requests


async def test_bad_or_missing_key_is_401(gateway):
    async with client(gateway, "sk-wrong") as c:
        with pytest.raises(openai.AuthenticationError) as exc:
            await c.chat.completions.create(model=MODEL_A, messages=[])
        assert exc.value.status_code == 401
        assert_openai_error(exc.value.response.json(), "invalid_api_key")
        with pytest.raises(openai.AuthenticationError):
            await c.models.list()
    async with aiohttp.ClientSession() as s:
        for headers in (
            {},
            {"Authorization": f"Basic {CLIENT_KEY}"},
            {"Authorization": f"Bearer {CLIENT_KEY}x"},
        ):
            async with s.post(
                f"{gateway.base_url}/chat/completions", headers=headers, json={"model": MODEL_A}
            ) as r:
                assert r.status == 401
                assert_openai_error(await r.json(), "invalid_api_key")
        # Probes and metrics stay open.
        async with s.get(f"{gateway.url}/healthz") as r:
            assert r.status == 200
        async with s.get(f"{gateway.url}/metrics") as r:
            assert r.status == 200
    assert not gateway.backends[MODEL_A].requests


async def test_backend_down_is_503(gateway):
    async with client(gateway) as c:
        with pytest.raises(openai.InternalServerError) as exc:
            await asyncio.wait_for(c.chat.completions.create(model=MODEL_DOWN, messages=[]), 10)
    assert exc.value.status_code == 503
    err = assert_openai_error(exc.value.response.json(), "backend_unavailable")
    assert err["type"] == "server_error"


async def test_backend_read_timeout_is_504(gateway):
    slow = gateway.backends[MODEL_SLOW]
    slow.hang.set()  # accepts the request, never answers; the route's read_timeout is 0.3 s
    async with client(gateway) as c:
        with pytest.raises(openai.APIStatusError) as exc:
            await asyncio.wait_for(c.chat.completions.create(model=MODEL_SLOW, messages=[]), 10)
    assert exc.value.status_code == 504
    assert_openai_error(exc.value.response.json(), "backend_timeout")


async def test_read_timeout_mid_stream_ends_with_sse_error(gateway):
    slow = gateway.backends[MODEL_SLOW]  # read_timeout 0.3 s; sends one chunk, then waits
    async with aiohttp.ClientSession() as s:
        async with s.post(
            f"{gateway.base_url}/chat/completions",
            headers={"Authorization": f"Bearer {CLIENT_KEY}"},
            json={"model": MODEL_SLOW, "stream": True},
        ) as r:
            assert r.status == 200
            body = await asyncio.wait_for(r.read(), 5)
    assert body.startswith(slow._chunk(0, "first "))
    assert b'"code":"backend_timeout"' in body
    await wait_event(slow.cancelled, "backend to see the upstream connection close")


async def test_read_timeout_is_between_reads_not_total(gateway):
    slow = gateway.backends[MODEL_SLOW]  # read_timeout 0.3 s
    slow.drip_interval, slow.drip_count = 0.1, 8  # 0.8 s in all, never 0.3 s silent
    async with client(gateway) as c:
        stream = await c.chat.completions.create(model=MODEL_SLOW, messages=[], stream=True)
        chunks = [chunk async for chunk in stream]
    assert len(chunks) == 1 + 8 + 3  # first, drip, second/third/finish
    assert chunks[-1].choices[0].finish_reason == "stop"
    await wait_event(slow.finished, "backend to finish")


async def test_client_disconnect_cancels_upstream(gateway):
    backend = gateway.backends[MODEL_A]
    async with client(gateway) as c:
        stream = await c.chat.completions.create(
            model=MODEL_A, messages=[{"role": "user", "content": "hi"}], stream=True
        )
        first = await asyncio.wait_for(stream.__anext__(), 5)
        assert first.choices[0].delta.content == "first "
        await stream.close()  # the client goes away mid-stream
        # The backend is still waiting for `release`; only a closed upstream connection
        # cancels its handler.
        await wait_event(backend.cancelled, "backend to see the upstream connection close")
    assert not backend.finished.is_set()


async def test_client_disconnect_while_backend_silent(gateway):
    """The client leaves before the backend sent anything (e.g. a long prefill)."""
    backend = gateway.backends[MODEL_A]
    backend.hang.set()
    async with aiohttp.ClientSession() as s:
        task = asyncio.create_task(
            s.post(
                f"{gateway.base_url}/chat/completions",
                headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                json={"model": MODEL_A},
            )
        )
        await wait_event(backend.received, "backend to receive the request")
        task.cancel()  # closes the client's connection to the gateway
        with pytest.raises(asyncio.CancelledError):
            await task
    await wait_event(backend.cancelled, "backend to see the upstream connection close")


async def test_mid_stream_backend_failure_ends_with_sse_error(gateway):
    backend = gateway.backends[MODEL_A]
    backend.fail_mid_stream = True
    backend.release.set()
    async with aiohttp.ClientSession() as s:
        async with s.post(
            f"{gateway.base_url}/chat/completions",
            headers={"Authorization": f"Bearer {CLIENT_KEY}"},
            json={"model": MODEL_A, "stream": True},
        ) as r:
            assert r.status == 200
            body = await r.read()
    assert body.startswith(backend._chunk(0, "first "))
    assert b'"code":"backend_stream_error"' in body


async def test_bad_requests_are_400_and_413(gateway):
    auth = {"Authorization": f"Bearer {CLIENT_KEY}"}
    async with aiohttp.ClientSession() as s:
        cases = [
            (b"{not json", "invalid_json"),
            (b"[1, 2]", "invalid_json"),
            (b"{}", "missing_model"),
            (b'{"model": 3}', "missing_model"),
        ]
        for body, code in cases:
            async with s.post(
                f"{gateway.base_url}/chat/completions",
                data=body,
                headers={**auth, "Content-Type": "application/json"},
            ) as r:
                assert r.status == 400, body
                assert_openai_error(await r.json(), code)
        big = b'{"model": "%s", "prompt": "%s"}' % (MODEL_A.encode(), b"x" * (70 * 1024))
        async with s.post(f"{gateway.base_url}/completions", data=big, headers=auth) as r:
            assert r.status == 413
            assert_openai_error(await r.json(), "request_too_large")
        async with s.get(f"{gateway.base_url}/nothing", headers=auth) as r:
            assert r.status == 404
            assert_openai_error(await r.json(), "unknown_url")
    assert not gateway.backends[MODEL_A].requests


async def test_metrics_have_bounded_model_label(gateway):
    async with client(gateway) as c:
        await c.chat.completions.create(model=MODEL_A, messages=[])
        with pytest.raises(openai.NotFoundError):
            await c.chat.completions.create(model="attacker/" + "x" * 50, messages=[])
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{gateway.url}/metrics") as r:
            text = await r.text()
    assert (
        'llm_gateway_requests_total{endpoint="chat_completions",model="org/model-a",status="200"} 1.0'
    ) in text
    assert 'llm_gateway_errors_total{code="model_not_found",model="unknown",status="404"} 1.0' in text
    assert "attacker" not in text
    assert 'llm_gateway_requests_in_flight{model="org/model-a"} 0.0' in text
    assert "llm_gateway_request_duration_seconds_bucket" in text


async def test_access_log_is_json_without_prompt(gateway, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="llm_gateway.access")
    secret_prompt = "my-very-private-prompt-text"
    async with client(gateway) as c:
        await c.chat.completions.create(model=MODEL_A, messages=[{"role": "user", "content": secret_prompt}])
    records = [r for r in caplog.records if r.name == "llm_gateway.access"]
    assert len(records) == 1
    rec = records[0]
    assert rec.model == MODEL_A and rec.status == 200 and rec.method == "POST"
    assert rec.key_id and CLIENT_KEY not in str(rec.__dict__)
    from llm_gateway.logs import JsonFormatter

    line = JsonFormatter().format(rec)
    assert secret_prompt not in line
    import json

    assert json.loads(line)["path"] == "/v1/chat/completions"


async def test_request_id_is_kept_forwarded_and_sanitised(gateway):
    backend = gateway.backends[MODEL_A]
    async with aiohttp.ClientSession() as s:
        for sent, kept in (("req-123.abc", True), ("x" * 200, False), ("a b", False)):
            async with s.post(
                f"{gateway.base_url}/embeddings",
                headers={"Authorization": f"Bearer {CLIENT_KEY}", "X-Request-Id": sent},
                json={"model": MODEL_A, "input": "x"},
            ) as r:
                assert r.status == 200
                got = r.headers["X-Request-Id"]
            assert backend.requests[-1]["headers"]["X-Request-Id"] == got
            assert (got == sent) is kept
