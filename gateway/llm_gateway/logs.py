"""Structured JSON logs on stdout, one object per line, with nothing from the wire.

The gateway's own records carry request metadata only (method, path, model, status,
sizes, timings, a key id).  Records from any other logger (asyncio, uvloop, PyYAML,
prometheus_client, ...) pass :class:`RedactingFilter`, which keeps the logger name, the
level, the static message template and the exception *type*, and drops the arguments
and the exception text: those are where libraries quote request bytes (a header value,
a piece of body) when they report malformed input.
"""

from __future__ import annotations

import logging
import os
import sys
import time

import orjson

OWN_LOGGERS = ("llm_gateway",)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _is_own(name: str) -> bool:
    return name == "llm_gateway" or name.startswith("llm_gateway.")


class RedactingFilter(logging.Filter):
    """Strip arguments, exception text and extra fields from other libraries' records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_own(record.name):
            return True
        msg = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        if record.args:
            msg += " (arguments withheld)"
        if record.exc_info and record.exc_info[0] is not None:
            msg += f" [{record.exc_info[0].__name__}]"
        record.msg, record.args = msg, None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        for key in list(vars(record)):
            if key not in _STANDARD:
                delattr(record, key)
        return True


def _default(value: object) -> str:
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info and _is_own(record.name):
            # Only the type and the frames: exception messages may quote input.
            out["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return orjson.dumps(out, default=_default).decode()


#: File descriptor the access log writes to directly (set by setup_logging for stdout).
_access_fd: int | None = None
_second = -1
_second_text = ""


def write_access(fields: dict) -> bool:
    """Write one access-log line straight to stdout, the same JSON the logging path
    produces, without a LogRecord (the logging module costs ~30 us per line).  False
    when logging was not set up to stdout (tests with caplog): the caller logs instead."""
    global _second, _second_text
    fd = _access_fd
    if fd is None:
        return False
    now = time.time()
    second = int(now)
    if second != _second:
        _second = second
        _second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    line = {
        "ts": f"{_second_text}.{int((now - second) * 1000):03d}Z",
        "level": "info",
        "logger": "llm_gateway.access",
        "msg": "access",
    }
    line.update(fields)
    try:
        os.write(fd, orjson.dumps(line, default=_default) + b"\n")
    except OSError:
        pass
    return True


def setup_logging(level: str = "INFO", stream=None) -> None:
    global _access_fd
    # No caller lookup (a stack walk per record), thread or process attributes (a
    # getpid() syscall per record): the JSON lines do not use them.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    _access_fd = None
    if stream is None and logging.getLogger("llm_gateway.access").isEnabledFor(logging.INFO):
        try:
            sys.stdout.flush()
            _access_fd = sys.stdout.fileno()
        except (AttributeError, OSError, ValueError):
            _access_fd = None
    logging.captureWarnings(True)
