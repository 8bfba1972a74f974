"""Rollouts: the gateway in front of a simulated Service whose pods drain as vLLM 0.33 does.

The simulation (all on loopback, in this process):

* ``ServiceProxy`` plays kube-proxy: a new TCP connection goes to one of the *ready*
  pods (round robin); a connection, once made, stays with its pod until either side
  closes it, even after the pod left the endpoints.
* ``VllmPod`` plays a vLLM 0.33 server with ``--shutdown-timeout``: removed from the
  endpoints, it keeps serving normally for its preStop sleep; then it drains: the
  listener and every connection stay open, requests in progress run to the end, and
  every *new* request is aborted by the engine, which the OpenAI server answers with
  status 200 and ``finish_reason: "abort"`` and no content (for a stream: a role-only
  chunk, the abort chunk, ``[DONE]``; src vllm/v1/engine/core.py
  ``_reject_add_in_shutdown``, vllm/entrypoints/openai/chat_completion/serving.py);
  when nothing is left in progress the server closes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random

import aiohttp
import pytest
from aiohttp import web

from gw_support import CLIENT_KEY, start_gateway, stop_gateway

pytestmark = pytest.mark.asyncio

MODEL = "org/rolling"


class Pipe(asyncio.Protocol):
    def __init__(self) -> None:
        self.peer: Pipe | None = None
        self.transport: asyncio.Transport | None = None
        self.buffer: list[bytes] = []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:
            self.buffer.append(data)

    def connection_lost(self, exc) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


class ServiceProxy:
    """kube-proxy: new connections to a ready pod; existing ones stay where they are."""

    def __init__(self) -> None:
        self.ready: list[VllmPod] = []
        self.rr = itertools.count()
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> Pipe:
            client_side = Pipe()
            pods = list(self.ready)
            pod = pods[next(self.rr) % len(pods)]

            async def connect() -> None:
                try:
                    _, pod_side = await loop.create_connection(Pipe, "127.0.0.1", pod.port)
                except OSError:
                    if client_side.transport is not None:
                        client_side.transport.abort()
                    return
                pod_side.peer, client_side.peer = client_side, pod_side
                for data in client_side.buffer:
                    pod_side.transport.write(data)  # type: ignore[union-attr]
                client_side.buffer.clear()
                if client_side.transport is None or client_side.transport.is_closing():
                    pod_side.transport.close()  # type: ignore[union-attr]

            loop.create_task(connect())
            return client_side

        self.server = await loop.create_server(factory, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]


class VllmPod:
    def __init__(self, name: str, chunks: int, interval: float) -> None:
        self.name = name
        self.chunks = chunks
        self.interval = interval
        self.draining = False
        self.in_flight = 0
        self.aborted = 0
        self.served = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        self.runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @staticmethod
    def event(data: dict) -> bytes:
        return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

    def chunk(self, delta: dict, finish: str | None = None) -> bytes:
        return self.event(
            {
                "id": "chatcmpl-x",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        stream = body.get("stream") is True
        if self.draining:  # the engine rejects the new request: finish_reason "abort"
            self.aborted += 1
            if not stream:
                return web.json_response(
                    {
                        "id": "chatcmpl-x",
                        "object": "chat.completion",
                        "created": 1,
                        "model": MODEL,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": ""},
                                "logprobs": None,
                                "finish_reason": "abort",
                            }
                        ],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3},
                    }
                )
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(self.chunk({"role": "assistant", "content": ""}))
            await resp.write(self.chunk({}, "abort"))
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        self.in_flight += 1
        self.idle.clear()
        try:
            if not stream:
                await asyncio.sleep(self.interval * self.chunks)
                self.served += 1
                return web.json_response(
                    {
                        "id": "chatcmpl-x",
                        "object": "chat.completion",
                        "created": 1,
                        "model": MODEL,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "logprobs": None,
                                "message": {"role": "assistant", "content": "all tokens"},
                            }
                        ],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
                    }
                )
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            # vLLM sends the role chunk and the first token in the same engine step.
            await resp.write(
                self.chunk({"role": "assistant", "content": ""}) + self.chunk({"content": "t0 "})
            )
            for i in range(1, self.chunks):
                await asyncio.sleep(self.interval)
                await resp.write(self.chunk({"content": f"t{i} "}))
            await resp.write(self.chunk({}, "stop"))
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            self.served += 1
            return resp
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.idle.set()

    async def terminate(self, service: ServiceProxy, pre_stop: float) -> None:
        """Endpoint removal, preStop sleep, SIGTERM (drain), exit when idle."""
        service.ready.remove(self)
        await asyncio.sleep(pre_stop)
        self.draining = True
        await self.idle.wait()
        await asyncio.sleep(0.05)
        assert self.runner is not None
        await self.runner.cleanup()


def write_routes(tmp_path, port: int):
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        f"models:\n  - name: {MODEL}\n    url: http://127.0.0.1:{port}\n"
        "    overlay: rolling\n    api_key: false\n"
    )
    keys = tmp_path / "keys"
    keys.write_text(CLIENT_KEY + "\n")
    return routes, keys


async def rollout_under_load(
    tmp_path, *, pre_stop: float, lifetime: float, idle: float, clients: int = 220, rollouts: int = 2
) -> tuple[dict, list, object]:
    chunks, interval = 6, 0.04
    service = ServiceProxy()
    await service.start()
    pods = [VllmPod("pod-0", chunks, interval)]
    await pods[0].start()
    service.ready.append(pods[0])
    routes, keys = write_routes(tmp_path, service.port)
    handle = await start_gateway(
        routes,
        keys,
        {},
        backend_max_lifetime=lifetime,
        backend_idle_timeout=idle,
        pool_limit=1024,
        max_connections_per_client=4096,
        backend_retries=1,
    )
    results = {"ok": 0, "stream_ok": 0}
    failures: list[str] = []
    stop = asyncio.Event()
    rng = random.Random(3)
    expected = "".join(f"t{i} " for i in range(chunks))

    async def client(session: aiohttp.ClientSession, i: int) -> None:
        await asyncio.sleep(rng.random() * chunks * interval)
        while not stop.is_set():
            stream = (i % 10) != 0
            try:
                async with session.post(
                    f"{handle.url}/v1/chat/completions",
                    headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                    json={"model": MODEL, "stream": stream, "messages": []},
                ) as r:
                    raw = await r.read()
                    if r.status != 200:
                        failures.append(f"status {r.status}: {raw[:200]!r}")
                        continue
            except (TimeoutError, aiohttp.ClientError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            if stream:
                events = [e[6:] for e in raw.decode().split("\n\n") if e.startswith("data: ")]
                if events[-1:] != ["[DONE]"]:
                    failures.append(f"stream without [DONE]: {raw[-200:]!r}")
                    continue
                objs = [json.loads(e) for e in events[:-1]]
                text = "".join(o["choices"][0]["delta"].get("content") or "" for o in objs)
                reasons = [o["choices"][0]["finish_reason"] for o in objs]
                if text != expected or reasons[-1] != "stop" or "abort" in reasons:
                    failures.append(f"wrong stream: {text!r} {reasons}")
                    continue
                results["stream_ok"] += 1
            else:
                obj = json.loads(raw)
                if obj["choices"][0]["finish_reason"] != "stop":
                    failures.append(f"wrong body: {raw[:200]!r}")
                    continue
            results["ok"] += 1

    timeout = aiohttp.ClientTimeout(total=20)
    connector = aiohttp.TCPConnector(limit=clients)
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            workers = [asyncio.create_task(client(session, i)) for i in range(clients)]
            terminations = []
            await asyncio.sleep(0.6)
            for n in range(1, rollouts + 1):
                new = VllmPod(f"pod-{n}", chunks, interval)
                await new.start()
                pods.append(new)
                service.ready.append(new)  # maxSurge: the new pod is ready first
                terminations.append(asyncio.create_task(pods[n - 1].terminate(service, pre_stop)))
                await asyncio.sleep(pre_stop + 0.8)
            await asyncio.wait_for(asyncio.gather(*terminations), 15)
            await asyncio.sleep(0.3)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*workers), 20)
    finally:
        await stop_gateway(handle)
        for pod in pods:
            if pod.runner is not None:
                await pod.runner.cleanup()
        assert service.server is not None
        service.server.close()
    results["aborted"] = sum(p.aborted for p in pods)
    results["served"] = sum(p.served for p in pods)
    return results, failures, handle


async def test_rollout_with_recycled_connections_has_no_client_errors(tmp_path):
    """The shipped relation (lifetime and idle time below preStop): 220 clients, two
    rollouts, every request succeeds."""
    results, failures, handle = await rollout_under_load(tmp_path, pre_stop=1.2, lifetime=0.6, idle=0.3)
    assert failures == []
    assert results["stream_ok"] >= 400, results
    # Every answer a client got was generated by a pod (none made up on the way).
    assert results["served"] >= results["ok"]


async def test_drain_abort_answers_are_retried_on_a_fresh_connection(tmp_path):
    """Connections kept past the preStop sleep (a misconfiguration) reach draining pods,
    which answer as vLLM does; those answers never reach a client: each is retried once
    on a fresh connection, which goes to a ready pod."""
    results, failures, handle = await rollout_under_load(
        tmp_path, pre_stop=0.4, lifetime=30, idle=30, clients=200
    )
    assert failures == []
    assert results["aborted"] > 0, "the rollout never hit a draining pod: the test proves nothing"
    assert results["stream_ok"] >= 300, results
    retried = handle.gw.metrics.registry.get_sample_value(
        "llm_gateway_backend_retries_total", {"model": MODEL, "reason": "backend_draining"}
    )
    assert retried == results["aborted"]
