"""secret-literal: tokens and keys must come from a Secret, not from the manifest.

A literal ``value`` for ``HF_TOKEN``/``HUGGING_FACE_HUB_TOKEN`` (gated-model downloads) or
``VLLM_API_KEY`` (vLLM's API key when ``--api-key`` is not given), or ``--api-key`` /
``--hf-token`` as a literal arg or ``serve.yaml`` key, puts the credential in git, in the
rendered overlay and in ``kubectl get -o yaml``.  vLLM's k8s doc takes the HF token with
``valueFrom.secretKeyRef`` (docs/reference/vllm.md §2.2 "Frontend", §5.12); Polaris
flags the same as ``sensitiveContainerEnvVar`` / ``sensitiveConfigmapContent`` (docs/reference/tooling.md §4.1).
Names checked: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, VLLM_API_KEY, ``*_TOKEN``, ``*_KEY``,
``*_SECRET``, ``*PASSWORD*``, and every name :func:`llmfleet.model.secrets.is_sensitive_name`
calls a credential (``--api-key``, ``clientSecret``; in the ``--config`` file too).
``$(VAR)`` references (Kubernetes dependent env) are not literals.  A ConfigMap key that
names a credential (``HF_TOKEN``, ``HUGGINGFACEHUB_API_TOKEN``) with a value is reported too
(a placeholder value: a warning).

Secrets rendered from a kustomization (``secretGenerator`` ``literals``, ``envs`` and
``files``) are reported on the rendered Secret and traced back to the literal's line in the
kustomization, or the key's line in the env file (:mod:`llmfleet.pipeline.field_sources`); a
``kustomization.yaml`` linted as a file is checked for its ``secretGenerator`` literals.
No message quotes a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from llmfleet.model.k8s import Resource, as_list, escape_pointer_token
from llmfleet.model.secrets import TOKEN, is_placeholder, is_sensitive_name
from llmfleet.model.servers import LlmServer, other_servers
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

#: Values that look like credentials whatever the variable is called.
TOKEN_LIKE = re.compile(rf"^({TOKEN.pattern})$")
_SENSITIVE = re.compile(
    r"^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN|VLLM_API_KEY|.*_TOKEN|.*_KEY|.*_SECRET"
    r"|.*PASSWORD.*)$",
    re.IGNORECASE,
)
#: vLLM options whose value is a credential (docs/reference/vllm.md §2.2 "Frontend").
SECRET_OPTIONS = ("api-key", "hf-token")


def sensitive_env(name: str) -> bool:
    """Env var names that hold credentials: the list above, or a credential's name."""
    return bool(_SENSITIVE.match(name)) or is_sensitive_name(name)


_REFERENCE = re.compile(r"^\$\([A-Za-z_][A-Za-z0-9_]*\)$")


def _credential(key: Any, text: str) -> bool:
    """A Secret entry that surely is a credential: its key names one (token, password, key,
    secret) or its value looks like a token.  Other entries (a URL, a client id) are reported
    as a warning: they may be settings put in a Secret."""
    return is_sensitive_name(key) or bool(TOKEN.search(text))


def _decoded(value: Any) -> str:
    import base64
    import binascii

    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return str(value)


def is_literal(value: Any) -> bool:
    if value is None or value is True or value is False or value == "":
        return False
    if isinstance(value, list):
        return any(is_literal(v) for v in value)
    return not _REFERENCE.match(str(value).strip())


