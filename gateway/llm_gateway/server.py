"""Process entry point: ``python -m llm_gateway`` (settings from ``GATEWAY_*`` env).

One worker process per CPU of the container's limit (cgroup ``cpu.max``; override with
``GATEWAY_WORKERS``), each with its own listening socket on the same port
(``SO_REUSEPORT``: the kernel spreads new connections).  With one worker the process
serves everything itself; with several, this process supervises them (restarts a worker
that dies, forwards SIGTERM) and serves the metrics port with the sum of the workers'
metrics (prometheus_client multiprocess mode).

Shutdown (SIGTERM): stop listening, ``/healthz`` 503, close idle connections, let
in-flight requests run for ``GATEWAY_SHUTDOWN_GRACE`` seconds; then every open stream
gets an SSE error event (``gateway_shutdown``) and ends, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .config import ConfigError, Settings, load_routes
from .logs import setup_logging

log = logging.getLogger("llm_gateway")


def cpu_limit(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs the container may use: the cgroup quota rounded up, else the affinity mask."""
    root = Path(cgroup_root)
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        try:
            quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
            period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
            if quota_us > 0 and period_us > 0:
                return max(1, math.ceil(quota_us / period_us))
        except (OSError, ValueError):
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _install_quiet_hooks(loop: asyncio.AbstractEventLoop) -> None:
    """Unhandled errors are logged by type only (no values that could quote input)."""

    def handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        exc = context.get("exception")
        log.error(
            "unhandled error in the event loop",
            extra={"event": "internal_error", "error": type(exc).__name__ if exc else None},
        )

    loop.set_exception_handler(handler)


async def serve_worker(
    settings: Settings, *, reuse_port: bool, metrics_inline: bool, worker: int = 0
) -> None:
    from .app import Gateway, MetricsApp, start, start_metrics
    from .auth import KeyStore
    from .metrics import Metrics, multiprocess_dir

    loop = asyncio.get_running_loop()
    _install_quiet_hooks(loop)
    routes = load_routes(settings.routes_file)
    keys = KeyStore(settings.api_keys_file)
    backend_key = settings.resolve_backend_api_key()
    metrics = Metrics(routes.names, process_metrics=multiprocess_dir() is None)
    gw = Gateway(routes, keys, settings, backend_api_key=backend_key, metrics=metrics)
    server, http = await start(gw, settings.host, settings.port, reuse_port=reuse_port)
    metrics_server = None
    if metrics_inline and settings.metrics_port:
        metrics_server = await start_metrics(
            MetricsApp(metrics.registry), settings.host, settings.metrics_port
        )
    # Move everything allocated so far out of the garbage collector's view: full
    # collections then scan only per-request garbage (shorter pauses in streams).
    gc.collect()
    gc.freeze()
    port = server.sockets[0].getsockname()[1]
    log.info(
        "listening",
        extra={
            "event": "start",
            "host": settings.host,
            "port": port,
            "metrics_port": settings.metrics_port or None,
            "worker": worker,
            "models": routes.names,
            "max_connections": http.max_connections,
        },
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    grace = settings.shutdown_grace
    t0 = loop.time()
    server.close()
    gw.begin_shutdown()
    http.start_shutdown()
    await asyncio.sleep(0)  # the listening sockets are closed once this loop turn ends
    log.info(
        "shutting down: no new connections, finishing in-flight requests",
        extra={"event": "shutdown", "grace_seconds": grace, "worker": worker, "in_flight": len(gw.tasks)},
    )
    if gw.tasks:
        await asyncio.wait(set(gw.tasks), timeout=max(0.0, t0 + grace - loop.time()))
    if gw.tasks:
        log.warning(
            "grace period over: ending open requests",
            extra={"event": "shutdown_cut", "open": len(gw.tasks), "worker": worker},
        )
        gw.end_in_flight()
        await asyncio.wait(set(gw.tasks), timeout=1.0)
        for task in list(gw.tasks):
            task.cancel()
    for conn in list(http.connections):
        if conn.transport is not None:
            conn.transport.close()
    if metrics_server is not None:
        metrics_server.close()
    gw.close()
    await asyncio.sleep(0)
    log.info("stopped", extra={"event": "stop", "worker": worker, "seconds": round(loop.time() - t0, 3)})


def _run(coro) -> None:
    """Run on uvloop when it is installed (it is, in the image)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - plain asyncio works the same, slower
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def _check_config(settings: Settings) -> None:
    from .auth import KeyStore

    load_routes(settings.routes_file)
    KeyStore(settings.api_keys_file)
    settings.resolve_backend_api_key()


def _reserve_port(host: str, port: int) -> socket.socket:
    """A bound, non-listening SO_REUSEPORT socket: fixes the port number (for port 0)
    without taking connections; the workers listen on the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


async def supervise(settings: Settings, workers: int) -> None:
    """Run ``workers`` worker processes and serve the summed metrics."""
    from prometheus_client import CollectorRegistry, multiprocess

    from .app import MetricsApp, start_metrics

    loop = asyncio.get_running_loop()
    _install_quiet_hooks(loop)
    metrics_dir = tempfile.mkdtemp(prefix="llm-gateway-metrics-")
    reserved = _reserve_port(settings.host, settings.port)
    port = reserved.getsockname()[1]
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        "GATEWAY_PORT": str(port),
        "GATEWAY_WORKERS": str(workers),
        "GATEWAY_WORKER_ID": "",
    }
    procs: dict[int, subprocess.Popen] = {}

    def spawn(index: int) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llm_gateway"], env={**env, "GATEWAY_WORKER_ID": str(index)}
        )
        procs[index] = proc

    for i in range(workers):
        spawn(i)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=metrics_dir)
    metrics_server = None
    if settings.metrics_port:
        metrics_server = await start_metrics(MetricsApp(registry), settings.host, settings.metrics_port)
    log.info("supervising workers", extra={"event": "supervisor_start", "workers": workers, "port": port})
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass
        if stop.is_set():
            break
        for index, proc in list(procs.items()):
            code = proc.poll()
            if code is not None:
                log.error(
                    "worker exited; starting a new one",
                    extra={"event": "worker_exit", "worker": index, "exit_code": code},
                )
                multiprocess.mark_process_dead(proc.pid, metrics_dir)
                spawn(index)
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + settings.shutdown_grace + 5
    for proc in procs.values():
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
    if metrics_server is not None:
        metrics_server.close()
    reserved.close()
    shutil.rmtree(metrics_dir, ignore_errors=True)
    log.info("stopped", extra={"event": "stop"})


def main() -> int:
    sys.excepthook = lambda t, v, tb: log.critical(
        "unhandled error", extra={"event": "internal_error", "error": t.__name__}
    )
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        setup_logging()
        log.error(str(exc), extra={"event": "config_error"})
        return 2
    setup_logging(settings.log_level)
    worker_id = os.environ.get("GATEWAY_WORKER_ID", "")
    try:
        if worker_id:
            _run(serve_worker(settings, reuse_port=True, metrics_inline=False, worker=int(worker_id)))
            return 0
        _check_config(settings)
        workers = settings.workers or cpu_limit()
        if workers == 1:
            _run(serve_worker(settings, reuse_port=False, metrics_inline=True))
        else:
            _run(supervise(settings, workers))
    except ConfigError as exc:
        log.error(str(exc), extra={"event": "config_error"})
        return 2
    except OSError as exc:
        log.error("cannot start", extra={"event": "start_error", "error": str(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
