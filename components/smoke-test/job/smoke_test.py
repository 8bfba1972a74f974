"""Post-deploy smoke test of one vLLM model behind its Service (Python standard library only).

Steps, in order; the first that fails ends the run with one line naming it:

  config            the environment below is complete and well formed
  wait-for-service  GET /health on the Service answers 200 (retried until WAIT_SECONDS)
  list-models       GET /v1/models (with the API key) lists SERVED_MODEL_NAME
  chat-completion   POST /v1/chat/completions with a short prompt returns a choice

Environment (the Job in this component sets it from the overlay):
  SERVICE_NAME        the model's Service (kustomize renames it with the overlay's prefix)
  SERVICE_NAMESPACE   its namespace (downward API)
  SERVICE_PORT        its port (default 8000, base/service.yaml port `http`)
  SERVED_MODEL_NAME   the name vLLM serves (the overlay's llmfleet.io/served-model-name)
  OPENAI_API_KEY      the model's API key (Secret of components/api-key); never printed
  BASE_URL            optional: overrides http://SERVICE_NAME.SERVICE_NAMESPACE.svc:SERVICE_PORT
  WAIT_SECONDS        how long to wait for the Service (default 600)
  POLL_SECONDS        pause between /health attempts (default 5)
  REQUEST_TIMEOUT     seconds per HTTP request (default 60)
  MAX_TOKENS          completion tokens to ask for (default 8)

Exit codes: 0 passed, 1 a step failed, 2 the configuration is incomplete.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
#: Characters of a response body quoted in a failure line.
BODY_EXCERPT = 300


class StepFailed(Exception):
    def __init__(self, step: str, reason: str):
        super().__init__(reason)
        self.step = step
        self.reason = reason


def log(message: str) -> None:
    print(f"smoke-test: {message}", flush=True)


def positive_number(env: dict, name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise StepFailed("config", f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise StepFailed("config", f"{name}={raw!r} must be positive")
    return value


class Config:
    def __init__(self, env: dict):
        self.model = env.get("SERVED_MODEL_NAME", "").strip()
        if not self.model:
            raise StepFailed("config", "SERVED_MODEL_NAME is empty")
        base = env.get("BASE_URL", "").strip().rstrip("/")
        if not base:
            service = env.get("SERVICE_NAME", "").strip()
            namespace = env.get("SERVICE_NAMESPACE", "").strip()
            port = env.get("SERVICE_PORT", "8000").strip() or "8000"
            missing = [n for n, v in (("SERVICE_NAME", service), ("SERVICE_NAMESPACE", namespace)) if not v]
            if missing:
                raise StepFailed("config", f"{' and '.join(missing)} empty (or set BASE_URL)")
            if not port.isdigit():
                raise StepFailed("config", f"SERVICE_PORT={port!r} is not a port number")
            base = f"http://{service}.{namespace}.svc:{port}"
        if not base.startswith(("http://", "https://")):
            raise StepFailed("config", f"BASE_URL {base!r} is not an http(s) URL")
        self.base_url = base
        self.api_key = env.get("OPENAI_API_KEY", "")
        self.wait_seconds = positive_number(env, "WAIT_SECONDS", 600)
        self.poll_seconds = positive_number(env, "POLL_SECONDS", 5)
        self.timeout = positive_number(env, "REQUEST_TIMEOUT", 60)
        self.max_tokens = int(positive_number(env, "MAX_TOKENS", 8))


def request(config: Config, method: str, path: str, body: dict | None = None,
            auth: bool = True, timeout: float | None = None) -> tuple[int, bytes]:
    """(HTTP status, body); raises OSError for connection problems."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if auth and config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    req = urllib.request.Request(config.base_url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout or config.timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read() or b""


def excerpt(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:BODY_EXCERPT] + ("..." if len(text) > BODY_EXCERPT else "")


