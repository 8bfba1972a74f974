"""llmfleet.model.vllm.server: a vLLM container's options from args, command, scripts, the
--config ConfigMap and env, with $(VAR) expansion."""

from __future__ import annotations

import textwrap

import pytest

from llmfleet.model import OverlayModel
from llmfleet.model.vllm import flags as vflags
from llmfleet.model.vllm.command_line import read_server
from llmfleet.model.vllm.server import IMAGE, OPENAI_API_SERVER, VLLM_SERVE
from llmfleet.pipeline.manifests import load_text

C0 = "/spec/template/spec/containers/0"


def deployment(container: str, volumes: str = "[]", extra: str = "") -> str:
    return (
        textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: m, namespace: llm}}
        spec:
          template:
            spec:
              volumes: {volumes}
              containers:
                - {container}
        """)
        + extra
    )


def model_of(text: str) -> OverlayModel:
    resources, findings = load_text(text, "t.yaml")
    assert not findings
    return OverlayModel("", resources)


def settings_of(text: str):
    found = model_of(text).servers
    assert len(found) == 1, found
    return found[0]


def test_args_forms():
    s = settings_of(
        deployment(
            '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [meta-llama/Llama-3.1-8B-Instruct, '
            '--max_num_seqs, "64", --max-model-len=8192, -tp, "2", --enable-prefix-caching, '
            '--no-enable-log-requests, --port, "9000", --gpu-memory-utilization, "0.9"]}'
        )
    )
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
    s = settings_of(
        deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m, --swap-space, "4", --bogus]}')
    )
    assert s.port == 8000 and s.world_size == 1
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
        "[{name: cfg, configMap: {name: m-serve-config}}]",
    )
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
    # `enable-prefix-caching: false` in the file is dropped by vLLM 0.33's load_config_file
    # (only `true` becomes an argument): the default stays, and the key is kept as ignored.
    assert s.flag("enable-prefix-caching", default=True) is True
    assert [x.name for x in s.config_ignored] == ["enable-prefix-caching"]
    assert s.value("max-num-seqs") == 32


def test_config_file_by_items_path_and_subpath():
    items = CONFIG + deployment(
        '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /etc/vllm/vllm.yaml], '
        "volumeMounts: [{name: cfg, mountPath: /etc/vllm}]}",
        "[{name: cfg, configMap: {name: m-serve-config-7h2k9m4f5t, items: [{key: serve.yaml, path: vllm.yaml}]}}]",
    )
    assert settings_of(items).int_value("tensor-parallel-size") == 4
    sub = CONFIG + deployment(
        '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /config.yaml], '
        "volumeMounts: [{name: cfg, mountPath: /config.yaml, subPath: serve.yaml}]}",
        "[{name: cfg, projected: {sources: [{configMap: {name: m-serve-config-7h2k9m4f5t}}]}}]",
    )
    assert settings_of(sub).served_model_name == "llama-70b"


def test_config_file_problems_are_reported_not_raised():
    missing = deployment(
        '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /etc/vllm/serve.yaml], '
        "volumeMounts: [{name: cfg, mountPath: /etc/vllm}]}",
        "[{name: cfg, configMap: {name: nope}}]",
    )
    s = settings_of(missing)
    assert "not in this input" in s.config_problem and s.config == []
    unmounted = deployment(
        '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [--config, /etc/vllm/serve.yaml]}'
    )
    assert "no volumeMount" in settings_of(unmounted).config_problem


def test_api_key_from_env_or_args():
    s = settings_of(
        deployment(
            '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m], '
            "env: [{name: VLLM_API_KEY, valueFrom: {secretKeyRef: {name: k, key: k}}}]}"
        )
    )
    key = s.api_key()
    assert key is not None and key.source == "env" and key.path == f"{C0}/env/0"
    s = settings_of(deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m, --api-key, $(K)]}'))
    assert s.api_key().path == f"{C0}/args/1"  # the option word
    assert (
        settings_of(deployment('{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m]}')).api_key()
        is None
    )


@pytest.mark.parametrize(
    "container, entrypoint, script",
    [
        (
            '{name: v, image: "vllm/vllm-openai:v0.33.0", command: [vllm, serve], args: [m, -tp, "2"]}',
            VLLM_SERVE,
            False,
        ),
        (
            '{name: v, image: "vllm/vllm-openai:v0.33.0", command: [/bin/sh, -c], args: ["exec vllm serve m -tp 2 && true"]}',
            VLLM_SERVE,
            True,
        ),
        (
            '{name: v, image: "ghcr.io/acme/server:1", command: [python3, -m, vllm.entrypoints.openai.api_server], args: [--model, m, -tp, "2"]}',
            OPENAI_API_SERVER,
            False,
        ),
        ('{name: v, image: "vllm/vllm-openai:v0.33.0", args: [vllm, serve, m, -tp, "2"]}', IMAGE, False),
        # a private registry's copy: recognised by what it runs, not by the image name
        (
            '{name: v, image: "registry.corp/vllm/gpu:0.10.1", args: [--model, m, --tensor-parallel-size, "2"]}',
            IMAGE,
            False,
        ),
        (
            '{name: v, image: "python:3.12", command: [bash, -c], args: ["pip install vllm && python3 -m vllm.entrypoints.openai.api_server --model m -tp 2"]}',
            OPENAI_API_SERVER,
            True,
        ),
    ],
)
def test_entrypoints(container, entrypoint, script):
    s = settings_of(deployment(container))
    assert s.entrypoint == entrypoint and s.script is script
    assert s.model_id == "m" and s.world_size == 2


def test_repeated_serve_is_recorded():
    s = settings_of(deployment('{name: v, image: "vllm/vllm-openai:v0.33.0", args: [vllm, serve, m]}'))
    assert s.repeated_serve is not None and s.repeated_serve.path == f"{C0}/args/0"
    s = settings_of(
        deployment('{name: v, image: "vllm/vllm-openai:v0.33.0", command: [vllm, serve], args: [m]}')
    )
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
    # the init container and "job" (python -c) run no server
    assert [s.container.name for s in model_of(text).servers] == ["custom"]


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
    s = settings_of(
        deployment(
            '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [m, '
            '--disable-prefix-caching, --no-trust-remote-code, --tensor_parallel, "2"]}'
        )
    )
    assert s.flag("enable-prefix-caching", default=True) is False
    assert s.get("enable-prefix-caching").written == "--disable-prefix-caching"
    assert s.flag("trust-remote-code", default=True) is False
    assert s.int_value("tensor-parallel-size") == 2


def test_read_settings_on_a_container_without_args():
    model = model_of(deployment('{name: v, image: "vllm/vllm-openai:v0.33.0"}'))
    s = read_server(next(model.containers()), model.find_configmap)
    assert s is not None
    assert s.model is None and s.served_model_name == "" and s.port == 8000


ENV_CONFIGMAP = textwrap.dedent("""\
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: params, namespace: llm}
    data: {MODEL_ID: Qwen/Qwen2.5-7B-Instruct, TP: "2"}
    ---
    """)


def test_kubernetes_expansion_from_env_and_configmaps():
    s = settings_of(
        ENV_CONFIGMAP
        + deployment(
            '{name: vllm, image: "vllm/vllm-openai:v0.33.0", '
            'args: [$(MODEL_ID), --tensor-parallel-size=$(TP), --max-model-len, "$(LEN)", --served-model-name, "$$(LITERAL)"], '
            "env: [{name: MODEL_ID, valueFrom: {configMapKeyRef: {name: params, key: MODEL_ID}}}, "
            "{name: TP, valueFrom: {configMapKeyRef: {name: params, key: TP}}}, "
            '{name: BASE, value: "40"}, {name: LEN, value: "$(BASE)96"}]}'
        )
    )
    assert s.model_id == "Qwen/Qwen2.5-7B-Instruct" and s.model.raw == "$(MODEL_ID)"
    assert s.tensor_parallel == 2
    assert s.int_value("max-model-len") == 4096  # env values expand earlier variables
    assert s.served_model_names == ["$(LITERAL)"]  # $$ escapes the reference


def test_unresolved_references_are_not_guessed():
    s = settings_of(
        deployment(
            '{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [$(MODEL), --tensor-parallel-size, $(TP)], '
            "env: [{name: TP, valueFrom: {secretKeyRef: {name: s, key: tp}}}]}"
        )
    )
    assert s.model_id == "" and s.model_unresolved and s.served_model_names == []
    assert s.is_unresolved("tensor-parallel-size")
    assert s.tensor_parallel is None and s.world_size is None
    assert s.get("tensor-parallel-size").shown == "$(TP)"


def test_shell_variables_in_a_script():
    s = settings_of(
        deployment(
            '{name: vllm, image: "vllm/vllm-openai:v0.33.0", command: [sh, -c], '
            'args: ["vllm serve ${MODEL} --tensor-parallel-size $TP --port ${PORT:-8080}"], '
            'env: [{name: MODEL, value: org/m}, {name: TP, value: "4"}]}'
        )
    )
    assert s.model_id == "org/m" and s.tensor_parallel == 4 and s.port == 8080
