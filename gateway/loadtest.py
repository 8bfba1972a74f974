#!/usr/bin/env python3
"""Load test: the gateway side by side with nginx, on the same backend, in one run.

Starts, on loopback only, a fake OpenAI-compatible backend (its own process) that streams
SSE chunks ``--interval-ms`` apart (``--chunks`` on average per response), the real
gateway (``python -m llm_gateway``, ``--workers`` processes) and nginx (Debian's
``nginx``, a plain reverse proxy from a config written here: ``--workers`` worker
processes, HTTP/1.1 keep-alive upstream, ``proxy_buffering off``) in front of it.  Then it
keeps ``--concurrency`` streamed chat completions open at a time, directly to the backend,
through the gateway and through nginx, in alternating rounds (``--rounds``) so that other
load on the machine affects every path alike; ``--requests`` per path in all, each path
also stopping after ``--max-seconds``.  It reports, per path, time to first chunk (TTFB)
and to the end of the stream at p50/p99 and requests per second; for each proxy the
added TTFB (proxy minus direct) and its CPU time per request (all its processes).

Usage:  python gateway/loadtest.py [--concurrency 10] [--chunks 20] [--workers 1] [--json]
        [--check] [--no-nginx]
Exit status 1 if any request failed, or with --check unless the gateway costs at most
2x nginx's CPU per request and adds under 1 ms to the p50 TTFB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"  # loopback only, by design
KEY = "loadtest-client-key"
MODEL = "loadtest/model"


# ------------------------------------------------------------------ fake backend process
def serve_backend(port: int, chunks: int, interval: float) -> None:
    from aiohttp import web

    def chunk(i: int, text: str) -> bytes:
        data = {
            "id": "chatcmpl-load",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": MODEL,
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
        }
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    payloads = [chunk(i, f"tok{i} ") for i in range(2 * chunks)]

    async def chat(request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        n = max(1, min(len(payloads), int(body.get("max_tokens") or chunks)))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i, p in enumerate(payloads[:n]):
            if i:
                await asyncio.sleep(interval)
            await resp.write(p)
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    web.run_app(
        app,
        host=HOST,
        port=port,
        access_log=None,
        print=None,
        backlog=1024,
        handler_cancellation=True,
        loop=new_loop(),
    )


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (as for the gateway itself), else the default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def host_cpu() -> list[int]:
    """The machine-wide 'cpu' line of /proc/stat (user nice system idle iowait irq softirq
    steal ...), to report how busy the machine was and how much the hypervisor stole."""
    try:
        return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError):
        return [0] * 8


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (nginx and gateway workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pids: list[int] | int) -> float:
    """CPU time of processes (all their threads), for the report: the scheduler's
    nanosecond count (/proc/PID/task/TID/schedstat) where there is one, else the
    user+system ticks of /proc/PID/stat (1/100 s granularity)."""
    total = 0.0
    for pid in [pids] if isinstance(pids, int) else pids:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
            total += sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e9
            continue
        except (OSError, IndexError, ValueError):
            pass
        try:
            fields = _stat(pid)
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


NGINX_CONF = """\
worker_processes {workers};
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/nginx-body;
  proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fastcgi;
  uwsgi_temp_path {tmp}/nginx-uwsgi;
  scgi_temp_path {tmp}/nginx-scgi;
  upstream backend {{ server {host}:{backend_port}; keepalive 512; }}
  server {{
    listen {host}:{port} reuseport;
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 600s;
    }}
  }}
}}
"""


def start_nginx(tmp: Path, port: int, backend_port: int, workers: int) -> subprocess.Popen:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("nginx not found: apt-get install -y nginx (or pass --no-nginx)")
    conf = tmp / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(workers=workers, tmp=tmp, host=HOST, port=port, backend_port=backend_port)
    )
    return subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


# ------------------------------------------------------------------ helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"child exited early with {proc.returncode}: {proc.args}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} did not open within {timeout} s")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# ------------------------------------------------------------------ load generator
async def run_phase(
    url: str,
    concurrency: int,
    total: int,
    max_seconds: float,
    headers: dict[str, str],
    chunks: int,
    ramp: float,
) -> dict:
    """``concurrency`` workers, each sending one streamed request after another.

    Worker starts are spread evenly over ``ramp`` seconds and stream lengths vary
    (``chunks`` / 2 .. 3 * ``chunks`` / 2, same seeded sequence in every phase) so the
    streams are not synchronised: a steady state of ``concurrency`` open streams, not
    bursts of ``concurrency`` simultaneous requests.
    """
    import aiohttp

    rng = random.Random(7)
    lengths = [rng.randint(max(1, chunks // 2), max(1, chunks * 3 // 2)) for _ in range(total)]
    bodies = [
        json.dumps(
            {
                "model": MODEL,
                "stream": True,
                "max_tokens": n,
                "messages": [{"role": "user", "content": "x" * 200}],
            }
        ).encode()
        for n in lengths
    ]
    ttfb: list[float] = []
    full: list[float] = []
    errors: list[str] = []
    issued = 0
    deadline = time.monotonic() + max_seconds
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    hdrs = {"Content-Type": "application/json", **headers}

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker(i: int) -> None:
            nonlocal issued
            await asyncio.sleep(ramp * i / concurrency)  # staggered start (load shape)
            while issued < total and time.monotonic() < deadline:
                body = bodies[issued]
                issued += 1
                t0 = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=hdrs) as r:
                        if r.status != 200:
                            errors.append(f"status {r.status}")
                            await r.read()
                            continue
                        first = await r.content.readany()
                        t1 = time.perf_counter()
                        rest = await r.read()
                        t2 = time.perf_counter()
                    if not (first + rest).endswith(b"data: [DONE]\n\n"):
                        errors.append("truncated stream")
                        continue
                    ttfb.append(t1 - t0)
                    full.append(t2 - t0)
                except (TimeoutError, aiohttp.ClientError) as exc:
                    errors.append(type(exc).__name__)

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "ttfb": ttfb,
        "full": full,
        "errors": errors,
        "elapsed": elapsed,
        "rps": len(full) / elapsed if elapsed else 0.0,
    }


def summarize(name: str, r: dict) -> dict:
    return {
        "phase": name,
        "requests_ok": len(r["full"]),
        "errors": len(r["errors"]),
        "rps": round(r["rps"], 1),
        "ttfb_p50_ms": round(pct(r["ttfb"], 50) * 1000, 3),
        "ttfb_p99_ms": round(pct(r["ttfb"], 99) * 1000, 3),
        "total_p50_ms": round(pct(r["full"], 50) * 1000, 3),
        "total_p99_ms": round(pct(r["full"], 99) * 1000, 3),
        "ttfb_mean_ms": round(statistics.fmean(r["ttfb"]) * 1000, 3) if r["ttfb"] else None,
        "host_busy_pct": round(r.get("host_busy", float("nan")) * 100, 1),
        "host_steal_pct": round(r.get("host_steal", float("nan")) * 100, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--requests", type=int, default=1000, help="per path (upper bound)")
    ap.add_argument("--max-seconds", type=float, default=60, help="per path (upper bound)")
    ap.add_argument("--chunks", type=int, default=20, help="mean SSE chunks per response")
    ap.add_argument("--interval-ms", type=float, default=20, help="gap between chunks")
    ap.add_argument("--workers", type=int, default=1, help="worker processes of the gateway and of nginx")
    ap.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternating direct/gateway/nginx rounds the requests are split into",
    )
    ap.add_argument("--warmup", type=int, default=100, help="requests per path, not counted")
    ap.add_argument("--no-nginx", action="store_true", help="gateway and direct only")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless gateway CPU/request <= 2x nginx's and added p50 TTFB < 1 ms",
    )
    ap.add_argument("--serve-backend", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rounds < 1 or args.workers < 1:
        ap.error("--rounds and --workers must be >= 1")
    if args.requests > 100_000 or args.max_seconds > 600 or args.concurrency > 1000:
        ap.error("bounded by design: --requests <= 100000, --max-seconds <= 600, --concurrency <= 1000")

    if args.serve_backend:
        serve_backend(args.serve_backend, args.chunks, args.interval_ms / 1000)
        return 0

    backend_port, gateway_port, nginx_port, metrics_port = (free_port() for _ in range(4))
    tmp = Path(tempfile.mkdtemp(prefix="llm-gateway-load-"))
    (tmp / "routes.yaml").write_text(
        f"models:\n  - name: {MODEL}\n    url: http://{HOST}:{backend_port}\n    overlay: load\n"
    )
    (tmp / "keys").write_text(KEY + "\n")
    log = open(tmp / "gateway.log", "w")
    procs: list[subprocess.Popen] = []
    try:
        backend = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve-backend",
                str(backend_port),
                "--chunks",
                str(args.chunks),
                "--interval-ms",
                str(args.interval_ms),
            ]
        )
        procs.append(backend)
        env = {
            **os.environ,
            "PYTHONPATH": str(HERE),
            "GATEWAY_HOST": HOST,
            "GATEWAY_PORT": str(gateway_port),
            "GATEWAY_ROUTES_FILE": str(tmp / "routes.yaml"),
            "GATEWAY_API_KEYS_FILE": str(tmp / "keys"),
            "GATEWAY_SHUTDOWN_GRACE": "5",
            "GATEWAY_WORKERS": str(args.workers),
            "GATEWAY_METRICS_PORT": str(metrics_port),
        }
        gateway = subprocess.Popen(
            [sys.executable, "-m", "llm_gateway"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        procs.append(gateway)
        paths = [
            ("direct", f"http://{HOST}:{backend_port}/v1/chat/completions", {}),
            (
                "gateway",
                f"http://{HOST}:{gateway_port}/v1/chat/completions",
                {"Authorization": f"Bearer {KEY}"},
            ),
        ]
        wait_port(backend_port, backend)
        wait_port(gateway_port, gateway)
        nginx = None
        if not args.no_nginx:
            nginx = start_nginx(tmp, nginx_port, backend_port, args.workers)
            procs.append(nginx)
            wait_port(nginx_port, nginx)
            paths.append(("nginx", f"http://{HOST}:{nginx_port}/v1/chat/completions", {}))
        time.sleep(0.5)  # let worker processes finish starting
        trees = {
            "gateway": process_tree(gateway.pid),
            "direct": [],
            "nginx": process_tree(nginx.pid) if nginx else [],
        }
        c = args.concurrency
        ramp = args.chunks * args.interval_ms / 1000  # one mean stream duration
        common = {"chunks": args.chunks, "ramp": ramp}

        async def run_all() -> dict[str, dict]:
            for _, url, hdrs in paths:
                await run_phase(url, c, args.warmup, 30, hdrs, **common)
            per_round = max(1, args.requests // args.rounds)
            budget = args.max_seconds / args.rounds
            pooled = {
                name: {"ttfb": [], "full": [], "errors": [], "elapsed": 0.0, "cpu": 0.0, "host": [0] * 8}
                for name, _, _ in paths
            }
            for _ in range(args.rounds):
                for name, url, hdrs in paths:
                    h0, c0 = host_cpu(), cpu_seconds(trees[name])
                    r = await run_phase(url, c, per_round, budget, hdrs, **common)
                    h1, c1 = host_cpu(), cpu_seconds(trees[name])
                    acc = pooled[name]
                    for k in ("ttfb", "full", "errors"):
                        acc[k] += r[k]
                    acc["elapsed"] += r["elapsed"]
                    acc["cpu"] += c1 - c0
                    acc["host"] = [t + b - a for t, a, b in zip(acc["host"], h0, h1, strict=True)]
            for acc in pooled.values():
                acc["rps"] = len(acc["full"]) / acc["elapsed"] if acc["elapsed"] else 0.0
                d = acc["host"]
                total = sum(d) or 1
                acc["host_busy"] = 1 - (d[3] + d[4]) / total
                acc["host_steal"] = d[7] / total
            return pooled

        loop = new_loop()
        try:
            pooled = loop.run_until_complete(run_all())
        finally:
            loop.close()
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()

    rows = {name: summarize(name, acc) for name, acc in pooled.items()}
    d = rows["direct"]
    result: dict = {
        "concurrency": c,
        "chunks": args.chunks,
        "interval_ms": args.interval_ms,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "phases": list(rows.values()),
        "proxies": {},
    }
    for name in rows:
        if name == "direct":
            continue
        row, acc = rows[name], pooled[name]
        result["proxies"][name] = {
            "added_ttfb_p50_ms": round(row["ttfb_p50_ms"] - d["ttfb_p50_ms"], 3),
            "added_ttfb_p99_ms": round(row["ttfb_p99_ms"] - d["ttfb_p99_ms"], 3),
            "added_total_p50_ms": round(row["total_p50_ms"] - d["total_p50_ms"], 3),
            "cpu_ms_per_request": round(acc["cpu"] / max(1, len(acc["full"])) * 1000, 3),
            "cores_busy": round(acc["cpu"] / acc["elapsed"], 2) if acc["elapsed"] else None,
            "rps": row["rps"],
        }
    gw = result["proxies"]["gateway"]
    ng = result["proxies"].get("nginx")
    if ng:
        result["cpu_ratio_gateway_to_nginx"] = (
            round(gw["cpu_ms_per_request"] / ng["cpu_ms_per_request"], 2)
            if ng["cpu_ms_per_request"]
            else None
        )
        result["rps_ratio_gateway_to_nginx"] = round(gw["rps"] / ng["rps"], 3) if ng["rps"] else None
    result["errors"] = [e for acc in pooled.values() for e in acc["errors"][:5]]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{c} concurrent streams, {args.chunks} chunks x {args.interval_ms} ms, "
            f"{args.workers} worker(s) per proxy, {os.cpu_count()} CPUs, loopback"
        )
        cols = [
            "phase",
            "requests_ok",
            "errors",
            "rps",
            "ttfb_p50_ms",
            "ttfb_p99_ms",
            "total_p50_ms",
            "total_p99_ms",
            "host_busy_pct",
            "host_steal_pct",
        ]
        print("  ".join(f"{k:>13}" for k in cols))
        for row in rows.values():
            print("  ".join(f"{row[k]!s:>13}" for k in cols))
        for name, p in result["proxies"].items():
            print(
                f"{name:>8}: +{p['added_ttfb_p50_ms']} ms TTFB p50, +{p['added_ttfb_p99_ms']} ms "
                f"p99; {p['cpu_ms_per_request']} ms CPU per request ({p['cores_busy']} cores); "
                f"{p['rps']} req/s"
            )
        if ng:
            print(
                f"gateway/nginx: CPU per request x{result['cpu_ratio_gateway_to_nginx']}, "
                f"throughput x{result['rps_ratio_gateway_to_nginx']}"
            )
    failed = bool(result["errors"])
    if args.check:
        if not gw["added_ttfb_p50_ms"] < 1:
            failed = True
        if ng and not (result["cpu_ratio_gateway_to_nginx"] or 99) <= 2:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
