"""Error responses in OpenAI's format: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from typing import Any

import orjson

#: HTTP status -> OpenAI error ``type``.
_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "invalid_request_error",
    413: "invalid_request_error",
    431: "invalid_request_error",
}


def error_body(
    status: int, message: str, *, code: str | None = None, param: str | None = None, type_: str | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": type_ or _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }


def error_json(status: int, message: str, *, code: str | None = None, param: str | None = None) -> bytes:
    return orjson.dumps(error_body(status, message, code=code, param=param))


def sse_error_event(message: str, code: str, status: int = 502) -> bytes:
    """An SSE event carrying an OpenAI error, sent when a stream cannot be finished."""
    return b"data: " + orjson.dumps(error_body(status, message, code=code)) + b"\n\n"
