"""Which values in Kubernetes objects are secret: the one definition that the redaction
(:mod:`llmfleet.pipeline.redact`), the diff and the ``secret-literal`` rule share.

Secret values are:

* the values of the fields of kinds known to hold secrets (:data:`SECRET_FIELDS`: a Secret's
  ``data`` and ``stringData``, a SealedSecret's, an ExternalSecret's template data, a
  SopsSecret's), as written and base64-decoded;
* the value of an env var, a command-line option or a config-file key whose name suggests a
  credential (:data:`SENSITIVE_NAME`: ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``,
  ``*API_KEY*``, ...; not ``*_FILE``, ``*Ref``, ``*Name``, which name where a secret is),
  including ``--api-key=…`` in a shell script and ``api-key: …`` in a ``serve.yaml`` held by
  a ConfigMap, and the secretGenerator literals of a Kustomization;
* anything that looks like a token wherever it is (:data:`TOKEN`: Hugging Face ``hf_…``,
  OpenAI-style ``sk-…``, GitHub ``ghp_…``/``github_pat_…``, GitLab ``glpat-…``, Slack
  ``xox…-``, AWS access key ids, JWTs, PEM private keys).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from typing import Any

#: The last word of a name (split at ``-``, ``_``, ``.`` and camelCase) that makes it a
#: credential's...
CREDENTIAL_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "apikey",
        "secretkey",
    }
)
#: ...or the last two words that do (``api-key``, ``ACCESS_KEY``).
CREDENTIAL_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("auth", "key"),
        ("client", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("secret", "key"),
        ("master", "key"),
        ("account", "key"),
    }
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
#: What replaces a secret value.
REDACTED = "<redacted>"
#: A value that only holds a place for the real one (filled by envsubst, a template or a person).
PLACEHOLDER = re.compile(
    r"^\s*(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\$\([A-Za-z_][A-Za-z0-9_]*\)|<[^>]*>|\{\{.*\}\}|"
    r"(?i:replace[_-]?(me|with.*)?|change[_-]?(me|this|it)|todo|tbd|x{3,}[x_.-]*|(your|my)[_ -].*|"
    r"(insert|enter|put|paste|add|set|fill)[_ -](in[_ -])?(your|the|a|an)[_ -].*|.*[_ -]here|"
    r"dummy.*|placeholder.*|.*[_-]placeholder|example.*|\*+|\.{3,}|redacted|none|null|not[_-]?set))\s*$"
)
#: Values that look like a credential whatever they are called.
TOKEN = re.compile(
    r"hf_[A-Za-z0-9]{20,}|sk-(?:proj-|ant-[a-z0-9]+-)?(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|"
    r"github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|"
    r"(?:AKIA|ASIA)[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+|"
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"
)
#: ``--name=VALUE`` and ``--name VALUE`` inside a longer string (a shell script); a credential
#: when :func:`is_sensitive_name` says so of the name.
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w.-]*)(=|[ \t]+)(\"[^\"]*\"|'[^']*'|[^\s\"'=-][^\s\"']*)")
#: ``--name=VALUE`` only: in a message, ``--api-key is written literally`` names no value.
OPTION_ASSIGNMENT = re.compile(r"(?<![\w-])(--?[A-Za-z][\w.-]*)=(\"[^\"]*\"|'[^']*'|[^\s\"'=,;)]+)")
#: ``api-key: VALUE`` / ``HF_TOKEN=VALUE``: one line of a YAML mapping or an env file.
SENSITIVE_LINE = re.compile(r"^(\s*[\"']?([\w.-]+)[\"']?\s*[:=][ \t]*)(\S.*?)\s*$", re.MULTILINE)
#: ``$(VAR)``, ``${VAR}``, ``$VAR``: a reference, not a value.
REFERENCE = re.compile(r"^\$(\([A-Za-z_][A-Za-z0-9_]*\)|\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$")
#: Shorter values are not searched for in text (they would match everywhere).
MIN_LENGTH = 3

#: (API group, kind) -> paths of the mappings whose values are secret (``*`` = every list item).
SECRET_FIELDS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("", "Secret"): (("data",), ("stringData",)),
    ("bitnami.com", "SealedSecret"): (("spec", "encryptedData"), ("spec", "template", "data")),
    ("external-secrets.io", "ExternalSecret"): (("spec", "target", "template", "data"),),
    ("isindir.github.com", "SopsSecret"): (
        ("spec", "secretTemplates", "*", "data"),
        ("spec", "secretTemplates", "*", "stringData"),
    ),
}


def name_words(name: str) -> list[str]:
    """``--hf-token`` -> [hf, token]; ``clientSecretRef`` -> [client, secret, ref]."""
    return [w.lower() for w in _WORD.findall(name)]


def is_sensitive_name(name: Any) -> bool:
    """Whether an env var, option or config key with this name holds a credential: its last
    word is one (``HF_TOKEN``, ``DB_PASSWORD``, ``clientSecret``) or its last two words are
    (``--api-key``, ``AWS_SECRET_ACCESS_KEY``); not ``--tokenizer``,
    ``--long-prefill-token-threshold``, ``secretKeyRef``, ``HF_TOKEN_PATH``."""
    if not isinstance(name, str):
        return False
    words = name_words(name)
    if not words:
        return False
    return words[-1] in CREDENTIAL_WORDS or tuple(words[-2:]) in CREDENTIAL_PAIRS


def is_placeholder(value: Any) -> bool:
    """A value that holds a place (``insert-your-token-here``, ``<token>``, ``changeme``,
    ``${HF_TOKEN}``, ``xxxx``) and is not itself shaped like a real key."""
    return isinstance(value, str) and bool(PLACEHOLDER.match(value)) and not TOKEN.search(value)


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(REFERENCE.match(value.strip()))


def _group(obj: dict) -> str:
    return str(obj.get("apiVersion") or "").rpartition("/")[0]


def secret_mappings(obj: Any) -> Iterator[tuple[tuple[Any, ...], dict]]:
    """``(path, mapping)`` of each mapping of ``obj`` whose values are secret."""
    if not isinstance(obj, dict):
        return
    for parts in SECRET_FIELDS.get((_group(obj), str(obj.get("kind") or "")), ()):
        yield from _walk_parts(obj, parts, ())


def secret_fields(obj: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """``(path, node)`` of each secret field of ``obj`` whatever its shape: a mapping as the
    schema wants, or a scalar or a list written by mistake (whose text is just as secret)."""
    if not isinstance(obj, dict):
        return
    for parts in SECRET_FIELDS.get((_group(obj), str(obj.get("kind") or "")), ()):
        yield from _walk_parts(obj, parts, (), any_shape=True)


def _walk_parts(
    node: Any, parts: tuple[str, ...], path: tuple[Any, ...], any_shape: bool = False
) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if not parts:
        if any_shape or isinstance(node, dict):
            yield path, node
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, list):
            for i, item in enumerate(node):
                yield from _walk_parts(item, rest, (*path, i), any_shape)
    elif isinstance(node, dict) and head in node:
        yield from _walk_parts(node[head], rest, (*path, head), any_shape)


def _decoded(value: str) -> str | None:
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return text if text.isprintable() or "\n" in text else None


def _scalar_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


# -- collecting ----------------------------------------------------------------------------


def _options_in(words: list[Any]) -> Iterator[str]:
    """Values of sensitive options in a command line (``--opt value``, ``--opt=value``) and in
    the scripts it carries (``sh -c "... --api-key x"``)."""
    for i, word in enumerate(words):
        if not isinstance(word, str):
            continue
        name, eq, value = word.partition("=")
        if name.startswith("-") and is_sensitive_name(name):
            if eq:
                yield value
            elif i + 1 < len(words) and isinstance(words[i + 1], str) and not words[i + 1].startswith("-"):
                yield words[i + 1]
        yield from options_in_text(word)


def options_in_text(text: str) -> Iterator[str]:
    """Values of sensitive options written in a script: ``--api-key x``, ``--hf-token=y``."""
    for match in OPTION.finditer(text):
        if is_sensitive_name(match.group(1)):
            yield match.group(3).strip("\"'")


def _config_values(text: str) -> Iterator[str]:
    """Values of sensitive keys in a YAML file or an env file held as a string."""
    for match in SENSITIVE_LINE.finditer(text):
        if is_sensitive_name(match.group(2)):
            yield match.group(3).strip("\"'")


_KEY_VALUE_LINE = re.compile(r"^[\"']?[\w.-]+[\"']?\s*[:=]\s*(\S.*?)\s*$")


def _field_texts(node: Any) -> Iterator[str]:
    """Every value of a secret field: a mapping's values at any depth, and a scalar or list
    written in its place (``KEY=VALUE`` items give the value too)."""
    stack = [node.values() if isinstance(node, dict) else [node]]
    while stack:
        for item in stack.pop():
            if isinstance(item, dict):
                stack.append(item.values())
            elif isinstance(item, list):
                stack.append(item)
            else:
                text = _scalar_text(item)
                if text:
                    yield text
                    key, eq, value = text.partition("=")
                    if eq and key.strip():
                        yield value
                    if "\n" in text:
                        for line in (line.strip() for line in text.splitlines()):
                            if line:
                                yield line
                                # KEY: VALUE or KEY=VALUE lines (an env file, a YAML file)
                                match = _KEY_VALUE_LINE.match(line)
                                if match:
                                    yield match.group(1).strip("\"'")


def _strings(node: Any) -> Iterator[str]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(k for k in item if isinstance(k, str))
        elif isinstance(item, list):
            stack.extend(item)


def list_at(mapping: Any, key: str) -> list[Any]:
    """``mapping[key]`` when it is a list, else [] (manifests put anything anywhere)."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, list) else []


