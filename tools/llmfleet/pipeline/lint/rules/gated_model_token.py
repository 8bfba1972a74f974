"""gated-model-token: a gated Hugging Face model needs a token to download.

Repositories of meta-llama, mistralai and Google's Gemma family are gated on the Hugging Face
Hub: a download without the token of an account that accepted the licence fails with 401/403
(GatedRepoError), so the server never starts.  The token reaches vLLM, SGLang and TGI through
``HF_TOKEN`` (or the older ``HUGGING_FACE_HUB_TOKEN``) from a Secret.  Not reported: local
model paths, ``HF_HUB_OFFLINE=1``, and containers that take env from ``envFrom`` (the token may
be there).  An explicitly empty token is reported like a missing one.  With a persistent cache
volume the weights may already be there: a warning (docs/reference/servers.md "Gated models").
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.servers import other_servers
from llmfleet.model.workloads import Container
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

#: Organisations (or name prefixes) whose Hub repositories are gated.
GATED_PREFIXES = (
    "meta-llama/",
    "mistralai/",
    "google/gemma",
    "google/codegemma",
    "google/paligemma",
    "google/recurrentgemma",
)
TOKEN_ENV = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HUGGINGFACE_HUB_TOKEN",
    "HUGGINGFACEHUB_API_TOKEN",
    "HF_API_TOKEN",
)


def gated(model_id: str) -> bool:
    return model_id.lower().startswith(tuple(p.lower() for p in GATED_PREFIXES))


def token_state(container: Container) -> tuple[str, int | None]:
    """('set'|'empty'|'unknown'|'missing', index of the env entry)."""
    empty_at = None
    for name in TOKEN_ENV:
        found = container.env_var(name)
        if found is None:
            continue
        index, item = found
        if item.get("valueFrom") or str(item.get("value") or "").strip():
            return "set", index
        empty_at = index
    if container.env_from:
        return "unknown", None
    offline = container.env_var("HF_HUB_OFFLINE")
    if offline is not None and str(offline[1].get("value") or "").strip().lower() in ("1", "true", "yes"):
        return "unknown", None
    return ("empty", empty_at) if empty_at is not None else ("missing", None)


def _persistent_cache(container: Container) -> bool:
    names = {m.get("name") for m in container.volume_mounts}
    return any(
        v.get("name") in names and ("persistentVolumeClaim" in v or "hostPath" in v)
        for v in container.template.volumes
    )


@rule(
    id="gated-model-token",
    severity=Severity.ERROR,
    description="A server downloads a gated Hugging Face model (meta-llama, mistralai, Gemma) "
    "without a token, or with an empty one",
    remediation="Set env HF_TOKEN from a Secret (valueFrom.secretKeyRef) holding the token of an "
    "account that accepted the model's licence.",
    rationale="The Hub answers 401/403 for gated repositories without an accepted-licence "
    "token; the server fails at its first start (docs/reference/servers.md, Gated models).",
    category="security",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        args: [meta-llama/Llama-3.1-8B-Instruct]
        env: [{name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf, key: token}}}]

    Failing (``/spec/template/spec/containers/0/env/0``; an empty token)::

        args: [--model, mistralai/Mistral-7B-Instruct-v0.2]
        env: [{name: HUGGING_FACE_HUB_TOKEN, value: ''}]
    """
    subjects = [(s.container, s.model_id) for s in model.api_servers]
    subjects += [(o.container, o.model_id) for o in other_servers(model)]
    for container, model_id in subjects:
        if not model_id or model_id.startswith(("/", ".", "$")) or not gated(model_id):
            continue
        state, index = token_state(container)
        if state in ("set", "unknown"):
            continue
        cached = _persistent_cache(container)
        path = f"{container.path}/env/{index}" if index is not None else container.path
        what = "an empty token" if state == "empty" else "no HF_TOKEN"
        yield Problem(
            container.resource,
            path,
            f"container {container.name!r} serves the gated model {model_id} with {what}: the "
            "Hub refuses the download (401/403)"
            + (" unless the persistent cache already holds it" if cached else ""),
            Severity.WARNING if cached else None,
        )
