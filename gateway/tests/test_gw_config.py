"""Routes file parsing, settings from the environment, and the API key store."""

from __future__ import annotations

import json
import os

import pytest

import gw_support  # noqa: F401 (puts llm_gateway on sys.path)
from llm_gateway.auth import KeyStore, bearer_token
from llm_gateway.config import (
    DEFAULT_READ_TIMEOUT,
    ConfigError,
    Settings,
    load_routes,
    parse_routes,
)


def test_parse_routes_defaults_and_overrides(tmp_path):
    f = tmp_path / "routes.yaml"
    f.write_text("""\
# Generated. Do not edit.
defaults:
  connect_timeout: 3
models:
  - name: meta-llama/Llama-3.1-8B-Instruct
    url: http://llama-3-1-8b-instruct-vllm.inference.svc.cluster.local:8000/
    overlay: llama-3-1-8b-instruct
    api_key: true
    read_timeout: 120
  - name: other
    url: http://other:8000
""")
    routes = load_routes(f)
    llama = routes.models["meta-llama/Llama-3.1-8B-Instruct"]
    assert llama.url == "http://llama-3-1-8b-instruct-vllm.inference.svc.cluster.local:8000"
    assert (llama.api_key, llama.connect_timeout, llama.read_timeout) == (True, 3.0, 120.0)
    other = routes.models["other"]
    assert (other.api_key, other.connect_timeout, other.read_timeout) == (False, 3.0, DEFAULT_READ_TIMEOUT)
    assert routes.names == ["meta-llama/Llama-3.1-8B-Instruct", "other"]


