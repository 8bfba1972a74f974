"""Process entry point: ``python -m llm_gateway`` (settings from ``GATEWAY_*`` env)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys

from aiohttp import web

from .app import create_app, make_runner
from .auth import KeyStore
from .config import ConfigError, Settings, load_routes
from .logs import setup_logging
from .metrics import Metrics

log = logging.getLogger("llm_gateway")


async def serve(settings: Settings) -> None:
    routes = load_routes(settings.routes_file)
    keys = KeyStore(settings.api_keys_file)
    backend_key = settings.resolve_backend_api_key()
    metrics = Metrics(routes.names, process_metrics=True)
    app = create_app(routes, keys, settings, backend_api_key=backend_key, metrics=metrics)
    runner = make_runner(app, settings, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, backlog=1024)
    await site.start()
    # Move everything allocated so far (modules, routes, the app) out of the garbage
    # collector's view: full collections then scan only per-request garbage, which
    # keeps their pauses (seen at ~30 ms with 100 streams open) out of stream latency.
    gc.collect()
    gc.freeze()
    log.info("listening", extra={"event": "start", "host": settings.host, "port": settings.port,
                                 "models": routes.names})

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    # Stops listening, runs on_shutdown, waits up to shutdown_grace for in-flight
    # requests (streams included), cancels what is left, then runs on_cleanup.
    await runner.cleanup()
    log.info("stopped", extra={"event": "stop"})


def _run(coro) -> None:
    """Run on uvloop when it is installed (it is, in the image): about twice the
    throughput per core of the default loop for this proxy workload."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - plain asyncio works the same, slower
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def main() -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        setup_logging()
        log.error(str(exc), extra={"event": "config_error"})
        return 2
    setup_logging(settings.log_level)
    try:
        _run(serve(settings))
    except ConfigError as exc:
        log.error(str(exc), extra={"event": "config_error"})
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
