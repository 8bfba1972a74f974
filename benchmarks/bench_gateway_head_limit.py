"""Probe: the gateway's memory while many clients send request heads that never end.

Starts the real gateway (``python -m llm_gateway``, one worker, on loopback) and opens
``--connections`` connections at once; each sends a request line and one header line of
up to ``--bytes`` bytes without its CRLF.  Meanwhile a normal client asks for
``/v1/models`` every 100 ms.  Prints the gateway's resident memory (baseline, peak), the
answers the flooding connections got, and the slowest normal request.

    .venv/bin/python benchmarks/bench_gateway_head_limit.py [--gateway-dir gateway]

``--gateway-dir`` may name another checkout's gateway/ to compare with it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-bench-head-limit"


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _flood(port: int, size: int) -> str:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        return f"connect failed: {type(exc).__name__}"
    try:
        writer.write(b"GET /v1/models HTTP/1.1\r\nHost: gw\r\nX-Long: ")
        sent, piece = 0, b"a" * 16384
        while sent < size:
            writer.write(piece)
            sent += len(piece)
            try:
                await asyncio.wait_for(writer.drain(), 5)
            except (OSError, TimeoutError):
                break
        try:
            answer = await asyncio.wait_for(reader.read(200), 15)
        except (OSError, TimeoutError):
            answer = b""
        return answer.split(b"\r\n", 1)[0].decode("latin-1") or f"closed after {sent} bytes"
    finally:
        writer.close()


async def _normal(port: int, stop: asyncio.Event) -> list[float]:
    times = []
    request = (
        f"GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {KEY}\r\nConnection: close\r\n\r\n"
    )
    while not stop.is_set():
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request.encode())
        await reader.read()
        writer.close()
        times.append(time.perf_counter() - start)
        await asyncio.sleep(0.1)
    return times


async def _run(pid: int, port: int, connections: int, size: int) -> None:
    baseline = _rss_mib(pid)
    peak = baseline
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss_mib(pid))
            await asyncio.sleep(0.02)

    sampler = asyncio.ensure_future(sample())
    normal = asyncio.ensure_future(_normal(port, stop))
    started = time.perf_counter()
    answers = await asyncio.gather(*(_flood(port, size) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    stop.set()
    times = await normal
    await sampler
    print(f"connections: {connections}, each up to {size:,} bytes of one unterminated header line")
    print(f"answers: {dict(Counter(answers))}")
    print(f"flood took {elapsed:.2f} s")
    print(
        f"gateway RSS: baseline {baseline:.1f} MiB, peak {peak:.1f} MiB, high-water {_rss_mib(pid, 'VmHWM'):.1f} MiB"
    )
    print(f"normal requests during the flood: {len(times)}, slowest {max(times) * 1000:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway-dir", type=Path, default=REPO / "gateway")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--bytes", type=int, default=4 * 1024 * 1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        routes, keys = Path(tmp) / "routes.yaml", Path(tmp) / "keys"
        routes.write_text(
            f"models:\n  - name: org/m\n    url: http://127.0.0.1:{_free_port()}\n    overlay: m\n"
        )
        keys.write_text(KEY + "\n")
        port = _free_port()
        env = dict(
            os.environ,
            PYTHONPATH=str(args.gateway_dir.resolve()),
            GATEWAY_ROUTES_FILE=str(routes),
            GATEWAY_API_KEYS_FILE=str(keys),
            GATEWAY_HOST="127.0.0.1",
            GATEWAY_PORT=str(port),
            GATEWAY_METRICS_PORT="0",
            GATEWAY_WORKERS="1",
            GATEWAY_MAX_CONNECTIONS_PER_CLIENT="1024",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "llm_gateway"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            asyncio.run(_run(proc.pid, port, args.connections, args.bytes))
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