def containers(obj: dict) -> Iterator[dict]:
    """Every mapping with a list ``env`` or ``args``/``command`` (containers wherever a kind
    keeps them)."""
    stack: list[Any] = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(isinstance(item.get(k), list) for k in ("env", "args", "command")):
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def secret_values(objects: Iterable[Any]) -> set[str]:
    """Every secret value in ``objects`` (see the module docstring), as written and, for the
    base64 ``data`` of a Secret, decoded."""
    found: set[str] = set()
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        for _, node in secret_fields(obj):
            for value_text in _field_texts(node):
                found.add(value_text)
                decoded = _decoded(value_text)
                if decoded:
                    found.add(decoded)
                    found.update(line.strip() for line in decoded.splitlines() if line.strip())
                    found.update(_config_values(decoded))
        for container in containers(obj):
            for item in list_at(container, "env"):
                if isinstance(item, dict) and is_sensitive_name(item.get("name")):
                    text = _scalar_text(item.get("value"))
                    if text:
                        found.add(text)
            found.update(_options_in(list_at(container, "command") + list_at(container, "args")))
        if obj.get("kind") == "Kustomization":
            for generator in list_at(obj, "secretGenerator"):
                for literal in list_at(generator, "literals"):
                    if isinstance(literal, str) and "=" in literal:
                        found.add(literal.split("=", 1)[1])
        for text in _strings(obj):
            found.update(m.group(0) for m in TOKEN.finditer(text))
            if "\n" in text or "=" in text or ":" in text:
                found.update(_config_values(text))
            if "-" in text:
                found.update(options_in_text(text))
    return {v for v in found if len(v) >= MIN_LENGTH and not is_reference(v) and not is_placeholder(v)}
