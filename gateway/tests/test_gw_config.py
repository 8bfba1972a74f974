"""Routes file parsing, settings from the environment, and the API key store."""

from __future__ import annotations

import os

import pytest

import gw_support  # noqa: F401 (puts llm_gateway on sys.path)

from llm_gateway.auth import KeyStore, bearer_token
from llm_gateway.config import (
    DEFAULT_READ_TIMEOUT, ConfigError, Settings, load_routes, parse_routes,
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


@pytest.mark.parametrize("doc, message", [
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
])
def test_parse_routes_rejects(doc, message):
    with pytest.raises(ConfigError, match=message):
        parse_routes(doc)


def test_settings_from_env(tmp_path):
    key = tmp_path / "backend-key"
    key.write_text("s3cret\n")
    s = Settings.from_env({"GATEWAY_PORT": "9000", "GATEWAY_SHUTDOWN_GRACE": "2.5",
                           "GATEWAY_BACKEND_API_KEY_FILE": str(key)})
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


@pytest.mark.parametrize("header, token", [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None),
    (None, None), ("", None),
])
def test_bearer_token(header, token):
    assert bearer_token(header) == token
