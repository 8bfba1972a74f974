"""Redaction of containers and objects for a diff (llmfleet.pipeline.redact), case by case: where a
secret sits (command or args, ``--opt value`` or ``--opt=value``, env), what is left alone
(references, the next option, a flag without a value), and which side is marked changed.
Written against the survivors of a mutmut run over redact.py (docs/mutation.md)."""

from __future__ import annotations

from llmfleet.pipeline.redact import REDACTED, REDACTED_CHANGED, redact_object, redact_pair

CHANGED = REDACTED_CHANGED


def deployment(args=None, command=None, env=None, name="vllm") -> dict:
    container: dict = {"name": name}
    if args is not None:
        container["args"] = args
    if command is not None:
        container["command"] = command
    if env is not None:
        container["env"] = env
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


def container_of(obj: dict, index: int = 0) -> dict:
    return obj["spec"]["template"]["spec"]["containers"][index]


def test_a_key_in_the_command_is_redacted():
    out = container_of(redact_object(deployment(command=["vllm", "serve", "--api-key", "abcdef"])))
    assert out["command"] == ["vllm", "serve", "--api-key", REDACTED]


def test_a_key_after_an_equals_sign_changed():
    old, new = redact_pair(deployment(["m", "--api-key=abcdef"]), deployment(["m", "--api-key=ghijkl"]))
    assert container_of(old)["args"] == ["m", f"--api-key={REDACTED}"]
    assert container_of(new)["args"] == ["m", f"--api-key={CHANGED}"]


def test_a_key_as_the_next_word_changed_and_unchanged():
    _, new = redact_pair(deployment(["m", "--api-key", "abcdef"]), deployment(["m", "--api-key", "ghijkl"]))
    assert container_of(new)["args"] == ["m", "--api-key", CHANGED]
    old, same = redact_pair(
        deployment(["m", "--api-key", "abcdef"]), deployment(["m", "--api-key", "abcdef"])
    )
    assert container_of(old)["args"] == container_of(same)["args"] == ["m", "--api-key", REDACTED]


def test_what_follows_a_sensitive_option_is_left_when_it_is_not_its_value():
    assert container_of(redact_object(deployment(["m", "--api-key"])))["args"] == ["m", "--api-key"]
    assert container_of(redact_object(deployment(["m", "--api-key", "--port", "8000"])))["args"] == [
        "m",
        "--api-key",
        "--port",
        "8000",
    ]
    assert container_of(redact_object(deployment(["m", "--api-key", "$(KEY)"])))["args"] == [
        "m",
        "--api-key",
        "$(KEY)",
    ]
    assert container_of(redact_object(deployment(["m", "--api-key", 42])))["args"] == ["m", "--api-key", 42]


def test_a_value_before_a_sensitive_option_is_not_taken_for_it():
    # Only the word AFTER the option is its value; "m" before it stays.
    out = container_of(redact_object(deployment(["abcdef", "--api-key", "ghijkl", "--port", "8000"])))
    assert out["args"] == ["abcdef", "--api-key", REDACTED, "--port", "8000"]


ENV_BEFORE = [{"name": "PORT", "value": "8000"}, {"name": "HF_TOKEN", "value": "abc"}]


def test_an_unchanged_env_value_is_not_marked_changed():
    _, new = redact_pair(
        deployment(["m"], env=ENV_BEFORE), deployment(["m"], env=[dict(e) for e in ENV_BEFORE])
    )
    assert container_of(new)["env"] == [
        {"name": "PORT", "value": "8000"},
        {"name": "HF_TOKEN", "value": REDACTED},
    ]


def test_a_changed_env_value_is_marked_changed_on_the_new_side_only():
    after = [{"name": "PORT", "value": "8000"}, {"name": "HF_TOKEN", "value": "xyz"}]
    old, new = redact_pair(deployment(["m"], env=ENV_BEFORE), deployment(["m"], env=after))
    assert container_of(old)["env"][1] == {"name": "HF_TOKEN", "value": REDACTED}
    assert container_of(new)["env"][1] == {"name": "HF_TOKEN", "value": CHANGED}


def test_an_env_value_that_replaces_a_secret_reference_has_nothing_to_compare_with():
    before = [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
    _, new = redact_pair(
        deployment(["m"], env=before), deployment(["m"], env=[{"name": "HF_TOKEN", "value": "abc"}])
    )
    assert container_of(new)["env"] == [{"name": "HF_TOKEN", "value": REDACTED}]


def test_a_reference_in_a_sensitive_env_var_is_kept():
    out = container_of(redact_object(deployment(["m"], env=[{"name": "HF_TOKEN", "value": "$(OTHER)"}])))
    assert out["env"] == [{"name": "HF_TOKEN", "value": "$(OTHER)"}]


def test_the_twin_is_the_container_of_the_same_name():
    def two(key: str) -> dict:
        obj = deployment(["m"], name="sidecar")
        obj["spec"]["template"]["spec"]["containers"].append(
            {"name": "vllm", "args": ["m", "--api-key", key]}
        )
        return obj

    before = two("abcdef")
    after = two("abcdef")
    after["spec"]["template"]["spec"]["containers"].reverse()  # the order changed, not the key
    _, new = redact_pair(before, after)
    assert container_of(new, 0)["args"] == ["m", "--api-key", REDACTED]


def secret(data: dict, note: str = "") -> dict:
    metadata: dict = {"name": "s"}
    if note:
        metadata["annotations"] = {"note": note}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "stringData": data}


def test_a_secret_value_is_removed_from_every_other_string_of_the_object():
    out = redact_object(secret({"t": "abcdefgh"}, note="the token abcdefgh is here"))
    assert out["stringData"] == {"t": REDACTED}
    assert out["metadata"]["annotations"]["note"] == f"the token {REDACTED} is here"


def test_a_key_added_on_the_new_side_is_redacted_not_marked_changed():
    _, new = redact_pair(secret({"a": "x"}), secret({"a": "x", "b": "y"}))
    assert new["stringData"] == {"a": REDACTED, "b": REDACTED}


def test_a_removed_object_and_an_added_one():
    old, new = redact_pair(secret({"a": "x"}), None)
    assert new is None and old["stringData"] == {"a": REDACTED}
    old, new = redact_pair(None, secret({"a": "x"}))
    assert old is None and new["stringData"] == {"a": REDACTED}


def config_map(text: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"serve.yaml": text}}


def test_a_changed_line_of_a_multi_line_string_is_marked_changed():
    old, new = redact_pair(
        config_map("model: m\napi-key: abcdef\nport: 8000\n"),
        config_map("model: m\napi-key: ghijkl\nport: 8000\n"),
    )
    assert old["data"]["serve.yaml"] == f"model: m\napi-key: {REDACTED}\nport: 8000\n"
    assert new["data"]["serve.yaml"] == f"model: m\napi-key: {CHANGED}\nport: 8000\n"


def test_an_unchanged_multi_line_string_keeps_plain_markers():
    text = "model: m\napi-key: abcdef\n"
    _, new = redact_pair(config_map(text), config_map(text + "port: 8000\n"))
    assert new["data"]["serve.yaml"] == f"model: m\napi-key: {REDACTED}\nport: 8000\n"
