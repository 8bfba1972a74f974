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
import sys
import time

import orjson

OWN_LOGGERS = ("llm_gateway",)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


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


def setup_logging(level: str = "INFO", stream=None) -> None:
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
    logging.captureWarnings(True)
