"""Lint rules: one module per rule (see ``llmfleet.lint.registry``)."""