def describe_error(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError) and err.reason is not None:
        err = err.reason if isinstance(err.reason, BaseException) else err
    if isinstance(err, socket.gaierror):
        return f"name resolution failed ({err.strerror or err})"
    if isinstance(err, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    return str(err) or type(err).__name__


def http_failure(step: str, status: int, body: bytes) -> StepFailed:
    hint = ""
    if status in (401, 403):
        hint = " (the API key in OPENAI_API_KEY is missing or wrong: check the model's Secret)"
    elif status == 404:
        hint = " (no such path or model on this server)"
    return StepFailed(step, f"HTTP {status}{hint}: {excerpt(body)}")


def parse_json(step: str, body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError:
        raise StepFailed(step, f"response is not JSON: {excerpt(body)}") from None
    if not isinstance(data, dict):
        raise StepFailed(step, f"response is not a JSON object: {excerpt(body)}")
    return data


def wait_for_service(config: Config, clock=time.monotonic, sleep=time.sleep) -> str:
    deadline = clock() + config.wait_seconds
    attempts = 0
    last = "no attempt"
    while True:
        attempts += 1
        remaining = deadline - clock()
        try:
            status, body = request(config, "GET", "/health", auth=False,
                                   timeout=max(1.0, min(config.timeout, remaining)))
            if status == 200:
                return f"{config.base_url}/health answered 200 after {attempts} attempt(s)"
            last = f"HTTP {status}: {excerpt(body)}"
        except OSError as err:
            last = describe_error(err)
        if clock() + config.poll_seconds > deadline:
            raise StepFailed("wait-for-service",
                             f"{config.base_url}/health not ready after {config.wait_seconds:g} s "
                             f"({attempts} attempt(s)); last: {last}")
        sleep(config.poll_seconds)


def list_models(config: Config) -> str:
    step = "list-models"
    try:
        status, body = request(config, "GET", "/v1/models")
    except OSError as err:
        raise StepFailed(step, describe_error(err)) from None
    if status != 200:
        raise http_failure(step, status, body)
    data = parse_json(step, body).get("data")
    if not isinstance(data, list):
        raise StepFailed(step, f"no 'data' list in the response: {excerpt(body)}")
    ids = [str(m.get("id")) for m in data if isinstance(m, dict)]
    if config.model not in ids:
        raise StepFailed(step, f"served model {config.model!r} is not listed; the server lists "
                               f"{', '.join(repr(i) for i in ids) or 'nothing'}")
    return f"{config.model!r} listed"


def chat_completion(config: Config) -> str:
    step = "chat-completion"
    payload = {"model": config.model, "max_tokens": config.max_tokens, "temperature": 0,
               "messages": [{"role": "user", "content": "Reply with the single word: ready"}]}
    try:
        status, body = request(config, "POST", "/v1/chat/completions", payload)
    except OSError as err:
        raise StepFailed(step, describe_error(err)) from None
    if status != 200:
        raise http_failure(step, status, body)
    data = parse_json(step, body)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise StepFailed(step, f"no choices in the response: {excerpt(body)}")
    message = choices[0].get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    tokens = (data.get("usage") or {}).get("completion_tokens")
    if not content and not tokens:
        raise StepFailed(step, f"the completion is empty: {excerpt(body)}")
    return f"{tokens if tokens is not None else '?'} completion token(s), finish_reason " \
           f"{choices[0].get('finish_reason')!r}"


STEPS = (("wait-for-service", wait_for_service), ("list-models", list_models),
         ("chat-completion", chat_completion))


def main(env: dict | None = None) -> int:
    env = dict(os.environ if env is None else env)
    try:
        config = Config(env)
    except StepFailed as failure:
        log(f"FAILED at step {failure.step}: {failure.reason}")
        return EXIT_CONFIG
    log(f"model {config.model!r} at {config.base_url}"
        + ("" if config.api_key else " (no API key set: requests go without Authorization)"))
    for name, step in STEPS:
        started = time.monotonic()
        try:
            detail = step(config)
        except StepFailed as failure:
            log(f"FAILED at step {failure.step}: {failure.reason}")
            return EXIT_FAILED
        log(f"step {name}: ok in {time.monotonic() - started:.1f} s: {detail}")
    log("PASSED")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
