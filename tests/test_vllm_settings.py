"""llmfleet.vllm.settings: a vLLM container's options from args, the --config ConfigMap and env."""

from __future__ import annotations

import textwrap

import pytest

from llmfleet.lint.context import LintContext
from llmfleet.manifests import load_text
from llmfleet.vllm import flags as vflags
from llmfleet.vllm.settings import all_settings, is_vllm_container, read_settings

C0 = "/spec/template/spec/containers/0"


def deployment(container: str, volumes: str = "[]", extra: str = "") -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: m, namespace: llm}}
        spec:
          template:
            spec:
              volumes: {volumes}
              containers:
                - {container}
        """) + extra


def settings_of(text: str):
    resources, findings = load_text(text, "t.yaml")
    assert not findings
    ctx = LintContext(resources)
    found = all_settings(ctx)
    assert len(found) == 1, found
    return found[0]


def test_args_forms():
    s = settings_of(deployment(
        '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [meta-llama/Llama-3.1-8B-Instruct, '
        '--max_num_seqs, "64", --max-model-len=8192, -tp, "2", --enable-prefix-caching, '
        '--no-enable-log-requests, --port, "9000", --gpu-memory-utilization, "0.9"]}'))
    assert s.entrypoint == "image"
    assert s.model_id == "meta-llama/Llama-3.1-8B-Instruct"
    assert s.model.path == f"{C0}/args/0"
    assert s.value("max-num-seqs") == "64" and s.get("max-num-seqs").path == f"{C0}/args/1"
    assert s.get("max-num-seqs").written == "--max_num_seqs"
    assert s.value("max-model-len") == "8192" and s.get("max-model-len").path == f"{C0}/args/3"
    assert s.int_value("tensor-parallel-size") == 2 and s.get("tensor-parallel-size").written == "-tp"
    assert s.flag("enable-prefix-caching") is True
    assert s.flag("enable-log-requests", default=True) is False
    assert s.port == 9000
    assert s.value("gpu-memory-utilization") == "0.9"
    assert s.served_model_name == "meta-llama/Llama-3.1-8B-Instruct"
    assert all(x.known for x in s.cli)


def test_defaults_and_unknown_options():
    s = settings_of(deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m, --swap-space, "4", --bogus]}'))
    assert s.port == 8000 and s.parallel_size == 1
    unknown = {x.name: x for x in s.cli if not x.known}
    assert set(unknown) == {"swap-space", "bogus"}
    assert unknown["swap-space"].value == "4" and unknown["bogus"].value is True
    assert s.get("shutdown-timeout") is None


CONFIG = textwrap.dedent("""\
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: m-serve-config-7h2k9m4f5t, namespace: llm}
    data:
      serve.yaml: |
        model: meta-llama/Llama-3.1-70B-Instruct
        served-model-name: llama-70b
        tensor-parallel-size: 4
        enable-prefix-caching: false
        max_num_seqs: 32
    ---
    """)


def test_config_file_from_configmap_with_hash_suffix():
    text = CONFIG + deployment(
        '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /etc/vllm/serve.yaml, '
        '--tensor-parallel-size, "8"], volumeMounts: [{name: cfg, mountPath: /etc/vllm/}]}',
        "[{name: cfg, configMap: {name: m-serve-config}}]")
    s = settings_of(text)
    assert s.config_problem == ""
    assert s.config_resource.name == "m-serve-config-7h2k9m4f5t"
    assert s.config_pointer == "/data/serve.yaml"
    assert s.model_id == "meta-llama/Llama-3.1-70B-Instruct"
    assert s.model.source == "config" and s.model.resource.kind == "ConfigMap"
    assert s.served_model_name == "llama-70b"
    # CLI over config
    assert s.int_value("tensor-parallel-size") == 8
    assert s.get("tensor-parallel-size").source == "args"
    config_tp = [x for x in s.config if x.name == "tensor-parallel-size"][0]
    assert config_tp.value == 4 and config_tp.path == "/data/serve.yaml"
    assert s.flag("enable-prefix-caching", default=True) is False
    assert s.value("max-num-seqs") == 32


def test_config_file_by_items_path_and_subpath():
    items = CONFIG + deployment(
        '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /etc/vllm/vllm.yaml], '
        'volumeMounts: [{name: cfg, mountPath: /etc/vllm}]}',
        "[{name: cfg, configMap: {name: m-serve-config-7h2k9m4f5t, items: [{key: serve.yaml, path: vllm.yaml}]}}]")
    assert settings_of(items).int_value("tensor-parallel-size") == 4
    sub = CONFIG + deployment(
        '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /config.yaml], '
        'volumeMounts: [{name: cfg, mountPath: /config.yaml, subPath: serve.yaml}]}',
        "[{name: cfg, projected: {sources: [{configMap: {name: m-serve-config-7h2k9m4f5t}}]}}]")
    assert settings_of(sub).served_model_name == "llama-70b"


def test_config_file_problems_are_reported_not_raised():
    missing = deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /etc/vllm/serve.yaml], '
                         'volumeMounts: [{name: cfg, mountPath: /etc/vllm}]}', "[{name: cfg, configMap: {name: nope}}]")
    s = settings_of(missing)
    assert "not in this input" in s.config_problem and s.config == []
    unmounted = deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /etc/vllm/serve.yaml]}')
    assert "no volumeMount" in settings_of(unmounted).config_problem


def test_api_key_from_env_or_args():
    s = settings_of(deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m], '
                               'env: [{name: VLLM_API_KEY, valueFrom: {secretKeyRef: {name: k, key: k}}}]}'))
    key = s.api_key()
    assert key is not None and key.source == "env" and key.path == f"{C0}/env/0"
    s = settings_of(deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m, --api-key, $(K)]}'))
    assert s.api_key().path == f"{C0}/args/1"   # the option word
    assert settings_of(deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m]}')).api_key() is None


@pytest.mark.parametrize("container, entrypoint", [
    ('{name: v, image: "vllm/vllm-openai:v0.33.0", command: [vllm, serve], args: [m, -tp, "2"]}', "vllm serve"),
    ('{name: v, image: "vllm/vllm-openai:v0.33.0", command: [/bin/sh, -c], args: ["exec vllm serve m -tp 2 && true"]}', "shell"),
    ('{name: v, image: "ghcr.io/acme/server:1", command: [python3, -m, vllm.entrypoints.openai.api_server], args: [--model, m, -tp, "2"]}', "api_server"),
    ('{name: v, image: "vllm/vllm-openai:v0.33.0", args: [vllm, serve, m, -tp, "2"]}', "image"),
])
def test_entrypoints(container, entrypoint):
    s = settings_of(deployment(container))
    assert s.entrypoint == entrypoint
    assert s.model_id == "m" and s.parallel_size == 2


def test_repeated_serve_is_recorded():
    s = settings_of(deployment('{name: v, image: "vllm/vllm-openai:v0.33.0", args: [vllm, serve, m]}'))
    assert s.repeated_serve is not None and s.repeated_serve.path == f"{C0}/args/0"
    s = settings_of(deployment('{name: v, image: "vllm/vllm-openai:v0.33.0", command: [vllm, serve], args: [m]}'))
    assert s.repeated_serve is None


def test_which_containers_are_vllm():
    text = deployment('{name: a, image: "busybox", args: [sleep, "1"]}') + textwrap.dedent("""\
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          initContainers: [{name: init, image: "vllm/vllm-openai:v0.33.0"}]
          containers:
            - {name: job, image: "vllm/vllm-openai:v0.33.0", command: [python, -c, "print(1)"]}
            - {name: custom, image: "registry.local/llm/server:1", command: [vllm, serve], args: [m]}
        """)
    resources, _ = load_text(text, "t.yaml")
    ctx = LintContext(resources)
    assert [c.name for c in ctx.containers() if is_vllm_container(c)] == ["job", "custom"]
    assert [s.container.name for s in all_settings(ctx)] == ["custom"]   # "job" runs python


def test_flag_catalog():
    table = vflags.known_flags()
    assert table["--tensor-parallel-size"].kind == vflags.VALUE
    assert table["-tp"].canonical == "--tensor-parallel-size"
    assert table["--enable-prefix-caching"].kind == vflags.BOOL
    assert table["--no-enable-prefix-caching"].negates
    assert table["--disable-log-requests"] == vflags.Flag(vflags.BOOL, "--enable-log-requests", True)
    assert table["--disable-log-stats"].kind == vflags.SWITCH
    assert "--swap-space" not in table and "--no-disable-log-requests" not in table
    assert vflags.lookup("--max_num_seqs").canonical == "--max-num-seqs"
    assert vflags.lookup("--compilation-config.mode").canonical == "--compilation-config"
    assert vflags.lookup("-O3") is not None
    # argparse accepts unambiguous prefixes (allow_abbrev), not ambiguous ones
    assert vflags.lookup("--tensor-parallel").canonical == "--tensor-parallel-size"
    assert vflags.lookup("--max") is None


def test_negative_and_inverse_options():
    s = settings_of(deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m, '
                               '--disable-prefix-caching, --no-trust-remote-code, --tensor_parallel, "2"]}'))
    assert s.flag("enable-prefix-caching", default=True) is False
    assert s.get("enable-prefix-caching").written == "--disable-prefix-caching"
    assert s.flag("trust-remote-code", default=True) is False
    assert s.int_value("tensor-parallel-size") == 2


def test_read_settings_on_a_container_without_args():
    resources, _ = load_text(deployment('{name: v, image: "vllm/vllm-openai:v0.33.0"}'), "t.yaml")
    ctx = LintContext(resources)
    s = read_settings(ctx, next(ctx.containers()))
    assert s.model is None and s.served_model_name == "" and s.port == 8000
