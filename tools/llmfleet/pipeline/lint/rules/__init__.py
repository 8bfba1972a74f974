"""Lint rules: one module per rule (see ``llmfleet.pipeline.lint.registry``)."""
