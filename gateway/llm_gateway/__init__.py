"""llm-gateway: one OpenAI-compatible URL in front of every self-hosted vLLM model."""

__version__ = "0.1.0"