@rule(
    id="secret-literal",
    severity=Severity.ERROR,
    description="A credential in the manifests: a token/key/password env var with a literal "
    "value, --api-key/--hf-token written in args or serve.yaml, or a Secret whose "
    "data the manifests carry (secretGenerator literals and files included)",
    remediation="Create the Secret out of band (kubectl create secret, External Secrets, SOPS) "
    "and reference it with env valueFrom.secretKeyRef (VLLM_API_KEY, HF_TOKEN) instead "
    "of --api-key/--hf-token or a committed Secret.",
    rationale="A manifest is committed, rendered in CI logs and PR diffs, and readable by anyone "
    "who can read the Deployment: a credential in it is published "
    "(docs/reference/vllm.md §5.12).",
    category="security",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        env: [{name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf-token, key: token}}}]

    Failing (``/spec/template/spec/containers/0/env/0/value``)::

        env: [{name: HF_TOKEN, value: hf_abcdef}]

    Failing (``/stringData/token``; a warning when the value is a placeholder such as
    ``REPLACE_WITH_TOKEN`` or ``$HF_TOKEN``)::

        kind: Secret
        stringData: {token: hf_0123456789abcdefghij}

    Failing (the rendered Secret's ``/data/HF_TOKEN``, traced to the literal's line in the
    kustomization; a key from ``envs: [creds.env]`` is traced to its line in the env file)::

        secretGenerator:
          - name: creds
            literals: [HF_TOKEN=hf_0123456789abcdefghij]

    Failing (``/data/serve.yaml/api-key``, traced to the line in serve.yaml): a ``--config``
    file with ``api-key: sk-...`` or ``hf-token: ...``.
    """
    for container in model.containers():
        for i, item in enumerate(as_list(container.data.get("env"))):
            if not isinstance(item, dict):
                continue
            name = str(item.get("name") or "")
            if sensitive_env(name) and "value" in item and is_literal(item.get("value")):
                placeholder = is_placeholder(str(item.get("value")).strip())
                yield Problem(
                    container.resource,
                    f"{container.path}/env/{i}/value",
                    f"env {name} of container {container.name!r} has a literal "
                    + (
                        "placeholder value (<redacted>): the credential is missing, and filled "
                        "in here it would be committed; "
                        if placeholder
                        else "value; "
                    )
                    + "take it from a Secret (valueFrom.secretKeyRef)",
                    Severity.WARNING if placeholder else None,
                )
    for secret in model.of_kind("Secret"):
        for section in ("stringData", "data"):
            values = secret.data.get(section)
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                text = _decoded(value) if section == "data" else str(value)
                if value is None or text == "":
                    continue
                path = f"/{section}/{escape_pointer_token(key)}"
                if is_placeholder(text):
                    yield Problem(
                        secret,
                        path,
                        f"Secret {secret.name!r} key {key!r} is part of the manifests with a "
                        "placeholder (<redacted>): the real value gets written into a file "
                        "that can be committed or logged; create the Secret out of band",
                        Severity.WARNING,
                    )
                else:
                    yield Problem(
                        secret,
                        path,
                        f"Secret {secret.name!r} key {key!r} holds a value committed with the "
                        "manifests (<redacted>, from a Secret manifest or a secretGenerator "
                        "literal or file): anyone who reads the repository has it"
                        + (
                            ""
                            if _credential(key, text)
                            else "; if it is not a credential, a ConfigMap says so"
                        ),
                        None if _credential(key, text) else Severity.WARNING,
                    )
    yield from _configmap_credentials(model)
    yield from _route_header_credentials(model)
    for container in model.containers():
        for i, item in enumerate(as_list(container.data.get("env"))):
            if (
                isinstance(item, dict)
                and not sensitive_env(str(item.get("name") or ""))
                and TOKEN_LIKE.match(str(item.get("value") or ""))
            ):
                yield Problem(
                    container.resource,
                    f"{container.path}/env/{i}/value",
                    f"env {item.get('name')} of container {container.name!r} holds what looks "
                    "like a token (<redacted>); take it from a Secret",
                )
    for server in model.servers:
        for setting in server.all:
            secret_option = setting.name in SECRET_OPTIONS or is_sensitive_name(setting.name)
            if (
                secret_option
                and is_literal(setting.raw or setting.value)
                and not is_placeholder(str(setting.raw or setting.value))
            ):
                # A --config file key: the pointer goes on to the key, so that the finding is
                # traced to its line in serve.yaml.
                path = setting.path
                if setting.source == "config" and setting.written:
                    path = f"{path}/{escape_pointer_token(setting.written)}"
                instead = {"api-key": "env VLLM_API_KEY", "hf-token": "env HF_TOKEN"}.get(
                    setting.name, "an env var"
                )
                yield Problem(
                    setting.resource,
                    path,
                    f"--{setting.name} is written literally ({setting.where}); use "
                    f"{instead} from a Secret instead",
                )
    for other in other_servers(model):
        yield from _other_server_literals(other)
    for kustomization in model.of_kind("Kustomization"):
        yield from _generator_literals(kustomization)


def _configmap_credentials(model: OverlayModel) -> Iterator[Problem]:
    """ConfigMap keys that name a credential (HF_TOKEN, HUGGINGFACEHUB_API_TOKEN, *_API_KEY,
    password...) with a value: a ConfigMap is plain configuration, readable by whoever reads
    the namespace's ConfigMaps, and the token sits in the manifest (Polaris's
    ``sensitiveConfigmapContent``, docs/reference/tooling.md §4.1).  A placeholder still puts
    the real token there once filled in: a warning."""
    for configmap in model.of_kind("ConfigMap"):
        values = configmap.data.get("data")
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            text = "" if value is None else str(value).strip()
            if not text or not is_sensitive_name(key) or not is_literal(text):
                continue
            placeholder = bool(is_placeholder(text))
            yield Problem(
                configmap,
                f"/data/{escape_pointer_token(key)}",
                f"ConfigMap {configmap.name!r} key {key!r} holds a credential"
                + (
                    " placeholder (<redacted>): the real token will be written"
                    if placeholder
                    else " (<redacted>)"
                )
                + " into a ConfigMap, in the manifests and readable with the namespace's ConfigMaps; "
                "put it in a Secret created out of band and reference it (secretKeyRef)",
                Severity.WARNING if placeholder else None,
            )


#: Request headers that carry a client credential.
CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key", "proxy-authorization")
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "AIGatewayRoute")


def _route_header_credentials(model: OverlayModel) -> Iterator[Problem]:
    """A route rule that matches ``Authorization: <key>`` (Gateway API header matches, Envoy AI
    Gateway's per-model key check) keeps the key in the route, readable by whoever reads the
    route.  A value shaped like a real key is an error; another literal a warning (it may be an
    example); placeholders are skipped."""
    for route in model.resources:
        if route.kind not in ROUTE_KINDS:
            continue
        for ri, item in enumerate(as_list(route.spec.get("rules"))):
            matches = as_list(item.get("matches")) if isinstance(item, dict) else []
            for mi, match in enumerate(matches):
                headers = as_list(match.get("headers")) if isinstance(match, dict) else []
                for hi, header in enumerate(headers):
                    if not isinstance(header, dict):
                        continue
                    name = str(header.get("name") or "").lower()
                    value = str(header.get("value") or "").strip()
                    if name not in CREDENTIAL_HEADERS or not value or is_placeholder(value):
                        continue
                    if (header.get("type") or "Exact") == "RegularExpression":
                        continue  # a pattern, not a key
                    real = bool(TOKEN.search(value))
                    yield Problem(
                        route,
                        f"/spec/rules/{ri}/matches/{mi}/headers/{hi}/value",
                        f"{route.kind} {route.name!r} matches the {header.get('name')} header "
                        "against a literal key (<redacted>): the key sits in the manifest; "
                        "check keys with a gateway auth policy whose keys come from a Secret "
                        "(Envoy Gateway SecurityPolicy apiKeyAuth)",
                        None if real else Severity.WARNING,
                    )


def _other_server_literals(server: LlmServer) -> Iterator[Problem]:
    """``--api-key KEY`` written into the command line of SGLang, TGI or llama.cpp."""
    container = server.container
    for key in ("command", "args"):
        words = as_list(container.data.get(key))
        for i, word in enumerate(words):
            if not isinstance(word, str):
                continue
            for flag in server.engine.auth_flags:
                value = None
                if word == flag and i + 1 < len(words) and isinstance(words[i + 1], str):
                    value = words[i + 1]
                elif word.startswith(flag + "="):
                    value = word.split("=", 1)[1]
                elif f"{flag} " in word or f"{flag}=" in word:  # inside an `sh -c` script
                    rest = word.split(flag, 1)[1].lstrip(" =")
                    value = rest.split()[0].strip("\"'") if rest.split() else None
                if value and is_literal(value) and not is_placeholder(value) and "$" not in value:
                    yield Problem(
                        container.resource,
                        f"{container.path}/{key}/{i}",
                        f"{flag} of {server.engine.title} in container {container.name!r} is "
                        "written literally; pass it from a Secret (an env var and $(VAR))",
                    )


def _generator_literals(kustomization: Resource) -> Iterator[Problem]:
    """A kustomization linted as a file: its secretGenerator literals are committed values."""
    for i, generator in enumerate(as_list(kustomization.data.get("secretGenerator"))):
        if not isinstance(generator, dict):
            continue
        for j, literal in enumerate(as_list(generator.get("literals"))):
            if not isinstance(literal, str) or "=" not in literal:
                continue
            key, value = literal.split("=", 1)
            if not value or is_placeholder(value):
                continue
            yield Problem(
                kustomization,
                f"/secretGenerator/{i}/literals/{j}",
                f"secretGenerator {generator.get('name')!r} literal {key!r} commits its "
                "value (<redacted>) to the repository, and kustomize renders it into a "
                "Secret; create the Secret out of band",
            )
