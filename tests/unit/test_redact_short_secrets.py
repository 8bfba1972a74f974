"""Redaction of short secret values (llmfleet.pipeline.redact): a value of three characters is still
removed from free text, shorter ones are removed where their place tells they are secret (a
Secret's data, a sensitive env var, the word after ``--api-key``), never by searching text."""

from __future__ import annotations

from llmfleet.pipeline.redact import REDACTED, REDACTED_CHANGED, redact_object, redact_pair, scrub_text


def test_a_three_character_value_is_removed_from_text():
    assert scrub_text("key abc here", ["abc"]) == f"key {REDACTED} here"


def test_a_two_character_value_is_not_searched_for():
    # It would match everywhere: "ab" inside every word that has it.
    assert scrub_text("key ab here", ["ab"]) == "key ab here"


def test_a_value_inside_a_longer_word_stays():
    assert scrub_text("xabc abcx Xabc abcX 9abc abc", ["abc"]) == f"xabc abcx Xabc abcX 9abc {REDACTED}"


def test_the_longest_value_is_removed_first():
    # "abc" is a prefix of "abcdef": the whole longer value goes, not "<redacted>def".
    assert scrub_text("abcdef abc", ["abc", "abcdef"]) == f"{REDACTED} {REDACTED}"


def test_a_sensitive_option_assignment_loses_even_a_one_character_value():
    assert scrub_text("--api-key=x --port=80") == f"--api-key={REDACTED} --port=80"


def secret(value: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"token": value}}


def test_a_one_character_secret_value_is_redacted_in_an_object():
    assert redact_object(secret("x"))["stringData"] == {"token": REDACTED}


def test_a_changed_short_secret_shows_that_it_changed_and_nothing_else():
    old, new = redact_pair(secret("a"), secret("b"))
    assert old["stringData"] == {"token": REDACTED}
    assert new["stringData"] == {"token": REDACTED_CHANGED}
    same_old, same_new = redact_pair(secret("a"), secret("a"))
    assert same_new["stringData"] == {"token": REDACTED}


def deployment(env_value: str, key: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "vllm",
                            "args": ["m", "--api-key", key, "--port", "8000"],
                            "env": [
                                {"name": "HF_TOKEN", "value": env_value},
                                {"name": "PORT", "value": "80"},
                            ],
                        }
                    ]
                }
            }
        },
    }


def test_short_values_in_a_container_are_redacted_by_their_place():
    container = redact_object(deployment("ab", "k"))["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["m", "--api-key", REDACTED, "--port", "8000"]
    assert container["env"] == [{"name": "HF_TOKEN", "value": REDACTED}, {"name": "PORT", "value": "80"}]


def test_a_changed_short_value_in_a_container_is_marked_changed():
    _, new = redact_pair(deployment("ab", "k"), deployment("ac", "k"))
    container = new["spec"]["template"]["spec"]["containers"][0]
    assert container["env"][0]["value"] == REDACTED_CHANGED
    assert container["args"][2] == REDACTED  # the key did not change
