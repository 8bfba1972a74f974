"""The ``/v1`` endpoints the gateway forwards: the client-facing ones vLLM 0.33 serves
that take a JSON body naming the model (the gateway routes on ``model``).

Everything else under ``/v1`` is answered 404 by the gateway itself, however the backend
would answer it: above all vLLM's administrative ``/v1/load_lora_adapter`` and
``/v1/unload_lora_adapter`` (registered on every server, src
``vllm/entrypoints/serve/lora/api_router.py``), which a client key must not reach.  The
routes and their sources are listed in docs/reference/gateway.md.
"""

from __future__ import annotations

#: POST endpoints forwarded to a model's backend (vllm 0.33.0 wheel, the routers that
#: ``vllm/entrypoints/launchers/api_server/routers.py`` registers for generate and pooling
#: models).
CLIENT_ENDPOINTS = frozenset(
    {
        b"/v1/chat/completions",  # openai/chat_completion/api_router.py
        b"/v1/completions",  # openai/completion/api_router.py
        b"/v1/responses",  # openai/responses/api_router.py
        b"/v1/messages",  # anthropic/api_router.py
        b"/v1/messages/count_tokens",  # anthropic/api_router.py
        b"/v1/embeddings",  # pooling/embed/api_router.py
        b"/v1/score",  # pooling/scoring/api_router.py
        b"/v1/rerank",  # pooling/scoring/api_router.py
    }
)


def forwarded(path: bytes) -> bool:
    """True when a POST to ``path`` (already validated by :func:`paths.split_target`)
    goes to a backend."""
    return path in CLIENT_ENDPOINTS
