"""Error responses in OpenAI's format: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

#: The error code of a gateway-made error response (read by the access log and metrics).
ERROR_CODE = web.ResponseKey("llm_gateway_error_code", str)

#: HTTP status -> OpenAI error ``type``.
_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    502: "server_error",
    503: "server_error",
    504: "server_error",
}


def error_body(status: int, message: str, *, code: str | None = None,
               param: str | None = None, type_: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": type_ or _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }


def error_response(status: int, message: str, *, code: str | None = None,
                   param: str | None = None, headers: dict[str, str] | None = None) -> web.Response:
    resp = web.Response(
        status=status,
        body=json.dumps(error_body(status, message, code=code, param=param)).encode(),
        content_type="application/json",
        headers=headers,
    )
    # Kept for the access log and the metrics (bounded set of values).
    resp[ERROR_CODE] = code or "error"
    return resp


def sse_error_event(message: str, code: str) -> bytes:
    """An SSE event carrying an OpenAI error, sent when a backend fails mid-stream."""
    return b"data: " + json.dumps(error_body(502, message, code=code)).encode() + b"\n\n"