@pytest.mark.parametrize(
    "doc, message",
    [
        ([], "top level"),
        ({"models": []}, "non-empty list"),
        ({"models": [{"name": "a", "url": "ftp://x"}]}, r"http\(s\)"),
        ({"models": [{"name": "a", "url": "http://x:1/v1"}]}, "path"),
        ({"models": [{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]}, "duplicate"),
        ({"models": [{"name": "a", "url": "http://x", "api_key": "yes"}]}, "api_key"),
        ({"models": [{"name": "a", "url": "http://x", "read_timeout": 0}]}, "positive"),
        ({"models": [{"name": "a", "url": "http://x", "typo": 1}]}, "unknown keys"),
        ({"defaults": {"read_timout": 1}, "models": [{"name": "a", "url": "http://x"}]}, "defaults"),
        ({"models": [{"url": "http://x"}]}, "'name'"),
    ],
)
def test_parse_routes_rejects(doc, message):
    with pytest.raises(ConfigError, match=message):
        parse_routes(doc)


def test_settings_from_env(tmp_path):
    key = tmp_path / "backend-key"
    key.write_text("s3cret\n")
    s = Settings.from_env(
        {"GATEWAY_PORT": "9000", "GATEWAY_SHUTDOWN_GRACE": "2.5", "GATEWAY_BACKEND_API_KEY_FILE": str(key)}
    )
    assert (s.port, s.shutdown_grace) == (9000, 2.5)
    assert s.resolve_backend_api_key() == "s3cret"
    assert "s3cret" not in repr(Settings(backend_api_key="s3cret"))
    with pytest.raises(ConfigError, match="GATEWAY_PORT"):
        Settings.from_env({"GATEWAY_PORT": "x"})


def test_keystore_checks_and_reloads(tmp_path):
    f = tmp_path / "keys"
    f.write_text("# comment\nkey-one\n\n  key-two  \n")
    ks = KeyStore(str(f), reload_interval=0)
    assert ks.check("key-one") and ks.check("key-two")
    assert not ks.check("key-three") and not ks.check("") and not ks.check("# comment")
    f.write_text("key-three\n")
    os.utime(f, ns=(1, 1))  # make the change visible even within one mtime tick
    assert ks.check("key-three") and not ks.check("key-one")
    f.write_text("")  # an emptied Secret keeps the previous keys
    assert ks.check("key-three")


def test_keystore_refuses_missing_or_empty(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        KeyStore(str(tmp_path / "nope"))
    (tmp_path / "empty").write_text("# nothing\n")
    with pytest.raises(ConfigError, match="no keys"):
        KeyStore(str(tmp_path / "empty"))


@pytest.mark.parametrize(
    "header, token",
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        (None, None),
        ("", None),
    ],
)
def test_bearer_token(header, token):
    assert bearer_token(header) == token


def test_settings_timeouts_limits_and_recycling_from_env():
    s = Settings.from_env(
        {
            "GATEWAY_IDLE_TIMEOUT": "30",
            "GATEWAY_HEADER_TIMEOUT": "5",
            "GATEWAY_BODY_TIMEOUT": "20",
            "GATEWAY_MAX_CONNECTIONS_PER_CLIENT": "8",
            "GATEWAY_BACKEND_IDLE_TIMEOUT": "2",
            "GATEWAY_BACKEND_MAX_LIFETIME": "9.5",
            "GATEWAY_BACKEND_RETRIES": "0",
            "GATEWAY_METRICS_PORT": "0",
            "GATEWAY_WORKERS": "3",
        }
    )
    assert (s.idle_timeout, s.header_timeout, s.body_timeout) == (30, 5, 20)
    assert (
        s.max_connections_per_client,
        s.backend_idle_timeout,
        s.backend_max_lifetime,
        s.backend_retries,
        s.metrics_port,
        s.workers,
    ) == (8, 2, 9.5, 0, 0, 3)
    d = Settings.from_env({})
    # Defaults below the models' 15 s preStop sleep, with 5 s to spare.
    assert d.backend_idle_timeout <= d.backend_max_lifetime <= 10
    assert (d.workers, d.metrics_port) == (0, 9091)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"GATEWAY_BACKEND_IDLE_TIMEOUT": "12", "GATEWAY_BACKEND_MAX_LIFETIME": "10"}, "must not exceed"),
        ({"GATEWAY_HEADER_TIMEOUT": "0"}, "GATEWAY_HEADER_TIMEOUT"),
        ({"GATEWAY_IDLE_TIMEOUT": "inf"}, "finite"),
        ({"GATEWAY_WORKERS": "0"}, "GATEWAY_WORKERS"),
        ({"GATEWAY_WORKERS": "many"}, "GATEWAY_WORKERS"),
        ({"GATEWAY_METRICS_PORT": "8080"}, "must differ"),
        ({"GATEWAY_LOG_LEVEL": "LOUD"}, "GATEWAY_LOG_LEVEL"),
        ({"GATEWAY_BACKEND_RETRIES": "-1"}, "GATEWAY_BACKEND_RETRIES"),
    ],
)
def test_settings_rejects(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"cpu.max": "200000 100000\n"}, 2),
        ({"cpu.max": "150000 100000\n"}, 2),
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),
    ],
)
def test_worker_count_from_the_cgroup_cpu_limit(tmp_path, files, expected):
    from llm_gateway.server import cpu_limit

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cpu_limit(str(tmp_path)) == expected


def test_worker_count_without_a_limit_is_the_cpus_we_may_use(tmp_path):
    from llm_gateway.server import cpu_limit

    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cpu_limit(str(tmp_path)) == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    "header",
    [
        b"Bearer \xffabc",
        "Bearer é".encode(),
        b"Bearer a b",
        b"Bearer " + b"x" * 1025,
        b"Bearer abc\x01",
        b"Token abc",
    ],
)
def test_bearer_token_refuses_bad_bytes(header):
    assert bearer_token(header) is None


def test_library_log_records_lose_arguments_and_exception_text():
    import io
    import logging

    from llm_gateway import logs
    from llm_gateway.logs import setup_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logs._access_fd)
    stream = io.StringIO()
    setup_logging("DEBUG", stream=stream)
    try:
        secret = "Bearer sk-live-SECRET"
        try:
            raise ValueError(f"bad header {secret!r}")
        except ValueError:
            logging.getLogger("asyncio").exception("Error handling request %r", secret.encode())
        logging.getLogger("some.library").warning("value %s", secret, extra={"raw": secret})
        logging.getLogger("llm_gateway").info("own record", extra={"event": "x"})
    finally:
        root.handlers[:], level, logs._access_fd = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert "SECRET" not in stream.getvalue()
    assert lines[0]["logger"] == "asyncio" and "[ValueError]" in lines[0]["msg"]
    assert "raw" not in lines[1]
    assert lines[2]["event"] == "x"
